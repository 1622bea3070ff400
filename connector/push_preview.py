"""A decision's push as a product owner reads it: a summary first, then its records a page at a time.

A decision can write 10,000 records. The summary (records per object, reps reached, what is skipped and why,
what each rep's daily cap defers and until when, what was written or failed) is counted over every record from a
few narrow columns; only the page's records (at most 200) are read in full. Records are grouped by rep, then by
account, so a product owner reads what each rep will receive.

Each record's state is its true state: written (with its Salesforce Id), waiting for the next push run,
deferred by the rep's daily cap (with the day it should go), skipped (with why), failed (with Salesforce's error),
withdrawn. The day each record should go comes from one estimate, :func:`connector.push_plan.send_dates`, which
``connector.push`` uses for Send now and ``retour push`` too.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session, aliased

from connector.push import PENDING, WITHDRAWING, sent_today, waiting_stmt
from connector.push_plan import Waiting, is_quiet, send_dates, sending_days, skip_code
from retour.config import Settings
from retour.models import Account, Decision, Opportunity, PushItem, SalesforceUser, utcnow

PER_PAGE = 200
KIND_ORDER = {"insight": 0, "task": 1, "chatter": 2}

# What a record's row says of it (a page translates these codes):
# planned | waiting | deferred | retry | written | failed | skipped | withdrawing | withdrawn | cancelled
WRITTEN, WAITING, DEFERRED = "written", "waiting", "deferred"


@dataclass(frozen=True)
class PreviewRow:
    """One record of the push, as its row on the page shows it."""
    n: int  # its place in the whole preview, from 1 (rows 201-400 are page 2)
    id: int
    kind: str
    sobject: str
    target_id: str
    record_name: str
    owner_id: str | None
    rep_name: str | None
    account_id: str | None
    account_name: str | None
    text: str
    lang: str | None
    record: dict[str, Any]
    state: str  # the stored PushItem state
    shown: str  # the state the row says (see the codes above)
    skip_code: str | None = None
    skip_reason: str | None = None
    sf_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    expected: dt.date | None = None  # when a waiting, deferred or planned record should go (None: not applicable)
    sent_at: dt.datetime | None = None
    quote: str = ""  # what put the record in the push: its most typical quote (CRM text, escaped by pages)
    quote_lang: str | None = None
    handed_from: str | None = None  # the deal's owner, inactive or unknown: the record goes to the account's owner
    handed_why: str | None = None  # owner_inactive | owner_unknown


@dataclass(frozen=True)
class PreviewSummary:
    total: int
    per_object: dict[str, int]  # records to write (or written), per Salesforce object
    reps: int  # reps who receive at least one record
    skipped: dict[str, int]  # skip code -> records
    shown: dict[str, int]  # row state -> records
    deferred: list[tuple[dt.date | None, int]]  # the cap's deferrals: day they should go -> records, soonest first
    cap: int
    first_day: dt.date  # the day the next scheduled run sends (today unless today is quiet)
    failed: dict[str, int] = field(default_factory=dict)  # Salesforce error code -> records

    @property
    def deferred_total(self) -> int:
        return sum(n for _d, n in self.deferred)

    @property
    def last_deferred(self) -> dt.date | None:
        return max((d for d, _n in self.deferred if d is not None), default=None)


@dataclass(frozen=True)
class PreviewPage:
    summary: PreviewSummary
    rows: list[PreviewRow]
    page: int
    pages: int
    per_page: int

    @property
    def first(self) -> int:
        return self.rows[0].n if self.rows else 0

    @property
    def last(self) -> int:
        return self.rows[-1].n if self.rows else 0


def pages_of(session: Session, decision: Decision, per_page: int = PER_PAGE) -> int:
    """How many pages the decision's preview has (at least one)."""
    n = session.scalar(select(func.count()).select_from(PushItem).where(PushItem.decision_id == decision.id)) or 0
    return max(1, math.ceil(n / per_page))


def _expected(session: Session, decision: Decision, settings: Settings, today: dt.date) -> dict[int, dt.date | None]:
    """When each of the decision's waiting (or, for a draft, planned) records should go, competing with what every
    other decision has waiting for the same reps, in the order a push run sends them."""
    rows = [(dec, item_id, Waiting(item_id, owner, state == WITHDRAWING)) for item_id, dec, owner, state in
            session.execute(waiting_stmt(PushItem.id, PushItem.decision_id, PushItem.owner_id, PushItem.state))]
    if decision.state == "draft":  # as if approved now: its records join the queue in decision order
        rows += [(decision.id, item_id, Waiting(item_id, owner)) for item_id, owner in session.execute(
            select(PushItem.id, PushItem.owner_id).where(PushItem.decision_id == decision.id,
                                                         PushItem.state == "planned"))]
        rows.sort(key=lambda r: (r[0], r[1]))
    queue = [w for _dec, _id, w in rows]
    push = settings.push
    return send_dates(queue, sent_today(session, today), push.per_rep_daily_cap, today, push.quiet_dates,
                      push.quiet_weekends)


