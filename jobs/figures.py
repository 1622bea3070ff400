"""The one definition of every figure a person sees about a theme, and the one place it is computed.

The board (any period, any filter, a search), the theme page (header, monthly table, chart, deals, evidence), the
JSON API, the "Why" sentence and the critical-mass rule all read their numbers from :func:`measure` (and
:func:`monthly` / :func:`deals`, which split the same citations by month and by deal). Before, "All time" showed
the rule's 180-day figures, a filter recounted with other rules (so French alone could exceed everything), the
chart counted a third way, and EUR, GBP, CHF and USD were added as one currency.

Definitions, for a theme, a period and a scope (the board's filters):

- **citation**: a feedback item cites a theme when one of its clauses is *active* evidence of it (a suggested or
  rejected quote never counts). With a search, the cited clause must contain the words.
- **in scope**: the item's source (loss reason, note, case), language, owner's team, and the region, segment and
  mapped fields of its opportunity (an item on an account without an opportunity: the account's most recent one).
- **period**: whole UTC days ending today: "last 30 days" is today and the 29 days before. All time is all
  evidence. Day-aligned, so every page read on the same day counts the same items, cached or not.
- **items**: distinct items citing the theme in the period and scope.
- **accounts**: distinct accounts of those items.
- **lost**: the amounts of the distinct opportunities those items are written on that are closed and not won.
- **open pipeline**: the amounts of the distinct open opportunities those items are written on, and, for an item on
  an account without an opportunity, the account's open opportunities (what that conversation puts at stake).
- **revenue at stake**: lost + open pipeline. A won deal adds nothing.
- **money**: every amount is converted into the reporting currency (``[critical_mass] currency``) with the org's
  rates: the DatedConversionRate period the opportunity's close date falls in (advanced currency management),
  else the currency's CurrencyType rate; ``amount x rate(reporting) / rate(deal's currency)``, both rates being
  per unit of the corporate currency. An amount already in the reporting currency, or with no currency at all (a
  single-currency org), is taken as it is. An amount in a currency without a rate is never added: it is kept
  apart per currency (``Figures.unconverted``) and shown as such.
- **score**: each item counts 1 when it is written and half as much every ``half_life_days`` (45) after; the sum
  over the period's items. Ten items this week score about 10, ten items three months ago about 2.5: the board is
  ordered by it, so what customers say now comes first.
- **trend**: items in the last 90 days against the 90 days before, in the same scope whatever the period ("new"
  when there were none before); its own explicit window, as the 12-week sparkline has its own.

The critical-mass volume (what the rule's shares are *of*) is the same count with every feedback item citing the
whole org (:func:`measure_org`; :func:`volumes` reads only the items of the rule's window, which is the same
count), and :func:`judge` says each theme's status and verdict from those figures for the
rule's window, so the sentence's "14 accounts" is the board's 180-day accounts figure.

Everything is a few grouped SQL statements (no per-theme query); periods are columns of one scan.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Float,
    cast,
    and_,
    case,
    distinct,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from retour.config import FieldMap, Settings
from retour.folding import fold
from retour.models import (
    ACTIVE,
    Account,
    CurrencyType,
    DatedConversionRate,
    Decision,
    FeedbackItem,
    FeedbackSegment,
    Opportunity,
    SalesforceUser,
    Theme,
    ThemeEvidence,
    UTCDateTime,
)

if TYPE_CHECKING:
    from jobs import critical_mass as cm

WINDOWS: tuple[int | None, ...] = (None, 30, 90, 180, 365)  # the board's periods; None: all evidence
TREND_DAYS = 90
CHART_MONTHS = 12  # months the all-time chart shows one by one; older items are one "earlier" bar
LN2 = math.log(2)
ORG = 0  # the key :func:`measure_org` counts every feedback item under


# --------------------------------------------------------------------------------------------- typed rows
@dataclass(frozen=True)
class Scope:
    """Which feedback a figure counts, besides its period: the board's filters (empty: everything).

    ``attrs`` holds (mapped field name, value, kind); a boolean field compares as a boolean.
    """

    source: str = ""
    lang: str = ""
    team: str = ""
    region: str = ""
    segment: str = ""
    attrs: tuple[tuple[str, str, str], ...] = ()
    q: str = ""

    @property
    def filtered(self) -> bool:
        return bool(self.source or self.lang or self.team or self.region or self.segment or self.attrs or self.q)

    @classmethod
    def from_where(cls, where: Iterable[tuple[str, str]], extra: Sequence[FieldMap] = ()) -> Scope:
        """The scope of a critical-mass rule (``region=EMEA``, ``channel=case``, ``attr.tier=Gold``)."""
        kinds = {m.name: m.kind for m in extra}
        values: dict[str, Any] = {}
        attrs = []
        for key, value in where:
            if key.startswith("attr."):
                attrs.append((key[5:], value, kinds.get(key[5:], "text")))
            else:
                values["source" if key == "channel" else key] = value
        return cls(**values, attrs=tuple(attrs))


@dataclass(frozen=True)
class Figures:
    """A theme's (or the org's) figures for one period and scope; amounts are in ``currency``."""

    window_days: int | None  # None: all time
    currency: str
    items: int = 0
    accounts: int = 0
    lost: float = 0.0
    open: float = 0.0
    score: float = 0.0
    # Amounts in a currency without a rate, never added to the above: (currency, lost, open), per currency.
    unconverted: tuple[tuple[str, float, float], ...] = ()
    # Trend, whatever the period: items in the last 90 days, in the 90 days before, accounts first heard in 90 days.
    items_90: int = 0
    items_before_90: int = 0
    new_accounts_90: int = 0
    last_seen: dt.datetime | None = None

    @property
    def at_stake(self) -> float:
        return round(self.lost + self.open, 2)  # cents, as the amounts: no 27855426.759999998

    @property
    def trend_90(self) -> float | str | None:
        """Relative change of items, last 90 days against the 90 before; "new" from nothing; None from nothing to
        nothing (JSON has no infinity)."""
        if self.items_before_90 == 0:
            return None if self.items_90 == 0 else "new"
        return round((self.items_90 - self.items_before_90) / self.items_before_90, 4)

    def as_json(self) -> dict[str, Any]:
        return {"window_days": self.window_days, "currency": self.currency, "items": self.items,
                "accounts": self.accounts, "revenue_lost": self.lost, "revenue_open": self.open,
                "revenue_at_stake": self.at_stake, "score": self.score,
                "unconverted": [{"currency": c, "revenue_lost": lost, "revenue_open": op}
                                for c, lost, op in self.unconverted],
                "trend_90": self.trend_90, "items_90": self.items_90, "items_before_90": self.items_before_90,
                "new_accounts_90": self.new_accounts_90,
                "last_seen": self.last_seen.isoformat() if self.last_seen else None}


ThemeFigures = dict[int | None, Figures]  # per period


def empty(window_days: int | None, currency: str) -> Figures:
    return Figures(window_days, currency)


@dataclass(frozen=True)
class Clock:
    """The day figures are counted on: periods end at ``end`` (the next UTC midnight), ages are taken from it."""

    now: dt.datetime
    end: dt.datetime

    @classmethod
    def at(cls, now: dt.datetime) -> Clock:
        end = (now.astimezone(dt.timezone.utc) + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                                             microsecond=0)
        return cls(now, end)

    def start(self, window_days: int | None) -> dt.datetime | None:
        return None if window_days is None else self.end - dt.timedelta(days=window_days)

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(dt.timezone.utc).date()


# --------------------------------------------------------------------------------------------- SQL helpers
class days_before(FunctionElement):
    """Days (with fractions) from a timestamp column to a later instant, on SQLite and PostgreSQL."""

    type = Float()
    inherit_cache = True
    name = "days_before"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler: Any, **kw: Any) -> str:
    column, end = list(element.clauses)
    return f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(column, **kw)}))"


@compiles(days_before)
def _days_before_default(element: days_before, compiler: Any, **kw: Any) -> str:
    column, end = list(element.clauses)
    # EXTRACT gives numeric on PostgreSQL 14+, and exp() of a numeric is arbitrary-precision arithmetic: 30 times
    # slower than a double over 200,000 rows.
    return (f"(CAST(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(column, **kw)})) "
            "AS DOUBLE PRECISION) / 86400.0)")


def _instant(value: dt.datetime) -> Any:
    return literal(value, UTCDateTime())


def like_pattern(q: str) -> str:
    """``%q%`` with LIKE's wildcards in ``q`` taken literally (escape character: backslash)."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def text_search(q: str) -> Any:
    """The clauses holding ``q``, case and accents aside ("securite" finds "Sécurité"), alike on SQLite and
    PostgreSQL: the folded query against the folded copy of each clause, LIKE's wildcards in it taken literally.
    A query that folds to nothing (combining marks alone) holds no word, so it matches nothing."""
    folded = fold(q)
    return FeedbackSegment.search_text.like(like_pattern(folded), escape="\\") if folded else false()


