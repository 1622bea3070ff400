"""Loop efficacy: did the pushes pay? Read back from what later syncs mirrored.

Per decision: tasks pushed and done (the mirrored Task with our ``Retour_Key__c`` is closed, and it was not
closed by a withdrawal), lost deals re-opened (a deal that was Closed Lost when its task was pushed is no longer
Closed Lost), deals since won, new opportunities created on the same accounts after the push, and the pipeline
recovered (amounts of re-opened deals plus the new opportunities that are open or won).

:func:`efficacy` is pure; :func:`decision_efficacy` / :func:`efficacy_by_decision` read the rows for it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retour.models import Activity, Opportunity, PushItem


@dataclass(frozen=True)
class PushedTask:
    key: str
    opportunity_id: str
    sent_at: dt.datetime
    withdrawn: bool = False


@dataclass(frozen=True)
class MirroredTask:
    key: str
    is_closed: bool


@dataclass(frozen=True)
class OppNow:
    id: str
    account_id: str | None
    is_closed: bool
    is_won: bool
    amount: Decimal | None
    created_date: dt.datetime | None


@dataclass(frozen=True)
class Efficacy:
    tasks_sent: int = 0
    tasks_done: int = 0
    lost_deals_pushed: int = 0
    deals_reopened: int = 0
    deals_won_after: int = 0
    new_opportunities: int = 0
    pipeline_recovered: Decimal = Decimal(0)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pipeline_recovered"] = float(self.pipeline_recovered)
        return d


def efficacy(tasks: list[PushedTask], mirrored: dict[str, MirroredTask], lost_opps_now: dict[str, OppNow],
             first_push_by_account: dict[str, dt.datetime], account_opps: list[OppNow]) -> Efficacy:
    """The figures of one decision from plain rows (see the module docstring for the rules)."""
    live = [t for t in tasks if not t.withdrawn]
    done = sum(1 for t in live if (m := mirrored.get(t.key)) is not None and m.is_closed)
    reopened = [o for o in lost_opps_now.values() if not (o.is_closed and not o.is_won)]
    won = sum(1 for o in reopened if o.is_won)
    pushed_ids = set(lost_opps_now)
    new = [o for o in account_opps
           if o.id not in pushed_ids and o.account_id in first_push_by_account and o.created_date is not None
           and o.created_date > first_push_by_account[o.account_id] and not (o.is_closed and not o.is_won)]
    pipeline = sum((o.amount or Decimal(0) for o in reopened), Decimal(0)) + sum(
        (o.amount or Decimal(0) for o in new), Decimal(0))
    return Efficacy(tasks_sent=len(live), tasks_done=done, lost_deals_pushed=len(lost_opps_now),
                    deals_reopened=len(reopened), deals_won_after=won, new_opportunities=len(new),
                    pipeline_recovered=pipeline)


def _opp_now(o: Opportunity) -> OppNow:
    return OppNow(o.id, o.account_id, o.is_closed, o.is_won, o.amount, o.created_date)


def decision_efficacy(session: Session, decision_id: int) -> Efficacy:
    return efficacy_by_decision(session, [decision_id]).get(decision_id, Efficacy())


def efficacy_by_decision(session: Session, decision_ids: list[int] | None = None) -> dict[int, Efficacy]:
    """Figures per decision for every decision that pushed something (or the given ones): a handful of queries."""
    stmt = select(PushItem).where(PushItem.sent_at.is_not(None), PushItem.kind.in_(("task", "insight")))
    if decision_ids is not None:
        stmt = stmt.where(PushItem.decision_id.in_(decision_ids))
    items = list(session.scalars(stmt))
    if not items:
        return {}
    task_keys = [i.external_key for i in items if i.kind == "task"]
    mirrored = {k: MirroredTask(k, bool(c)) for k, c in session.execute(
        select(Activity.retour_key, Activity.is_closed).where(Activity.retour_key.in_(task_keys)))} if task_keys else {}
    opp_ids = {i.target_id for i in items if i.kind == "task"} | {
        i.target_id for i in items if i.sobject and i.external_key.split("-")[1:2] == ["opp"]}
    opps = {o.id: o for o in session.scalars(select(Opportunity).where(Opportunity.id.in_(opp_ids)))} if opp_ids else {}
    # The accounts the decision reached: directly (account insights) or through an opportunity's account.
    account_of = {i.target_id: i.target_id for i in items if i.external_key.split("-")[1:2] == ["acc"]}
    per_decision: dict[int, dict[str, Any]] = {}
    for i in items:
        d = per_decision.setdefault(i.decision_id, {"tasks": [], "lost": {}, "accounts": {}})
        if i.kind == "task":
            d["tasks"].append(PushedTask(i.external_key, i.target_id, i.sent_at, i.state == "withdrawn"))
            if i.target_id in opps:
                d["lost"][i.target_id] = _opp_now(opps[i.target_id])
        account = account_of.get(i.target_id) or (opps[i.target_id].account_id if i.target_id in opps else None)
        if account and (account not in d["accounts"] or i.sent_at < d["accounts"][account]):
            d["accounts"][account] = i.sent_at
    all_accounts = {a for d in per_decision.values() for a in d["accounts"]}
    account_opps = [_opp_now(o) for o in session.scalars(
        select(Opportunity).where(Opportunity.account_id.in_(all_accounts)))] if all_accounts else []
    return {decision_id: efficacy(d["tasks"], mirrored, d["lost"], d["accounts"],
                                  [o for o in account_opps if o.account_id in d["accounts"]])
            for decision_id, d in per_decision.items()}
