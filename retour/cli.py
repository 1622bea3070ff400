"""`retour …`: the front door. Core commands live here; each package adds its own through COMMAND_MODULES.

This module and retour/demo.py are the one place allowed to import every package: what runs together (the
scheduler of jobs/ beside the web app of webapp/, in `retour run` and `retour demo`) is composed here, so jobs/
runs without Flask and webapp/ without the scheduler. Imports of the packages stay inside functions: jobs.cli and
connector.cli import this module for its Context, and must not pull Flask in with it.
"""

from __future__ import annotations

import importlib
import json
import logging
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from retour.config import BOUNDS, ConfigError, Settings, describe_settings, load_settings

# Each module exposes `commands`: a list of click commands or groups added to `retour`.
COMMAND_MODULES = ("connector.cli", "jobs.cli", "webapp.cli", "retour.demo")


class Context:
    """Lazily built settings and database handles shared by every command of one invocation."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._engine = None
        self._factory = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            settings = load_settings()
            check_scopes(settings)
            self._settings = settings
        return self._settings

    @property
    def engine(self):
        if self._engine is None:
            from retour.db import make_engine
            self._engine = make_engine(self.settings.effective_database_url)
        return self._engine

    @property
    def session_factory(self):
        if self._factory is None:
            from retour.db import session_factory
            self._factory = session_factory(self.engine)
        return self._factory

    def close(self) -> None:
        """Release the pooled database connections when the invocation ends. In one process running several
        invocations (tests, `CliRunner`) the pool was otherwise left to the garbage collector, whose open
        PostgreSQL connections then raised ResourceWarning in whatever code ran at that moment."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._factory = None

    def ensure_schema(self) -> None:
        """Bring the database to head: the embedded default must work on first run with no extra step."""
        from retour.db import upgrade
        upgrade(self.engine)


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def check_scopes(settings: Settings) -> None:
    """Parse ``[critical_mass] scopes`` as the theme pass will (``jobs.critical_mass.rules_from_settings``), so a
    scope it cannot read fails every command at once, not the first theme pass hours later in a scheduler thread.

    The config module cannot do it (retour/ does not import jobs/); the front door imports every package."""
    from jobs.critical_mass import rules_from_settings

    mapped = {m.name for m in settings.mapping.extra}
    for rule in rules_from_settings(settings.critical_mass)[1:]:
        if rule.window_days < 1:
            raise ConfigError(f"[critical_mass] scopes: {rule.name!r} has window={rule.window_days}; allowed: at least "
                              "1 (days of feedback the scope's themes are judged on).")
        for key, _value in rule.where:
            if key.startswith("attr.") and key[5:] not in mapped:
                known = ", ".join(sorted(mapped)) or "none: add it under [mapping.extra]"
                raise ConfigError(f"[critical_mass] scopes: {rule.name!r} filters on {key}, which is not a [mapping] "
                                  f"extra field (mapped: {known}).")


def one_line(exc: BaseException) -> str | None:
    """The one line a person needs for what stops a command from outside Retour's code (the database, a driver,
    a file), or None for anything else (a bug keeps its traceback).

    Each command used to end in a traceback for these: an unreachable database, a driver not installed, an
    unknown dialect in database_url, a CA bundle that is not there, a key that is not a key."""
    from sqlalchemy import exc as sa

    if isinstance(exc, ConfigError):
        return f"Configuration error: {exc}"
    if isinstance(exc, sa.NoSuchModuleError):
        kind = str(exc).rsplit(":", 1)[-1].strip()
        return (f"Configuration error: database_url (RETOUR_DATABASE_URL) names a database Retour cannot use "
                f"({kind!r}); write sqlite:///path/retour.db or postgresql+psycopg://user@host/db.")
    if isinstance(exc, sa.ArgumentError):
        return f"Configuration error: database_url (RETOUR_DATABASE_URL) cannot be read: {exc}."
    if isinstance(exc, ModuleNotFoundError) and _raised_in(exc, "sqlalchemy"):
        install = " (pip install 'psycopg[binary]')" if exc.name == "psycopg" else ""
        return (f"The database driver {exc.name!r} that database_url (RETOUR_DATABASE_URL) asks for is not installed"
                f"{install}: Retour runs on postgresql+psycopg://user@host/db or sqlite:///path/retour.db.")
    if isinstance(exc, ModuleNotFoundError):
        return f"The Python package {exc.name!r} is not installed: reinstall Retour (pip install -e .) or pip install it."
    if isinstance(exc, (sa.OperationalError, sa.InterfaceError)):
        lines = (str(exc.orig) if exc.orig is not None else str(exc)).splitlines()
        reason = "; ".join(line.strip() for line in lines if line.strip())[:300].rstrip(".?! ")
        return f"Database error: {reason}. Check database_url (RETOUR_DATABASE_URL) and that the database is up."
    if type(exc).__module__.startswith("jwt."):  # PyJWT: a private_key_file that is not a usable RSA key
        return (f"[salesforce] private_key_file (RETOUR_SALESFORCE_PRIVATE_KEY_FILE) is not a usable private key "
                f"({str(exc).rstrip('. ')}): give the PEM RSA key whose certificate is uploaded to the External Client App.")
    if isinstance(exc, OSError):
        text = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc) or type(exc).__name__
        text = text.splitlines()[0].rstrip(". ")
        if "CA certificate bundle" in text:
            return f"{text}: fix [salesforce] ca_bundle (RETOUR_SALESFORCE_CA_BUNDLE) or leave it empty."
        return f"{text}."
    return None


