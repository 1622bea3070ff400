"""Command-line commands of the connector package, added to `retour` by retour.cli: `sync`, `import` and `push`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from retour.cli import Context, pass_ctx


class SyncProgress:
    """Sync progress on stderr. On a terminal one line rewritten in place; otherwise (a pipe, a log, CI) a line
    when an object starts, at most one every ``every`` seconds after, and its last count when it ends, so a
    long run shows it is alive without flooding the log."""

    def __init__(self, *, tty: bool | None = None, every: float = 5.0, clock=time.monotonic) -> None:
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.every = every
        self.clock = clock
        self._stream: str | None = None
        self._at = 0.0
        self._unsaid: str | None = None  # the stream's latest count, not printed yet

    def __call__(self, stream: str, fetched: int, total: int | None) -> None:
        of = f"/{total}" if total else ""
        line = f"  {stream}: {fetched}{of} records"
        if self.tty:
            click.echo(f"\r{line}".ljust(60), err=True, nl=False)
            return
        now = self.clock()
        if stream != self._stream:
            self._say_unsaid()
        if stream != self._stream or now - self._at >= self.every:
            self._stream, self._at = stream, now
            click.echo(line, err=True)
            self._unsaid = None
        else:
            self._unsaid = line

    def _say_unsaid(self) -> None:
        if self._unsaid:
            click.echo(self._unsaid, err=True)
            self._unsaid = None

    def done(self) -> None:
        """End the display: clear the in-place line on a terminal, else print the last object's final count."""
        if self.tty:
            click.echo("\r".ljust(61) + "\r", err=True, nl=False)
        else:
            self._say_unsaid()


def _table(report: dict) -> str:
    lines = [f"{'object':<14}{'fetched':>9}{'upserted':>10}{'deleted':>9}{'api calls':>11}{'seconds':>9}  api"]
    for name, fig in report["objects"].items():
        lines.append(f"{name:<14}{fig['fetched']:>9}{fig['upserted']:>10}{fig['deleted']:>9}{fig['api_calls']:>11}"
                     f"{fig['seconds']:>9.2f}  {fig['api']}")
    lines.append(f"status {report['status']}, {report['api_calls']} API calls, {report['seconds']:.1f} s")
    for name, fig in report["objects"].items():  # what an object's sync did differently, and why (issue 19.1)
        lines.extend(f"{name}: {note}" for note in fig.get("notes") or ())
    return "\n".join(lines)


@click.command()
@click.option("--object", "objects", multiple=True, metavar="NAME", help="Only this object (repeatable).")
@click.option("--full", is_flag=True, help="Re-read everything and remove what Salesforce no longer has.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def sync(ctx: Context, objects: tuple[str, ...], full: bool, as_json: bool) -> None:
    """Pull opportunities, activities, cases and notes from Salesforce (incremental, resumable)."""
    from connector.client import connect
    from connector.errors import RetourSalesforceError
    from connector.sync import run_sync

    settings = ctx.settings
    if not settings.salesforce.configured:
        raise click.ClickException("Salesforce is not configured: set RETOUR_SALESFORCE_AUTH (see `retour init`).")
    ctx.ensure_schema()
    try:
        client = connect(settings)
    except RetourSalesforceError as exc:
        raise click.ClickException(exc.message) from None
    progress = None if as_json else SyncProgress()
    report = run_sync(ctx.session_factory, settings, client, objects=list(objects) or None, full=full,
                      progress=progress)
    if progress:
        progress.done()
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        click.echo(_table(report))
        if report["error"]:
            click.echo(f"{'Stopped' if report['status'] == 'stopped' else 'Failed'}: {report['error']}", err=True)
    if report["status"] in ("failed", "partial"):  # partial: some objects failed, the others synced
        sys.exit(1)
    if report["status"] == "stopped":
        sys.exit(3)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--object", "sobject", required=True, type=click.Choice(["Opportunity", "Task", "Event", "Case"]),
              help="What the file holds.")
@click.option("--decimal", type=click.Choice(["auto", ".", ","]), default="auto", show_default=True,
              help="The decimal mark of the file's amounts. auto reads it from the whole of each amount column "
                   "(1,500.25 says '.', 1 500,50 says ','); when every amount reads both ways (1.500) a French "
                   "export (';' separator or French column names) means ',', any other '.'.")
