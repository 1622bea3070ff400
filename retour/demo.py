"""`retour demo`: the whole loop on the embedded default, with no Salesforce account.

It starts the local demo org (a Salesforce-compatible HTTPS server seeded with a fictional vendor's
CRM), syncs it over real HTTP exactly as a real org would be synced, runs a theme pass, then serves the
web UI on loopback with the scheduler beside it (sync, themes, push, on short demo intervals), and prints
each record Retour writes into the org as it lands — the loop closed, on the reps' own records. The demo
org is just another org to Retour: every setting that points at it comes from ``DemoOrg.env()``, the same
names a real deployment sets.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from retour.cli import Context, Running, address_problem, pass_ctx, start_together
from retour.config import Settings, load_settings

DEMO_EMAIL = "demo@retour.example"
# What the demo changes from the defaults, unless the environment sets it: a decision approved on a Saturday
# lands at once (quiet weekends off), and the scheduler turns over in minutes, not hours, so a push shows
# within a minute and what reps do with it comes back with the next sync.
DEMO_ENV = {
    "RETOUR_PUSH_QUIET_WEEKENDS": "false",
    "RETOUR_SCHEDULER_PUSH_MINUTES": "1",
    "RETOUR_SCHEDULER_SYNC_MINUTES": "5",
    "RETOUR_SCHEDULER_THEMES_MINUTES": "10",
}
TICK_SECONDS = 15.0
WATCH_SECONDS = 5.0


def _progress(message: str) -> None:
    """Long steps say what they are doing, on stderr, terminal or not (stdout stays clean for --json): a run in
    CI or behind a pipe is otherwise silent for a minute and looks hung."""
    click.echo(f"… {message}", err=True)


@contextlib.contextmanager
def _ticking(message: str, every: float = TICK_SECONDS) -> Iterator[None]:
    """Say a long step is still going every ``every`` seconds: the theme pass reports nothing until it ends."""
    _progress(message)
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(every):
            _progress(f"{message}: still going, {time.monotonic() - started:.0f} s")

    ticker = threading.Thread(target=tick, name="retour-demo-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def demo_environ(org_env: dict[str, str], base: dict[str, str] | None = None,
                 defaults: dict[str, str] | None = None) -> dict[str, str]:
    """The demo's environment: the caller's, the demo org's connection settings, and the demo's defaults (``DEMO_ENV``
    and ``defaults``: a setting the caller gives wins over them)."""
    environ = dict(os.environ if base is None else base)
    environ.update(org_env)
    for name, value in {**DEMO_ENV, **(defaults or {})}.items():
        environ.setdefault(name, value)
    return environ


def demo_settings(org_env: dict[str, str], base: dict[str, str] | None = None,
                  defaults: dict[str, str] | None = None) -> Settings:
    """Settings for the demo: the caller's environment plus the demo org's connection settings."""
    return load_settings(environ=demo_environ(org_env, base, defaults))


def desk_address(settings: Settings, port: int | None) -> dict[str, str]:
    """The desk's own address as ``[web] base_url``, which the demo knows before it serves: pushed insights and tasks
    link back to their theme on the desk ("The theme in Retour: …"); without it a rep in the demo org read an insight
    with no way back."""
    return {"RETOUR_WEB_BASE_URL": f"http://{settings.web.host}:{port or settings.web.port}/"}


def run_demo_pipeline(ctx: Context, org: Any) -> dict[str, Any]:
    """Sync the demo org over HTTPS, run a theme pass, and return the figures `--once --json` prints."""
    from connector.client import connect
    from connector.sync import run_sync

    from connector.cli import SyncProgress

    started = time.monotonic()
    settings = ctx.settings
    ctx.ensure_schema()
    _progress(f"syncing the demo org at {org.base_url}")
    client = connect(settings)
    printer = SyncProgress()
    report = run_sync(ctx.session_factory, settings, client, progress=printer)
    printer.done()
    synced = {name: fig.get("upserted", 0) for name, fig in _per_object(report).items()}
    figures: dict[str, Any] = {
        "synced": synced,
        "api_calls": client.calls,
        "org_api_calls": org.api_calls,
    }
    from jobs.embed import get_embedder
    from jobs.themes import run_pass, spaces_to_rebuild
    from retour.db import session_scope
    embedder = get_embedder(settings.themes.backend)
    with session_scope(ctx.session_factory) as session:
        # The demo owns its data: themes a previous version built in another space are rebuilt (mapped onto the
        # new clusters, ids and decisions kept) rather than refused, as `retour themes` refuses them.
        older = spaces_to_rebuild(session, embedder)
    if older:
        _progress(f"themes were built with {', '.join(older)}: rebuilding them with {embedder.name}")
    with _ticking("discovering themes"):
        theme_figures = run_pass(ctx.session_factory, settings, rebuild=bool(older), embedder=embedder)
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


def _start_org(data_dir: Path, scale: float, port: int, faults: frozenset[str] = frozenset()):
    from connector.demo_org import DemoOrg

    _progress(f"starting the demo org (scale {scale}); the first start seeds it, later starts reuse it")
    if faults:
        _progress(f"fault switches on: {', '.join(sorted(faults))}")
    org = DemoOrg(data_dir, scale=scale, port=port, faults=faults)
    try:
        org.start()
    except OSError as exc:  # the port was taken between the check and the bind
        org.stop()
        raise _busy("the demo org", "127.0.0.1", port, exc.strerror or str(exc), "--org-port") from None
    return org


def _busy(what: str, host: str, port: int, problem: str, option: str) -> click.ClickException:
    return click.ClickException(f"Cannot serve {what} on {host}:{port}: {problem}. Stop what uses it or choose "
                                f"another port with {option}.")


def _check_ports(settings: Settings, port: int | None, org_port: int, org_only: bool) -> None:
    """Both ports, before a minute of sync and theme pass: a taken port is one line, not a traceback at the end."""
    problem = address_problem("127.0.0.1", org_port)
    if problem:
        raise _busy("the demo org", "127.0.0.1", org_port, problem, "--org-port")
    web_port = settings.web.port if port is None else port
    problem = None if org_only else address_problem(settings.web.host, web_port)
    if problem:
        raise _busy("the web UI", settings.web.host, web_port, problem, "--port")


def serve_demo(ctx: Context, org: Any, port: int | None) -> Running:
    """The web UI and the scheduler (sync, themes, push) against the demo org, and ``demo.env`` for other shells.

    ``demo.env`` (under the data directory) exports the settings this demo runs with, so `retour push`, `retour
    sync` or `retour check` in another shell reach the same org and database.
    """
    running = start_together(ctx.settings, ctx.session_factory, port=port)
    environ = {**org.env(), **{k: os.environ.get(k, v) for k, v in DEMO_ENV.items()},
               "RETOUR_DATA_DIR": str(Path(ctx.settings.data_dir).resolve())}
    if ctx.settings.web.base_url:  # `retour push` from another shell links back to this desk too
        environ["RETOUR_WEB_BASE_URL"] = ctx.settings.web.base_url
    env_file = Path(ctx.settings.data_dir) / "demo.env"
    env_file.write_text("".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in environ.items()), encoding="utf-8")
    return running


def _faults_help() -> str:
    from connector.demo_org.faults import help_text
    return help_text()


def _parse_faults(_ctx: click.Context, _param: click.Parameter, value: str) -> frozenset[str]:
    from connector.demo_org.faults import parse_faults
    try:
        return parse_faults(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
@click.option("--once", is_flag=True, help="Do the sync and theme pass, print the figures and exit (no web UI).")
@click.option("--json", "as_json", is_flag=True, help="With --once: print one JSON object.")
@click.option("--org-only", is_flag=True, help="Serve only the demo org and print the settings that point Retour at it.")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Multiply the demo org's volume.")
@click.option("--port", type=click.IntRange(0, 65_535), default=None, help="Web UI port (default: [web] port, 8080).")
@click.option("--org-port", type=int, default=0, help="Demo org port (default: any free port).")
@click.option("--faults", "faults", default="", metavar="A,B,...", callback=_parse_faults,
              help="With --org-only: make the demo org as unkind as Salesforce on its bad days, with these comma-"
                   "separated switches. " + _faults_help())
@pass_ctx
def demo(ctx: Context, once: bool, as_json: bool, org_only: bool, scale: float, port: int | None, org_port: int,
         faults: frozenset[str]) -> None:
    """Run Retour end to end against a local demo org: sync, themes, the web UI and the scheduler that pushes."""
    if faults and not org_only:
        raise click.UsageError("--faults needs --org-only: the switches are for testing a connector against the "
                               "demo org, not for the demo's own loop.")
    base = load_settings()
    data_dir = Path(base.data_dir)
    _check_ports(base, None if once else port, org_port, org_only or once)
    org = _start_org(data_dir, scale, org_port, faults)
    try:
        if org_only:
            for name, value in org.env().items():
                click.echo(f"export {name}={shlex.quote(str(value))}")
            click.echo(f"# demo org serving at {org.base_url} — Ctrl-C to stop", err=True)
            _wait_forever()
            return
        ctx._settings = demo_settings(org.env(), defaults=None if once else desk_address(base, port))
        figures = run_demo_pipeline(ctx, org)
        if once:
            if as_json:
                click.echo(json.dumps(figures, default=str))
            else:
                _print_figures(figures)
            return
        password = ensure_demo_user(ctx)
        watch = Landings(org, ctx.settings.push.insight_object)
        running = serve_demo(ctx, org, port)
        click.echo(f"Retour is running at {running.url}")
        click.echo(f"Log in as {DEMO_EMAIL} with password {password}  (demo only; kept in {data_dir / 'demo-password'})")
        click.echo(f"The scheduler syncs every {ctx.settings.scheduler.sync_minutes} min and pushes approved decisions "
                   f"every {ctx.settings.scheduler.push_minutes} min; what lands in the demo org is printed here.")
        click.echo(f"Other shells reach this demo after: . {data_dir / 'demo.env'}   (then e.g. retour push)")
        click.echo("Ctrl-C to stop.")
        try:
            _watch(watch)
        finally:
            running.stop()
    finally:
        org.stop()


def _print_figures(figures: dict[str, Any]) -> None:
    for name, count in figures["synced"].items():
        click.echo(f"{name:<14} {count:>8} synced")
    click.echo(f"API calls: {figures['api_calls']}   feedback items: {figures['feedback_items']}   "
               f"themes: {figures['themes']} ({figures['themes_critical']} at critical mass)   {figures['seconds']} s")


class Landings:
    """What Retour has written into the demo org since the last look: the insights on the reps' opportunities and
    accounts, the follow-up tasks in their names, and insights marked withdrawn — read from the org itself."""

    def __init__(self, org: Any, insight_object: str = "Retour_Insight__c") -> None:
        self.org = org
        self.insight_object = insight_object
        self.insights = self._insights()
        self.tasks = self._tasks()
        self._tasks_pending = False

    def _insights(self) -> dict[str, dict]:
        return {r["Id"]: r for r in self.org.records(self.insight_object) if not r.get("IsDeleted")}

    def _tasks(self) -> dict[str, dict]:
        return {r["Id"]: r for r in self.org.records("Task") if r.get("Retour_Key__c") and not r.get("IsDeleted")}

    def poll(self) -> list[str]:
        """Lines for what landed since the last poll (none when nothing did)."""
        insights = self._insights()
        new = [r for i, r in insights.items() if i not in self.insights]
        withdrawn = [r for i, r in insights.items() if i in self.insights and r.get("Status__c") == "withdrawn"
                     and self.insights[i].get("Status__c") != "withdrawn"]
        changed = bool(new or withdrawn)
        new_tasks: list[dict] = []
        # Tasks are sent in their own batch after the insights: read them (8,000 rows at full scale) only when
        # insights moved, now or at the last look.
        if changed or self._tasks_pending:
            tasks = self._tasks()
            new_tasks = [r for i, r in tasks.items() if i not in self.tasks]
            self.tasks = tasks
        self._tasks_pending = changed
        self.insights = insights
        if not (new or withdrawn or new_tasks):
            return []
        return describe_landings(new, new_tasks, withdrawn, self._names())

    def _names(self) -> dict[str, str]:
        names = {u["Id"]: u.get("Name") or u["Id"] for u in self.org.records("User")}
        for obj in ("Opportunity", "Account"):
            for r in self.org.records(obj):
                names[r["Id"]] = f"“{r.get('Name') or r['Id']}”"
                names[f"owner:{r['Id']}"] = names.get(r.get("OwnerId") or "", "")
        return names


def describe_landings(insights: list[dict], tasks: list[dict], withdrawn: list[dict], names: dict[str, str],
                      examples: int = 3) -> list[str]:
    """In words: how many records landed and a few of them, each on its record and with its rep."""
    lines = []
    if insights or tasks:
        lines.append(f"In the demo org: {len(insights)} Retour insight(s) and {len(tasks)} follow-up task(s) landed on "
                     "the reps' records, for example:")
        for r in insights[:examples]:
            on = r.get("Opportunity__c") or r.get("Account__c") or ""
            kind = "Opportunity" if r.get("Opportunity__c") else "Account"
            rep = names.get(f"owner:{on}") or "no rep"
            lines.append(f"  {kind} {names.get(on, on)} ({rep}): insight “{r.get('Name') or ''}” [{r['Id']}]")
        for r in tasks[:examples]:
            on = r.get("WhatId") or ""
            lines.append(f"  Task for {names.get(r.get('OwnerId') or '', 'no rep')} on {names.get(on, on)}: "
                         f"{r.get('Subject') or ''} [{r['Id']}]")
    if withdrawn:
        lines.append(f"In the demo org: {len(withdrawn)} Retour insight(s) marked withdrawn.")
    return lines


def _watch(landings: Landings, every: float = WATCH_SECONDS) -> None:
    """Until Ctrl-C: print what lands in the demo org."""
    try:
        while True:
            time.sleep(every)
            for line in landings.poll():
                click.echo(line)
    except KeyboardInterrupt:
        click.echo("stopping", err=True)


def _wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping", err=True)


commands = [demo]
