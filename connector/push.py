"""Push-back: a decision's insight lands in the reps' own Salesforce records — once, restrained, reversible.

The outbox is the ``push_item`` table. ``prepare`` plans the records (:mod:`connector.push_plan`) and stores
them as *planned* PushItems (skips included, with their reasons); ``preview`` shows them exactly as they will
be written; ``approve`` stamps who approved and when; ``send_pending`` delivers approved items as sObject
Collections upserts by external ID (``PATCH composite/sobjects/<SObject>/<ExtIdField>``, ≤ 200 records a call,
``allOrNone: false``), so n pushes cost ceil(n/200) calls and each record keeps its own result.

Which layer retries what:

- :class:`connector.client.OrgClient` re-authenticates on 401 INVALID_SESSION_ID (bounded) and replays the
  call. ``send_pending`` calls it with ``retry=False``, so the client does *not* retry transient faults here;
- ``send_pending`` owns every transient retry of a push: a whole call that failed transiently (5xx, a timeout
  or a reset after the request left — an *ambiguous* outcome) is resent with the same upsert keys, and a
  record that failed with a transient ``statusCode`` (UNABLE_TO_LOCK_ROW…) is resent alone, with backoff,
  at most ``[push] max_retries`` times; what is still transient after that waits in state ``retry`` for the
  next run. An upsert by key is idempotent, so resending can never make a second record.

Restraint: scheduled runs send nothing on quiet dates (a person sending now with :func:`send_now` has chosen
the day); the global pause is read before every batch (a pause set while a
run is under way stops it before its next call); each rep receives at most ``[push] per_rep_daily_cap``
items a day (the rest wait for another day, they are not dropped). The caller owns the session: results are
flushed batch by batch and committed by the caller.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.errors import (
    AuthFailed,
    BudgetExhausted,
    FatalSalesforceError,
    RETRIABLE_CODES,
    RetourSalesforceError,
    RetriableSalesforceError,
)
from connector.push_plan import (
    CHATTER,
    INSIGHT,
    NO_LONGER_RAISED,
    TASK,
    AccountRow,
    DecisionRow,
    EvidenceRow,
    OpportunityRow,
    OwnerRow,
    Waiting,
    is_quiet,
    majority_lang,
    missing_titles,
    options_from,
    plan_pushes,
    raised_records,
    send_dates,
    withdrawal_fields,
)
from retour.config import Settings
from retour.models import (
    Account,
    Activity,
    AppSetting,
    AppUser,
    Decision,
    FeedbackItem,
    FeedbackSegment,
    Opportunity,
    PushItem,
    SalesforceUser,
    Theme,
    ThemeEvidence,
    ThemeProposal,
    utcnow,
)
from retour.switches import PUSH_PAUSE, is_push_paused

log = logging.getLogger(__name__)

BATCH_SIZE = 200  # the sObject Collections limit
PENDING = ("approved", "retry")
WITHDRAWING = "withdrawing"
IN_CHUNK = 500


class PushStateError(ValueError):
    """The decision is not in a state that allows this action (e.g. approving a cancelled decision)."""


# ------------------------------------------------------------------------------------------ gathering rows
def _chunks(values: Iterable[Any], size: int = IN_CHUNK) -> Iterable[list[Any]]:
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def split_pending(session: Session, theme_id: int) -> set[int]:
    """The clauses an open split proposal of the theme would move to another theme (its second group)."""
    carved: set[int] = set()
    for proposal in session.scalars(select(ThemeProposal).where(
            ThemeProposal.theme_id == theme_id, ThemeProposal.kind == "split", ThemeProposal.status == "open")):
        carved.update(proposal.carved_segments())
    return carved


def evidence_rows(session: Session, theme_id: int, carved: set[int] = frozenset()) -> list[EvidenceRow]:
    """The theme's active evidence as planning reads it; ``carved``: the clauses a pending split would move."""
    return [EvidenceRow(o, a, lang or "other", at, channel or "", quote or "", float(sim or 0.0), seg in carved)
            for o, a, lang, at, channel, quote, sim, seg in session.execute(
        select(FeedbackItem.opportunity_id, FeedbackItem.account_id, FeedbackSegment.lang, FeedbackItem.occurred_at,
               FeedbackItem.channel, FeedbackSegment.text, ThemeEvidence.similarity, FeedbackSegment.id)
        .join(FeedbackSegment, FeedbackSegment.item_id == FeedbackItem.id)
        .join(ThemeEvidence, ThemeEvidence.segment_id == FeedbackSegment.id)
        .where(ThemeEvidence.theme_id == theme_id, ThemeEvidence.state == "active")
        .order_by(FeedbackItem.id, FeedbackSegment.position))]


