"""When does a theme deserve a decision? Pure functions over a theme's figures, explained in plain words.

The default rule scales with the org's own volume, so that "critical" separates a few themes from the rest
whatever the org's size. Within ``[critical_mass] window_days`` a theme is critical when

- its distinct accounts reach ``account_share`` of the accounts that gave any feedback in the window (0.25:
  one in four of the customers who told us anything raised it), and
- its revenue at stake reaches ``revenue_share`` of the revenue all that feedback puts at stake (0.10: a tenth).

Both shares are of figures counted by the same function (``jobs.figures.measure``, which defines every figure a
page shows) over every feedback item instead of one theme's, so a share is a true part of a whole: a theme's
revenue at stake is its cited lost deals plus the open pipeline it touches, in the reporting currency, and the
whole is the same count over all feedback (not the org's entire pipeline, most of which no feedback mentions).
Why these shares: a bar relative to the number of themes would move whenever discovery splits or merges one; a
share of the org's own volume does not. Accounts overlap between themes (a customer raises several things), so
themes do not share 100% between them. Measured on the demo org (13 seeded subjects, four weighted well above the
rest; about 420 accounts gave feedback in 180 days): with 17 themes found, the four heavy subjects were raised by
33-40% of those accounts (16-21% of the revenue) and every other theme by at most 24%: 4 critical. With 19
themes (a later discovery), the heavy four held 29-39% and a budget theme 27%: 5 critical, the rest at most 23%.
The bar sits in the gap the data shows, not on a count: one customer in four is what a product owner can be
asked to answer for.

``min_accounts`` and ``min_revenue`` stay as absolute floors: a small org does not call a theme critical on
two accounts because two is a quarter of eight. Each level of an organisation can add its own scoped rule
(``[critical_mass] scopes``): "region=EMEA accounts=3 revenue=50000" makes a theme critical for EMEA when
EMEA's own citations reach that; a scope that names no threshold inherits the floors and the shares, measured
against the scope's own volume.

Lifecycle: emerging -> critical (``critical_since`` stamped) -> decided (an approved Decision exists,
``decided_at`` stamped). Merged and dismissed themes are left alone.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict

from retour.config import ConfigError

if TYPE_CHECKING:
    from jobs.figures import Figures

SCOPE_FIELDS = ("region", "segment", "channel")  # plus any [mapping] extra attribute, written attr.<name>
PROJECTION_HORIZON_DAYS = 365


@dataclass(frozen=True)
class Rule:
    """Absolute floors and shares of the org's (or the scope's) own volume; a theme must reach both on each axis."""

    min_accounts: int
    min_revenue: float
    window_days: int
    name: str = "global"
    # (field, value) pairs a citation must match; empty = the whole org.
    where: tuple[tuple[str, str], ...] = ()
    account_share: float = 0.0
    revenue_share: float = 0.0

    def needed(self, volume: Figures | None) -> tuple[int, float]:
        """(accounts, revenue) a theme needs, given the volume its shares are of (None: the floors alone)."""
        base_accounts = volume.accounts if volume else 0
        base_revenue = volume.at_stake if volume else 0.0
        # A share of 25% of 10 accounts asks for 3 (2.5 rounded up): "at least a quarter" means what it says.
        return (max(self.min_accounts, math.ceil(round(self.account_share * base_accounts, 6))),
                max(self.min_revenue, self.revenue_share * base_revenue))


# --------------------------------------------------------------------------------------------- rules from config
_SCOPE_TOKEN = re.compile(r"^([A-Za-z_][\w.]*)=(.+)$")
_SHARES = ("account_share", "revenue_share")


def parse_scope(spec: str, default: Rule) -> Rule:
    """Parse one ``[critical_mass] scopes`` entry, strictly.

    Form: ``"region=EMEA accounts=3 revenue=50000 window=90"`` — one or more filters (``region``,
    ``segment``, ``channel`` or ``attr.<mapped extra field>``) and optional thresholds: ``accounts``,
    ``revenue``, ``window``, ``account_share``, ``revenue_share`` (0..1, of the scope's own volume).
    Per axis, a scope that names an absolute threshold (``accounts=3``) means exactly that, as it always did;
    one that names neither inherits the global floor and share, so "region=EMEA" alone asks EMEA's themes
    to reach a quarter of EMEA's own feedback accounts.
    """
    where: list[tuple[str, str]] = []
    values: dict[str, float] = {}
    for token in spec.split():
        m = _SCOPE_TOKEN.match(token)
        if not m:
            raise ConfigError(f"[critical_mass] scopes: {token!r} in {spec!r} should look like key=value, "
                              "e.g. \"region=EMEA accounts=3 revenue=50000\".")
        key, value = m.group(1), m.group(2)
        if key in ("accounts", "revenue", "window", *_SHARES):
            try:
                values[key] = float(value) if key in ("revenue", *_SHARES) else int(value)
            except ValueError:
                raise ConfigError(f"[critical_mass] scopes: {key} must be a number in {spec!r}, got {value!r}.") from None
            if values[key] < 0:
                raise ConfigError(f"[critical_mass] scopes: {key} must not be negative in {spec!r}.")
            if key in _SHARES and values[key] > 1:
                raise ConfigError(f"[critical_mass] scopes: {key} is a share between 0 and 1 in {spec!r} "
                                  f"(0.1 = 10%), got {value!r}.")
        elif key in SCOPE_FIELDS or (key.startswith("attr.") and len(key) > 5):
            where.append((key, value))
        else:
            raise ConfigError(f"[critical_mass] scopes: unknown key {key!r} in {spec!r}; filter on "
                              f"{', '.join(SCOPE_FIELDS)} or attr.<mapped field>, set accounts, revenue, window, "
                              "account_share, revenue_share.")
    if not where:
        raise ConfigError(f"[critical_mass] scopes: {spec!r} names no filter (e.g. region=EMEA).")
    absolute_accounts = "accounts" in values and "account_share" not in values
    absolute_revenue = "revenue" in values and "revenue_share" not in values
    return Rule(int(values.get("accounts", default.min_accounts)), float(values.get("revenue", default.min_revenue)),
                int(values.get("window", default.window_days)),
                name=" ".join(f"{k}={v}" for k, v in where), where=tuple(where),
                account_share=0.0 if absolute_accounts else float(values.get("account_share", default.account_share)),
                revenue_share=0.0 if absolute_revenue else float(values.get("revenue_share", default.revenue_share)))


def rules_from_settings(cm: Any) -> list[Rule]:
    """The global rule followed by every scoped rule of ``settings.critical_mass``."""
    default = Rule(cm.min_accounts, cm.min_revenue, cm.window_days, account_share=cm.account_share,
                   revenue_share=cm.revenue_share)
    return [default, *(parse_scope(s, default) for s in getattr(cm, "scopes", ()))]


def meets(f: Figures, rule: Rule, volume: Figures | None = None) -> bool:
    """Does a theme's (or a scope's) figures reach ``rule``, its shares taken of ``volume``?"""
    accounts, revenue = rule.needed(volume)
    return f.accounts >= accounts and f.at_stake >= revenue


def project(f: Figures, rule: Rule, *, now: dt.datetime, volume: Figures | None = None) -> dt.date | None:
    """When the theme reaches ``rule`` at its current rate (new accounts and revenue of the last 90 days).

    None when it already has, when it is not growing, or when that is more than a year away. The org's volume
    is taken as it is today (it grows too, so this is the earliest date, said as "around").

    Not growing includes shrinking: fewer items in the last 90 days than in the 90 before. And a rule counted over a
    window holds at most what the current rate brings in one window: when that falls short, the theme never gets
    there at this rate. The desk said "-11 % in 90 days, at this rate critical around 1 August 2027" of a theme
    whose window was emptying faster than it filled.
    """
    if meets(f, rule, volume) or f.items_90 < f.items_before_90:
        return None
    need_accounts, need_revenue = rule.needed(volume)
    acc_rate = f.new_accounts_90 / 90
    missing_acc = max(0, need_accounts - f.accounts)
    missing_rev = max(0.0, need_revenue - f.at_stake)
    revenue_rate_per_day = f.at_stake / max(1, f.items) * f.items_90 / 90
    days = 0.0
    for missing, rate, needed in ((missing_acc, acc_rate, need_accounts),
                                  (missing_rev, revenue_rate_per_day, need_revenue)):
        if missing > 0:
            if rate <= 0 or (rule.window_days and rate * rule.window_days < needed):
                return None
            days = max(days, missing / rate)
    if days > PROJECTION_HORIZON_DAYS:
        return None
    return (now + dt.timedelta(days=math.ceil(days))).date()


def short_money(x: float) -> str:
    if abs(x) >= 1_000_000:
        return f"{x / 1_000_000:.1f}M".replace(".0M", "M")
    if abs(x) >= 1_000:
        return f"{x / 1_000:.0f}k"
    return f"{x:.0f}"


def percent(x: float) -> str:
    """"25%", and one decimal under 10% so that 3.8% does not read as 4% (but 7%, not 7.0%)."""
    if abs(x) >= 0.1 or x == 0:
        return f"{x * 100:.0f}%"
    return f"{x * 100:.1f}".rstrip("0").rstrip(".") + "%"


# --------------------------------------------------------------------------------------------- the verdict in words
def _same(message: str) -> str:
    return message


def _plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


@dataclass(frozen=True)
class Wording:
    """How a verdict is put in words. English by default (``Theme.reason``, the API, the logs); the web app passes
    its French catalogue's ``gettext``/``ngettext`` (unformatted templates) and Babel's money and percent, so a
    product owner reads the same sentence, built here once, in their language."""

    gettext: Callable[[str], str] = _same
    ngettext: Callable[[str, str, int], str] = _plural
    money: Callable[[float, str], str] = lambda amount, currency: f"{short_money(amount)} {currency}"
    percent: Callable[[float], str] = percent
    date: Callable[[dt.date], str] = dt.date.isoformat
    # A scoped rule's name ("region=EMEA attr.speaks_basque=true") said as words ("region EMEA, Speaks Basque: yes").
    scope: Callable[[str], str] = lambda name: name


ENGLISH = Wording()


class Verdict(TypedDict):
    """Why a theme has its status, as figures and codes, never words: ``status`` and ``rule`` choose the message,
    the numbers fill it in. Kept as JSON (``Theme.metrics["verdict"]``, the API) and said by :func:`sentence` in
    the reader's language with the web app's catalogue (jobs import no Flask and build no English for a page)."""

    status: str  # emerging | critical | decided: which message
    rule: str  # "global", or the scoped rule's filters ("region=EMEA")
    window_days: int
    also: list[str]
    currency: str
    accounts: int
    accounts_base: int
    accounts_needed: int
    account_share: float
    accounts_by_share: bool
    revenue: float
    revenue_base: float
    revenue_needed: float
    revenue_share: float
    revenue_by_share: bool
    revenue_lost: float
    revenue_open: float
    unconverted: list[list[Any]]  # [currency, amount] pairs no rate converts
    trend_90: float | str | None
    projection: str | None  # ISO date


def verdict(status: str, f: Figures, rule: Rule, volume: Figures | None, *, also: Sequence[str] = (),
            projection: dt.date | None = None) -> Verdict:
    """The figures a theme's status rests on, as plain JSON (kept in ``Theme.metrics["verdict"]``): its accounts
    and revenue beside the volume they are a share of and what the rule asks, so the sentence can be said again
    in any language without computing anything."""
    need_accounts, need_revenue = rule.needed(volume)
    return {  # a Verdict
        "status": status, "rule": rule.name, "window_days": rule.window_days, "also": list(also),
        "currency": f.currency,
        "accounts": f.accounts, "accounts_base": volume.accounts if volume else 0,
        "accounts_needed": need_accounts, "account_share": rule.account_share,
        "accounts_by_share": need_accounts > rule.min_accounts,
        "revenue": f.at_stake, "revenue_base": volume.at_stake if volume else 0.0,
        "revenue_needed": need_revenue, "revenue_share": rule.revenue_share,
        "revenue_by_share": need_revenue > rule.min_revenue,
        "revenue_lost": f.lost, "revenue_open": f.open,
        "unconverted": [[code, round(lost + open_, 2)] for code, lost, open_ in f.unconverted],
        "trend_90": f.trend_90,
        "projection": projection.isoformat() if projection else None,
    }


def sentence(v: Verdict | Mapping[str, Any], w: Wording = ENGLISH, *, with_status: bool = True) -> str:
    """"critical: 14 of the 160 accounts that gave feedback in 180 days (9%, rule ≥ 6%) and 2.1M EUR at stake (8%
    of what all feedback puts at stake, rule ≥ 5%); 1.6M EUR lost, 500k EUR open, +60% in 90 days".

    ``with_status=False`` leaves the status word out (a page shows it beside the sentence, as a badge, and
    "critical critical: ..." says it twice); a scoped rule still names its scope ("In region=EMEA: ...")."""
    _ = w.gettext
    code = v.get("currency") or "EUR"

    def say(amount: float) -> str:
        return w.money(amount, code)

    status = v["status"]
    if status == "critical" and v["rule"] != "global":
        head = _("critical for %(scope)s") % {"scope": w.scope(v["rule"])}
    else:
        head = {"critical": _("critical"), "emerging": _("emerging"), "decided": _("decided")}.get(status, status)
    n, base, needed = v["accounts"], v["accounts_base"], v["accounts_needed"]
    rule = w.percent(v["account_share"]) if v["accounts_by_share"] else \
        w.ngettext("%(n)s account", "%(n)s accounts", needed) % {"n": needed}
    if base:
        accounts = _("%(n)s of the %(base)s accounts that gave feedback in %(days)s days (%(share)s, rule ≥ %(rule)s)") % {
            "n": n, "base": base, "days": v["window_days"], "share": w.percent(n / base), "rule": rule}
    else:
        accounts = w.ngettext("%(n)s account in %(days)s days (rule ≥ %(rule)s)",
                              "%(n)s accounts in %(days)s days (rule ≥ %(rule)s)", n) % {
            "n": n, "days": v["window_days"], "rule": rule}
    at_stake, base = v["revenue"], v["revenue_base"]
    rule = w.percent(v["revenue_share"]) if v["revenue_by_share"] else say(v["revenue_needed"])
    if not at_stake:
        revenue = _("nothing at stake yet (rule ≥ %(rule)s)") % {"rule": rule}
    elif base:
        revenue = _("%(money)s at stake (%(share)s of what all feedback puts at stake, rule ≥ %(rule)s)") % {
            "money": say(at_stake), "share": w.percent(at_stake / base), "rule": rule}
    else:
        revenue = _("%(money)s at stake (rule ≥ %(rule)s)") % {"money": say(at_stake), "rule": rule}
    if with_status:
        out = _("%(status)s: %(accounts)s and %(revenue)s") % {"status": head, "accounts": accounts, "revenue": revenue}
    elif status == "critical" and v["rule"] != "global":
        out = _("In %(scope)s: %(accounts)s and %(revenue)s") % {"scope": w.scope(v["rule"]), "accounts": accounts,
                                                                  "revenue": revenue}
    else:
        out = _("%(accounts)s and %(revenue)s") % {"accounts": accounts, "revenue": revenue}
    tail = []
    if v["revenue_lost"]:
        tail.append(_("%(money)s lost") % {"money": say(v["revenue_lost"])})
    if v["revenue_open"]:
        tail.append(_("%(money)s open") % {"money": say(v["revenue_open"])})
    t = v.get("trend_90")
    if t == "new":
        tail.append(_("new in 90 days"))
    elif isinstance(t, (int, float)):
        tail.append(_("%(change)s in 90 days") % {"change": ("+" if t > 0 else "") + w.percent(t)})
    if v.get("unconverted"):
        tail.append(_("%(amounts)s left out: no rate to convert them") % {
            "amounts": ", ".join(w.money(amount, c) for c, amount in v["unconverted"])})
    if v.get("also"):
        tail.append(_("also critical for %(scopes)s") % {"scopes": "; ".join(w.scope(s) for s in v["also"])})
    if v.get("projection"):
        tail.append(_("at this rate critical around %(date)s") % {"date": w.date(dt.date.fromisoformat(v["projection"]))})
    return _("%(verdict)s; %(figures)s") % {"verdict": out, "figures": ", ".join(tail)} if tail else out


@dataclass(frozen=True)
class Evaluation:
    status: str
    critical_since: dt.datetime | None
    decided_at: dt.datetime | None
    reason: str
    met_rules: tuple[str, ...]
    projection: dt.date | None
    verdict: Verdict | None = None


def evaluate(current_status: str, critical_since: dt.datetime | None, decided_at: dt.datetime | None,
             overall: Figures, scoped: Mapping[str, Figures], rules: Sequence[Rule], *,
             approved_decision_at: dt.datetime | None, now: dt.datetime,
             volumes: Mapping[str, Figures] | None = None) -> Evaluation:
    """The theme's next status, with its stamps, its verdict and the sentence that explains it.

    ``overall`` holds the theme's figures for the global rule's window, ``scoped`` its figures per scoped rule name,
    ``volumes`` the figures of all feedback per rule name ("global" for the org) that the rules' shares are of
    (without it, only the absolute floors apply). Merged/dismissed themes keep their status.
    """
    if current_status in ("merged", "dismissed"):
        return Evaluation(current_status, critical_since, decided_at, "", (), None)
    volumes = volumes or {}

    def figures(r: Rule) -> Figures:
        if not r.where:
            return overall
        return scoped.get(r.name) or replace(overall, items=0, accounts=0, lost=0.0, open=0.0, score=0.0,
                                             unconverted=())

    met = tuple(r.name for r in rules if meets(figures(r), r, volumes.get(r.name)))
    global_rule = rules[0]
    if approved_decision_at is not None:
        v = verdict("decided", overall, global_rule, volumes.get(global_rule.name))
        return Evaluation("decided", critical_since, decided_at or approved_decision_at, sentence(v), met, None, v)
    if met:
        first = next(r for r in rules if r.name == met[0])
        v = verdict("critical", figures(first), first, volumes.get(first.name), also=met[1:])
        return Evaluation("critical", critical_since or now, None, sentence(v), met, None, v)
    when = project(overall, global_rule, now=now, volume=volumes.get(global_rule.name))
    v = verdict("emerging", overall, global_rule, volumes.get(global_rule.name), projection=when)
    return Evaluation("emerging", None, None, sentence(v), met, when, v)
