"""Push-back end to end against the demo org over HTTPS, with faults: exactly one record per intended push.

The 50-run tally injects, at random (seeded), lost responses (the org does the work, then drops the
connection), 503 SERVER_UNAVAILABLE, UNABLE_TO_LOCK_ROW answers and sessions expired between calls; each run
must end with exactly one Salesforce record per intended push — none lost, none duplicated.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from connector import push
from connector.client import OrgClient
from connector.demo_org import DemoOrg
from connector.demo_org.testing import Clock, http_session, seeded_org
from connector.push_efficacy import loop_figures
from retour.config import load_settings
from retour.models import Decision, PushItem
from tests.conftest_push import NOW, TODAY, build_world

pytestmark = pytest.mark.demo_org
SCALE = 0.05
RUNS = 50
LOCK = {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "unable to obtain exclusive access to this record or 1 records",
        "fields": []}
UNAVAILABLE = [{"message": "Server unavailable, try again later", "errorCode": "SERVER_UNAVAILABLE"}]


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("push-demo-keys")


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def org(tmp_path, keys_dir, clock) -> Iterator[DemoOrg]:
    with seeded_org(tmp_path / "org", scale=SCALE, keys_dir=keys_dir, clock=clock) as demo:
        yield demo


@pytest.fixture
def settings(org, tmp_path, database_url):
    return load_settings({"database_url": database_url, "data_dir": str(tmp_path / "data"),
                          "web": {"base_url": "https://retour.example.com"},
                          "push": {"per_rep_daily_cap": 10_000, "max_retries": 3},
                          "salesforce": {"max_reauth": 3}}, environ=org.env())


@pytest.fixture
def client(settings, org):
    return OrgClient(settings, http=http_session(org), sleep=lambda s: None)


def org_world(session, org: DemoOrg, n_lost: int = 6, n_open: int = 6):
    opps = org.records("Opportunity")
    lost = [o for o in opps if o["StageName"] == "Closed Lost"][:n_lost]
    open_ = [o for o in opps if not o["IsClosed"]][:n_open]
    rows = {"User": org.records("User"), "Account": org.records("Account"), "Opportunity": lost + open_}
    return build_world(session, rows)


def by_key(org: DemoOrg, prefix: str) -> Counter[str]:
    return Counter(r["Retour_Key__c"] for obj in ("Retour_Insight__c", "Task") for r in org.records(obj)
                   if (r.get("Retour_Key__c") or "").startswith(prefix) and not r.get("IsDeleted"))


def test_approved_decision_lands_on_the_reps_records_and_withdraws_cleanly(session, session_factory, settings, client,
                                                                           org):
    theme, decision, user = org_world(session, org)
    push.prepare(session, decision, settings, today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    report = push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None)
    items = list(session.scalars(select(PushItem).where(PushItem.decision_id == decision.id)))
    sent = [i for i in items if i.state == "sent"]
    assert report.sent == len(sent) == len([i for i in items if i.state != "skipped"]) and report.failed == 0
    assert report.api_calls == 2  # one collection of insights, one of tasks
    insights = {r["Retour_Key__c"]: r for r in org.records("Retour_Insight__c")}
    tasks = {r["Retour_Key__c"]: r for r in org.records("Task") if r.get("Retour_Key__c")}
    opps = {o["Id"]: o for o in org.records("Opportunity")}
    for item in sent:
        record = (tasks if item.kind == "task" else insights)[item.external_key]
        assert record["Id"] == item.sf_id
        if item.kind == "task":
            opp = opps[item.target_id]
            assert record["OwnerId"] == opp["OwnerId"] and record["WhatId"] == opp["Id"]
            assert record["Status"] == "Not Started" and record["ActivityDate"] == "2026-11-25"
            assert record["Subject"].startswith("Re-engage ") and " — Single sign-on: planned for Q3" in record["Subject"]
        else:
            assert item.target_id in (record["Opportunity__c"], record["Account__c"])
            assert record["Name"] == record["Theme__c"] == "Single sign-on"
            assert record["Status__c"] == "active" and record["Theme_Url__c"] == f"https://retour.example.com/themes/{theme.id}"
    sent_tasks = [i for i in sent if i.kind == "task"]
    skipped_tasks = [i for i in items if i.kind == "task" and i.state == "skipped"]
    assert len(sent_tasks) + len(skipped_tasks) == 6 and len(sent_tasks) >= 3
    assert all("inactive" in i.skip_reason for i in skipped_tasks)  # the demo org has reps who left

    # A rep completes one follow-up in Salesforce; the next sync mirrors it; efficacy reads it back.
    done = next(i for i in sent if i.kind == "task")
    org.update("Task", done.sf_id, Status="Completed")
    from connector.sync import run_sync
    sync = run_sync(session_factory, settings, client, objects=["Task"])
    assert sync["status"] == "ok", sync
    assert loop_figures(session, decision.id).tasks_completed == 1

    push.withdraw(session, decision, user.id, now=NOW)
    report = push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None)
    assert report.withdrawn == len(sent) - 1 and report.failed == 0
    assert {r["Status__c"] for r in org.records("Retour_Insight__c") if r["Retour_Key__c"].startswith(f"d{decision.id}-")} \
        == {"withdrawn"}
    task_rows = [r for r in org.records("Task") if (r.get("Retour_Key__c") or "").startswith(f"d{decision.id}-")]
    assert all(r["Status"] == "Completed" for r in task_rows)
    withdrawn_tasks = sum(r["Subject"].startswith("Withdrawn by Retour") for r in task_rows)
    assert withdrawn_tasks == len(sent_tasks) - 1  # the one the rep did is left as is
    assert loop_figures(session, decision.id).tasks_completed == 1


def test_reps_answer_follow_ups_and_reopen_a_few_lost_deals_as_time_passes_since_the_push(
        session, session_factory, settings, client, org, clock):
    """The demo shows the loop coming back: what the org's reps do is fixed by the deals' ids and by how long ago
    the push landed on the org's clock, and it reaches the loop figures through the ordinary sync."""
    from connector.demo_org import reps
    from connector.sync import run_sync
    theme, decision, user = org_world(session, org, n_lost=40, n_open=0)
    push.prepare(session, decision, settings, today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None)
    sent = [i for i in session.scalars(select(PushItem).where(PushItem.decision_id == decision.id))
            if i.kind == "task" and i.state == "sent"]
    landed = int(NOW.timestamp() * 1000)  # the org's clock when the push landed
    plans = [reps.plan(i.sf_id, i.target_id, landed, deal_lost=True) for i in sent]
    amounts = {o["Id"]: (o["Amount"], o["CurrencyIsoCode"]) for o in org.records("Opportunity")}

    def after(**delta) -> tuple:
        clock.advance(**delta)
        org.answer_due()
        assert run_sync(session_factory, settings, client, objects=["Task", "Opportunity"])["status"] == "ok"
        now = org.now_ms()
        done = [p for p in plans if p.complete_at_ms is not None and p.complete_at_ms <= now]
        reopened = [p for p in plans if p.reopen_at_ms is not None and p.reopen_at_ms <= now]
        return loop_figures(session, decision.id), done, reopened

    soon, done, reopened = after(minutes=1)
    assert (soon.tasks_sent, soon.tasks_completed, soon.lost_deals_reopened) == (len(sent), 0, 0) and not done
    for delta in ({"days": 2}, {"days": 40}):
        figures, done, reopened = after(**delta)
        assert figures.tasks_completed == len(done) and figures.lost_deals_reopened == len(reopened)
    assert 0 < len(reopened) < len(done) < len(sent)  # some answer, a few deals come back, not every one
    recovered: dict[str, float] = {}
    for p in reopened:
        amount, currency = amounts[p.opportunity_id]
        recovered[currency] = recovered.get(currency, 0.0) + amount
    assert {m.currency: float(m.amount) for m in figures.pipeline_recovered} == recovered
    reopened_now = {o["Id"]: o for o in org.records("Opportunity")}
    assert all(reopened_now[p.opportunity_id]["StageName"] == p.stage for p in reopened)


