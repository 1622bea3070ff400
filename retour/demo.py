"""`retour demo`: the whole loop on the embedded default, with no Salesforce account.

It starts the local demo org (a Salesforce-compatible HTTPS server seeded with a fictional vendor's
CRM), syncs it over real HTTP exactly as a real org would be synced, runs a theme pass, and serves the
web UI on loopback. The demo org is just another org to Retour: every setting that points at it comes
from ``DemoOrg.env()``, the same names a real deployment sets.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from retour.cli import Context, pass_ctx
from retour.config import Settings, load_settings

DEMO_EMAIL = "demo@retour.example"


def _progress(message: str) -> None:
    """Long steps say what they are doing, on a terminal only (stdout stays clean for --json)."""
    if sys.stderr.isatty():
        click.echo(f"… {message}", err=True)


def demo_settings(org_env: dict[str, str], base: dict[str, str] | None = None) -> Settings:
    """Settings for the demo: the caller's environment plus the demo org's connection settings."""
    environ = dict(os.environ if base is None else base)
    environ.update(org_env)
    return load_settings(environ=environ)


def run_demo_pipeline(ctx: Context, org: Any) -> dict[str, Any]:
    """Sync the demo org over HTTPS, run a theme pass, and return the figures `--once --json` prints."""
    from connector.client import connect
    from connector.sync import run_sync

    started = time.monotonic()
    settings = ctx.settings
    ctx.ensure_schema()
    _progress(f"syncing the demo org at {org.base_url}")
    client = connect(settings)
    report = run_sync(ctx.session_factory, settings, client)
    synced = {name: fig.get("upserted", 0) for name, fig in _per_object(report).items()}
    figures: dict[str, Any] = {
        "synced": synced,
        "api_calls": client.calls,
        "org_api_calls": org.api_calls,
    }
    _progress("discovering themes")
    from jobs.embed import get_embedder
    from jobs.themes import run_theme_pass, spaces_to_rebuild
    from retour.db import session_scope
    embedder = get_embedder(settings.themes.backend)
    with session_scope(ctx.session_factory) as session:
        # The demo owns its data: themes a previous version built in another space are rebuilt (mapped onto the
        # new clusters, ids and decisions kept) rather than refused, as `retour themes` refuses them.
        older = spaces_to_rebuild(session, embedder)
        if older:
            _progress(f"themes were built with {', '.join(older)}: rebuilding them with {embedder.name}")
        theme_figures = run_theme_pass(session, settings, rebuild=bool(older), embedder=embedder)
    figures.update(_theme_summary(ctx, theme_figures))
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


def _per_object(report: Any) -> dict[str, dict[str, Any]]:
    if isinstance(report, dict):
        return report.get("objects", report)
    return getattr(report, "objects")


def _theme_summary(ctx: Context, theme_figures: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from retour.models import FeedbackItem, Theme
    with ctx.session_factory() as session:
        themes = session.scalar(select(func.count()).select_from(Theme).where(Theme.status.not_in(["merged", "dismissed"])))
        critical = session.scalar(select(func.count()).select_from(Theme).where(Theme.status == "critical"))
        items = session.scalar(select(func.count()).select_from(FeedbackItem))
    return {"feedback_items": items, "themes": themes, "themes_critical": critical, "theme_pass": theme_figures}


def ensure_demo_user(ctx: Context) -> str:
    """Create (or reset) the demo admin and return its password, kept under the data directory."""
    from webapp.users import create_or_reset_user

    secret_file = Path(ctx.settings.data_dir) / "demo-password"
    if secret_file.exists():
        password = secret_file.read_text(encoding="utf-8").strip()
    else:
        password = secrets.token_urlsafe(12)
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(password, encoding="utf-8")
        secret_file.chmod(0o600)
    from retour.db import session_scope
    with session_scope(ctx.session_factory) as session:
        create_or_reset_user(session, DEMO_EMAIL, password, role="admin")
    return password


def _start_org(data_dir: Path, scale: float, port: int):
    from connector.demo_org import DemoOrg

    _progress(f"starting the demo org (scale {scale}); the first start seeds it, later starts reuse it")
    org = DemoOrg(data_dir, scale=scale, port=port)
    org.start()
    return org


@click.command()
@click.option("--once", is_flag=True, help="Do the sync and theme pass, print the figures and exit (no web UI).")
@click.option("--json", "as_json", is_flag=True, help="With --once: print one JSON object.")
@click.option("--org-only", is_flag=True, help="Serve only the demo org and print the settings that point Retour at it.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Multiply the demo org's volume.")
@click.option("--port", type=int, default=None, help="Web UI port (default: [web] port).")
@click.option("--org-port", type=int, default=0, help="Demo org port (default: any free port).")
@pass_ctx
def demo(ctx: Context, once: bool, as_json: bool, org_only: bool, scale: float, port: int | None, org_port: int) -> None:
    """Run Retour end to end against a local demo org: sync, themes, and the web UI."""
    base = load_settings()
    data_dir = Path(base.data_dir)
    org = _start_org(data_dir, scale, org_port)
    try:
        if org_only:
            for name, value in org.env().items():
                click.echo(f"export {name}={shlex.quote(str(value))}")
            click.echo(f"# demo org serving at {org.base_url} — Ctrl-C to stop", err=True)
            _wait_forever()
            return
        ctx._settings = demo_settings(org.env())
        figures = run_demo_pipeline(ctx, org)
        if once:
            if as_json:
                click.echo(json.dumps(figures, default=str))
            else:
                _print_figures(figures)
            return
        password = ensure_demo_user(ctx)
        server = _serve_web(ctx, port)
        host, bound = server.server_address[:2]
        click.echo(f"Retour is running at http://{host}:{bound}/")
        click.echo(f"Log in as {DEMO_EMAIL} with password {password}  (demo only; kept in {data_dir / 'demo-password'})")
        click.echo("Ctrl-C to stop.")
        try:
            _wait_forever()
        finally:
            server.shutdown()
    finally:
        org.stop()


def _print_figures(figures: dict[str, Any]) -> None:
    for name, count in figures["synced"].items():
        click.echo(f"{name:<14} {count:>8} synced")
    click.echo(f"API calls: {figures['api_calls']}   feedback items: {figures['feedback_items']}   "
               f"themes: {figures['themes']} ({figures['themes_critical']} at critical mass)   {figures['seconds']} s")


def _serve_web(ctx: Context, port: int | None):
    from werkzeug.serving import make_server

    from webapp import create_app

    settings = ctx.settings
    app = create_app(settings, session_factory=ctx.session_factory)
    server = make_server(settings.web.host, settings.web.port if port is None else port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="retour-web", daemon=True).start()
    return server


def _wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping", err=True)


commands = [demo]