def _raised_in(exc: BaseException, package: str) -> bool:
    """Was ``exc`` raised from inside ``package`` (e.g. SQLAlchemy loading a database driver)?"""
    tb = exc.__traceback__
    while tb is not None:
        if f"/{package}/" in tb.tb_frame.f_code.co_filename.replace("\\", "/"):
            return True
        tb = tb.tb_next
    return False


class RetourGroup(click.Group):
    """Every command ends with one clear line and a non-zero exit (2 for configuration) instead of a traceback
    when what stops it is outside Retour's code: configuration, the database, a driver, a file."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to one line below, or raised again untouched
            line = one_line(exc)
            if line is None:
                raise
            logging.getLogger("retour").debug("command failed", exc_info=True)
            click.echo(line, err=True)
            sys.exit(2 if line.startswith("Configuration error") else 1)


@click.group(cls=RetourGroup)
@click.version_option(package_name="retour")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Retour: Salesforce feedback themes, decisions and insights back to reps."""
    ctx.call_on_close(ctx.ensure_object(Context).close)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="retour.toml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter configuration file."""
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; pass --force to overwrite it.")
    path.write_text(starter_config(), encoding="utf-8")
    click.echo(f"Wrote {path}. Point Retour at it with: export RETOUR_CONFIG={path.resolve()}")


def starter_config() -> str:
    """A TOML file listing every setting with its default, commented out, and its environment name."""
    lines = [
        "# Retour configuration. Every setting can also come from the environment variable named beside it;",
        "# the environment wins over this file. Secrets (consumer_secret, password, session_id) are better kept",
        "# in the environment or a file outside the repository.",
        "",
        '# database_url = "postgresql+psycopg://retour@db/retour"   # RETOUR_DATABASE_URL (default: SQLite under data_dir)',
        '# data_dir = ".retour"                                     # RETOUR_DATA_DIR',
    ]
    section = None
    for sec, key, default in describe_settings():
        if sec != section:
            lines += ["", f"[{sec}]"]
            section = sec
        env = f"RETOUR_{sec.upper()}_{key.upper()}"
        bound = BOUNDS.get((sec, key))
        allowed = f"; {bound.describe()} ({bound.means})" if bound else ""
        lines.append(f"# {key} = {_toml_value(default)}".ljust(56) + f"  # {env}{allowed}")
    lines += [
        "",
        "# Local fields of your org kept as filters, e.g.:",
        "# [mapping.extra]",
        '# speaks_basque = { field = "Speaks_Basque__c", kind = "boolean", label = "Speaks Basque", '
        'label_fr = "Parle basque" }',
        "# (label, label_fr: what the pages call it; without them, its labels in Salesforce)",
        "",
    ]
    return "\n".join(lines)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def check(ctx: Context, as_json: bool) -> None:
    """Validate the configuration, the database and the org (login, every mapped field); fails without an org."""
    results: list[dict] = []
    settings = ctx.settings  # raises ConfigError with the setting's name
    results.append({"check": "configuration", "ok": True, "detail": "parsed"})
    try:
        from sqlalchemy import text
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        results.append({"check": "database", "ok": True, "detail": ctx.engine.url.render_as_string(hide_password=True)})
    except Exception as exc:  # noqa: BLE001 - reported, and the command fails
        results.append({"check": "database", "ok": False, "detail": f"{exc.__class__.__name__}: {exc}. Check RETOUR_DATABASE_URL."})
    if settings.salesforce.configured:
        from connector.checks import salesforce_checks
        results.extend(salesforce_checks(settings))
    else:
        # Nothing to sync from and nowhere to push to: that is what is missing, not "ok".
        results.append({"check": "salesforce", "ok": False, "detail": (
            "not configured: set [salesforce] auth (RETOUR_SALESFORCE_AUTH: jwt, client_credentials or session) and "
            "that flow's credentials; `retour init retour.toml` writes a file listing them. Without an org only "
            "`retour import` brings data in; `retour demo` runs against a local demo org")})
    ok = all(r["ok"] for r in results)
    if as_json:
        click.echo(json.dumps({"ok": ok, "checks": results}, indent=2))
    else:
        for r in results:
            click.echo(f"{'ok  ' if r['ok'] else 'FAIL'} {r['check']}: {r['detail']}")
    if not ok:
        sys.exit(1)


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_ctx
def db_upgrade(ctx: Context, revision: str) -> None:
    """Bring the database to the latest schema."""
    from retour.db import current_revision, upgrade
    upgrade(ctx.engine, revision)
    click.echo(f"database at {current_revision(ctx.engine)}")


