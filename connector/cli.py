"""Command-line commands of the connector package, added to `retour` by retour.cli."""

commands: list = []