def _opportunity_match(scope: Scope) -> Any | None:
    """Opportunities whose region, segment and mapped fields are the scope's, or None when it names none."""
    conds: list[Any] = []
    if scope.region:
        conds.append(Opportunity.region == scope.region)
    if scope.segment:
        conds.append(Opportunity.segment == scope.segment)
    for name, value, kind in scope.attrs:
        attr = Opportunity.attributes[name]
        if kind == "boolean":
            conds.append(attr.as_boolean() == (true() if value.lower() in ("true", "1", "yes", "on") else false()))
        else:
            conds.append(attr.as_string() == value)
    return select(Opportunity.id).where(*conds) if conds else None


def item_conditions(scope: Scope) -> list[Any]:
    """What makes a feedback item in scope (everything but the text search, which is on the cited clause)."""
    conds: list[Any] = []
    if scope.source:
        conds.append(FeedbackItem.channel == scope.source)
    if scope.lang:
        conds.append(FeedbackItem.lang == scope.lang)
    if scope.team:
        conds.append(FeedbackItem.owner_id.in_(select(SalesforceUser.id).where(SalesforceUser.team == scope.team)))
    matching = _opportunity_match(scope)
    if matching is not None:
        # An item on an account without an opportunity takes its account's most recent opportunity's fields.
        latest = aliased(Opportunity)
        latest_id = (select(latest.id).where(latest.account_id == FeedbackItem.account_id)
                     .order_by(latest.close_date.desc(), latest.id.desc()).limit(1).scalar_subquery())
        conds.append(or_(FeedbackItem.opportunity_id.in_(matching),
                         and_(FeedbackItem.opportunity_id.is_(None), FeedbackItem.account_id.is_not(None),
                              latest_id.in_(matching))))
    return conds


