"""Command-line commands of the jobs package, added to `retour` by retour.cli."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

import click

from retour.cli import Context, pass_ctx


def _print_figures(figures: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(figures, indent=2, default=str))
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in figures.items()))


@click.group("themes", invoke_without_command=True)
@click.option("--rebuild", is_flag=True, help="Re-cluster everything not curated; old themes keep their ids where they match.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def themes(click_ctx: click.Context, rebuild: bool, as_json: bool) -> None:
    """Run a theme pass now (the scheduler runs one every [scheduler] themes_minutes)."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.ensure_object(Context)
    from jobs.scheduler import record_run
    from jobs.themes import run_theme_pass
    from retour.db import session_scope

    ctx.ensure_schema()
    result: dict = {}

    def work() -> dict:
        with session_scope(ctx.session_factory) as session:
            result.update(run_theme_pass(session, ctx.settings, rebuild=rebuild))
        return result

    run = record_run(ctx.session_factory, "themes", work)
    if run.status != "ok":
        first = (run.error or "").splitlines()[0] if run.error else run.status
        raise click.ClickException(f"theme pass {run.status}: {first}")
    _print_figures(result, as_json)


@themes.command("discover")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print ids, themes and labels as JSON.")
@pass_ctx
def discover_cmd(ctx: Context, path: Path, as_json: bool) -> None:
    """Run discovery on a file of {"id", "text"[, "lang", "channel"]} lines in a throw-away store; print each id's theme."""
    from jobs.sample import SampleError, discover, read_jsonl

    try:
        rows = read_jsonl(path)
    except SampleError as exc:
        raise click.ClickException(str(exc)) from None
    result = discover([rows], ctx.settings)
    items = result["passes"][0]["items"] if result["passes"] else {}
    labels = {t["id"]: t["label"] for t in result["themes"]}
    if as_json:
        click.echo(json.dumps({
            "items": [{"id": str(r["id"]), "theme_id": items[str(r["id"])[:40]][0] if items.get(str(r["id"])[:40]) else None,
                       "theme": labels.get(items[str(r["id"])[:40]][0]) if items.get(str(r["id"])[:40]) else None}
                      for r in rows],
            "themes": result["themes"],
            "figures": result["passes"][0]["figures"] if result["passes"] else {},
        }, indent=2, default=str, ensure_ascii=False))
        return
    for r in rows:
        hit = items.get(str(r["id"])[:40])
        click.echo(f"{r['id']}\t{hit[0] if hit else 'none'}\t{labels.get(hit[0], '') if hit else ''}")
    click.echo("")
    for t in result["themes"]:
        click.echo(f"theme {t['id']}\t{t['members']} segments\t{t['label']}\t« {t['title_quote'] or ''} »")


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)


@click.command("scheduler")
@pass_ctx
def scheduler_cmd(ctx: Context) -> None:
    """Run the scheduled jobs (sync, themes, push) in this process; only one instance is active at a time."""
    from jobs.scheduler import build_scheduler

    _configure_logging()
    ctx.ensure_schema()
    scheduler = build_scheduler(ctx.settings, ctx.session_factory, blocking=True)
    runner = scheduler.retour_runner
    runner.heartbeat()
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        logging.getLogger("retour.jobs.scheduler").info("job=scheduler state=stopping owner=%s", runner.owner)
    finally:
        runner.release()


@click.command("run")
@pass_ctx
def run_cmd(ctx: Context) -> None:
    """Run the scheduler and the web app together (a single-machine install)."""
    from jobs.scheduler import build_scheduler, serve_web

    _configure_logging()
    ctx.ensure_schema()
    scheduler = build_scheduler(ctx.settings, ctx.session_factory, blocking=False)
    runner = scheduler.retour_runner
    server = serve_web(ctx.settings, ctx.session_factory)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.heartbeat()
    scheduler.start()
    click.echo(f"Retour running: http://{ctx.settings.web.host}:{server.server_port}/ (Ctrl-C to stop)")
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        server.shutdown()
        runner.release()


commands: list = [themes, scheduler_cmd, run_cmd]
