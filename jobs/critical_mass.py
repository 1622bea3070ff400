"""When does a theme deserve a decision? Pure functions over plain rows, explained in plain words.

A theme reaches critical mass when, within ``[critical_mass] window_days``, it is cited by at least
``min_accounts`` distinct accounts and puts at least ``min_revenue`` at stake (lost amount of Closed Lost
opportunities citing it + open pipeline citing it, directly or through the citing account's open
opportunities). Each level of an organisation can add its own scoped rule (``[critical_mass] scopes``):
"region=EMEA accounts=3 revenue=50000" makes a theme critical for EMEA when EMEA's own citations reach that.

Lifecycle: emerging -> critical (``critical_since`` stamped) -> decided (an approved Decision exists,
``decided_at`` stamped). Merged and dismissed themes are left alone.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from retour.config import ConfigError

SCOPE_FIELDS = ("region", "segment", "channel")  # plus any [mapping] extra attribute, written attr.<name>
PROJECTION_HORIZON_DAYS = 365


@dataclass(frozen=True)
class Citation:
    """One feedback item citing a theme, with what the critical-mass rules need to know about it."""

    item_id: int
    occurred_at: dt.datetime
    account_id: str | None = None
    opportunity_id: str | None = None
    region: str | None = None
    segment: str | None = None
    channel: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Opp:
    id: str
    account_id: str | None
    amount: float
    is_closed: bool
    is_won: bool

    @property
    def is_lost(self) -> bool:
        return self.is_closed and not self.is_won

    @property
    def is_open(self) -> bool:
        return not self.is_closed


@dataclass(frozen=True)
class Rule:
    min_accounts: int
    min_revenue: float
    window_days: int
    name: str = "global"
    # (field, value) pairs a citation must match; empty = the whole org.
    where: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        scope = " and ".join(f"{k}={v}" for k, v in self.where)
        head = f"{scope}: " if scope else ""
        return f"{head}≥ {self.min_accounts} accounts and ≥ {short_money(self.min_revenue)} at stake within {self.window_days} days"


# --------------------------------------------------------------------------------------------- rules from config
_SCOPE_TOKEN = re.compile(r"^([A-Za-z_][\w.]*)=(.+)$")


def parse_scope(spec: str, default: Rule) -> Rule:
    """Parse one ``[critical_mass] scopes`` entry, strictly.

    Form: ``"region=EMEA accounts=3 revenue=50000 window=90"`` — one or more filters (``region``,
    ``segment``, ``channel`` or ``attr.<mapped extra field>``) and optional thresholds (``accounts``,
    ``revenue``, ``window``) that default to the global rule's.
    """
    where: list[tuple[str, str]] = []
    values = {"accounts": default.min_accounts, "revenue": default.min_revenue, "window": default.window_days}
    for token in spec.split():
        m = _SCOPE_TOKEN.match(token)
        if not m:
            raise ConfigError(f"[critical_mass] scopes: {token!r} in {spec!r} should look like key=value, "
                              "e.g. \"region=EMEA accounts=3 revenue=50000\".")
        key, value = m.group(1), m.group(2)
        if key in values:
            try:
                values[key] = float(value) if key == "revenue" else int(value)
            except ValueError:
                raise ConfigError(f"[critical_mass] scopes: {key} must be a number in {spec!r}, got {value!r}.") from None
            if values[key] < 0:
                raise ConfigError(f"[critical_mass] scopes: {key} must not be negative in {spec!r}.")
        elif key in SCOPE_FIELDS or (key.startswith("attr.") and len(key) > 5):
            where.append((key, value))
        else:
            raise ConfigError(f"[critical_mass] scopes: unknown key {key!r} in {spec!r}; filter on "
                              f"{', '.join(SCOPE_FIELDS)} or attr.<mapped field>, set accounts, revenue, window.")
    if not where:
        raise ConfigError(f"[critical_mass] scopes: {spec!r} names no filter (e.g. region=EMEA).")
    return Rule(int(values["accounts"]), float(values["revenue"]), int(values["window"]),
                name=" ".join(f"{k}={v}" for k, v in where), where=tuple(where))


def rules_from_settings(cm: Any) -> list[Rule]:
    """The global rule followed by every scoped rule of ``settings.critical_mass``."""
    default = Rule(cm.min_accounts, cm.min_revenue, cm.window_days)
    return [default, *(parse_scope(s, default) for s in getattr(cm, "scopes", ()))]


# --------------------------------------------------------------------------------------------- metrics
def _field_value(c: Citation, key: str) -> Any:
    if key.startswith("attr."):
        return c.attributes.get(key[5:])
    return getattr(c, key)


def matches(c: Citation, where: Iterable[tuple[str, str]]) -> bool:
    """Strict: a citation without the field's value is outside every scope on that field."""
    for key, want in where:
        have = _field_value(c, key)
        if have is None:
            return False
        if isinstance(have, bool):
            if have != (want.lower() in ("1", "true", "yes", "on")):
                return False
        elif str(have) != want:
            return False
    return True