def evidence_conditions(scope: Scope, clock: Clock | None = None, window_days: int | None = None) -> list[Any]:
    """Active evidence whose item is in scope and period and whose clause holds the search words; for statements
    that join ThemeEvidence, FeedbackSegment and FeedbackItem (the evidence list, the sparklines)."""
    conds: list[Any] = [ThemeEvidence.state == "active", *item_conditions(scope)]
    if scope.q:
        conds.append(text_search(scope.q))
    if clock is not None and window_days is not None:
        conds += [FeedbackItem.occurred_at >= clock.start(window_days), FeedbackItem.occurred_at < clock.end]
    return conds


def _weight(clock: Clock | None, half_life_days: float) -> Any:
    """An item's part of the score: 1 when written, half as much every ``half_life_days`` after the end of today.
    A column of the citations, so each row computes it once (not once per period)."""
    if clock is None or half_life_days <= 0:
        return literal(1.0).label("weight")
    age = days_before(FeedbackItem.occurred_at, _instant(clock.end))
    return func.exp(age * literal(-LN2 / half_life_days, Float())).label("weight")


def theme_citations(scope: Scope, theme_ids: Sequence[int] | None, clock: Clock | None = None,
                    half_life_days: float = 0.0) -> Any:
    """One row per (theme, item) citing it in scope: the CTE every theme figure is counted from."""
    stmt = (select(ThemeEvidence.theme_id.label("key"), FeedbackItem.id.label("item_id"), FeedbackItem.occurred_at,
                   FeedbackItem.account_id, FeedbackItem.opportunity_id, _weight(clock, half_life_days))
            .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
            .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id)
            .where(*evidence_conditions(scope)).distinct())
    if theme_ids is not None:
        stmt = stmt.where(ThemeEvidence.theme_id.in_(list(theme_ids)))
    # Otherwise every theme holding evidence, merged or dismissed ones too (their rows are not read): a
    # "theme_id IN (active themes)" here made SQLite probe the evidence index once per theme for every item.
    return stmt.cte("citations")


def org_citations(scope: Scope, clock: Clock | None = None, half_life_days: float = 0.0,
                  within: int | None = None) -> Any:
    """Every item holding feedback (a clause the filters kept), citing the org: what the rule's shares are of.
    Logistics notes ("rappeler mardi") are not feedback and do not dilute it. ``within``: only the items dated in
    that period (needs ``clock``)."""
    holds = [FeedbackSegment.item_id == FeedbackItem.id, FeedbackSegment.is_feedback.is_(True)]
    if scope.q:
        holds.append(text_search(scope.q))
    conds = item_conditions(scope)
    if clock is not None and within is not None:
        conds.append(_in(FeedbackItem.occurred_at, clock, within))
    stmt = (select(literal(ORG).label("key"), FeedbackItem.id.label("item_id"), FeedbackItem.occurred_at,
                   FeedbackItem.account_id, FeedbackItem.opportunity_id, _weight(clock, half_life_days))
            .where(exists().where(*holds), *conds))
    return stmt.cte("citations")


