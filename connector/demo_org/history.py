"""Where the demo org's seeded history sits in time: it ends at the start of the org's today.

The seeded file (:mod:`.seed`) is built once per (scale, seed) around a fixed anchor, so it can be cached, shared
and checksummed. The working copy an org serves is *placed*: every seeded date moves by whole days so that the
history ends at midnight (UTC) of the org's today, by its clock. Ids and texts never change, only dates. The copy
remembers the day it is placed on (``_meta`` ``history_day``) and which rows are the seed's (the largest seeded
rowid of each table, ``seeded_rowids``), so rows written later through the API (Retour's insights and tasks, a
test's records) keep their own, real, times.

When the history moves, and why then:

- A new working copy is placed before anyone reads it: its SystemModstamps stay spread over the history, like
  any org's. A copy that replaces an older one (a new seed format, a ``fresh`` start) is stamped now instead
  (:func:`touch`), since a database may mirror the one it replaces.
- An existing copy is placed again when the org *starts* on a later day. Every seeded row then also gets
  SystemModstamp (LastModifiedDate for notes, which have no modstamp) = now, so the next incremental sync re-reads
  every row and updates its dates in place: same ids and same texts, so Retour keeps the items, their segments and
  the curation filed on them.
- A running org never moves its history: midnight changes nothing in a running demo, so the org and the database
  that mirrors it stay consistent without a full re-read in the middle of someone's session. (A demo left running
  for days ages by those days; its next start moves it to the day again.)
- Moving the history past something that happened in the org after it would fake an answer to the loop: an
  opportunity seeded a few days before today, moved to after a push on its account, would read as a new deal
  the push brought in. So a seeded opportunity is never moved after the first Retour record that landed on its
  account (it stays a day before it).

Days are whole days, so a time of day stays what it was and a date field (CloseDate, ActivityDate) moves with
its datetimes.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from .schema import OBJECTS
from .seed import ANCHOR, DAY_MS
from .store import Store

SEEDED_DAY = ANCHOR.date()  # the day the cached seed ends on: its history stops at this day's midnight
OPEN_END = "9000-01-01"  # dates from here on stand for "no end" and never move


def day_start_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp() * 1000)


def history_day(store: Store) -> dt.date:
    """The day the copy's history ends on (a copy made before placement existed is still at the seed's anchor)."""
    value = store.meta("history_day")
    return dt.date.fromisoformat(value) if value else SEEDED_DAY


def _max_rowids(conn: sqlite3.Connection) -> dict[str, int]:
    out = {}
    for name in OBJECTS:
        try:
            row = conn.execute(f'SELECT MAX(rowid) FROM "{name}"').fetchone()
        except sqlite3.OperationalError:  # a seed built before this object existed has no table for it
            continue
        if row and row[0]:
            out[name] = int(row[0])
    return out


def seeded_rowids(store: Store, seed_file: Path | None = None) -> dict[str, int]:
    """The largest rowid of each table's seeded rows: kept in the copy, else read from the seed file (an older
    copy), else the copy's own (a copy nobody has written to yet is the seed)."""
    kept = store.meta("seeded_rowids")
    if kept:
        return {k: int(v) for k, v in json.loads(kept).items()}
    if seed_file is not None:
        conn = sqlite3.connect(f"file:{seed_file}?mode=ro", uri=True)
        try:
            extent = _max_rowids(conn)
        finally:
            conn.close()
    else:
        with store.lock:
            extent = _max_rowids(store.conn)
    store.set_meta("seeded_rowids", json.dumps(extent, sort_keys=True))
    return extent