# --------------------------------------------------------------------------------------------- composition
@dataclass
class Running:
    """The scheduler and the web server started together in this process; ``stop()`` ends both."""

    scheduler: Any
    server: Any

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.server.shutdown()
        self.server.server_close()
        self.scheduler.retour_runner.release()


class PortBusy(click.ClickException):
    """The web port is taken: one line naming the port and the option that changes it, not a traceback."""


def address_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served right now (e.g. "Address already in use"), or None when it can."""
    if not port:
        return None
    import socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as socketserver binds: TIME_WAIT is no obstacle
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def serve_web(settings: Settings, session_factory, *, port: int | None = None):
    """The web app on [web] host and ``port`` (default [web] port) in a daemon thread; returns the server.

    The same server as `retour web` (``webapp.serve``): a slow client never holds one of its threads.
    """
    from webapp import create_app, serve

    port = settings.web.port if port is None else port
    # A taken port would end in the server's own traceback: try the address first, as it will.
    problem = address_problem(settings.web.host, port)
    if problem:
        raise PortBusy(f"Cannot serve the web UI on {settings.web.host}:{port}: {problem}. "
                       "Stop what uses it or choose another port with --port.")
    app = create_app(settings, session_factory=session_factory)
    server = serve.serve_in_thread(app, settings.web.host, port)
    logging.getLogger("retour.web").info("web=serving host=%s port=%s", settings.web.host, server.server_port)
    return server


def start_together(settings: Settings, session_factory, *, port: int | None = None) -> Running:
    """Start the web app and the scheduler (sync, themes, push) side by side: a single-machine install.

    The web server binds first, so a busy port fails before any job has run.
    """
    from jobs.scheduler import build_scheduler

    server = serve_web(settings, session_factory, port=port)
    try:
        scheduler = build_scheduler(settings, session_factory, blocking=False)
        scheduler.retour_runner.heartbeat()
        scheduler.start()
    except BaseException:
        server.shutdown()
        server.server_close()
        raise
    return Running(scheduler, server)


def _job_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)


@cli.command("run")
@click.option("--port", type=click.IntRange(0, 65_535), default=None,
              help="Web UI port (default: [web] port, 8080; 0 picks a free one).")
@pass_ctx
def run_cmd(ctx: Context, port: int | None) -> None:
    """Run the scheduler and the web app together (a single-machine install)."""
    _job_logging()
    ctx.ensure_schema()
    running = start_together(ctx.settings, ctx.session_factory, port=port)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Retour running: {running.url} (Ctrl-C to stop)")
    try:
        stop.wait()
    finally:
        running.stop()


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in getattr(module, "commands", ()):
            cli.add_command(command)


def main() -> None:
    _register()
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