# --------------------------------------------------------------------------------------------- money
def _rate(code: Any, on: Any) -> Any:
    """Units of ``code`` per unit of the corporate currency on date ``on``: the dated rate whose period holds the
    date, else the currency's own rate; NULL when the org has neither."""
    dated = (select(DatedConversionRate.conversion_rate)
             .where(DatedConversionRate.iso_code == code, DatedConversionRate.start_date <= on)
             .order_by(DatedConversionRate.start_date.desc()).limit(1).scalar_subquery())
    static = select(CurrencyType.conversion_rate).where(CurrencyType.iso_code == code).limit(1).scalar_subquery()
    return func.coalesce(dated, static)


def valued_opportunities(currency: str, today: dt.date) -> Any:
    """Every opportunity with its amount in ``currency`` (``value``), or, when its currency has no rate, NULL there
    and the currency it is written in (``unconverted``): the one place an amount is converted."""
    code = func.coalesce(Opportunity.currency, currency)
    on = func.coalesce(Opportunity.close_date, literal(today))
    amount = func.coalesce(Opportunity.amount, 0)
    converted = amount * _rate(literal(currency), on) / func.nullif(_rate(code, on), 0)
    value = case((code == currency, amount), else_=converted)
    return select(Opportunity.id, Opportunity.account_id, Opportunity.is_closed, Opportunity.is_won,
                  Opportunity.name, Opportunity.stage, Opportunity.amount, code.label("code"),
                  Opportunity.close_date, value.label("value"),
                  case((and_(code != currency, converted.is_(None)), code), else_=null()).label("unconverted")
                  ).subquery("valued")


def convert(session: Session, amount: float, from_currency: str | None, currency: str, on: dt.date) -> float | None:
    """One amount in ``currency`` by the same rule (None without a rate): for tests and one-off displays."""
    code = from_currency or currency
    if code == currency:
        return amount
    value = session.scalar(select(literal(amount) * _rate(literal(currency), literal(on))
                                  / func.nullif(_rate(literal(code), literal(on)), 0)))
    return float(value) if value is not None else None


# --------------------------------------------------------------------------------------------- measuring
def _in(column: Any, clock: Clock, window_days: int | None) -> Any:
    if window_days is None:
        return true()
    return and_(column >= _instant(clock.start(window_days)), column < _instant(clock.end))


def _stake(cites: Any) -> Any:
    """(key, opportunity, when) for every opportunity an in-scope citation puts at stake: the one it is written on,
    or, for an item on an account without one, each open opportunity of that account."""
    direct = select(cites.c.key, cites.c.opportunity_id.label("opp_id"), cites.c.occurred_at,
                    literal(True).label("cited")).where(cites.c.opportunity_id.is_not(None))
    on_account = (select(cites.c.key, Opportunity.id.label("opp_id"), cites.c.occurred_at,
                         literal(False).label("cited"))
                  .join(Opportunity, and_(Opportunity.account_id == cites.c.account_id,
                                          Opportunity.is_closed.is_(False)))
                  .where(cites.c.opportunity_id.is_(None), cites.c.account_id.is_not(None)))
    return union_all(direct, on_account).subquery("stake")


