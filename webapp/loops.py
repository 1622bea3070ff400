"""What came back from Salesforce since a decision's push (connector.push_efficacy), for the pages that show it: the
decision page and the board's decided themes.

The figures are computed by ``connector.push_efficacy`` alone; here they are only kept between page loads while
nothing they read has moved — the decision's records (their latest send and attempt, and how many), the decision
itself, and what syncs bring (the reps' answers) — since a push of 10,000 records takes longer to read back than
the page that shows it.
"""

from __future__ import annotations

from typing import Any

from flask import g
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.push_efficacy import LoopFigures, loop_figures_by_decision
from retour.models import Decision, PushItem
from webapp.cache import cached
from webapp.queries import data_version

SHOWN_STATES = ("approved", "withdrawn")  # a draft or a cancelled decision sent nothing


def _stamps(session: Session, decision_ids: list[int]) -> dict[int, tuple[Any, ...]]:
    return {d: (sent, tried, n) for d, sent, tried, n in session.execute(
        select(PushItem.decision_id, func.max(PushItem.sent_at), func.max(PushItem.last_attempt_at), func.count())
        .where(PushItem.decision_id.in_(decision_ids)).group_by(PushItem.decision_id))}


def loops_of(session: Session, decisions: list[Decision], currency: str) -> dict[int, LoopFigures]:
    """Each decision's loop figures (``LoopFigures()`` when nothing landed), by decision id."""
    if not decisions:
        return {}
    ids = sorted(d.id for d in decisions)
    version = g.get("data_version") or data_version(session)
    stamps = _stamps(session, ids)
    key = ("loops", tuple((d.id, d.state, d.updated_at, stamps.get(d.id)) for d in sorted(decisions,
                                                                                         key=lambda d: d.id)),
           version.sync, currency)
    found = cached(key, lambda: loop_figures_by_decision(session, ids, default_currency=currency), lasting=True)
    return {i: found.get(i, LoopFigures()) for i in ids}


def theme_loops(session: Session, theme_ids: list[int], currency: str) -> dict[int, LoopFigures]:
    """For each theme that has one, the loop figures of its latest approved decision (else its latest withdrawn
    one): what the board's row of a decided theme says happened since the push."""
    if not theme_ids:
        return {}
    latest: dict[int, Decision] = {}
    for d in session.scalars(select(Decision).where(Decision.theme_id.in_(theme_ids), Decision.state.in_(SHOWN_STATES))
                             .order_by(Decision.state != "approved", Decision.approved_at.desc(), Decision.id.desc())):
        latest.setdefault(d.theme_id, d)
    loops = loops_of(session, list(latest.values()), currency)
    return {theme_id: loops[d.id] for theme_id, d in latest.items()}
