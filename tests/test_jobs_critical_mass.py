"""Critical-mass figures, rules, scopes, projection and wording: pure, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs import critical_mass as cm
from retour.config import ConfigError, load_settings

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def ago(days):
    return NOW - dt.timedelta(days=days)


def cite(i, days, acc, opp=None, region=None, **attrs):
    return cm.Citation(item_id=i, occurred_at=ago(days), account_id=acc, opportunity_id=opp, region=region,
                       attributes=attrs)


OPPS = {
    "L1": cm.Opp("L1", "A1", 200_000, True, False),   # closed lost
    "L2": cm.Opp("L2", "A2", 150_000, True, False),
    "W1": cm.Opp("W1", "A3", 90_000, True, True),     # won: not at stake
    "O1": cm.Opp("O1", "A4", 60_000, False, False),   # open
    "O2": cm.Opp("O2", "A5", 40_000, False, False),
}
OPEN_BY_ACC = {"A4": [OPPS["O1"]], "A5": [OPPS["O2"]]}


def metrics(cites, window=180):
    return cm.compute_metrics(cites, OPPS, OPEN_BY_ACC, now=NOW, window_days=window, half_life_days=45)


def test_metrics_count_distinct_accounts_and_revenue_lost_plus_open_pipeline():
    cites = [cite(1, 10, "A1", "L1"), cite(2, 20, "A1", "L1"), cite(3, 30, "A2", "L2"), cite(4, 5, "A3", "W1"),
             cite(5, 5, "A5")]  # a note on A5 without opportunity: its open pipeline counts
    m = metrics(cites)
    assert m["accounts"] == 4 and m["items"] == 5
    assert m["revenue_lost"] == 350_000
    assert m["revenue_open"] == 40_000
    assert m["revenue_at_stake"] == 390_000


def test_citations_outside_the_window_do_not_count():
    m = metrics([cite(1, 200, "A1", "L1"), cite(2, 10, "A2", "L2")])
    assert m["accounts"] == 1 and m["revenue_lost"] == 150_000


def test_recent_feedback_weighs_more_than_old_feedback():
    assert metrics([cite(1, 1, "A1")])["score"] > metrics([cite(1, 90, "A1")])["score"]
    assert metrics([cite(1, 45, "A1")])["score"] == pytest.approx(0.5, abs=0.01)


def test_trend_compares_the_last_n_days_with_the_n_before():
    cites = [cite(i, 10 + i, f"A{i}") for i in range(8)] + [cite(100 + i, 120 + i, f"B{i}") for i in range(5)]
    m = metrics(cites)
    assert m["trend_90"] == pytest.approx((8 - 5) / 5)
    assert metrics([cite(1, 3, "A1")])["trend_30"] == "new"
    assert metrics([])["trend_30"] is None


def _rule(**kw):
    return cm.Rule(min_accounts=kw.get("accounts", 5), min_revenue=kw.get("revenue", 100_000), window_days=180)


def test_theme_becomes_critical_with_enough_accounts_and_revenue_and_says_why():
    cites = [cite(i, 5 + i, f"A{i}", "L1" if i == 1 else None) for i in range(1, 8)]
    m = metrics(cites)
    ev = cm.evaluate("emerging", None, None, m, {}, [_rule()], approved_decision_at=None, now=NOW)
    assert ev.status == "critical" and ev.critical_since == NOW
    assert ev.reason.startswith("critical") and "7 accounts" in ev.reason and "200k lost" in ev.reason


def test_critical_since_is_kept_on_later_passes():
    m = metrics([cite(i, 5, f"A{i}", "L1") for i in range(1, 8)])
    first = ago(30)
    ev = cm.evaluate("critical", first, None, m, {}, [_rule()], approved_decision_at=None, now=NOW)
    assert ev.critical_since == first


def test_not_enough_revenue_keeps_it_emerging():
    m = metrics([cite(i, 5, f"X{i}") for i in range(1, 8)])  # seven accounts, nothing at stake
    ev = cm.evaluate("emerging", None, None, m, {}, [_rule()], approved_decision_at=None, now=NOW)
    assert ev.status == "emerging" and "nothing at stake" in ev.reason


def test_an_approved_decision_makes_it_decided():
    m = metrics([cite(1, 5, "A1", "L1")])
    ev = cm.evaluate("critical", ago(10), None, m, {}, [_rule()], approved_decision_at=ago(1), now=NOW)
    assert ev.status == "decided" and ev.decided_at == ago(1)


def test_merged_themes_are_left_alone():
    ev = cm.evaluate("merged", None, None, metrics([]), {}, [_rule()], approved_decision_at=None, now=NOW)
    assert ev.status == "merged"


def test_scoped_rule_makes_a_theme_critical_for_that_region_only():
    cites = [cite(1, 5, "A1", "L1", region="EMEA"), cite(2, 6, "A2", "L2", region="EMEA"),
             cite(3, 7, "A4", region="EMEA"), cite(4, 8, "A9", region="AMER")]
    default = _rule()
    emea = cm.parse_scope("region=EMEA accounts=3 revenue=50000", default)
    amer = cm.parse_scope("region=AMER accounts=3", default)
    overall = metrics(cites)
    scoped = {r.name: metrics(cm.subset(cites, r.where)) for r in (emea, amer)}
    assert scoped["region=EMEA"]["accounts"] == 3 and scoped["region=AMER"]["accounts"] == 1
    ev = cm.evaluate("emerging", None, None, overall, scoped, [default, emea, amer], approved_decision_at=None, now=NOW)
    assert ev.status == "critical" and ev.met_rules == ("region=EMEA",)
    assert "region=EMEA" in ev.reason


def test_subset_filters_on_mapped_extra_attributes_strictly():
    cites = [cite(1, 5, "A1", speaks_basque=True), cite(2, 5, "A2", speaks_basque=False), cite(3, 5, "A3")]
    got = cm.subset(cites, {"attr.speaks_basque": "true"})
    assert [c.item_id for c in got] == [1]
    assert [c.item_id for c in cm.subset(cites, {"region": "EMEA"})] == []


@pytest.mark.parametrize("spec, message", [
    ("accounts=3", "names no filter"),
    ("country=FR", "unknown key"),
    ("region=EMEA accounts=three", "must be a number"),
    ("region", "key=value"),
])
def test_bad_scope_rules_fail_with_a_clear_message(spec, message):
    with pytest.raises(ConfigError, match=message):
        cm.parse_scope(spec, _rule())


def test_scopes_come_from_settings():
    s = load_settings({"critical_mass": {"scopes": ["segment=SMB accounts=2"]}}, environ={})
    rules = cm.rules_from_settings(s.critical_mass)
    assert [r.name for r in rules] == ["global", "segment=SMB"] and rules[1].min_accounts == 2


def test_projection_dates_when_the_current_rate_reaches_the_rule():
    # 3 accounts all first seen in the last 90 days (1 per 30 days), 240k at stake already.
    cites = [cite(1, 10, "A1", "L1"), cite(2, 40, "A2"), cite(3, 70, "A4")]
    m = metrics(cites)
    when = cm.project(m, _rule(), now=NOW)
    assert when == (NOW + dt.timedelta(days=60)).date()
    assert cm.project(metrics([cite(1, 150, "A1")]), _rule(), now=NOW) is None  # not growing lately


def test_explanation_reads_like_a_sentence():
    m = {"accounts": 7, "revenue_lost": 412_000, "revenue_open": 0, "trend_90": 0.6}
    assert cm.explain(m) == "7 accounts, 412k lost, +60% in 90 days"
