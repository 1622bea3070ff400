"""Critical-mass rules, scopes, projection and wording: pure, over figures as jobs.figures counts them.

How the figures themselves are counted (distinct accounts, lost and open revenue, periods, score, trend,
currencies) is tested against a database in test_jobs_figures.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from jobs import critical_mass as cm
from jobs.figures import Figures
from retour.config import ConfigError, load_settings

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


def ago(days):
    return NOW - dt.timedelta(days=days)


def fig(accounts=0, lost=0.0, open_=0.0, *, items=None, items_90=0, before=0, new=0, unconverted=()):
    """A theme's (or the org's) figures for the rule's 180 days."""
    return Figures(180, "EUR", items=accounts if items is None else items, accounts=accounts, lost=lost, open=open_,
                   items_90=items_90, items_before_90=before, new_accounts_90=new, unconverted=unconverted)


def _rule(**kw):
    return cm.Rule(min_accounts=kw.get("accounts", 5), min_revenue=kw.get("revenue", 100_000), window_days=180)


def test_theme_becomes_critical_with_enough_accounts_and_revenue_and_says_why():
    ev = cm.evaluate("emerging", None, None, fig(7, lost=200_000), {}, [_rule()], approved_decision_at=None, now=NOW)
    assert ev.status == "critical" and ev.critical_since == NOW
    assert ev.reason.startswith("critical") and "7 accounts" in ev.reason and "200k EUR lost" in ev.reason


def test_critical_since_is_kept_on_later_passes():
    first = ago(30)
    ev = cm.evaluate("critical", first, None, fig(7, lost=200_000), {}, [_rule()], approved_decision_at=None, now=NOW)
    assert ev.critical_since == first


def test_not_enough_revenue_keeps_it_emerging():
    ev = cm.evaluate("emerging", None, None, fig(7), {}, [_rule()], approved_decision_at=None, now=NOW)
    assert ev.status == "emerging" and "nothing at stake" in ev.reason


def test_an_approved_decision_makes_it_decided():
    ev = cm.evaluate("critical", ago(10), None, fig(1, lost=200_000), {}, [_rule()], approved_decision_at=ago(1),
                     now=NOW)
    assert ev.status == "decided" and ev.decided_at == ago(1)


def test_merged_themes_are_left_alone():
    ev = cm.evaluate("merged", None, None, fig(), {}, [_rule()], approved_decision_at=None, now=NOW)
    assert ev.status == "merged"


def test_scoped_rule_makes_a_theme_critical_for_that_region_only():
    default = _rule()
    emea = cm.parse_scope("region=EMEA accounts=3 revenue=50000", default)
    amer = cm.parse_scope("region=AMER accounts=3", default)
    scoped = {"region=EMEA": fig(3, lost=350_000), "region=AMER": fig(1)}
    ev = cm.evaluate("emerging", None, None, fig(4, lost=350_000), scoped, [default, emea, amer],
                     approved_decision_at=None, now=NOW)
    assert ev.status == "critical" and ev.met_rules == ("region=EMEA",)
    assert "region=EMEA" in ev.reason


def test_a_scope_nobody_in_it_raised_is_not_met():
    default = _rule()
    emea = cm.parse_scope("region=EMEA accounts=1 revenue=0", default)
    ev = cm.evaluate("emerging", None, None, fig(2), {}, [default, emea], approved_decision_at=None, now=NOW)
    assert ev.status == "emerging" and ev.met_rules == ()


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
    # 3 accounts, all first heard in the last 90 days (1 per 30 days), 260k at stake already: 2 accounts to go.
    when = cm.project(fig(3, lost=200_000, open_=60_000, new=3), _rule(), now=NOW)
    assert when == (NOW + dt.timedelta(days=60)).date()
    assert cm.project(fig(1), _rule(), now=NOW) is None  # not growing lately


def test_a_shrinking_theme_or_one_whose_rate_cannot_fill_the_window_is_never_projected_critical():
    # New accounts still come in, but fewer items than the 90 days before: the desk said "-11 % in 90 days, at this
    # rate critical around…".
    assert cm.project(fig(3, lost=200_000, new=3, items=6, items_90=8, before=9), _rule(), now=NOW) is None
    # One new account a month: 6 in 180 days at most, and the rule needs 8; the old ones leave the window meanwhile.
    assert cm.project(fig(3, lost=200_000, new=3), _rule(accounts=8), now=NOW) is None
    # The same rate reaches a rule of 5 within the window.
    assert cm.project(fig(3, lost=200_000, new=3), _rule(accounts=5), now=NOW) is not None


def test_amounts_without_a_rate_are_said_apart_in_their_own_currency():
    ev = cm.evaluate("emerging", None, None, fig(2, lost=10_000, unconverted=(("XYZ", 5_000.0, 0.0),)), {}, [_rule()],
                     approved_decision_at=None, now=NOW)
    assert "10k EUR at stake" in ev.reason and "5k XYZ left out: no rate to convert them" in ev.reason
    assert ev.verdict["unconverted"] == [["XYZ", 5000.0]] and ev.verdict["currency"] == "EUR"