def _aware(value: Any) -> dt.datetime | None:
    """A MAX() of a timestamp read back through a subquery: SQLite hands back its text, without a zone."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _without_jit(session: Session) -> None:
    """Turn PostgreSQL's JIT off for the rest of the transaction (the request's or the pass's).

    JIT compiles any statement estimated above ``jit_above_cost`` (100,000), which every figure statement is at
    scale, and a filter's correlated "latest deal" subquery is estimated at millions, which also asks for full
    optimisation: on the bench data (200,000 items), compiling took 0.3 s of a 2.2 s measurement of every theme
    and 5.4 s of 6.1 s with ``region=EMEA``, for statements that read each row once and gain nothing from it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def _measure(session: Session, cites: Any, *, currency: str, clock: Clock,
             windows: Sequence[int | None]) -> dict[int, ThemeFigures]:
    """The counts (per key and account) and the money (per key and opportunity) of ``cites``, per period.

    One statement, the two halves as UNION ALL branches (each branch NULL in the other's columns): the citations,
    the join of evidence, clauses and items that is most of the cost, are then computed once and read by both
    (PostgreSQL and SQLite materialize a CTE read more than once) instead of once per statement.
    """
    _without_jit(session)
    windows = tuple(dict.fromkeys(windows))
    c = cites.c
    weight = c.weight
    before_end = case((c.occurred_at < _instant(clock.end), c.occurred_at))
    # Accounts from a (key, account) grouping: an account counts in a period when its latest citation before the
    # end of today falls in it, and is new when its first one is in the last 90 days (one sort instead of a
    # COUNT(DISTINCT) per period). Items, score and trend straight from the citations by key: the per-account rows
    # stay three columns wide, which keeps their grouping in memory.
    per_account = (select(c.key, c.account_id, func.min(c.occurred_at).label("first"),
                          func.max(before_end).label("last"))
                   .where(c.account_id.is_not(None)).group_by(c.key, c.account_id).subquery("per_account"))
    p = per_account.c
    accounts: list[Any] = [p.key]
    for i, w in enumerate(windows):
        counted_in = true() if w is None else and_(p.last.is_not(None), _in(p.last, clock, w))
        accounts.append(func.sum(case((counted_in, 1), else_=0)).label(f"a{i}"))
    accounts.append(func.sum(case((_in(p.first, clock, TREND_DAYS), 1), else_=0)).label("new"))
    per_key_accounts = select(*accounts).group_by(p.key).subquery("per_key_accounts")
    a = per_key_accounts.c
    cols: list[Any] = [c.key]
    for i, w in enumerate(windows):
        inside = _in(c.occurred_at, clock, w)
        cols += [func.count(case((inside, c.item_id))).label(f"n{i}"),
                 func.sum(case((inside, weight), else_=0.0)).label(f"s{i}")]
    cols += [func.sum(case((_in(c.occurred_at, clock, TREND_DAYS), 1), else_=0)).label("recent"),
             func.sum(case((and_(c.occurred_at >= _instant(clock.end - dt.timedelta(days=2 * TREND_DAYS)),
                                 c.occurred_at < _instant(clock.end - dt.timedelta(days=TREND_DAYS))), 1),
                           else_=0)).label("before"),
             func.max(c.occurred_at).label("seen")]
    per_key = select(*cols).group_by(c.key).subquery("per_key")
    k = per_key.c
    counts: list[Any] = []
    for i, w in enumerate(windows):
        counts += [k[f"n{i}"], a[f"a{i}"], k[f"s{i}"]]
    counts += [k.recent, k.before, a.new, k.seen]

    stake = _stake(cites)
    stake_before_end = case((stake.c.occurred_at < _instant(clock.end), stake.c.occurred_at))
    per_opp = (select(stake.c.key, stake.c.opp_id, func.max(stake_before_end).label("last"))
               .group_by(stake.c.key, stake.c.opp_id).subquery("per_opp"))
    valued = valued_opportunities(currency, clock.today)
    lost = and_(valued.c.is_closed.is_(True), valued.c.is_won.is_(False))
    open_ = valued.c.is_closed.is_(False)
    money = func.coalesce(valued.c.value, func.coalesce(valued.c.amount, 0))  # raw amount when unconverted
    sums: list[Any] = []
    for w in windows:
        inside = true() if w is None else and_(per_opp.c.last.is_not(None), _in(per_opp.c.last, clock, w))
        sums += [func.sum(case((and_(inside, lost), money), else_=0)),
                 func.sum(case((and_(inside, open_), money), else_=0))]

    def blanks(n: int, prefix: str) -> list[Any]:
        return [null().label(f"{prefix}{i}") for i in range(n)]

    both = union_all(
        select(literal(0).label("part"), k.key, null().label("code"), *counts, *blanks(len(sums), "m"))
        .select_from(per_key).outerjoin(per_key_accounts, a.key == k.key),
        select(literal(1), per_opp.c.key, valued.c.unconverted, *blanks(len(counts), "c"), *sums)
        .join(valued, valued.c.id == per_opp.c.opp_id).group_by(per_opp.c.key, valued.c.unconverted))
    counted: dict[int, dict[str, Any]] = {}
    revenue: dict[int, dict[int | None, list[float]]] = {}
    unconverted: dict[int, dict[int | None, list[tuple[str, float, float]]]] = {}
    n = 3 * len(windows)
    for row in session.execute(both):
        part, key, code, rest = row[0], row[1], row[2], row[3:]
        if part == 0:
            per = {}
            for i, w in enumerate(windows):
                items, accounts, score = rest[3 * i:3 * i + 3]
                per[w] = (int(items or 0), int(accounts or 0), round(float(score or 0.0), 4))
            counted[key] = {"per": per, "items_90": int(rest[n] or 0), "items_before": int(rest[n + 1] or 0),
                            "new_accounts": int(rest[n + 2] or 0), "last": _aware(rest[n + 3])}
            continue
        rest = rest[len(counts):]
        for i, w in enumerate(windows):
            amounts = (round(float(rest[2 * i] or 0), 2), round(float(rest[2 * i + 1] or 0), 2))
            if code is None:
                revenue.setdefault(key, {})[w] = list(amounts)
            elif amounts != (0.0, 0.0):
                unconverted.setdefault(key, {}).setdefault(w, []).append((code, *amounts))

    out: dict[int, ThemeFigures] = {}
    for key, k in counted.items():
        out[key] = {}
        for w in windows:
            items, accounts, score = k["per"][w]
            lost_w, open_w = revenue.get(key, {}).get(w, [0.0, 0.0])
            out[key][w] = Figures(w, currency, items=items, accounts=accounts, lost=lost_w, open=open_w, score=score,
                                  unconverted=tuple(sorted(unconverted.get(key, {}).get(w, []))),
                                  items_90=k["items_90"], items_before_90=k["items_before"],
                                  new_accounts_90=k["new_accounts"], last_seen=k["last"])
    return out