def subset(citations: Iterable[Citation],
           predicate: Callable[[Citation], bool] | Mapping[str, str] | Sequence[tuple[str, str]]) -> list[Citation]:
    """Citations kept by a predicate, a {field: value} filter (what the web app's filters pass) or (field, value) pairs."""
    if isinstance(predicate, Mapping):
        predicate = tuple(predicate.items())
    if isinstance(predicate, (tuple, list)):
        where = tuple(predicate)
        return [c for c in citations if matches(c, where)]
    return [c for c in citations if predicate(c)]


def _trend(times: Sequence[dt.datetime], now: dt.datetime, days: int) -> float | None:
    """Relative change of citations in the last ``days`` vs the ``days`` before (None when both are empty)."""
    cur = sum(1 for t in times if now - dt.timedelta(days=days) < t <= now)
    prev = sum(1 for t in times if now - dt.timedelta(days=2 * days) < t <= now - dt.timedelta(days=days))
    if prev == 0:
        return None if cur == 0 else float("inf")
    return (cur - prev) / prev


def compute_metrics(citations: Sequence[Citation], opps: Mapping[str, Opp],
                    open_opps_by_account: Mapping[str, Sequence[Opp]], *, now: dt.datetime,
                    window_days: int, half_life_days: float) -> dict[str, Any]:
    """Figures for one theme (or one scoped subset of its citations) over the window ending ``now``."""
    start = now - dt.timedelta(days=window_days)
    inside = [c for c in citations if start < c.occurred_at <= now]
    accounts = {c.account_id for c in inside if c.account_id}
    items = {c.item_id for c in inside}
    lost: dict[str, float] = {}
    open_: dict[str, float] = {}
    for c in inside:
        opp = opps.get(c.opportunity_id) if c.opportunity_id else None
        if opp is not None:
            if opp.is_lost:
                lost[opp.id] = opp.amount
            elif opp.is_open:
                open_[opp.id] = opp.amount
        elif c.account_id:
            # A note on the account (no opportunity): the account's open pipeline is what is at stake.
            for o in open_opps_by_account.get(c.account_id, ()):
                open_[o.id] = o.amount
    score = 0.0
    seen: set[int] = set()
    for c in sorted(inside, key=lambda c: c.occurred_at, reverse=True):
        if c.item_id in seen:
            continue
        seen.add(c.item_id)
        age = max(0.0, (now - c.occurred_at).total_seconds() / 86400)
        score += 0.5 ** (age / half_life_days) if half_life_days > 0 else 1.0
    times = [c.occurred_at for c in citations]
    first_seen: dict[str, dt.datetime] = {}
    for c in citations:
        if c.account_id and (c.account_id not in first_seen or c.occurred_at < first_seen[c.account_id]):
            first_seen[c.account_id] = c.occurred_at
    recent_new_accounts = sum(1 for t in first_seen.values() if now - dt.timedelta(days=90) < t <= now)
    return {
        "accounts": len(accounts),
        "items": len(items),
        "revenue_lost": round(sum(lost.values()), 2),
        "revenue_open": round(sum(open_.values()), 2),
        "revenue_at_stake": round(sum(lost.values()) + sum(open_.values()), 2),
        "score": round(score, 4),
        "trend_30": _json_float(_trend(times, now, 30)),
        "trend_90": _json_float(_trend(times, now, 90)),
        "new_accounts_90": recent_new_accounts,
        "items_90": sum(1 for t in times if now - dt.timedelta(days=90) < t <= now),
        "window_days": window_days,
    }