# --------------------------------------------------------------------------------------------- the scaled rule
def _judge(theme: Figures, org: Figures, rules, status="emerging", scoped=None, volumes=None):
    """What jobs.figures.judge does for one theme: its figures, the org's volume per rule, the verdict."""
    return cm.evaluate(status, None, None, theme, scoped or {}, rules, approved_decision_at=None, now=NOW,
                       volumes=volumes or {"global": org})


def _default_rules(**overrides):
    return cm.rules_from_settings(load_settings({"critical_mass": overrides} if overrides else None,
                                                environ={}).critical_mass)


def _raised_by(n: int, amount: float = 10_000) -> Figures:
    """A theme raised by ``n`` accounts, each with one lost deal of ``amount``."""
    return fig(n, lost=n * amount)


def test_critical_is_rare_on_an_org_with_many_themes_where_fixed_floors_called_every_theme_critical():
    # 200 accounts gave feedback; 20 themes with a long tail: theme k is raised by 200/(k+1) of them.
    org = _raised_by(200)
    themes = {k: _raised_by(200 // (k + 1)) for k in range(20)}
    floors_only = _default_rules(account_share=0, revenue_share=0)
    scaled = _default_rules()
    before = [k for k, f in themes.items() if _judge(f, org, floors_only).status == "critical"]
    after = [k for k, f in themes.items() if _judge(f, org, scaled).status == "critical"]
    assert len(before) == len(themes)  # the word separated nothing
    share = scaled[0].account_share
    assert after == [k for k, f in themes.items() if f.accounts >= share * 200]  # exactly those one in four raised
    assert 0 < len(after) <= len(themes) // 4


def test_the_sentence_says_the_rule_with_its_numbers():
    org = _raised_by(160)
    ev = _judge(_raised_by(48), org, _default_rules(account_share=0.25, revenue_share=0.2))  # 30% of both
    assert ev.status == "critical"
    assert ev.reason.startswith("critical: 48 of the 160 accounts that gave feedback in 180 days (30%, rule ≥ 25%)")
    assert "480k EUR at stake (30% of what all feedback puts at stake, rule ≥ 20%)" in ev.reason
    assert ev.verdict["accounts_needed"] == 40 and ev.verdict["revenue_needed"] == pytest.approx(320_000)
    quiet = _judge(_raised_by(12), org, _default_rules())
    assert quiet.status == "emerging" and "12 of the 160 accounts" in quiet.reason and "(7.5%, rule ≥ 25%)" in quiet.reason


def test_absolute_floors_still_apply_on_a_small_org():
    org = _raised_by(8, amount=50_000)
    theme = _raised_by(3, amount=50_000)  # 3 of 8 accounts: 37% clears one in four, but 3 < min_accounts
    ev = _judge(theme, org, _default_rules(min_accounts=5))
    assert ev.status == "emerging" and "rule ≥ 5 accounts" in ev.reason
    assert _judge(theme, org, _default_rules(min_accounts=3)).status == "critical"
    poor = _judge(theme, org, _default_rules(min_accounts=3, min_revenue=200_000))
    assert poor.status == "emerging" and "150k EUR at stake" in poor.reason and "rule ≥ 200k EUR" in poor.reason


def test_a_share_is_rounded_up_so_at_least_a_quarter_means_it():
    rule = cm.Rule(min_accounts=0, min_revenue=0, window_days=180, account_share=0.25)
    assert rule.needed(fig(10))[0] == 3
    assert rule.needed(fig(12))[0] == 3


def test_a_scope_without_thresholds_is_judged_against_its_own_volume():
    rules = _default_rules(min_accounts=2, min_revenue=0, scopes=["region=EMEA"])
    # 100 accounts gave feedback, 10 of them in EMEA; the theme: 4 EMEA accounts (40% of EMEA, 4% of the org).
    volumes = {"global": _raised_by(100), "region=EMEA": _raised_by(10)}
    ev = _judge(_raised_by(4), None, rules, scoped={"region=EMEA": _raised_by(4)}, volumes=volumes)
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
    with pytest.raises(ConfigError, match=rf"\[critical_mass\] {key} \(RETOUR_CRITICAL_MASS_{key.upper()}\) is 25.0; allowed: 0 to 1"):
        load_settings({"critical_mass": {key: 25}}, environ={})
    assert getattr(load_settings({"critical_mass": {key: 0}}, environ={}).critical_mass, key) == 0


def test_the_sentence_is_built_from_the_verdict_in_the_reader_s_words():
    ev = _judge(_raised_by(10), _raised_by(20), _default_rules())
    catalogue = {"critical": "critique",
                 "%(status)s: %(accounts)s and %(revenue)s": "%(status)s : %(accounts)s et %(revenue)s"}
    french = cm.Wording(gettext=lambda s: catalogue.get(s, s), percent=lambda x: f"{x * 100:.0f} %",
                        money=lambda amount, code: f"{amount / 1000:.0f} k {code}")
    said = cm.sentence(ev.verdict, french)
    # 25% of 20 accounts is 5, the floor: the rule is said as the floor it is.
    assert said.startswith("critique : 10 of the 20") and "(50 %, rule ≥ 5 accounts)" in said
    assert "100 k EUR at stake" in said
    assert cm.sentence(ev.verdict) == ev.reason