@click.option("--keep-good", is_flag=True,
              help="Import the rows that can be read even when others cannot (listed, exit code 1). Without it the "
                   "import is all or nothing: one unreadable row and nothing is imported.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def import_(ctx: Context, path: Path, sobject: str, decimal: str, keep_good: bool, as_json: bool) -> None:
    """Load a Salesforce report or Data Loader CSV export (for orgs without API access).

    The file may be UTF-8, UTF-16 or Windows-1252 (decided on the whole file), separated by commas, semicolons or
    tabs. It needs a record Id column and, for opportunities, the stage (for activities and cases, a subject or a
    description); the file is checked before any row is written.
    """
    from connector.importer import ImportFileError, ImportRejected, import_csv
    from retour.db import session_scope

    ctx.ensure_schema()
    try:
        with session_scope(ctx.session_factory) as session:
            result = import_csv(session, ctx.settings, path, sobject, decimal=decimal, keep_good=keep_good)
    except ImportRejected as exc:
        if as_json:
            click.echo(json.dumps({"imported": False, "rows": exc.rows, "errors": exc.errors,
                                   "errors_total": exc.errors_total}, indent=2, default=str))
        else:
            click.echo(str(exc), err=True)
            _bad_rows(exc.errors, exc.errors_total)
        sys.exit(1)
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"imported": True, **result}, indent=2, default=str))
    else:
        click.echo(f"{path.name}: {result['rows']} rows, {result['inserted']} new, {result['updated']} updated, "
                   f"{result['unchanged']} unchanged, {result['errors_total']} rejected "
                   f"(amounts read with {result['decimal']!r} as the decimal mark: {result['decimal_from']})")
        _bad_rows(result["errors"], result["errors_total"])
    if result["errors_total"]:
        sys.exit(1)


def _bad_rows(errors: list[dict], total: int) -> None:
    """The rows that could not be read, by spreadsheet row number (the header is row 1), 50 at most."""
    for err in errors[:50]:
        click.echo(f"  row {err['row']}: {err['column']}: {err['reason']}", err=True)
    if total > 50:
        click.echo(f"  … {total - 50} more (use --json for the first {len(errors)})", err=True)


REASONS = {
    "paused": "pushes are paused",
    "per_rep_daily_cap": "over a rep's daily cap of {cap}",
    "retry": "Salesforce failed for a moment; the next push run tries again",
    "budget": "the API budget for today is spent",
    "auth": "Salesforce refused the login",
    "metadata": "the org lacks fields a push writes; they go after the deploy",
}


def _push_lines(result: dict) -> list[str]:
    """What `retour push` prints: per decision what went, what waits and why, and what came back since."""
    lines = []
    for d in result["decisions"]:
        went = [f"{d['sent']} sent now"] if d["sent"] or not d["withdrawn"] else []
        went += [f"{d['withdrawn']} withdrawn"] if d["withdrawn"] else []
        went += [f"{d['failed']} failed ({', '.join(f'{c} x{n}' for c, n in d['errors'].items())})"] if d["failed"] else []
        line = f"Decision {d['id']} — {d['title'] or 'untitled'}: {', '.join(went)} ({d['sent_so_far']} sent so far)"
        for reason, n in d["deferred"].items():
            why = REASONS.get(reason, reason).format(cap=result["per_rep_daily_cap"])
            until = f", all gone by {d['cap_until']}" if reason == "per_rep_daily_cap" and d["cap_until"] else ""
            line += f"; {n} wait: {why}{until}"
        lines.append(line)
        if d.get("since_push_sentence"):
            lines.append(f"  {d['since_push_sentence']}")
    pause = result["paused"]
    if pause:
        who = f" by {pause['by']}" if pause.get("by") else ""
        when = f" on {pause['at'][:16].replace('T', ' ')} UTC" if pause.get("at") else ""
        why = f" ({pause['reason']})" if pause.get("reason") else ""
        lines.append(f"Pushes are paused{who}{when}{why}: nothing was sent. Resume them on the admin page.")
    elif not result["waiting_before"]:
        lines.append("Nothing approved is waiting to be sent.")
    if result["error"]:
        lines.append(f"Stopped: {result['error']}")
    if result["quiet_day_ignored"]:
        lines.append("Today is a quiet day for scheduled runs; a push asked for by hand goes anyway.")
    lines.append(f"{result['sent']} sent, {result['withdrawn']} withdrawn, {result['failed']} failed, "
                 f"{result['deferred']} waiting; {result['api_calls']} API calls.")
    return lines


@click.command("push")
@click.option("--decision", "decision_id", type=int, metavar="ID", help="Only this decision's records.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_ctx
def push(ctx: Context, decision_id: int | None, as_json: bool) -> None:
    """Send what is approved now. The pause and each rep's daily cap apply; quiet days (scheduled runs only) do not.

    Exit code 1 when a record failed, 3 when the run stopped (paused, API budget spent, login refused).
    """
    from connector.errors import RetourSalesforceError
    from connector.push import send_now
    from retour.db import session_scope

    settings = ctx.settings
    if not settings.salesforce.configured:
        raise click.ClickException("Salesforce is not configured: set RETOUR_SALESFORCE_AUTH (see `retour init`).")
    ctx.ensure_schema()
    try:
        with session_scope(ctx.session_factory) as session:
            result = send_now(session, settings, decision_id=decision_id)
    except RetourSalesforceError as exc:
        raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        click.echo("\n".join(_push_lines(result)))
    if result["failed"]:
        sys.exit(1)
    if result["stopped"]:
        sys.exit(3)


commands: list = [sync, import_, push]