def _shown(state: str, decision_state: str, expected: dt.date | None, first_day: dt.date) -> str:
    if state == "sent":
        return WRITTEN
    if state in PENDING and decision_state == "approved":
        if state == "retry":
            return "retry"
        return WAITING if expected == first_day else DEFERRED
    return state  # planned | failed | skipped | withdrawing | withdrawn | cancelled


def preview_page(session: Session, decision: Decision, settings: Settings, *, page: int = 1,
                 per_page: int = PER_PAGE, today: dt.date | None = None) -> PreviewPage:
    """The summary of the decision's whole push and the records of ``page`` (clamped to the last page).

    A fixed number of statements whatever the push's size: the summary from grouped counts (and the waiting
    records' ids, for the days they go), the page's records sorted and cut by the database.
    """
    today = today or utcnow().date()
    push = settings.push
    first_day = today if not is_quiet(today, push.quiet_dates, push.quiet_weekends) else next(
        sending_days(today, push.quiet_dates, push.quiet_weekends))
    mine = PushItem.decision_id == decision.id
    expected = _expected(session, decision, settings, today) if decision.state in ("draft", "approved") else {}
    pending = ("planned",) if decision.state == "draft" else PENDING

    per_object: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    shown: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    deferred: Counter[dt.date | None] = Counter()
    for state, sobject, skip_reason, error_code, n in session.execute(
            select(PushItem.state, PushItem.sobject, PushItem.skip_reason, PushItem.error_code, func.count())
            .where(mine, PushItem.state.not_in(pending))
            .group_by(PushItem.state, PushItem.sobject, PushItem.skip_reason, PushItem.error_code)):
        s = _shown(state, decision.state, None, first_day)
        shown[s] += n
        if s == "skipped":
            skipped[skip_code(skip_reason) or "other"] += n
            continue
        if s == "failed":
            failed[error_code or "UNKNOWN"] += n
        if s != "cancelled":
            per_object[sobject] += n
    for item_id, state, sobject in session.execute(
            select(PushItem.id, PushItem.state, PushItem.sobject).where(mine, PushItem.state.in_(pending))):
        s = _shown(state, decision.state, expected.get(item_id), first_day)
        shown[s] += 1
        per_object[sobject] += 1
        if s == DEFERRED or (s == "planned" and expected.get(item_id) != first_day):
            deferred[expected.get(item_id)] += 1
    reps = session.scalar(select(func.count(distinct(PushItem.owner_id)))
                          .where(mine, PushItem.state.not_in(("skipped", "cancelled")))) or 0
    total = sum(shown.values())
    summary = PreviewSummary(
        total=total, per_object=dict(per_object.most_common()), reps=reps, skipped=dict(skipped.most_common()),
        shown=dict(shown), deferred=sorted(deferred.items(), key=lambda kv: (kv[0] is None, kv[0] or today)),
        cap=push.per_rep_daily_cap, first_day=first_day, failed=dict(failed.most_common()))

    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    offset = (page - 1) * per_page
    # Grouped by rep (by name; records with no rep last), then by account, the account's own record first.
    opp = aliased(Opportunity)
    account_id = func.coalesce(opp.account_id, PushItem.target_id)
    kind_order = case(*((PushItem.kind == k, n) for k, n in KIND_ORDER.items()), else_=9)
    chosen = session.execute(
        select(PushItem, SalesforceUser.name, Account.id, Account.name)
        .outerjoin(opp, opp.id == PushItem.target_id)
        .outerjoin(Account, Account.id == account_id)
        .outerjoin(SalesforceUser, SalesforceUser.id == PushItem.owner_id)
        .where(mine)
        .order_by(SalesforceUser.name.is_(None), func.lower(SalesforceUser.name), SalesforceUser.name,
                  Account.name.is_(None), func.lower(Account.name), Account.id,
                  case((PushItem.target_id == Account.id, 0), else_=1), PushItem.target_id, kind_order, PushItem.id)
        .limit(per_page).offset(offset)).all()
    rows = []
    for n, (item, rep_name, acc_id, acc_name) in enumerate(chosen, start=offset + 1):
        payload = item.payload or {}
        rows.append(PreviewRow(
            n=n, id=item.id, kind=item.kind, sobject=item.sobject, target_id=item.target_id,
            record_name=payload.get("record_name") or item.target_id, owner_id=item.owner_id,
            rep_name=rep_name or payload.get("rep_name") or None, account_id=acc_id, account_name=acc_name,
            text=payload.get("text", ""), lang=payload.get("lang"), record=payload.get("record") or {},
            state=item.state, shown=_shown(item.state, decision.state, expected.get(item.id), first_day),
            skip_code=skip_code(item.skip_reason), skip_reason=item.skip_reason, sf_id=item.sf_id,
            error_code=item.error_code, error_message=item.error_message, expected=expected.get(item.id),
            sent_at=item.sent_at, quote=payload.get("quote") or "", quote_lang=payload.get("quote_lang"),
            handed_from=payload.get("handed_from"), handed_why=payload.get("handed_why")))
    return PreviewPage(summary=summary, rows=rows, page=page, pages=pages, per_page=per_page)
