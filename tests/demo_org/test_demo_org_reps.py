"""The demo org's reps answer Retour's follow-ups: fixed by record ids, carried out as the org's clock passes,
never over a task Retour already withdrew."""

from __future__ import annotations

import pytest

from connector.demo_org import reps
from connector.demo_org.ids import make_id

pytestmark = pytest.mark.demo_org
LANDED = 1_795_000_000_000


def test_a_reps_answer_is_fixed_by_the_deal_and_differs_between_deals():
    deals = [make_id("006", n) for n in range(1, 200)]
    first = [reps.plan(make_id("00T", n), d, LANDED, deal_lost=True) for n, d in enumerate(deals)]
    again = [reps.plan(make_id("00T", n), d, LANDED, deal_lost=True) for n, d in enumerate(deals)]
    assert first == again
    assert len({a.complete_at_ms for a in first}) > 50  # not one delay for every deal


def test_most_follow_ups_are_done_within_days_and_only_lost_deals_come_back_after_the_call():
    lost = [reps.plan(make_id("00T", n), make_id("006", n), LANDED, deal_lost=True) for n in range(1, 3001)]
    done = [a for a in lost if a.complete_at_ms is not None]
    back = [a for a in done if a.reopen_at_ms is not None]
    assert 0.55 < len(done) / len(lost) < 0.65 and 0.1 < len(back) / len(done) < 0.2
    lo, hi = reps.COMPLETE_DELAY_MS
    assert all(lo <= a.complete_at_ms - LANDED <= hi for a in done)
    assert all(a.reopen_at_ms > a.complete_at_ms and a.stage in reps.REOPEN_STAGES for a in back)
    assert any(a.complete_at_ms - LANDED < 15 * reps.MINUTE_MS for a in done)  # some within a demo session
    won_or_open = [reps.plan(make_id("00T", n), make_id("006", n), LANDED, deal_lost=False) for n in range(1, 500)]
    assert not any(a.reopen_at_ms for a in won_or_open)


def _lost_deals(org, n: int) -> list[dict]:
    return [o for o in org.records("Opportunity") if o["StageName"] == "Closed Lost"][:n]


def test_answers_arrive_when_the_org_clock_passes_them_and_spare_withdrawn_tasks(fresh_org, fresh_sf):
    deals = _lost_deals(fresh_org, 80)
    for n, deal in enumerate(deals):
        fresh_sf.Task.upsert(f"Retour_Key__c/d1-task-{deal['Id']}", {
            "Subject": "Re-engage", "WhatId": deal["Id"], "OwnerId": deal["OwnerId"], "Status": "Not Started"})
    tasks = {t["WhatId"]: t for t in fresh_org.records("Task") if (t["Retour_Key__c"] or "").startswith("d1-")}
    landed = fresh_org.now_ms()
    plans = {d["Id"]: reps.plan(tasks[d["Id"]]["Id"], d["Id"], landed, deal_lost=True) for d in deals}
    coming_back = [d for d, p in plans.items() if p.reopen_at_ms]
    assert len(coming_back) >= 2
    withdrawn = coming_back[0]  # Retour withdraws it before the rep gets to it
    fresh_sf.Task.update(tasks[withdrawn]["Id"], {"Status": "Completed", "Subject": "Withdrawn by Retour — x"})
    assert fresh_org.answer_due() == 0  # nothing is due the minute it landed

    fresh_org.clock.advance(days=60)
    now = {t["WhatId"]: t for t in fresh_org.records("Task") if (t["Retour_Key__c"] or "").startswith("d1-")}
    opps = {o["Id"]: o for o in fresh_org.records("Opportunity")}
    for deal, plan in plans.items():
        if deal == withdrawn:
            assert now[deal]["Subject"].startswith("Withdrawn") and opps[deal]["StageName"] == "Closed Lost"
            continue
        assert now[deal]["Status"] == ("Completed" if plan.complete_at_ms else "Not Started"), deal
        assert opps[deal]["StageName"] == (plan.stage if plan.reopen_at_ms else "Closed Lost"), deal
        if plan.reopen_at_ms:
            assert not opps[deal]["IsClosed"] and opps[deal]["CloseDate"] > "2026-11-01"
            assert now[deal]["SystemModstamp"] <= opps[deal]["SystemModstamp"]  # an edit a sync will pick up
    assert fresh_org.answer_due() == 0  # each answer is given once