def measure(session: Session, settings: Settings, scope: Scope = Scope(), *, now: dt.datetime,
            theme_ids: Sequence[int] | None = None, windows: Sequence[int | None] = WINDOWS) -> dict[int, ThemeFigures]:
    """Every active theme's (or ``theme_ids``') figures in ``scope``, per period in ``windows``.

    A theme with no citation in scope is absent (:func:`figures_of` gives its zeros).
    """
    cm, clock = settings.critical_mass, Clock.at(now)
    return _measure(session, theme_citations(scope, theme_ids, clock, cm.half_life_days), currency=cm.currency,
                    clock=clock, windows=windows)


def measure_org(session: Session, settings: Settings, scope: Scope = Scope(), *, now: dt.datetime,
                windows: Sequence[int | None] = WINDOWS) -> ThemeFigures:
    """The same figures over every feedback item: the volume the critical-mass shares are of."""
    cm, clock = settings.critical_mass, Clock.at(now)
    got = _measure(session, org_citations(scope, clock, cm.half_life_days), currency=cm.currency, clock=clock,
                   windows=windows)
    return got.get(ORG) or {w: empty(w, cm.currency) for w in windows}


def figures_of(measured: Mapping[int, ThemeFigures], theme_id: int, window_days: int | None,
               currency: str) -> Figures:
    """A theme's figures for one period, zeros when nothing in scope cites it."""
    return measured.get(theme_id, {}).get(window_days) or empty(window_days, currency)


# --------------------------------------------------------------------------------------------- by month, by deal
@dataclass(frozen=True)
class Month:
    """One bar of the chart: items and distinct accounts whose feedback is dated in it (``label`` "2026-03", or
    "earlier" for the all-time chart's first bar, everything before its twelve months)."""

    label: str
    start: dt.datetime | None
    items: int
    accounts: int


def _month_starts(clock: Clock, window_days: int | None) -> tuple[list[dt.datetime | None], list[str]]:
    last = (clock.end - dt.timedelta(days=1)).replace(day=1)
    first_bound = clock.start(window_days)
    months: list[dt.datetime] = [last]
    count = CHART_MONTHS if window_days is None else None
    while True:
        prev = months[0]
        if count is not None and len(months) >= count:
            break
        if first_bound is not None and prev <= first_bound:
            break
        y, m = (prev.year, prev.month - 1) if prev.month > 1 else (prev.year - 1, 12)
        months.insert(0, prev.replace(year=y, month=m))
    labels = [s.strftime("%Y-%m") for s in months]
    starts: list[dt.datetime | None] = list(months)
    if window_days is None:
        starts.insert(0, None)
        labels.insert(0, "earlier")
    else:
        starts[0] = max(months[0], first_bound)  # the period's first, partial month
    return starts, labels


def monthly(session: Session, settings: Settings, theme_id: int, scope: Scope = Scope(), *, now: dt.datetime,
            window_days: int | None = None) -> list[Month]:
    """The theme's citations of the period split by month: the items of the bars add up to the period's items."""
    clock = Clock.at(now)
    cites = theme_citations(scope, [theme_id])
    starts, labels = _month_starts(clock, window_days)
    edges = [s for s in starts if s is not None]
    whens = [(cites.c.occurred_at >= _instant(edges[i]), i + (len(starts) - len(edges)))
             for i in range(len(edges) - 1, -1, -1)]
    bucket = case(*whens, else_=0 if starts[0] is None else -1).label("bucket")
    stmt = (select(bucket, func.count(distinct(cites.c.item_id)), func.count(distinct(cites.c.account_id)))
            .where(_in(cites.c.occurred_at, clock, window_days)).group_by(bucket))
    counts = {b: (int(i), int(a)) for b, i, a in session.execute(stmt)}
    return [Month(labels[i], starts[i], *counts.get(i, (0, 0))) for i in range(len(starts))]


