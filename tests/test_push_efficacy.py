"""Loop efficacy as a pure function: tasks done, deals re-opened, new pipeline on the accounts reached."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from connector.push_efficacy import MirroredTask, OppNow, PushedTask, efficacy

PUSHED = dt.datetime(2026, 11, 18, 9, tzinfo=dt.timezone.utc)


def opp(id_, account="001A", closed=True, won=False, amount=1000, created=PUSHED - dt.timedelta(days=90)):
    return OppNow(id_, account, closed, won, Decimal(amount), created)


def test_done_tasks_count_but_tasks_closed_by_a_withdrawal_do_not():
    tasks = [PushedTask("d1-task-006A", "006A", PUSHED), PushedTask("d1-task-006B", "006B", PUSHED),
             PushedTask("d1-task-006C", "006C", PUSHED, withdrawn=True)]
    mirrored = {"d1-task-006A": MirroredTask("d1-task-006A", True), "d1-task-006B": MirroredTask("d1-task-006B", False),
                "d1-task-006C": MirroredTask("d1-task-006C", True)}
    figures = efficacy(tasks, mirrored, {}, {}, [])
    assert (figures.tasks_sent, figures.tasks_done) == (2, 1)


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
    figures = efficacy([], {}, lost_now, first_push, on_accounts)
    assert figures.lost_deals_pushed == 3 and figures.deals_reopened == 2 and figures.deals_won_after == 1
    assert figures.new_opportunities == 1
    assert figures.pipeline_recovered == Decimal(2000 + 3000 + 500)
    assert figures.as_dict()["pipeline_recovered"] == 5500.0


def test_nothing_pushed_means_zero_everywhere():
    assert efficacy([], {}, {}, {}, []).as_dict() == {
        "tasks_sent": 0, "tasks_done": 0, "lost_deals_pushed": 0, "deals_reopened": 0, "deals_won_after": 0,
        "new_opportunities": 0, "pipeline_recovered": 0.0}
