"""`retour demo`: the demo org, a first sync and theme pass, and the web UI on loopback."""

commands: list = []