def opportunity_rows(session: Session, opp_ids: set[str]) -> dict[str, OpportunityRow]:
    opportunities: dict[str, OpportunityRow] = {}
    for chunk in _chunks(opp_ids):
        for o in session.scalars(select(Opportunity).where(Opportunity.id.in_(chunk))):
            opportunities[o.id] = OpportunityRow(o.id, o.name, o.account_id, o.owner_id, o.stage, o.is_closed, o.is_won,
                                                 o.close_date)
    return opportunities


def gather(session: Session, decision: Decision) -> tuple[DecisionRow, list[EvidenceRow], dict[str, OpportunityRow],
                                                           dict[str, AccountRow], dict[str, OwnerRow]]:
    """The plain rows :func:`connector.push_plan.plan_pushes` needs, read from the mirror and the theme."""
    row = DecisionRow(id=decision.id, theme_id=decision.theme_id, status=decision.status, target=decision.target,
                      insight_en=decision.insight_en, insight_fr=decision.insight_fr, title_en=decision.title_en,
                      title_fr=decision.title_fr)
    evidence = evidence_rows(session, decision.theme_id, split_pending(session, decision.theme_id))
    opportunities = opportunity_rows(session, {e.opportunity_id for e in evidence if e.opportunity_id})
    acc_ids = {e.account_id for e in evidence if e.account_id} | {o.account_id for o in opportunities.values()
                                                                  if o.account_id}
    accounts: dict[str, AccountRow] = {}
    for chunk in _chunks(acc_ids):
        for a in session.scalars(select(Account).where(Account.id.in_(chunk))):
            accounts[a.id] = AccountRow(a.id, a.name, a.owner_id)
    owner_ids = {o.owner_id for o in opportunities.values() if o.owner_id} | {
        a.owner_id for a in accounts.values() if a.owner_id}
    langs: dict[str, list[str]] = defaultdict(list)
    owners: dict[str, OwnerRow] = {}
    for chunk in _chunks(owner_ids):
        for owner_id, lang, n in session.execute(
                select(FeedbackItem.owner_id, FeedbackItem.lang, func.count()).where(FeedbackItem.owner_id.in_(chunk))
                .group_by(FeedbackItem.owner_id, FeedbackItem.lang)):
            langs[owner_id].extend([lang] * min(int(n), 1000))
        for u in session.scalars(select(SalesforceUser).where(SalesforceUser.id.in_(chunk))):
            owners[u.id] = OwnerRow(u.id, u.name, u.is_active, None)
    owners = {k: OwnerRow(v.id, v.name, v.is_active, majority_lang(langs.get(k, []))) for k, v in owners.items()}
    return row, evidence, opportunities, accounts, owners


# ------------------------------------------------------------------------------------------ the outbox API
def prepare(session: Session, decision: Decision, settings: Settings, *, today: dt.date | None = None) -> list[PushItem]:
    """(Re)build the decision's PushItems as *planned* (or *skipped*, with a reason); nothing is sent.

    Preparing again (after an edit) updates planned and skipped items in place and drops those no longer
    intended; an item already approved, sent or withdrawn is never touched by a re-plan.
    """
    if decision.state != "draft":
        raise PushStateError(f"decision {decision.id} is {decision.state}: only a draft decision can be prepared")
    today = today or utcnow().date()
    row, evidence, opps, accounts, owners = gather(session, decision)
    plan = plan_pushes(row, evidence, opps, accounts, owners, options_from(settings), today)
    existing = {i.external_key: i for i in session.scalars(select(PushItem).where(PushItem.decision_id == decision.id))}
    planned_keys = set()
    items: list[PushItem] = []
    for intended in plan:
        planned_keys.add(intended.key)
        item = existing.get(intended.key)
        if item is None:
            item = PushItem(decision_id=decision.id, external_key=intended.key)
            session.add(item)
        elif item.state not in ("planned", "skipped"):
            items.append(item)
            continue
        item.kind = intended.kind
        item.sobject = intended.sobject
        item.target_id = intended.target_id
        item.owner_id = intended.owner_id
        item.payload = intended.payload()
        item.state = "skipped" if intended.skipped else "planned"
        item.skip_reason = intended.skip_reason
        items.append(item)
    for key, item in existing.items():
        if key not in planned_keys and item.state in ("planned", "skipped"):
            session.delete(item)
    session.flush()
    skipped = sum(1 for i in items if i.state == "skipped")
    log.info("job=push state=prepared decision=%d items=%d skipped=%d", decision.id, len(items), skipped)
    return items


