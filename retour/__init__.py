"""Retour core: configuration, the shared data model, the database and the command line."""

__version__ = "0.1.0"
