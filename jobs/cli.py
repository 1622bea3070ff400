"""Command-line commands of the jobs package, added to `retour` by retour.cli."""

commands: list = []