def _inject(org: DemoOrg, rng: random.Random, batch: int, injected: Counter[str]) -> int | None:
    """Arm 1-3 random faults on the collections path; return the call after which sessions expire (or None)."""
    expire_after = None
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(("lost", "503", "lock", "expired"))
        times = rng.randint(1, 2)
        injected[kind] += times if kind != "expired" else 1
        if kind == "lost":
            org.inject_fault("PATCH", r"/composite/sobjects/", 200, None, times=times, drop_response=True)
        elif kind == "503":
            org.inject_fault("PATCH", r"/composite/sobjects/", 503, UNAVAILABLE, times=times)
        elif kind == "lock":
            org.inject_fault("PATCH", r"/composite/sobjects/", 200, [{"success": False, "errors": [LOCK]}] * batch,
                             times=times)
        else:
            expire_after = rng.randint(1, 4)
    return expire_after


def test_fifty_random_fault_runs_end_with_exactly_one_record_per_intended_push(session, settings, client, org, capsys):
    theme, first, user = org_world(session, org, n_lost=5, n_open=5)
    calls = {"n": 0, "expire_after": None}

    def expire_mid_run(response, *args, **kwargs):
        if "/services/data/" in response.url:
            calls["n"] += 1
            if calls["expire_after"] is not None and calls["n"] == calls["expire_after"]:
                org.expire_sessions()

    client.http.hooks["response"].append(expire_mid_run)
    tally: Counter[str] = Counter()
    injected: Counter[str] = Counter()
    for seed in range(RUNS):
        rng = random.Random(seed)
        decision = Decision(theme_id=theme.id, status=rng.choice(("planned", "shipped", "investigating")), target="Q3",
                            insight_en=f"Run {seed}: SSO ships in Q3.", insight_fr="Le SSO arrive au T3.",
                            title_en="Single sign-on", title_fr="L’authentification unique", state="draft")
        session.add(decision)
        session.flush()
        push.prepare(session, decision, settings, today=TODAY)
        push.approve(session, decision, user.id, now=NOW)
        batch = rng.randint(3, 8)
        org.clear_faults()
        calls["n"], calls["expire_after"] = 0, _inject(org, rng, batch, injected)
        runs = 0
        while runs < 6:  # what is still transient after the retry bound waits for the next scheduled run
            runs += 1
            report = push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None, batch_size=batch)
            tally["resends"] += report.resends
            if report.retry_later == 0:
                break
        items = list(session.scalars(select(PushItem).where(PushItem.decision_id == decision.id)))
        intended = {i.external_key for i in items if i.state != "skipped"}
        in_org = by_key(org, f"d{decision.id}-")
        lost = intended - set(in_org)
        duplicated = [k for k, n in in_org.items() if n > 1]
        stray = set(in_org) - intended
        tally["runs"] += 1
        tally["intended"] += len(intended)
        tally["landed_once"] += sum(1 for k in intended if in_org.get(k) == 1)
        tally["lost"] += len(lost)
        tally["duplicated"] += len(duplicated)
        tally["stray"] += len(stray)
        tally["extra_send_runs"] += runs - 1
        assert not lost and not duplicated and not stray, (seed, lost, duplicated, stray)
        assert all(i.state == "sent" and i.sf_id for i in items if i.state != "skipped"), seed
    org.clear_faults()
    with capsys.disabled():
        print(f"\npush fault tally: {dict(tally)} faults_injected={dict(injected)} reauths={client.reauths}")
    assert tally["runs"] == RUNS >= 50 and tally["landed_once"] == tally["intended"] > 0
    assert client.reauths > 0 and injected["lost"] > 0 and injected["503"] > 0 and injected["lock"] > 0
