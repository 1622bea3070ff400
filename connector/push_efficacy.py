"""Loop efficacy: did the pushes pay? Read back from what later syncs mirrored.

Per decision: tasks pushed and done (the mirrored Task with our ``Retour_Key__c`` is closed, and it was not
closed by a withdrawal), lost deals re-opened (a deal that was Closed Lost when its task was pushed is no longer
Closed Lost), deals since won, new opportunities created on the same accounts after the push, and the pipeline
recovered (amounts of re-opened deals plus the new opportunities that are open or won).

:func:`loop_figures_from` is pure; :func:`loop_figures` / :func:`loop_figures_by_decision` read the rows for it and
return :class:`LoopFigures`; :func:`sentence` says them in plain words (English by default, French with the web
app's catalogue).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, NamedTuple

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
    currency: str | None = None  # CurrencyIsoCode; None in an org without multi-currency


class Money(NamedTuple):
    amount: Decimal
    currency: str  # ISO 4217


@dataclass(frozen=True)
class LoopFigures:
    """What came back from Salesforce for one decision, since its push landed: the loop's answer.

    Others read these names (the decision page, the board, the API, ``retour push --json``): keep them stable.
    ``pipeline_recovered`` is one amount per currency, largest first, never a sum across currencies (deals are in
    EUR, GBP, CHF...; an amount without its currency is one nobody can check).
    """

    since: dt.datetime | None = None  # when the decision's first record landed in Salesforce (None: none yet)
    tasks_sent: int = 0  # follow-up Tasks on lost deals, withdrawn ones left out
    tasks_completed: int = 0  # of those, done by their rep (not closed by a withdrawal)
    lost_deals_pushed: int = 0  # Closed Lost deals a follow-up was sent for
    lost_deals_reopened: int = 0  # of those, no longer Closed Lost (open again, or won)
    deals_won: int = 0  # of the re-opened, won since
    new_opportunities: int = 0  # opened after the push on the accounts it reached, and not lost
    pipeline_recovered: tuple[Money, ...] = ()  # amounts of the re-opened deals and the new opportunities
    tasks_withdrawn: int = 0  # follow-up Tasks sent, then closed by the decision's withdrawal

    @property
    def landed(self) -> bool:
        return self.since is not None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON: the date as ISO 8601, amounts as numbers beside their currency."""
        d = asdict(self)
        d["since"] = self.since.isoformat() if self.since else None
        d["pipeline_recovered"] = [{"amount": float(m.amount), "currency": m.currency} for m in self.pipeline_recovered]
        return d


