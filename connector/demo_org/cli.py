"""`serve_org`: serve only the demo org and print the settings that point Retour at it.

Used by `retour demo --org-only`; another shell can `eval` the printed lines and run `retour sync`
against the demo org exactly as against a real org.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import click

from .faults import help_text, parse_faults
from .org import DemoOrg


def print_env(org: DemoOrg) -> None:
    for name, value in org.env().items():
        click.echo(f"export {name}={shlex.quote(str(value))}")


@click.command("serve-org")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".retour"),
              show_default=True, help="Where the org keeps its seeded data, certificate and keys.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Multiply the demo org's volume.")
@click.option("--port", type=int, default=0, help="Port on 127.0.0.1 (default: any free port).")
@click.option("--faults", default="", metavar="A,B,...", help="Comma-separated fault switches: " + help_text())
def serve_org(data_dir: Path, scale: float, port: int, faults: str) -> None:
    """Serve the demo org until Ctrl-C, printing `export NAME=value` lines for Retour's settings."""
    try:
        switches = parse_faults(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    org = DemoOrg(Path(data_dir), scale=scale, port=port, faults=switches)
    org.start()
    try:
        print_env(org)
        click.echo(f"# demo org serving at {org.base_url} (scale {scale:g}) - Ctrl-C to stop", err=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("# stopping the demo org", err=True)
    finally:
        org.stop()
