"""jobs.figures against a database: the score's half-life, the trend, day-aligned periods, rates by close date, the
region of a note without a deal, and the theme pass storing what the pages judge."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jobs import figures
from jobs.themes import refresh_critical_mass
from retour.models import (Account, CurrencyType, DatedConversionRate, FeedbackItem, FeedbackSegment, Opportunity,
                           Theme, ThemeEvidence)

NOW = dt.datetime(2026, 11, 1, 15, 30, tzinfo=dt.timezone.utc)
_n = iter(range(1, 10_000))


def _id(prefix: str) -> str:
    return f"{prefix}{next(_n):012d}FIG"


@pytest.fixture
def settings(make_settings):
    return make_settings()


def _theme(session, label: str = "Exports") -> Theme:
    theme = Theme(label=label, status="emerging")
    session.add(theme)
    session.flush()
    return theme


def _cite(session, theme: Theme, *, at: dt.datetime, account: str | None = None, opportunity: str | None = None,
          text: str = "exports time out") -> None:
    item = FeedbackItem(source_object="Task", source_id=_id("00T"), source_field="description", channel="note",
                        text=text, text_hash=_id("h"), lang="en", occurred_at=at, account_id=account,
                        opportunity_id=opportunity)
    session.add(item)
    session.flush()
    seg = FeedbackSegment(item_id=item.id, position=0, text=text, lang="en")
    session.add(seg)
    session.flush()
    session.add(ThemeEvidence(theme_id=theme.id, segment_id=seg.id))
    session.flush()


def _one(session, settings, theme: Theme, window=None, scope=figures.Scope()) -> figures.Figures:
    return figures.figures_of(figures.measure(session, settings, scope, now=NOW, theme_ids=[theme.id]), theme.id,
                              window, settings.critical_mass.currency)


def test_an_item_weighs_half_as_much_every_half_life(session, settings):
    fresh, old = _theme(session, "fresh"), _theme(session, "old")
    end = figures.Clock.at(NOW).end
    _cite(session, fresh, at=end - dt.timedelta(seconds=1))
    _cite(session, old, at=end - dt.timedelta(days=settings.critical_mass.half_life_days))
    assert _one(session, settings, fresh).score == pytest.approx(1.0, abs=1e-3)
    assert _one(session, settings, old).score == pytest.approx(0.5, abs=1e-3)


def test_periods_are_whole_days_ending_today(session, settings):
    theme = _theme(session)
    end = figures.Clock.at(NOW).end  # the next midnight: today counts whole, whatever the hour
    _cite(session, theme, at=end - dt.timedelta(days=30))  # the first instant of the 30 days
    _cite(session, theme, at=end - dt.timedelta(days=30, seconds=1))  # the day before them
    assert _one(session, settings, theme, 30).items == 1 and _one(session, settings, theme).items == 2


def test_the_trend_compares_the_last_90_days_with_the_90_before_whatever_the_period(session, settings):
    theme = _theme(session)
    for days in (1, 2, 3, 100):
        _cite(session, theme, at=NOW - dt.timedelta(days=days))
    assert _one(session, settings, theme, 30).trend_90 == pytest.approx(2.0)  # 3 against 1
    lone = _theme(session, "new")
    _cite(session, lone, at=NOW - dt.timedelta(days=1))
    assert _one(session, settings, lone).trend_90 == "new"


def test_an_amount_converts_at_the_dated_rate_of_its_close_date_else_the_currency_rate_else_not_at_all(session):
    session.add_all([
        CurrencyType(id=_id("01L"), iso_code="EUR", conversion_rate=Decimal("1"), is_corporate=True),
        CurrencyType(id=_id("01L"), iso_code="GBP", conversion_rate=Decimal("0.8")),
        DatedConversionRate(id=_id("04w"), iso_code="GBP", conversion_rate=Decimal("0.5"),
                            start_date=dt.date(2026, 1, 1), next_start_date=dt.date(2026, 7, 1)),
        DatedConversionRate(id=_id("04w"), iso_code="GBP", conversion_rate=Decimal("0.4"),
                            start_date=dt.date(2026, 7, 1), next_start_date=dt.date(9999, 12, 31)),
    ])
    session.flush()
    assert figures.convert(session, 100, "GBP", "EUR", dt.date(2026, 3, 1)) == pytest.approx(200)
    assert figures.convert(session, 100, "GBP", "EUR", dt.date(2026, 7, 1)) == pytest.approx(250)
    assert figures.convert(session, 100, "GBP", "EUR", dt.date(2025, 3, 1)) == pytest.approx(125)  # no period: static
    assert figures.convert(session, 100, "EUR", "GBP", dt.date(2026, 3, 1)) == pytest.approx(50)
    assert figures.convert(session, 100, "XYZ", "EUR", dt.date(2026, 3, 1)) is None
    assert figures.convert(session, 100, None, "EUR", dt.date(2026, 3, 1)) == 100  # a single-currency org


def test_a_note_without_a_deal_takes_its_accounts_latest_deal_for_region_filters(session, settings):
    theme = _theme(session)
    account = _id("001")
    session.add(Account(id=account, name="Acme"))
    session.add_all([Opportunity(id=_id("006"), account_id=account, name="old", region="AMER",
                                 close_date=dt.date(2025, 1, 1), amount=Decimal("1000"), is_closed=True),
                     Opportunity(id=_id("006"), account_id=account, name="latest", region="EMEA",
                                 close_date=dt.date(2026, 12, 1), amount=Decimal("5000"))])
    _cite(session, theme, at=NOW - dt.timedelta(days=3), account=account)
    emea = _one(session, settings, theme, scope=figures.Scope(region="EMEA"))
    assert (emea.items, emea.open) == (1, 5000)  # the account's open pipeline is what the note puts at stake
    assert _one(session, settings, theme, scope=figures.Scope(region="AMER")).items == 0


def test_the_pass_stores_the_status_and_sentence_the_pages_judge(session, settings):
    theme = _theme(session)
    for i in range(6):
        account, deal = _id("001"), _id("006")
        session.add(Opportunity(id=deal, account_id=account, name="d", is_closed=True, amount=Decimal("30000")))
        _cite(session, theme, at=NOW - dt.timedelta(days=5 + i), account=account, opportunity=deal)
    refresh_critical_mass(session, settings, now=NOW)
    judged = figures.judge(session, settings, now=NOW)[theme.id]
    assert (theme.status, theme.reason, theme.metrics["verdict"]) == (judged.status, judged.reason, judged.verdict)
    assert theme.status == "critical" and theme.metrics["figures"] == judged.figures.as_json()


def test_the_volume_counts_the_rule_window_as_every_item_does(session, settings):
    """volumes() reads only the items dated in a rule's window; its accounts, items and money are measure_org's."""
    theme = _theme(session)
    accounts = [_id("001") for _ in range(3)]
    session.add_all([Account(id=a, name=a) for a in accounts])
    deal, lost, pipeline = _id("006"), _id("006"), _id("006")
    session.add_all([Opportunity(id=deal, account_id=accounts[0], name="in and out", amount=Decimal("700"),
                                 close_date=dt.date(2026, 3, 1), is_closed=True),
                     Opportunity(id=lost, account_id=accounts[1], name="only before", amount=Decimal("300"),
                                 close_date=dt.date(2025, 3, 1), is_closed=True),
                     Opportunity(id=pipeline, account_id=accounts[2], name="open", amount=Decimal("900"))])
    window = figures.rules_of(settings)[0].window_days
    inside, before = NOW - dt.timedelta(days=window // 2), NOW - dt.timedelta(days=window + 20)
    _cite(session, theme, at=inside, account=accounts[0], opportunity=deal)
    _cite(session, theme, at=before, account=accounts[0], opportunity=deal)  # the same deal, earlier
    _cite(session, theme, at=before, account=accounts[1], opportunity=lost)  # only before the window
    _cite(session, theme, at=inside, account=accounts[2])  # a note without a deal: the account's pipeline
    _cite(session, theme, at=NOW + dt.timedelta(days=2), account=accounts[1])  # dated after today
    every = figures.measure_org(session, settings, now=NOW, windows=(window,))[window]
    got = figures.volumes(session, settings, now=NOW)["global"]
    assert (got.items, got.accounts, got.lost, got.open, got.score, got.unconverted) == (
        every.items, every.accounts, every.lost, every.open, every.score, every.unconverted) == (
        2, 2, 700.0, 900.0, every.score, ())


def test_accounts_count_once_per_period_and_an_item_without_an_account_counts_as_an_item_only(session, settings):
    """Items and score are counted by theme, accounts by (theme, account): both halves must meet again per theme,
    including for a theme no account has cited."""
    theme, anonymous = _theme(session, "accounts"), _theme(session, "no account")
    account = _id("001")
    session.add(Account(id=account, name="Acme"))
    _cite(session, theme, at=NOW - dt.timedelta(days=10), account=account)
    _cite(session, theme, at=NOW - dt.timedelta(days=200), account=account)
    _cite(session, theme, at=NOW - dt.timedelta(days=5))
    _cite(session, anonymous, at=NOW - dt.timedelta(days=5))
    last_30, every = _one(session, settings, theme, 30), _one(session, settings, theme)
    assert (last_30.items, last_30.accounts, every.items, every.accounts) == (2, 1, 3, 1)
    assert (every.items_90, every.new_accounts_90) == (2, 0)  # Acme was first heard 200 days ago
    alone = _one(session, settings, anonymous)
    assert (alone.items, alone.accounts, alone.new_accounts_90) == (1, 0, 0)


def test_a_search_scope_counts_the_clauses_holding_the_words_whatever_their_accents_and_case(session, settings):
    theme = _theme(session, "Sécurité")
    _cite(session, theme, at=NOW - dt.timedelta(days=3), text="Sécurité renforcée exigée par la DSI")
    _cite(session, theme, at=NOW - dt.timedelta(days=4), text="la SÉCURITÉ du SSO")
    _cite(session, theme, at=NOW - dt.timedelta(days=5), text="exports time out")
    counts = {q: _one(session, settings, theme, scope=figures.Scope(q=q)).items
              for q in ("securite", "SÉCURITÉ", "sécurité renforcée", "Securite du", "100%")}
    assert counts == {"securite": 2, "SÉCURITÉ": 2, "sécurité renforcée": 1, "Securite du": 1, "100%": 0}
    org = figures.measure_org(session, settings, figures.Scope(q="SECURITE"), now=NOW, windows=(None,))[None]
    assert org.items == 2