def place(store: Store, today: dt.date, *, restamp_ms: int | None, seed_file: Path | None = None,
          wall_today: dt.date | None = None) -> int:
    """Move the seeded history so that it ends at ``today``'s midnight; return the days it moved.

    ``restamp_ms``: the SystemModstamp every seeded row gets when the copy was already served (None for a copy
    nobody has read). Refuses a ``today`` after the wall clock's: the seeded SystemModstamps would then lie in the
    future, where no sync (``SystemModstamp < run start``) ever reads them.
    """
    wall_today = wall_today or dt.datetime.now(dt.timezone.utc).date()
    if today > wall_today:
        raise ValueError(f"the demo org's today ({today}) is after the wall clock's ({wall_today}): its history "
                         "would be stamped in the future, where no sync reads it")
    extent = seeded_rowids(store, seed_file)
    was = history_day(store)
    days = (today - was).days
    if days == 0:
        store.set_meta("history_day", today.isoformat())
        return 0
    shift_ms, was_end = days * DAY_MS, day_start_ms(was)
    with store.transaction():
        for name, last in extent.items():
            obj = OBJECTS.get(name)
            if obj is None:
                continue
            stamp = _stamp_field(name)
            sets, params = [], []
            for f in obj.fields:
                if restamp_ms is not None and f.name == stamp:
                    sets.append(f'"{f.name}" = ?')
                    params.append(restamp_ms)
                elif f.type == "date":
                    # Salesforce's open end (a dated rate's NextStartDate is 9999-12-31) is no date to move:
                    # SQLite's date() has nothing past year 9999 and would give NULL.
                    sets.append(f'"{f.name}" = CASE WHEN "{f.name}" < ? THEN date("{f.name}", ?) ELSE "{f.name}" END')
                    params += [OPEN_END, f"{days:+d} days"]
                elif f.type == "datetime":
                    # Only the seed's own times move: a time written through the API since is later than the
                    # history's end and is a real one.
                    sets.append(f'"{f.name}" = CASE WHEN "{f.name}" <= ? THEN "{f.name}" + ? ELSE "{f.name}" END')
                    params += [was_end, shift_ms]
            if sets:
                store.conn.execute(f'UPDATE "{name}" SET {", ".join(sets)} WHERE rowid <= ?', [*params, last])
        if days > 0 and "Opportunity" in extent:
            _keep_before_landings(store, extent["Opportunity"])
        store.set_meta("history_day", today.isoformat())
    return days


def _stamp_field(name: str) -> str | None:
    """The field an incremental sync reads changes by: SystemModstamp, or LastModifiedDate where there is none."""
    obj = OBJECTS[name]
    return "SystemModstamp" if obj.has_modstamp else ("LastModifiedDate" if obj.has_last_modified else None)


def touch(store: Store, now_ms: int, seed_file: Path | None = None) -> None:
    """Stamp every seeded row as changed at ``now_ms``: a copy that replaces another one (a new seed format, a
    ``fresh`` start) may be mirrored by a database that read the old one, and only a new stamp makes its next
    incremental sync read the rows again."""
    extent = seeded_rowids(store, seed_file)
    with store.transaction():
        for name, last in extent.items():
            stamp = _stamp_field(name) if name in OBJECTS else None
            if stamp:
                store.conn.execute(f'UPDATE "{name}" SET "{stamp}" = ? WHERE rowid <= ?', (now_ms, last))


def _keep_before_landings(store: Store, last_seeded: int) -> None:
    """A seeded opportunity stays a day before the first Retour record that landed on its account (see the module
    docstring: moved after it, it would count as pipeline the push brought in)."""
    landed = store.conn.execute(
        'SELECT acc, MIN(at) FROM ('
        ' SELECT "AccountId" AS acc, "CreatedDate" AS at FROM "Task" WHERE "Retour_Key__c" IS NOT NULL'
        ' UNION ALL'
        ' SELECT COALESCE(i."Account__c", o."AccountId"), i."CreatedDate" FROM "Retour_Insight__c" i'
        ' LEFT JOIN "Opportunity" o ON o."Id" = i."Opportunity__c"'
        ') WHERE acc IS NOT NULL GROUP BY acc').fetchall()
    store.conn.executemany(
        'UPDATE "Opportunity" SET "CreatedDate" = ? WHERE "AccountId" = ? AND rowid <= ? AND "CreatedDate" > ?',
        [(at - DAY_MS, acc, last_seeded, at - DAY_MS) for acc, at in landed])