@dataclass(frozen=True)
class Deal:
    """An opportunity a theme's cited feedback puts forward: ``at_stake`` "lost", "open" or "won" (adds nothing);
    ``cited`` False for an open deal counted because a note on its account has no opportunity."""

    id: str
    name: str
    account_id: str | None
    account_name: str | None
    stage: str
    amount: float | None
    amount_currency: str
    value: float | None  # in the reporting currency; None when its currency has no rate
    currency: str
    at_stake: str
    cited: bool
    items: int


def deals(session: Session, settings: Settings, theme_id: int, scope: Scope = Scope(), *, now: dt.datetime,
          window_days: int | None = None, limit: int | None = 30) -> tuple[list[Deal], int]:
    """The opportunities behind the theme's revenue in the period and scope, largest value first (the first
    ``limit``, or all of them with None), and how many there are: the lost ones add up to its lost figure, the open
    ones to its open pipeline."""
    clock = Clock.at(now)
    currency = settings.critical_mass.currency
    cites = theme_citations(scope, [theme_id])
    stake = _stake(cites)
    valued = valued_opportunities(currency, clock.today)
    inside = _in(stake.c.occurred_at, clock, window_days)
    per_opp = (select(stake.c.opp_id, func.max(case((stake.c.cited, 1), else_=0)).label("cited"),
                      func.count(distinct(case((stake.c.cited, stake.c.occurred_at)))).label("n"))
               .where(inside).group_by(stake.c.opp_id).subquery("per_opp"))
    # Items per deal: the distinct items written on it (an open deal of a cited account: the account's notes).
    items = (select(func.count(distinct(cites.c.item_id)))
             .where(_in(cites.c.occurred_at, clock, window_days),
                    or_(cites.c.opportunity_id == valued.c.id,
                        and_(cites.c.opportunity_id.is_(None), cites.c.account_id == valued.c.account_id)))
             .scalar_subquery())
    total = session.scalar(select(func.count()).select_from(per_opp)) or 0
    rows = session.execute(
        select(valued.c.id, valued.c.name, valued.c.account_id, Account.name.label("account_name"), valued.c.stage,
               valued.c.amount, valued.c.code, valued.c.value, valued.c.is_closed, valued.c.is_won, per_opp.c.cited,
               items.label("items"))
        .join(per_opp, per_opp.c.opp_id == valued.c.id)
        .outerjoin(Account, Account.id == valued.c.account_id)
        .order_by(func.coalesce(valued.c.value, 0).desc(), valued.c.id).limit(limit)).all()
    out = [Deal(r.id, r.name, r.account_id, r.account_name, r.stage,
                float(r.amount) if r.amount is not None else None, r.code,
                round(float(r.value), 2) if r.value is not None else None, currency,
                "open" if not r.is_closed else "won" if r.is_won else "lost", bool(r.cited), int(r.items or 0))
           for r in rows]
    return out, int(total)


# --------------------------------------------------------------------------------------------- the verdict
@dataclass(frozen=True)
class Judgement:
    """A theme's status today and why, said from :func:`measure`'s figures for the rule's window."""

    status: str
    figures: Figures
    verdict: dict[str, Any] | None  # JSON the sentence is said from, in any language (critical_mass.sentence)
    reason: str  # the sentence in English
    met_rules: tuple[str, ...] = ()
    critical_since: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    projection: dt.date | None = None


def rules_of(settings: Settings) -> list[cm.Rule]:
    from jobs import critical_mass as cm
    return cm.rules_from_settings(settings.critical_mass)


def all_windows(settings: Settings) -> tuple[int | None, ...]:
    """The board's periods and every rule's window: what one measurement of a scope covers."""
    return tuple(dict.fromkeys((*WINDOWS, *(r.window_days for r in rules_of(settings)))))


def rule_scopes(settings: Settings) -> dict[str, Scope]:
    """Each rule's scope by rule name ("global": everything)."""
    return {r.name: Scope.from_where(r.where, settings.mapping.extra) for r in rules_of(settings)}


def volumes(session: Session, settings: Settings, *, now: dt.datetime) -> dict[str, Figures]:
    """All feedback's figures per rule (its window and scope): what each rule's shares are of.

    Counted from the items dated in the rule's window alone (:func:`measure_org` reads every item): a share is of
    the window's accounts and revenue at stake, which no item outside it changes, and a cold board reads half the
    items or fewer. The trend and last-seen fields, which need every item and which no share reads, are zero.
    """
    cm, clock = settings.critical_mass, Clock.at(now)
    scopes = rule_scopes(settings)
    out = {}
    for r in rules_of(settings):
        cites = org_citations(scopes[r.name], clock, cm.half_life_days, within=r.window_days)
        got = _measure(session, cites, currency=cm.currency, clock=clock, windows=(r.window_days,))
        f = got.get(ORG, {}).get(r.window_days) or empty(r.window_days, cm.currency)
        out[r.name] = replace(f, items_90=0, items_before_90=0, new_accounts_90=0, last_seen=None)
    return out