def preview(session: Session, decision: Decision) -> list[dict[str, Any]]:
    """What each rep will receive, exactly, and what is skipped and why (the UI's preview table)."""
    rows = []
    for item in session.scalars(select(PushItem).where(PushItem.decision_id == decision.id)
                                .order_by(PushItem.state == "skipped", PushItem.id)):
        payload = item.payload or {}
        rows.append({
            "id": item.id, "kind": item.kind, "sobject": item.sobject, "external_key": item.external_key,
            "target_id": item.target_id, "record_name": payload.get("record_name") or item.target_id,
            "owner_id": item.owner_id, "rep_name": payload.get("rep_name") or item.owner_id,
            "text": payload.get("text", ""), "lang": payload.get("lang"), "record": payload.get("record", {}),
            "state": item.state, "skip_reason": item.skip_reason, "sf_id": item.sf_id, "error_code": item.error_code,
            "error_message": item.error_message, "attempts": item.attempts, "approved_by_id": item.approved_by_id,
            "approved_at": item.approved_at, "sent_at": item.sent_at,
        })
    return rows


def _items(session: Session, decision: Decision) -> list[PushItem]:
    return list(session.scalars(select(PushItem).where(PushItem.decision_id == decision.id).order_by(PushItem.id)))


def approve(session: Session, decision: Decision, user_id: int | None, *, now: dt.datetime | None = None) -> None:
    """planned → approved, stamping who approved and when on the decision and on every item.

    A draft from before titles existed is refused: its planned items were written with the theme's machine
    label, and editing it (which prepares the push again) is what puts a person's title in their place.
    """
    if decision.state != "draft":
        raise PushStateError(f"decision {decision.id} is {decision.state}: only a draft decision can be approved")
    missing = missing_titles(decision)
    if missing:
        raise PushStateError(f"decision {decision.id} has no title for reps in {' and '.join(missing)}: "
                             "edit it to write one, then approve")
    now = now or utcnow()
    decision.state, decision.approved_by_id, decision.approved_at = "approved", user_id, now
    n = 0
    for item in _items(session, decision):
        if item.state == "planned":
            item.state, item.approved_by_id, item.approved_at = "approved", user_id, now
            n += 1
    session.flush()
    log.info("job=push state=approved decision=%d items=%d user=%s", decision.id, n, user_id)


def cancel(session: Session, decision: Decision, user_id: int | None) -> None:
    """Drop a draft: nothing was sent, nothing will be."""
    if decision.state != "draft":
        raise PushStateError(f"decision {decision.id} is {decision.state}: only a draft decision can be cancelled")
    decision.state = "cancelled"
    for item in _items(session, decision):
        if item.state == "planned":
            item.state = "cancelled"
    session.flush()
    log.info("job=push state=cancelled decision=%d user=%s", decision.id, user_id)


def withdraw(session: Session, decision: Decision, user_id: int | None, *, now: dt.datetime | None = None) -> None:
    """Take an approved decision back: mark its insight records withdrawn and close its tasks not yet done.

    Items that never left Retour are cancelled. Records known to exist (``sf_id``) are updated by Id — an
    update, unlike an upsert, never recreates a record a rep has deleted. Records whose send had an unknown
    outcome (tried, no answer) are upserted by key in their withdrawn form. Tasks the mirror shows as already
    closed are left alone: the rep did them. Chatter posts cannot be withdrawn by Retour and are left as is.
    The withdrawals are sent by the next ``send_pending`` run (pause and quiet dates apply; the cap does not).
    """
    if decision.state != "approved":
        raise PushStateError(f"decision {decision.id} is {decision.state}: only an approved decision can be withdrawn")
    now = now or utcnow()
    decision.state, decision.withdrawn_at = "withdrawn", now
    items = _items(session, decision)
    task_keys = [i.external_key for i in items if i.kind == TASK and i.state in ("sent", "retry", "approved")]
    closed = set()
    for chunk in _chunks(task_keys):
        closed |= set(session.scalars(select(Activity.retour_key).where(Activity.retour_key.in_(chunk),
                                                                        Activity.is_closed.is_(True))))
    counts: Counter[str] = Counter()
    for item in items:
        payload = dict(item.payload or {})
        if item.state in ("planned", "failed") or (item.state in PENDING and not item.attempts):
            item.state = "cancelled"
            counts["cancelled"] += 1
            continue
        if item.state not in ("sent", *PENDING):
            continue
        if item.kind == CHATTER:
            payload["withdraw_note"] = "a Chatter post cannot be withdrawn by Retour; delete it in Salesforce if needed"
            item.payload = payload
            counts["left"] += 1
            continue
        if item.external_key in closed:
            payload["withdraw_note"] = "the rep already completed this task: left as is"
            item.payload = payload
            counts["left"] += 1
            continue
        payload.update(withdraw={"by_id": user_id, "at": now.isoformat(),
                                 "mode": "update" if item.sf_id else "upsert"})
        item.payload = payload
        item.state = WITHDRAWING
        item.error_code = item.error_message = None
        counts["withdrawing"] += 1
    session.flush()
    log.info("job=push state=withdrawn decision=%d user=%s %s", decision.id, user_id,
             " ".join(f"{k}={v}" for k, v in sorted(counts.items())))


