"""Command-line commands of the jobs package, added to `retour` by retour.cli."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

import click

from retour.cli import Context, pass_ctx


def _print_figures(figures: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(figures, indent=2, default=str))
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in figures.items()))


@click.group("themes", invoke_without_command=True)
@click.option("--rebuild", is_flag=True,
              help="Re-cluster everything not curated; old themes keep their ids where they match.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def themes(click_ctx: click.Context, rebuild: bool, as_json: bool) -> None:
    """Run a theme pass now (the scheduler runs one every [scheduler] themes_minutes)."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.ensure_object(Context)
    from jobs.scheduler import record_run
    from jobs.themes import run_pass

    ctx.ensure_schema()
    result: dict = {}

    def work() -> dict:
        result.update(run_pass(ctx.session_factory, ctx.settings, rebuild=rebuild))
        return result

    run = record_run(ctx.session_factory, "themes", work)
    if run.status != "ok":
        first = (run.error or "").splitlines()[0] if run.error else run.status
        raise click.ClickException(f"theme pass {run.status}: {first}")
    _print_figures(result, as_json)


# What the text output escapes in an id, a label or a quote (CRM text is untrusted): a tab or a newline would add a
# column or a line, a control character (an escape sequence, a bell) would act on the terminal, a bidirectional
# control would reorder the columns on screen. A backslash is doubled so that every escape reads back one way.
_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _plain(value: object) -> str:
    """``value`` as one cell of a tab-separated line: see ``_UNSAFE``."""
    return _UNSAFE.sub(lambda m: _ESCAPES.get(m.group()) or f"\\u{ord(m.group()):04x}", str(value))


@themes.command("discover")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seeds", "seeds_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='Labels to learn from: lines of {"id": <an id of PATH>, "theme": "<name>" or null for not '
                   'feedback}.')
@click.option("--no-filter", is_flag=True,
              help="Keep every clause: for text that is not CRM notes (no logistics to drop).")
@click.option("--json", "as_json", is_flag=True, help="Print ids, themes and labels as JSON.")
@pass_ctx
def discover_cmd(ctx: Context, path: Path, seeds_path: Path | None, no_filter: bool, as_json: bool) -> None:
    r"""Run discovery on {"id", "text"[, "lang", "channel"]} lines in a throw-away store; print each id's theme.

    With --seeds, the labelled items keep their theme, each seeded theme keeps the given name, and every other
    item is assigned by what the seeds teach or discovered; the seeds go through the desk's own curation functions.
    A seed naming a theme needs an item with text.

    Both files are UTF-8 (a byte order mark is fine), one JSON object per line. An id is a string, which comes back
    exactly as written, or a number, which comes back as its value (1.50 as 1.5). Only the first 20,000 characters
    of a text are read, as in a sync (feedback is said in the first pages of a note; the rest is not themed). Half
    of a UTF-16 pair in a text (an emoji cut by an export) is read as U+FFFD and the rest of the text is kept; in
    an id or a theme name it is refused.

    The text output is one tab-separated line per id (id, theme id or "none", label), then one per theme. There a
    backslash, tab, newline or carriage return in an id, label or quote is written \\, \t, \n, \r and any other
    control character as \uXXXX; --json gives them as they are.
    """
    import dataclasses

    from jobs.sample import SampleError, discover, has_text_to_learn, read_jsonl
    from jobs.seeds import SeedError, read_seeds

    try:
        rows = read_jsonl(path)
        by_id = {str(r["id"]): r for r in rows}
        seeds = (read_seeds(seeds_path, by_id, learnable=lambda item: has_text_to_learn(by_id[item]))
                 if seeds_path else [])
    except (SampleError, SeedError) as exc:
        raise click.ClickException(str(exc)) from None
    settings = ctx.settings
    if no_filter:
        settings = dataclasses.replace(settings, themes=dataclasses.replace(settings.themes, filter=False))
    result = discover([rows], settings, seeds=seeds)
    items = result["passes"][0]["items"] if result["passes"] else {}
    labels = {t["id"]: t["label"] for t in result["themes"]}

    def theme_of(row: dict) -> int | None:
        hit = items.get(str(row["id"]))
        return hit[0] if hit else None

    if as_json:
        click.echo(json.dumps({
            "items": [{"id": str(r["id"]), "theme_id": theme_of(r), "theme": labels.get(theme_of(r))} for r in rows],
            "themes": result["themes"],
            "figures": result["passes"][0]["figures"] if result["passes"] else {},
        }, indent=2, default=str, ensure_ascii=False))
        return
    for r in rows:
        tid = theme_of(r)
        label = _plain(labels.get(tid, "")) if tid is not None else ""
        click.echo(f"{_plain(r['id'])}\t{tid if tid is not None else 'none'}\t{label}")
    click.echo("")
    for t in result["themes"]:
        quote = _plain(t["title_quote"] or "")
        click.echo(f"theme {t['id']}\t{t['members']} segments\t{_plain(t['label'])}\t« {quote} »")


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


commands: list = [themes, scheduler_cmd]
