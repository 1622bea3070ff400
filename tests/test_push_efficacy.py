"""Loop figures as a pure function (tasks done, deals re-opened, new pipeline on the accounts reached, per currency)
and the sentence that says them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from connector.push_efficacy import LoopFigures, MirroredTask, Money, OppNow, PushedTask, loop_figures_from, sentence

PUSHED = dt.datetime(2026, 11, 18, 9, tzinfo=dt.timezone.utc)


def opp(id_, account="001A", closed=True, won=False, amount=1000, created=PUSHED - dt.timedelta(days=90),
        currency=None):
    return OppNow(id_, account, closed, won, Decimal(amount), created, currency)


def test_done_tasks_count_but_tasks_closed_by_a_withdrawal_do_not():
    tasks = [PushedTask("d1-task-006A", "006A", PUSHED), PushedTask("d1-task-006B", "006B", PUSHED),
             PushedTask("d1-task-006C", "006C", PUSHED, withdrawn=True)]
    mirrored = {"d1-task-006A": MirroredTask("d1-task-006A", True), "d1-task-006B": MirroredTask("d1-task-006B", False),
                "d1-task-006C": MirroredTask("d1-task-006C", True)}
    figures = loop_figures_from(tasks, mirrored, {}, {}, [])
    assert (figures.tasks_sent, figures.tasks_completed, figures.tasks_withdrawn) == (2, 1, 1)
    assert "2 of 2 follow-up tasks done" not in sentence(figures) and "1 of 2 follow-up tasks done" in sentence(figures)
    assert "1 follow-up task sent, then withdrawn" in sentence(figures)


def test_a_withdrawn_decision_says_its_tasks_were_sent_then_withdrawn_not_that_none_was_sent():
    tasks = [PushedTask(f"d1-task-006{c}", f"006{c}", PUSHED, withdrawn=True) for c in "ABC"]
    said = sentence(loop_figures_from(tasks, {}, {}, {}, []))
    assert "3 follow-up tasks sent, then withdrawn" in said and "no follow-up task sent" not in said


def test_reopened_and_won_deals_and_new_opportunities_after_the_push_make_the_recovered_pipeline():
    lost_now = {"006A": opp("006A"), "006B": opp("006B", closed=False, amount=2000),
                "006C": opp("006C", won=True, amount=3000)}
    first_push = {"001A": PUSHED}
    on_accounts = [
        *lost_now.values(),
        opp("006NEW", closed=False, amount=500, created=PUSHED + dt.timedelta(days=2)),  # new after the push: counts
        opp("006OLD", closed=False, amount=900, created=PUSHED - dt.timedelta(days=2)),  # before the push: not ours
        opp("006LOST", closed=True, amount=700, created=PUSHED + dt.timedelta(days=3)),  # new but already lost
        opp("006ELSE", account="001Z", closed=False, amount=800, created=PUSHED + dt.timedelta(days=1)),
    ]
    figures = loop_figures_from([], {}, lost_now, first_push, on_accounts)
    assert figures.lost_deals_pushed == 3 and figures.lost_deals_reopened == 2 and figures.deals_won == 1
    assert figures.new_opportunities == 1
    assert figures.pipeline_recovered == (Money(Decimal(2000 + 3000 + 500), "EUR"),)
    assert figures.as_dict()["pipeline_recovered"] == [{"amount": 5500.0, "currency": "EUR"}]
    assert figures.since == PUSHED


def test_recovered_pipeline_is_one_amount_per_currency_never_a_sum_across_them():
    lost_now = {"006A": opp("006A", closed=False, amount=2000, currency="GBP"),
                "006B": opp("006B", closed=False, amount=3000, currency="CHF"),
                "006C": opp("006C", closed=False, amount=500)}  # no CurrencyIsoCode: the org's currency
    figures = loop_figures_from([], {}, lost_now, {"001A": PUSHED}, list(lost_now.values()), default_currency="EUR")
    assert figures.pipeline_recovered == (Money(Decimal(3000), "CHF"), Money(Decimal(2000), "GBP"),
                                          Money(Decimal(500), "EUR"))


def test_nothing_pushed_means_zero_everywhere_and_no_date():
    figures = loop_figures_from([], {}, {}, {}, [])
    assert figures == LoopFigures() and not figures.landed
    assert figures.as_dict() == {
        "since": None, "tasks_sent": 0, "tasks_completed": 0, "lost_deals_pushed": 0, "lost_deals_reopened": 0,
        "deals_won": 0, "new_opportunities": 0, "pipeline_recovered": [], "tasks_withdrawn": 0}


def test_sentence_says_what_happened_since_the_push_in_plain_english():
    figures = LoopFigures(since=PUSHED, tasks_sent=12, tasks_completed=7, lost_deals_pushed=12, lost_deals_reopened=2,
                          pipeline_recovered=(Money(Decimal(85_500), "EUR"), Money(Decimal(12_000), "GBP")))
    assert sentence(figures) == ("Since the push on Nov 18, 2026: 7 of 12 follow-up tasks done, 2 of 12 lost deals "
                                 "re-opened, €85.5K + £12K of pipeline recovered.")


def test_sentence_before_anything_landed_and_for_an_insight_only_push():
    assert sentence(LoopFigures()) == "Nothing has reached Salesforce yet."
    assert sentence(LoopFigures(since=PUSHED)) == ("Since the push on Nov 18, 2026: no follow-up task sent, no pipeline "
                                                   "recovered yet.")