# ------------------------------------------------------------------------------------------ delivery
@dataclass
class PushReport:
    """Figures of one ``send_pending`` run (JobRun figures, the CLI, the benchmark)."""
    quiet: bool = False
    paused: bool = False
    stopped: str | None = None  # paused | budget | auth | metadata
    error: str | None = None
    batches: int = 0
    api_calls: int = 0
    sent: int = 0
    withdrawn: int = 0
    failed: int = 0
    retry_later: int = 0
    deferred_by_cap: int = 0
    resends: int = 0
    no_longer_raised: int = 0  # approved records cancelled before sending: the quotes that brought them left
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    # Which items the cap held back (send_now says when they go); not a figure, so not in as_dict().
    deferred_ids: list[int] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        figures.pop("deferred_ids")
        return figures


METADATA_HINT = ("deploy the SFDX project in deploy/salesforce first (sf project deploy start) and assign the "
                 "integration user its Retour_Integration permission set")


def missing_fields(client: Any, fields: dict[str, Iterable[str]]) -> str | None:
    """One line naming the fields the org lacks (or will not let Retour write) among ``fields`` per object; None
    when every one is there. One describe per object: an org still on older metadata of deploy/salesforce would
    otherwise refuse every record of a push with INVALID_FIELD, one failure per record."""
    problems = []
    for sobject, names in fields.items():
        try:
            describe = client.restful(f"sobjects/{sobject}/describe", object_name=sobject) or {}
        except FatalSalesforceError as exc:
            if exc.code not in ("NOT_FOUND", "INVALID_TYPE"):
                raise
            problems.append(f"the org has no {sobject} object")
            continue
        known = {f.get("name"): f for f in describe.get("fields", [])}
        missing = [n for n in names if n not in known]
        read_only = [n for n in names if n in known and not (known[n].get("createable") or known[n].get("updateable"))]
        if missing:
            problems.append(f"{sobject} lacks {', '.join(missing)}")
        if read_only:
            problems.append(f"{sobject}.{', '.join(read_only)} {'is' if len(read_only) == 1 else 'are'} read-only "
                            "for the integration user")
    if not problems:
        return None
    return f"{'; '.join(problems)}: {METADATA_HINT}."


def _paused(session: Session) -> bool:
    """The pause as committed right now: the web app sets it from another transaction mid-run."""
    row = session.get(AppSetting, PUSH_PAUSE)
    if row is not None:
        session.refresh(row)
    return is_push_paused(session)


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)
    return start, start + dt.timedelta(days=1)


def sent_today(session: Session, day: dt.date) -> Counter[str]:
    """Per rep, the records sent ``day`` that count against the daily cap: those still standing. A record since
    withdrawn no longer stands in the rep's records, and a withdrawal's own write is not a new insight, so neither
    uses up the cap of the next decision's records (a withdrawal once held back a whole new decision for a day)."""
    start, end = _day_bounds(day)
    return Counter({owner: int(n) for owner, n in session.execute(
        select(PushItem.owner_id, func.count()).where(PushItem.sent_at >= start, PushItem.sent_at < end,
                                                      PushItem.state == "sent", PushItem.owner_id.is_not(None))
        .group_by(PushItem.owner_id))})


def split_by_cap(items: list[PushItem], sent_today: Counter[str], cap: int) -> tuple[list[PushItem], list[PushItem]]:
    """Apply the per-rep daily cap: withdrawals always go; new pushes only while the rep is under the cap.

    Returns (what may go today, what the cap holds back for another day), each in the order given.
    """
    chosen, held = [], []
    given = Counter(sent_today)
    for item in items:
        if item.state == WITHDRAWING or not item.owner_id:
            chosen.append(item)
        elif given[item.owner_id] < cap:
            given[item.owner_id] += 1
            chosen.append(item)
        else:
            held.append(item)
    return chosen, held


def _mode(item: PushItem) -> str:
    if item.state == WITHDRAWING:
        return (item.payload.get("withdraw") or {}).get("mode", "upsert")
    return "create" if item.kind == CHATTER else "upsert"


def _key_field(settings: Settings, sobject: str) -> str:
    return settings.push.insight_key_field if sobject == settings.push.insight_object else settings.push.task_key_field


def wire_record(item: PushItem, settings: Settings) -> dict[str, Any]:
    """The record as sent, with ``attributes.type`` (every collections record needs it)."""
    record = dict((item.payload or {}).get("record") or {})
    mode = _mode(item)
    if item.state == WITHDRAWING:
        record = withdrawal_fields(item.kind, record, settings.push.withdrawn_task_status,
                                   (item.payload or {}).get("lang") or "en")
        if mode == "update":
            record.pop(_key_field(settings, item.sobject), None)
            record = {"Id": item.sf_id, **record}
    return {"attributes": {"type": item.sobject}, **record}