def _json_float(v: float | None) -> float | str | None:
    """JSON has no infinity: a theme that came from nothing is "new"."""
    if v is None:
        return None
    if math.isinf(v):
        return "new"
    return round(v, 4)


def meets(metrics: Mapping[str, Any], rule: Rule) -> bool:
    return metrics["accounts"] >= rule.min_accounts and metrics["revenue_at_stake"] >= rule.min_revenue


def project(metrics: Mapping[str, Any], rule: Rule, *, now: dt.datetime,
            revenue_rate_per_day: float | None = None) -> dt.date | None:
    """When the theme reaches ``rule`` at its current rate (new accounts and revenue of the last 90 days).

    None when it already has, when it is not growing, or when that is more than a year away.
    """
    if meets(metrics, rule):
        return None
    acc_rate = metrics.get("new_accounts_90", 0) / 90
    missing_acc = max(0, rule.min_accounts - metrics["accounts"])
    missing_rev = max(0.0, rule.min_revenue - metrics["revenue_at_stake"])
    if revenue_rate_per_day is None:
        items = max(1, metrics.get("items", 0))
        per_item = metrics["revenue_at_stake"] / items
        revenue_rate_per_day = per_item * metrics.get("items_90", 0) / 90
    days = 0.0
    for missing, rate in ((missing_acc, acc_rate), (missing_rev, revenue_rate_per_day)):
        if missing > 0:
            if rate <= 0:
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


def explain(metrics: Mapping[str, Any]) -> str:
    """"7 accounts, 412k lost, 90k open, +60% in 90 days"."""
    parts = [f"{metrics['accounts']} account{'s' if metrics['accounts'] != 1 else ''}"]
    if metrics["revenue_lost"]:
        parts.append(f"{short_money(metrics['revenue_lost'])} lost")
    if metrics["revenue_open"]:
        parts.append(f"{short_money(metrics['revenue_open'])} open")
    if not metrics["revenue_lost"] and not metrics["revenue_open"]:
        parts.append("nothing at stake yet")
    t = metrics.get("trend_90")
    if t == "new":
        parts.append("new in 90 days")
    elif isinstance(t, (int, float)):
        parts.append(f"{t * 100:+.0f}% in 90 days")
    return ", ".join(parts)


@dataclass(frozen=True)
class Evaluation:
    status: str
    critical_since: dt.datetime | None
    decided_at: dt.datetime | None
    reason: str
    met_rules: tuple[str, ...]
    projection: dt.date | None


def evaluate(current_status: str, critical_since: dt.datetime | None, decided_at: dt.datetime | None,
             overall: Mapping[str, Any], scoped: Mapping[str, Mapping[str, Any]], rules: Sequence[Rule], *,
             approved_decision_at: dt.datetime | None, now: dt.datetime) -> Evaluation:
    """The theme's next status, with its stamps and the sentence that explains it.

    ``overall`` holds the whole-org metrics (per the global rule's window), ``scoped`` the metrics per
    scoped rule name. Merged/dismissed themes keep their status.
    """
    if current_status in ("merged", "dismissed"):
        return Evaluation(current_status, critical_since, decided_at, explain(overall), (), None)
    met = tuple(r.name for r in rules if meets(overall if not r.where else scoped.get(r.name, _EMPTY), r))
    figures = explain(overall)
    if approved_decision_at is not None:
        return Evaluation("decided", critical_since, decided_at or approved_decision_at,
                          f"decided; {figures}", met, None)
    if met:
        since = critical_since or now
        which = "; ".join(r.describe() for r in rules if r.name in met)
        return Evaluation("critical", since, None, f"critical ({which}): {figures}", met, None)
    global_rule = rules[0]
    when = project(overall, global_rule, now=now)
    outlook = f"; at this rate critical around {when.isoformat()}" if when else ""
    return Evaluation("emerging", None, None, f"emerging ({global_rule.describe()} needed): {figures}{outlook}",
                      met, when)


_EMPTY = {"accounts": 0, "revenue_at_stake": 0.0}