def _per_currency(opps: list[OppNow], default_currency: str) -> tuple[Money, ...]:
    totals: dict[str, Decimal] = {}
    for o in opps:
        if o.amount:
            cur = o.currency or default_currency
            totals[cur] = totals.get(cur, Decimal(0)) + o.amount
    return tuple(Money(amount, cur) for cur, amount in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def loop_figures_from(tasks: list[PushedTask], mirrored: dict[str, MirroredTask], lost_opps_now: dict[str, OppNow],
                      first_push_by_account: dict[str, dt.datetime], account_opps: list[OppNow], *,
                      since: dt.datetime | None = None, default_currency: str = "EUR") -> LoopFigures:
    """The figures of one decision from plain rows (see the module docstring for the rules). ``since``: when its
    first record landed (defaults to the earliest push it knows of); ``default_currency``: the org's currency, for
    deals that carry none (an org without multi-currency)."""
    live = [t for t in tasks if not t.withdrawn]
    done = sum(1 for t in live if (m := mirrored.get(t.key)) is not None and m.is_closed)
    reopened = [o for o in lost_opps_now.values() if not (o.is_closed and not o.is_won)]
    won = sum(1 for o in reopened if o.is_won)
    pushed_ids = set(lost_opps_now)
    new = [o for o in account_opps
           if o.id not in pushed_ids and o.account_id in first_push_by_account and o.created_date is not None
           and o.created_date > first_push_by_account[o.account_id] and not (o.is_closed and not o.is_won)]
    if since is None:
        landed = [t.sent_at for t in tasks] + list(first_push_by_account.values())
        since = min(landed) if landed else None
    return LoopFigures(since=since, tasks_sent=len(live), tasks_completed=done, lost_deals_pushed=len(lost_opps_now),
                       lost_deals_reopened=len(reopened), deals_won=won, new_opportunities=len(new),
                       pipeline_recovered=_per_currency(reopened + new, default_currency),
                       tasks_withdrawn=len(tasks) - len(live))


# Plain columns, not ORM rows: a decision can reach 10,000 records, read on every view of its page.
OPP_COLUMNS = (Opportunity.id, Opportunity.account_id, Opportunity.is_closed, Opportunity.is_won, Opportunity.amount,
               Opportunity.created_date, Opportunity.currency)
ITEM_COLUMNS = (PushItem.decision_id, PushItem.kind, PushItem.sobject, PushItem.external_key, PushItem.target_id,
                PushItem.sent_at, PushItem.state)


def _opp_now(o: Any) -> OppNow:
    return OppNow(o.id, o.account_id, o.is_closed, o.is_won, o.amount, o.created_date, o.currency)


def loop_figures(session: Session, decision_id: int, *, default_currency: str = "EUR") -> LoopFigures:
    """What came back from Salesforce for one decision since its push landed (``LoopFigures()`` when nothing has
    landed). Reads what the syncs mirrored: the figures move when a sync brings the reps' answers in.
    ``default_currency``: the org's currency (``[critical_mass] currency``) for deals that carry none."""
    return loop_figures_by_decision(session, [decision_id], default_currency=default_currency).get(
        decision_id, LoopFigures())


def loop_figures_by_decision(session: Session, decision_ids: list[int] | None = None, *,
                             default_currency: str = "EUR") -> dict[int, LoopFigures]:
    """:func:`loop_figures` for many decisions (every one that pushed something, or the given ones) in a handful
    of queries, for a page that lists decided themes. Decisions with nothing landed are absent."""
    stmt = select(*ITEM_COLUMNS).where(PushItem.sent_at.is_not(None), PushItem.kind.in_(("task", "insight")))
    if decision_ids is not None:
        stmt = stmt.where(PushItem.decision_id.in_(decision_ids))
    items = session.execute(stmt).all()
    if not items:
        return {}
    task_keys = [i.external_key for i in items if i.kind == "task"]
    mirrored = {k: MirroredTask(k, bool(c)) for k, c in session.execute(
        select(Activity.retour_key, Activity.is_closed).where(Activity.retour_key.in_(task_keys)))} if task_keys else {}
    opp_ids = {i.target_id for i in items if i.kind == "task"} | {
        i.target_id for i in items if i.sobject and i.external_key.split("-")[1:2] == ["opp"]}
    opps = {o.id: o for o in session.execute(select(*OPP_COLUMNS).where(Opportunity.id.in_(opp_ids)))} if opp_ids else {}
    # The accounts the decision reached: directly (account insights) or through an opportunity's account.
    account_of = {i.target_id: i.target_id for i in items if i.external_key.split("-")[1:2] == ["acc"]}
    per_decision: dict[int, dict[str, Any]] = {}
    for i in items:
        d = per_decision.setdefault(i.decision_id, {"tasks": [], "lost": {}, "accounts": {}, "since": i.sent_at})
        d["since"] = min(d["since"], i.sent_at)
        if i.kind == "task":
            d["tasks"].append(PushedTask(i.external_key, i.target_id, i.sent_at, i.state == "withdrawn"))
            if i.target_id in opps:
                d["lost"][i.target_id] = _opp_now(opps[i.target_id])
        account = account_of.get(i.target_id) or (opps[i.target_id].account_id if i.target_id in opps else None)
        if account and (account not in d["accounts"] or i.sent_at < d["accounts"][account]):
            d["accounts"][account] = i.sent_at
    all_accounts = {a for d in per_decision.values() for a in d["accounts"]}
    # Only deals created after the earliest push can be new since a push (loop_figures_from checks each account's).
    earliest = min((t for d in per_decision.values() for t in d["accounts"].values()), default=None)
    account_opps = [_opp_now(o) for o in session.execute(
        select(*OPP_COLUMNS).where(Opportunity.account_id.in_(all_accounts), Opportunity.created_date > earliest))
    ] if all_accounts else []
    return {decision_id: loop_figures_from(d["tasks"], mirrored, d["lost"], d["accounts"],
                                           [o for o in account_opps if o.account_id in d["accounts"]],
                                           since=d["since"], default_currency=default_currency)
            for decision_id, d in per_decision.items()}


# ------------------------------------------------------------------------------------------ in words
def _same(message: str) -> str:
    return message


def _plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _english_money(amount: Decimal, currency: str) -> str:
    from babel.numbers import format_compact_currency
    return format_compact_currency(float(amount), currency, locale="en", fraction_digits=1)


def _english_date(day: dt.date) -> str:
    from babel.dates import format_date
    return format_date(day, "medium", locale="en")


@dataclass(frozen=True)
class Wording:
    """How the figures are put in words: English by default (a command's output, the logs); the web app passes
    its catalogue's ``gettext``/``ngettext`` (unformatted templates) and Babel's money and dates in the reader's
    locale, so the sentence is built here once and read in either language."""

    gettext: Callable[[str], str] = _same
    ngettext: Callable[[str, str, int], str] = _plural
    money: Callable[[Decimal, str], str] = _english_money
    date: Callable[[dt.date], str] = _english_date


ENGLISH = Wording()


def sentence(figures: LoopFigures, w: Wording = ENGLISH) -> str:
    """"Since the push on Nov 18, 2026: 7 of 12 follow-up tasks done, 2 of 12 lost deals re-opened, 1 deal won
    since, €85.5K of pipeline recovered." — what happened since the push, in a product owner's words."""
    _, n_ = w.gettext, w.ngettext
    if not figures.landed:
        return _("Nothing has reached Salesforce yet.")
    parts = []
    if figures.tasks_sent:
        parts.append(n_("%(done)s of %(num)s follow-up task done", "%(done)s of %(num)s follow-up tasks done",
                        figures.tasks_sent) % {"done": figures.tasks_completed, "num": figures.tasks_sent})
    if figures.tasks_withdrawn:
        # Not "no follow-up task sent": the review read that under a decision whose 37 tasks were sent, then withdrawn.
        parts.append(n_("%(num)s follow-up task sent, then withdrawn", "%(num)s follow-up tasks sent, then withdrawn",
                        figures.tasks_withdrawn) % {"num": figures.tasks_withdrawn})
    if not figures.tasks_sent and not figures.tasks_withdrawn:
        parts.append(_("no follow-up task sent"))
    if figures.lost_deals_pushed:
        parts.append(n_("%(reopened)s of %(num)s lost deal re-opened", "%(reopened)s of %(num)s lost deals re-opened",
                        figures.lost_deals_pushed) % {"reopened": figures.lost_deals_reopened,
                                                      "num": figures.lost_deals_pushed})
    if figures.deals_won:
        parts.append(n_("%(num)s deal won since", "%(num)s deals won since", figures.deals_won) % {
            "num": figures.deals_won})
    if figures.new_opportunities:
        parts.append(n_("%(num)s new opportunity on the accounts reached",
                        "%(num)s new opportunities on the accounts reached", figures.new_opportunities) % {
            "num": figures.new_opportunities})
    if figures.pipeline_recovered:
        amounts = " + ".join(w.money(m.amount, m.currency) for m in figures.pipeline_recovered)
        parts.append(_("%(money)s of pipeline recovered") % {"money": amounts})
    else:
        parts.append(_("no pipeline recovered yet"))
    return _("Since the push on %(date)s: %(figures)s.") % {"date": w.date(figures.since.date()),
                                                           "figures": ", ".join(parts)}