def collection_request(sobject: str, mode: str, records: list[dict[str, Any]], settings: Settings) -> tuple[str, str]:
    """(path, method) of the sObject Collections call for this batch."""
    if mode == "upsert":
        return f"composite/sobjects/{sobject}/{_key_field(settings, sobject)}", "PATCH"
    if mode == "update":
        return "composite/sobjects", "PATCH"
    return "composite/sobjects", "POST"


def _errors_of(result: dict[str, Any]) -> tuple[str, str]:
    errors = result.get("errors") or []
    codes = [str(e.get("statusCode") or e.get("errorCode") or "UNKNOWN") for e in errors] or ["UNKNOWN"]
    messages = []
    for e in errors:
        msg = str(e.get("message") or "")
        if e.get("fields"):
            msg += f" (fields: {', '.join(map(str, e['fields']))})"
        messages.append(msg)
    return codes[0], "; ".join(messages) or "Salesforce reported a failure without a message"


def waiting_stmt(*columns: Any) -> Any:
    """SELECT ``columns`` of the items a push run would send, in sending order (see :func:`waiting`)."""
    return (select(*columns).join(Decision, Decision.id == PushItem.decision_id)
            .where(((PushItem.state.in_(PENDING)) & (Decision.state == "approved"))
                   | ((PushItem.state == WITHDRAWING) & (Decision.state == "withdrawn")))
            .order_by(PushItem.decision_id, PushItem.id))


def waiting(session: Session, decision_id: int | None = None) -> list[PushItem]:
    """Items a push run would send: approved (or to retry) of approved decisions, withdrawals of withdrawn ones."""
    stmt = waiting_stmt(PushItem)
    if decision_id is not None:
        stmt = stmt.where(PushItem.decision_id == decision_id)
    return list(session.scalars(stmt))


def _raised_by(session: Session, theme_id: int) -> set[str]:
    """The records (deal and account ids) the theme's active evidence raises, by planning's rule."""
    evidence = evidence_rows(session, theme_id)
    opp_evidence, acc_evidence = raised_records(
        evidence, opportunity_rows(session, {e.opportunity_id for e in evidence if e.opportunity_id}))
    return set(opp_evidence) | set(acc_evidence)


def no_longer_raised(session: Session, rows: list[PushItem]) -> list[PushItem]:
    """Approved records never tried whose every quote has left the decision's theme since it was approved.

    Why: the review split a theme after approving its push, and 45 records still waited for accounts whose quotes had
    all moved to the new theme. A split, a move or a reject between approval and sending now takes them out of the
    push. Followed through merges (the quotes of a merged theme live on in the theme it joined); a theme someone
    dismissed keeps its push as approved (withdrawing it is a person's act). Records already tried, or possibly
    written, are left to the outbox's exactly-once rules, and withdrawals always go.
    """
    fresh = [i for i in rows if i.state == "approved" and not i.attempts and i.kind in (INSIGHT, TASK, CHATTER)]
    if not fresh:
        return []
    themes = dict(session.execute(select(Decision.id, Decision.theme_id)
                                  .where(Decision.id.in_({i.decision_id for i in fresh}))).all())
    raised: dict[int, set[str] | None] = {}
    for decision_id, theme_id in themes.items():
        seen: set[int] = set()
        theme = session.get(Theme, theme_id)
        while theme is not None and theme.merged_into_id and theme.id not in seen:
            seen.add(theme.id)
            theme = session.get(Theme, theme.merged_into_id)
        live = theme is not None and theme.status not in ("dismissed", "merged")
        raised[decision_id] = _raised_by(session, theme.id) if live else None
    return [i for i in fresh if raised.get(i.decision_id) is not None and i.target_id not in raised[i.decision_id]]


