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


# --------------------------------------------------------------------------------------------- the scaled rule
def _org(n_accounts: int, amount: float = 10_000):
    """An org of ``n_accounts`` accounts, each with one lost deal of ``amount``."""
    return {f"L{i}": cm.Opp(f"L{i}", f"A{i}", amount, True, False) for i in range(n_accounts)}


def _cites(accounts, first_item: int = 0, **scope):
    return [cite(first_item + k, 5 + k % 60, f"A{i}", f"L{i}", **scope) for k, i in enumerate(accounts)]


def _judge(theme_cites, org_cites, opps, rules, status="emerging"):
    """What the theme pass does for one theme: its figures, the org's volume per rule, the verdict."""
    def m(cs, window=180):
        return cm.compute_metrics(cs, opps, {}, now=NOW, window_days=window, half_life_days=45)
    volumes = {r.name: m(cm.subset(org_cites, r.where) if r.where else org_cites, r.window_days) for r in rules}
    scoped = {r.name: m(cm.subset(theme_cites, r.where), r.window_days) for r in rules[1:]}
    return cm.evaluate(status, None, None, m(theme_cites), scoped, rules, approved_decision_at=None, now=NOW,
                       volumes=volumes)


def _default_rules(**overrides):
    return cm.rules_from_settings(load_settings({"critical_mass": overrides} if overrides else None,
                                                environ={}).critical_mass)


def test_critical_is_rare_on_an_org_with_many_themes_where_fixed_floors_called_every_theme_critical():
    # 200 accounts gave feedback; 20 themes with a long tail: theme k is raised by 200/(k+1) of them.
    opps = _org(200)
    themes = {k: _cites(range(200 // (k + 1)), first_item=1000 * k) for k in range(20)}
    org_cites = [c for cs in themes.values() for c in cs]
    floors_only = _default_rules(account_share=0, revenue_share=0)
    scaled = _default_rules()
    before = [k for k, cs in themes.items() if _judge(cs, org_cites, opps, floors_only).status == "critical"]
    after = [k for k, cs in themes.items() if _judge(cs, org_cites, opps, scaled).status == "critical"]
    assert len(before) == len(themes)  # the word separated nothing
    share = scaled[0].account_share
    assert after == [k for k, cs in themes.items() if len(cs) >= share * 200]  # exactly those one in four raised
    assert 0 < len(after) <= len(themes) // 4


def test_the_sentence_says_the_rule_with_its_numbers():
    opps = _org(160)
    org_cites = _cites(range(160), first_item=10_000)
    theme = _cites(range(48))  # 30% of the accounts and of the lost revenue
    ev = _judge(theme, org_cites, opps, _default_rules(account_share=0.25, revenue_share=0.2))
    assert ev.status == "critical"
    assert ev.reason.startswith("critical: 48 of the 160 accounts that gave feedback in 180 days (30%, rule ≥ 25%)")
    assert "480k at stake (30% of what all feedback puts at stake, rule ≥ 20%)" in ev.reason
    assert ev.verdict["accounts_needed"] == 40 and ev.verdict["revenue_needed"] == pytest.approx(320_000)
    quiet = _judge(_cites(range(12)), org_cites, opps, _default_rules())
    assert quiet.status == "emerging" and "12 of the 160 accounts" in quiet.reason and "(7.5%, rule ≥ 25%)" in quiet.reason


def test_absolute_floors_still_apply_on_a_small_org():
    opps = _org(8, amount=50_000)
    org_cites = _cites(range(8), first_item=100)
    theme = _cites(range(3))  # 3 of 8 accounts: 37% clears one in four, but 3 < min_accounts
    ev = _judge(theme, org_cites, opps, _default_rules(min_accounts=5))
    assert ev.status == "emerging" and "rule ≥ 5 accounts" in ev.reason
    assert _judge(theme, org_cites, opps, _default_rules(min_accounts=3)).status == "critical"
    poor = _judge(theme, org_cites, opps, _default_rules(min_accounts=3, min_revenue=200_000))
    assert poor.status == "emerging" and "150k at stake" in poor.reason and "rule ≥ 200k" in poor.reason


def test_a_share_is_rounded_up_so_at_least_a_quarter_means_it():
    rule = cm.Rule(min_accounts=0, min_revenue=0, window_days=180, account_share=0.25)
    assert rule.needed({"accounts": 10, "revenue_at_stake": 0})[0] == 3
    assert rule.needed({"accounts": 12, "revenue_at_stake": 0})[0] == 3


def test_a_scope_without_thresholds_is_judged_against_its_own_volume():
    opps = _org(100)
    emea = range(90, 100)  # a small region: 10 of the 100 accounts
    org_cites = _cites(range(90), first_item=1000, region="AMER") + _cites(emea, first_item=2000, region="EMEA")
    theme = _cites(range(93, 97), region="EMEA")  # 4 accounts: 40% of EMEA, 4% of the org
    rules = _default_rules(min_accounts=2, min_revenue=0, scopes=["region=EMEA"])
    ev = _judge(theme, org_cites, opps, rules)
    assert ev.status == "critical" and ev.met_rules == ("region=EMEA",)
    assert ev.reason.startswith("critical for region=EMEA: 4 of the 10 accounts that gave feedback")


def test_a_scope_naming_absolute_thresholds_means_exactly_them():
    default = cm.Rule(5, 100_000, 180, account_share=0.25, revenue_share=0.1)
    absolute = cm.parse_scope("region=EMEA accounts=3 revenue=50000", default)
    assert (absolute.min_accounts, absolute.account_share, absolute.revenue_share) == (3, 0.0, 0.0)
    mixed = cm.parse_scope("region=EMEA accounts=3 account_share=0.5", default)
    assert (mixed.min_accounts, mixed.account_share, mixed.revenue_share) == (3, 0.5, 0.1)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        cm.parse_scope("region=EMEA account_share=25", default)


@pytest.mark.parametrize("key", ["account_share", "revenue_share"])
def test_shares_outside_zero_to_one_are_refused_naming_the_setting(key):
    with pytest.raises(ConfigError, match=rf"\[critical_mass\] {key} is a share between 0 and 1"):
        load_settings({"critical_mass": {key: 25}}, environ={})
    assert getattr(load_settings({"critical_mass": {key: 0}}, environ={}).critical_mass, key) == 0


def test_the_sentence_is_built_from_the_verdict_in_the_reader_s_words():
    opps = _org(20)
    ev = _judge(_cites(range(10)), _cites(range(20), first_item=500), opps, _default_rules())
    catalogue = {"critical": "critique",
                 "%(status)s: %(accounts)s and %(revenue)s": "%(status)s : %(accounts)s et %(revenue)s"}
    french = cm.Wording(gettext=lambda s: catalogue.get(s, s), percent=lambda x: f"{x * 100:.0f} %")
    said = cm.sentence(ev.verdict, french)
    # 25% of 20 accounts is 5, the floor: the rule is said as the floor it is.
    assert said.startswith("critique : 10 of the 20") and "(50 %, rule ≥ 5 accounts)" in said
    assert cm.sentence(ev.verdict) == ev.reason