def fingerprints(session: Session, theme_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int, int]]:
    """What a theme's figures depend on besides the mirrored rows, per theme holding active evidence: its evidence
    set, summed up (count, sum and sum of squares of the segment ids). Any move, reject, merge, acceptance or pass
    that changes which clauses are a theme's evidence changes it; a cache keyed on it and on the sync needs no
    other invalidation, and recomputes only the themes a person just touched."""
    seg = ThemeEvidence.segment_id
    stmt = (select(ThemeEvidence.theme_id, func.count(), func.sum(seg), func.sum(cast(seg, BigInteger) * seg))
            .where(ThemeEvidence.state == "active").group_by(ThemeEvidence.theme_id))
    if theme_ids is not None:
        stmt = stmt.where(ThemeEvidence.theme_id.in_(list(theme_ids)))
    return {tid: (int(n), int(total or 0), int(squares or 0)) for tid, n, total, squares in session.execute(stmt)}


def feedback_fingerprint(session: Session) -> tuple[int, int]:
    """Which clauses are feedback (the volume's items hold one): a pass or a person's "not feedback" moves it."""
    n, total = session.execute(select(func.count(), func.sum(FeedbackSegment.id))
                               .where(FeedbackSegment.is_feedback.is_(True))).one()
    return int(n), int(total or 0)


Measurer = Callable[[Scope], Mapping[int, ThemeFigures]]


def judge(session: Session, settings: Settings, *, now: dt.datetime, theme_ids: Sequence[int] | None = None,
          measurer: Measurer | None = None, org: Mapping[str, Figures] | None = None) -> dict[int, Judgement]:
    """Each active theme's (or ``theme_ids``') status and verdict now: what the theme pass stores and every page
    shows, from the same figures.

    ``measurer(scope)`` gives the themes' figures in a scope for every rule window (default: :func:`measure`; the
    web app passes its cache of the same); ``org``: :func:`volumes`, likewise. A merged or dismissed theme keeps
    its status; an approved decision makes a theme decided at once.
    """
    from jobs import critical_mass as cm
    rules = rules_of(settings)
    glob = rules[0]
    currency = settings.critical_mass.currency
    q = select(Theme.id, Theme.status, Theme.critical_since, Theme.decided_at)
    q = q.where(Theme.id.in_(list(theme_ids))) if theme_ids is not None else q.where(Theme.status.in_(ACTIVE))
    themes = session.execute(q).all()
    if not themes:
        return {}
    ids = [t.id for t in themes] if theme_ids is not None else None
    windows = tuple(dict.fromkeys(r.window_days for r in rules))
    if measurer is None:
        def measurer(scope: Scope) -> Mapping[int, ThemeFigures]:
            return measure(session, settings, scope, now=now, theme_ids=ids, windows=windows)
    scopes = rule_scopes(settings)
    measured = {r.name: measurer(scopes[r.name]) for r in rules}
    org = org if org is not None else volumes(session, settings, now=now)
    approved_q = (select(Decision.theme_id, func.min(func.coalesce(Decision.approved_at, Decision.created_at)))
                  .where(Decision.state == "approved").group_by(Decision.theme_id))
    if ids is not None:
        approved_q = approved_q.where(Decision.theme_id.in_(ids))
    approved = dict(session.execute(approved_q).all())
    out = {}
    for t in themes:
        overall = figures_of(measured[glob.name], t.id, glob.window_days, currency)
        mine = {r.name: figures_of(measured[r.name], t.id, r.window_days, currency) for r in rules[1:]}
        ev = cm.evaluate(t.status, t.critical_since, t.decided_at, overall, mine, rules,
                         approved_decision_at=approved.get(t.id), now=now, volumes=org)
        out[t.id] = Judgement(ev.status, overall, ev.verdict, ev.reason, ev.met_rules, ev.critical_since,
                              ev.decided_at, ev.projection)
    return out


__all__ = ["ACTIVE", "Clock", "Deal", "Figures", "Judgement", "Measurer", "Month", "Scope", "ThemeFigures", "WINDOWS",
           "all_windows", "convert", "deals", "empty", "evidence_conditions", "feedback_fingerprint", "figures_of",
           "fingerprints", "item_conditions", "judge", "like_pattern", "measure", "measure_org", "monthly",
           "rule_scopes", "rules_of", "text_search", "valued_opportunities", "volumes"]