def send_pending(session: Session, settings: Settings, client: Any, *, today: dt.date | None = None,
                 now: Callable[[], dt.datetime] = utcnow, sleep: Callable[[float], None] = time.sleep,
                 batch_size: int = BATCH_SIZE, quiet_days: bool = True, decision_id: int | None = None) -> PushReport:
    """Deliver approved items and pending withdrawals; checks the pause before every batch, caps, quiet dates.

    ``quiet_days`` False is for a person sending now (:func:`send_now`); ``decision_id`` sends one decision's items.
    """
    report = PushReport()
    started = time.monotonic()
    calls_before = getattr(client, "calls", 0)
    today = today or now().date()
    push = settings.push
    if quiet_days and is_quiet(today, push.quiet_dates, push.quiet_weekends):
        report.quiet = True
        log.info("job=push state=quiet day=%s", today.isoformat())
        return report
    rows = waiting(session, decision_id)
    gone = no_longer_raised(session, rows)
    for item in gone:
        item.state, item.skip_reason = "cancelled", NO_LONGER_RAISED
    report.no_longer_raised = len(gone)
    rows = [item for item in rows if item.state != "cancelled"]
    chosen, held = split_by_cap(rows, sent_today(session, today), push.per_rep_daily_cap)
    report.deferred_by_cap, report.deferred_ids = len(held), [item.id for item in held]
    groups: dict[tuple[str, str], list[PushItem]] = defaultdict(list)
    for item in chosen:
        groups[(item.sobject, _mode(item))].append(item)
    size = max(1, min(batch_size, BATCH_SIZE))
    described: dict[str, str | None] = {}  # per object, this run: what its describe says is missing
    for (sobject, mode), items in groups.items():
        for i in range(0, len(items), size):
            if report.stopped:
                break
            _send_batch(session, settings, client, sobject, mode, items[i:i + size], report, now, sleep, described)
    report.retry_later = sum(1 for item in chosen if item.state == "retry" or (item.state == WITHDRAWING and item.error_code))
    report.api_calls = getattr(client, "calls", 0) - calls_before
    report.seconds = round(time.monotonic() - started, 3)
    session.flush()
    log.info("job=push state=finished sent=%d withdrawn=%d failed=%d retry=%d deferred=%d batches=%d api_calls=%d "
             "stopped=%s s=%.2f", report.sent, report.withdrawn, report.failed, report.retry_later,
             report.deferred_by_cap, report.batches, report.api_calls, report.stopped or "-", report.seconds)
    return report


def _metadata_problem(client: Any, settings: Settings, sobject: str, items: list[PushItem],
                      described: dict[str, str | None]) -> str | None:
    """After Salesforce refused records with INVALID_FIELD: is a field they write missing from the org?

    One describe per object and run (``described`` keeps the answer), and only then: a run whose records land
    costs no extra call. The fields are those of the records as sent (:func:`wire_record`), so an item planned by
    an older version is checked for what it carries."""
    if sobject not in described:
        names = sorted({k for item in items for k in wire_record(item, settings) if k not in ("attributes", "Id")})
        try:
            described[sobject] = missing_fields(client, {sobject: names})
        except RetourSalesforceError as exc:  # no verdict: the records fail as Salesforce said, as before
            log.warning("job=push state=describe_failed sobject=%s error=%s", sobject, json.dumps(exc.message))
            described[sobject] = None
    return described[sobject]


def _send_batch(session: Session, settings: Settings, client: Any, sobject: str, mode: str, batch: list[PushItem],
                report: PushReport, now: Callable[[], dt.datetime], sleep: Callable[[float], None],
                described: dict[str, str | None] | None = None) -> None:
    """One batch until every record has a final answer or the retry bound is reached.

    Records refused with INVALID_FIELD for a field the org lacks (an org still on older metadata of
    deploy/salesforce) are not failed: they keep waiting, the run stops with one line saying what to deploy
    (``stopped`` = "metadata"), and the run after the deploy sends them."""
    described = {} if described is None else described
    pending = list(batch)
    attempt = 0
    while pending:
        if _paused(session):
            report.paused, report.stopped = True, "paused"
            log.info("job=push state=paused pending=%d", len(pending))
            return
        if attempt:
            sleep(client.backoff(attempt - 1))
            report.resends += 1
        records = [wire_record(item, settings) for item in pending]
        path, method = collection_request(sobject, mode, records, settings)
        stamp = now()
        for item in pending:
            item.attempts += 1
            item.last_attempt_at = stamp
        report.batches += 1
        try:
            results = client.restful(path, method=method, data=json.dumps({"allOrNone": False, "records": records}),
                                     object_name=sobject, retry=False)
            if not isinstance(results, list) or len(results) != len(pending):
                raise RetriableSalesforceError(
                    f"Salesforce answered {len(results) if isinstance(results, list) else type(results).__name__} "
                    f"results for {len(pending)} records", code="BAD_RESPONSE")
        except (BudgetExhausted, AuthFailed) as exc:
            report.stopped = "budget" if isinstance(exc, BudgetExhausted) else "auth"
            report.error = exc.message
            log.error("job=push state=stopped reason=%s code=%s", report.stopped, exc.code)
            _park(pending, exc.code or report.stopped, exc.message)
            return
        except RetriableSalesforceError as exc:
            # The outcome is unknown (the request may have been applied). Upserts and updates are resent with the
            # same keys/Ids: Salesforce matches them, never a second record. A create has no key: never resent.
            if mode == "create":
                for item in pending:
                    _fail(item, "OUTCOME_UNKNOWN", f"{exc.message}. The post may or may not exist: check the record's "
                                                   "feed; Retour does not resend posts it cannot match.", report)
                return
            report.errors[exc.code or str(exc.status)] = report.errors.get(exc.code or str(exc.status), 0) + 1
            if attempt >= settings.push.max_retries:
                _park(pending, exc.code or "TRANSIENT", exc.message)
                return
            attempt += 1
            log.warning("job=push state=resend sobject=%s records=%d attempt=%d code=%s", sobject, len(pending),
                        attempt, exc.code or exc.status)
            continue
        except FatalSalesforceError as exc:
            for item in pending:
                _fail(item, exc.code or "FATAL", exc.message, report)
            return
        except RetourSalesforceError as exc:  # any other taxonomy error: permanent for this batch
            for item in pending:
                _fail(item, exc.code or "ERROR", exc.message, report)
            return
        again = []
        ok = 0
        refused = any(not r.get("success") and _errors_of(r)[0] == "INVALID_FIELD" for r in results)
        metadata = _metadata_problem(client, settings, sobject, pending, described) if refused else None
        for item, result in zip(pending, results):
            if result.get("success"):
                ok += 1
                _succeed(item, result.get("id"), stamp, report)
                continue
            code, message = _errors_of(result)
            if metadata and code == "INVALID_FIELD":
                item.error_code, item.error_message = code, metadata  # still waiting: sent after the deploy
                continue
            report.errors[code] = report.errors.get(code, 0) + 1
            if item.state == WITHDRAWING and code in ("ENTITY_IS_DELETED", "NOT_FOUND"):
                _succeed(item, item.sf_id, stamp, report, note=f"{code}: already gone from Salesforce")
            elif code in RETRIABLE_CODES and mode != "create":
                item.error_code, item.error_message = code, message
                again.append(item)
            else:
                _fail(item, code, message, report)
        log.info("job=push state=batch sobject=%s mode=%s records=%d ok=%d again=%d attempt=%d", sobject, mode,
                 len(pending), ok, len(again), attempt)
        session.flush()
        if metadata:
            report.stopped, report.error = "metadata", metadata
            log.error("job=push state=stopped reason=metadata error=%s", json.dumps(metadata))
            return
        if not again:
            return
        if attempt >= settings.push.max_retries:
            for item in again:
                item.state = "retry" if item.state != WITHDRAWING else WITHDRAWING
            return
        pending = again
        attempt += 1


