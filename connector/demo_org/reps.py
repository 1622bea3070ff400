"""The demo org's reps answer Retour's follow-ups, so a demo shows the loop coming back.

When one of Retour's follow-up Tasks lands (created through the API with a ``Retour_Key__c``), the org plans once
what its rep will do with it, from record ids alone (a hash: the same deal is always answered the same way, with
no random state to keep): whether the rep completes the task and how long after it landed, and — for a deal that
was Closed Lost, once the rep has called — whether they re-open the deal and how long after the call. Delays are
spread log-uniformly, from minutes to weeks, so a person watching a demo sees the first answers come back within
the session and more over the following days.

The plan is kept in the org's ``_answers`` table and carried out when the org's clock passes it (:func:`answer_due`
runs before every API request), as an edit by the rep: SystemModstamp moves to the wall clock, so the next
incremental sync mirrors it like any other change. A task closed before its rep got to it (Retour withdrew it)
is left alone, and so is a deal someone already moved out of Closed Lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import NamedTuple

from .schema import OBJECTS
from .store import Store

MINUTE_MS = 60_000
DAY_MS = 86_400_000
COMPLETE_SHARE = 0.6  # of follow-ups, the share reps complete
COMPLETE_DELAY_MS = (5 * MINUTE_MS, 10 * DAY_MS)
REOPEN_SHARE = 0.15  # of completed follow-ups on a lost deal, the share whose deal is re-opened
REOPEN_DELAY_MS = (60 * MINUTE_MS, 21 * DAY_MS)
REOPEN_STAGES = ("Qualification", "Needs Analysis", "Proposal/Price Quote")
REOPEN_CLOSE_DAYS = (30, 90)  # the new close date a rep gives a re-opened deal, in days after re-opening


class Answer(NamedTuple):
    """What a rep will do with one follow-up: None where they do nothing."""

    task_id: str
    opportunity_id: str | None
    complete_at_ms: int | None
    reopen_at_ms: int | None
    stage: str | None
    close_in_days: int | None


def _unit(salt: str, record_id: str) -> float:
    """A number in [0, 1) fixed by a record id (and what it is drawn for)."""
    digest = hashlib.sha256(f"{salt}:{record_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def _delay(u: float, bounds: tuple[int, int]) -> int:
    lo, hi = bounds
    return int(round(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))))


def plan(task_id: str, opportunity_id: str | None, landed_ms: int, *, deal_lost: bool) -> Answer:
    """The rep's answer to the follow-up ``task_id`` about ``opportunity_id`` that landed at ``landed_ms``. Pure."""
    key = opportunity_id or task_id
    if _unit("complete", key) >= COMPLETE_SHARE:
        return Answer(task_id, opportunity_id, None, None, None, None)
    complete_at = landed_ms + _delay(_unit("complete-delay", key), COMPLETE_DELAY_MS)
    if not (deal_lost and opportunity_id) or _unit("reopen", key) >= REOPEN_SHARE:
        return Answer(task_id, opportunity_id, complete_at, None, None, None)
    stage = REOPEN_STAGES[int(_unit("stage", key) * len(REOPEN_STAGES))]
    lo, hi = REOPEN_CLOSE_DAYS
    close_in = lo + int(_unit("close", key) * (hi - lo + 1))
    return Answer(task_id, opportunity_id, complete_at,
                  complete_at + _delay(_unit("reopen-delay", key), REOPEN_DELAY_MS), stage, close_in)


def ensure_table(store: Store) -> None:
    """The org's plan of answers (made when the org starts, so a request never creates it)."""
    with store.lock:
        store.conn.execute("CREATE TABLE IF NOT EXISTS _answers (task_id TEXT PRIMARY KEY, opportunity_id TEXT, "
                       "complete_at INTEGER, reopen_at INTEGER, stage TEXT, close_in_days INTEGER, "
                           "done INTEGER NOT NULL DEFAULT 0)")  # 0 planned, 1 completed, 2 re-opened, -1 void


def schedule(store: Store, task_id: str, what_id: str | None, landed_ms: int) -> Answer:
    """Plan the answer to a follow-up that just landed (the caller holds the store's transaction)."""
    ensure_table(store)
    opp = store.get_row(OBJECTS["Opportunity"], what_id) if what_id and what_id.startswith("006") else None
    answer = plan(task_id, opp["Id"] if opp else None, landed_ms,
                  deal_lost=bool(opp and opp.get("StageName") == "Closed Lost" and not opp.get("IsDeleted")))
    if answer.complete_at_ms is not None:
        store.conn.execute("INSERT OR REPLACE INTO _answers VALUES (?, ?, ?, ?, ?, ?, 0)", (
            answer.task_id, answer.opportunity_id, answer.complete_at_ms, answer.reopen_at_ms, answer.stage,
            answer.close_in_days))
    return answer


def answer_due(store: Store, now_ms: int) -> int:
    """Carry out every planned answer whose time has come by ``now_ms``; return how many records changed."""
    with store.lock:
        if store.conn.execute("SELECT 1 FROM _answers WHERE (done = 0 AND complete_at <= ?) OR "
                              "(done = 1 AND reopen_at <= ?) LIMIT 1", (now_ms, now_ms)).fetchone() is None:
            return 0  # the common case, at every request: nothing is due
    changed = 0
    with store.transaction():
        task, opp_obj = OBJECTS["Task"], OBJECTS["Opportunity"]
        for task_id, at in store.conn.execute(
                "SELECT task_id, complete_at FROM _answers WHERE done = 0 AND complete_at <= ? ORDER BY complete_at",
                (now_ms,)).fetchall():
            row = store.get_row(task, task_id)
            if row is None or row.get("IsDeleted") or row.get("IsClosed"):
                store.conn.execute("UPDATE _answers SET done = -1 WHERE task_id = ?", (task_id,))
                continue
            store.update_values(task, task_id, {"Status": "Completed"}, row)
            store.conn.execute("UPDATE _answers SET done = 1 WHERE task_id = ?", (task_id,))
            changed += 1
        for task_id, opp_id, at, stage, close_in in store.conn.execute(
                "SELECT task_id, opportunity_id, reopen_at, stage, close_in_days FROM _answers "
                "WHERE done = 1 AND reopen_at <= ? ORDER BY reopen_at", (now_ms,)).fetchall():
            row = store.get_row(opp_obj, opp_id)
            store.conn.execute("UPDATE _answers SET done = 2 WHERE task_id = ?", (task_id,))
            if row is None or row.get("IsDeleted") or row.get("StageName") != "Closed Lost":
                continue
            close = (dt.datetime.fromtimestamp(at / 1000, dt.timezone.utc).date() + dt.timedelta(days=close_in))
            store.update_values(opp_obj, opp_id, {"StageName": stage, "CloseDate": close.isoformat()}, row)
            changed += 1
    return changed
