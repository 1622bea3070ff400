"""Command-line commands of the webapp package, added to `retour` by retour.cli."""

commands: list = []