def _succeed(item: PushItem, sf_id: str | None, stamp: dt.datetime, report: PushReport, note: str | None = None) -> None:
    if item.state == WITHDRAWING:
        item.state = "withdrawn"
        report.withdrawn += 1
        if note:
            item.payload = {**(item.payload or {}), "withdraw_note": note}
    else:
        item.state = "sent"
        item.sent_at = stamp
        report.sent += 1
    item.sf_id = sf_id or item.sf_id
    item.error_code = item.error_message = None


def _fail(item: PushItem, code: str, message: str, report: PushReport) -> None:
    item.state = "failed"
    item.error_code, item.error_message = code[:80], message
    report.failed += 1


def _park(items: list[PushItem], code: str, message: str) -> None:
    """A transient failure past the bound: the item waits for the next run (withdrawals stay withdrawing)."""
    for item in items:
        if item.state != WITHDRAWING:
            item.state = "retry"
        item.error_code, item.error_message = code[:80], message


# ------------------------------------------------------------------------------------------ sending now
DEFERRED_REASONS = ("paused", "per_rep_daily_cap", "retry", "budget", "auth", "metadata")


def send_now(session: Session, settings: Settings, client: Any = None, *, decision_id: int | None = None,
             today: dt.date | None = None, now: Callable[[], dt.datetime] = utcnow,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Send what is approved now (``retour push``, the decision page's Send now) and say what went and what waits.

    The pause and each rep's daily cap hold as in a scheduled run. Quiet days do not: they keep the *scheduled*
    runs off weekends and holidays, and a person who asks to send now has chosen the day — a decision approved on
    a Saturday would otherwise show nothing until Monday. ``client`` None logs in with ``settings``, and only
    when something may go (nothing waiting, or pushes paused: no login, no API call).

    Returns plain figures: totals, the pause (who, when, why), and per decision what was sent, what waits and
    why (the cap says by when it will have gone), what was sent before, and what Salesforce has told back since
    (:func:`connector.push_efficacy.loop_figures_by_decision`, in the org's currency).
    """
    today = today or now().date()
    before = {item.id: (item.decision_id, item.owner_id) for item in waiting(session, decision_id)}
    pause = pause_details(session)
    report = PushReport()
    if before and pause is None:
        if client is None:
            from connector.client import connect
            client = connect(settings)
        report = send_pending(session, settings, client, today=today, now=now, sleep=sleep, quiet_days=False,
                              decision_id=decision_id)
    elif before:
        report.paused, report.stopped = True, "paused"
        log.info("job=push state=paused pending=%d", len(before))
    return _outcome(session, settings, before, report, today, pause, decision_id)


def pause_details(session: Session) -> dict[str, Any] | None:
    """None while pushes may go; else who paused them, when and why (as the admin page set it)."""
    if not is_push_paused(session):
        return None
    row = session.get(AppSetting, PUSH_PAUSE)
    value = dict(row.value or {}) if row is not None else {}
    by = session.get(AppUser, row.updated_by_id) if row is not None and row.updated_by_id else None
    return {"by": by.email if by is not None else None, "at": value.get("at"), "reason": value.get("reason") or ""}


def cap_dates(held: list[tuple[int, str]], cap: int, after: dt.date, settings: Settings) -> dict[int, dt.date]:
    """When each item the cap held back today should go (``held`` is (item id, owner id) in sending order): the
    one estimate, :func:`connector.push_plan.send_dates`, with every rep of ``held`` at the cap today."""
    if cap <= 0:
        return {}
    dates = send_dates([Waiting(item_id, owner) for item_id, owner in held], {owner: cap for _i, owner in held}, cap,
                       after, settings.push.quiet_dates, settings.push.quiet_weekends)
    return {k: v for k, v in dates.items() if v is not None}


def _outcome(session: Session, settings: Settings, before: dict[int, tuple[int, str | None]], report: PushReport,
             today: dt.date, pause: dict[str, Any] | None, decision_id: int | None) -> dict[str, Any]:
    from connector.push_efficacy import loop_figures_by_decision, sentence

    items: dict[int, PushItem] = {}
    for chunk in _chunks(before):
        items.update({i.id: i for i in session.scalars(select(PushItem).where(PushItem.id.in_(chunk)))})
    held = set(report.deferred_ids)
    when = cap_dates([(i, before[i][1] or "") for i in report.deferred_ids], settings.push.per_rep_daily_cap, today,
                     settings)
    per: dict[int, dict[str, Any]] = {}
    for item_id, (dec_id, _owner) in before.items():
        item = items[item_id]
        d = per.setdefault(dec_id, {"sent": 0, "withdrawn": 0, "failed": 0, "errors": Counter(), "deferred": Counter(),
                                    "cap_until": None})
        if item.state == "sent":
            d["sent"] += 1
        elif item.state == "withdrawn":
            d["withdrawn"] += 1
        elif item.state == "failed":
            d["failed"] += 1
            d["errors"][item.error_code or "UNKNOWN"] += 1
        elif item_id in held:
            d["deferred"]["per_rep_daily_cap"] += 1
            d["cap_until"] = max(filter(None, (d["cap_until"], when.get(item_id))), default=None)
        elif report.stopped:
            d["deferred"][report.stopped] += 1
        else:  # a transient failure past the retry bound: the next run tries again
            d["deferred"]["retry"] += 1
    efficacy = loop_figures_by_decision(session, [decision_id] if decision_id is not None else None,
                                        default_currency=settings.critical_mass.currency)
    ids = sorted(set(per) | set(efficacy))
    decisions = {d.id: d for chunk in _chunks(ids) for d in session.scalars(select(Decision).where(Decision.id.in_(chunk)))}
    so_far = Counter({dec: int(n) for chunk in _chunks(ids) for dec, n in session.execute(
        select(PushItem.decision_id, func.count()).where(PushItem.decision_id.in_(chunk), PushItem.state == "sent")
        .group_by(PushItem.decision_id))})
    rows = []
    for dec_id in ids:
        decision = decisions.get(dec_id)
        d = per.get(dec_id) or {"sent": 0, "withdrawn": 0, "failed": 0, "errors": Counter(), "deferred": Counter(),
                                "cap_until": None}
        found = efficacy.get(dec_id)
        rows.append({
            "id": dec_id,
            "state": decision.state if decision is not None else None,
            "theme_id": decision.theme_id if decision is not None else None,
            "title": (decision.title_en or decision.title_fr or "") if decision is not None else "",
            "sent": d["sent"], "withdrawn": d["withdrawn"], "failed": d["failed"], "errors": dict(d["errors"]),
            "deferred": dict(d["deferred"]), "cap_until": d["cap_until"].isoformat() if d["cap_until"] else None,
            "sent_so_far": so_far[dec_id],
            "since_push": found.as_dict() if found is not None else None,
            "since_push_sentence": sentence(found) if found is not None else None,
        })
    deferred = sum(sum(r["deferred"].values()) for r in rows)
    push = settings.push
    return {
        "waiting_before": len(before), "sent": report.sent, "withdrawn": report.withdrawn, "failed": report.failed,
        "deferred": deferred, "stopped": report.stopped, "error": report.error, "api_calls": report.api_calls,
        "paused": pause, "per_rep_daily_cap": push.per_rep_daily_cap,
        "quiet_day_ignored": bool(before) and is_quiet(today, push.quiet_dates, push.quiet_weekends),
        "decisions": rows,
    }
