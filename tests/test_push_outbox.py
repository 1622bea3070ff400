"""The push outbox against Salesforce's wire (``responses``): collections, per-record results, retries, restraint."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import requests
import responses
from sqlalchemy import select

from connector import push
from connector.client import OrgClient
from connector.push_efficacy import loop_figures
from connector.demo_org.ids import make_id
from connector.push_plan import majority_lang, skip_code
from retour.models import Activity, FeedbackItem, FeedbackSegment, Opportunity, PushItem, Theme, ThemeEvidence
from retour.switches import set_push_paused
from tests.conftest_push import BASE, INSTANCE, NOW, TODAY, CollectionsWire, build_world, lock_error, sf_rows

COLLECTIONS = re.compile(re.escape(f"{BASE}/composite/sobjects") + r".*")


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def settings(make_settings):
    return make_settings({
        "salesforce": {"auth": "session", "session_id": "00Dxx!SESSIONSECRET", "instance_url": INSTANCE},
        "web": {"base_url": "https://retour.example.com"},
        "push": {"per_rep_daily_cap": 1000, "max_retries": 3},
        "sync": {"backoff_base_seconds": 1.0, "backoff_max_seconds": 4.0},
    })


@pytest.fixture
def wire():
    fake = CollectionsWire()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for method in (responses.PATCH, responses.POST):
            rsps.add_callback(method, COLLECTIONS, callback=fake)
        yield fake


@pytest.fixture
def client(settings, wire):
    return OrgClient(settings, sleep=Sleeps())


def approved_world(session, settings, n=10, **kw):
    theme, decision, user = build_world(session, sf_rows(n, **kw))
    push.prepare(session, decision, settings, today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    return decision, user


def items(session, decision):
    return {i.external_key: i for i in session.scalars(select(PushItem).where(PushItem.decision_id == decision.id))}


def test_prepare_and_preview_show_each_record_its_rep_the_exact_text_and_the_skips(session, settings):
    theme, decision, user = build_world(session, sf_rows(8, inactive_users=(3,)))
    push.prepare(session, decision, settings, today=TODAY)
    rows = push.preview(session, decision)
    planned = [r for r in rows if r["state"] == "planned"]
    skipped = [r for r in rows if r["state"] == "skipped"]
    task = next(r for r in planned if r["kind"] == "task")
    assert task["text"].startswith("Re-engage ACME 0 — Single sign-on: planned for Q3; ")
    assert task["rep_name"] == "Rep 0" and task["record_name"] == "ACME 0 — renewal"
    assert {r["skip_reason"] for r in skipped} >= {"won deal: nothing to give back", "owner Rep 3 is inactive in Salesforce"}
    assert rows.index(skipped[0]) > rows.index(planned[-1])  # what will be written comes first
    assert all(r["approved_by_id"] is None for r in rows)


def test_an_approved_record_whose_quotes_left_the_theme_before_sending_is_cancelled_and_a_merge_keeps_them(
        session, settings, client, wire):
    decision, _user = approved_world(session, settings, n=4, won_every=0)
    gone = session.scalars(select(FeedbackItem).where(FeedbackItem.opportunity_id == make_id("006", 1))).one()
    # A person moved that deal's only quote to another theme (a split, a move) after approving the push.
    elsewhere = Theme(label="dashboards", status="emerging")
    session.add(elsewhere)
    session.flush()
    for ev in session.scalars(select(ThemeEvidence).join(FeedbackSegment).where(FeedbackSegment.item_id == gone.id)):
        ev.theme_id = elsewhere.id
    # And the decision's theme was merged into another: its quotes live on there, so its records still go.
    survivor = Theme(label="sso", status="critical")
    session.add(survivor)
    session.flush()
    theme = session.get(Theme, decision.theme_id)
    for ev in session.scalars(select(ThemeEvidence).where(ThemeEvidence.theme_id == theme.id)):
        ev.theme_id = survivor.id
    theme.status, theme.merged_into_id = "merged", survivor.id
    session.flush()

    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())

    states = {(i.kind, i.target_id): i for i in items(session, decision).values()}
    cancelled = {key for key, i in states.items() if i.state == "cancelled"}
    assert cancelled == {("insight", gone.opportunity_id), ("task", gone.opportunity_id),
                         ("insight", gone.account_id)}
    assert all(skip_code(states[key].skip_reason) == "no_longer_raised" for key in cancelled)
    assert report.no_longer_raised == 3 and report.sent == len(states) - 3
    assert not any(gone.opportunity_id in str(rec) for recs in wire.records.values() for rec in recs.values())


def test_reps_read_the_human_title_in_their_language_and_never_the_theme_label(session, settings, client, wire):
    rows = sf_rows(6, won_every=0)
    french = {o["Id"] for o in rows["Opportunity"][:3]}
    theme, decision, user = build_world(session, rows, langs={i: "fr" for i in french})
    push.prepare(session, decision, settings, today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    assert report.sent > 0 and report.failed == 0
    on_the_wire = [rec for recs in wire.records.values() for rec in recs.values()]
    assert on_the_wire and not [rec for rec in on_the_wire if any(theme.label in str(v) for v in rec.values())]
    titles = {"en": "Single sign-on", "fr": "L’authentification unique"}
    # Each rep reads their own language: the one their notes are mostly written in (a tie reads French).
    written: dict[str, list[str]] = {}
    for o in rows["Opportunity"]:
        written.setdefault(o["OwnerId"], []).append("fr" if o["Id"] in french else "en")
    rep_lang = {rep: majority_lang(langs) for rep, langs in written.items()}
    assert set(rep_lang.values()) == {"en", "fr"}
    for item in session.scalars(select(PushItem).where(PushItem.decision_id == decision.id, PushItem.state == "sent")):
        record = wire.records[item.sobject][item.sf_id]
        lang = rep_lang[item.owner_id]
        if item.kind == "task":
            assert record["Subject"].startswith(("Relancer " if lang == "fr" else "Re-engage ") + "ACME")
            assert f" — {titles[lang]}{' :' if lang == 'fr' else ':'} " in record["Subject"]
        else:
            assert record["Name"] == record["Theme__c"] == titles[lang]


def test_a_draft_from_before_titles_cannot_be_approved_until_edited(session, settings):
    theme, decision, user = build_world(session, sf_rows(4), title_fr=None)
    push.prepare(session, decision, settings, today=TODAY)
    with pytest.raises(push.PushStateError, match="no title for reps in fr: edit it"):
        push.approve(session, decision, user.id, now=NOW)
    assert decision.state == "draft" and all(i.state in ("planned", "skipped") for i in items(session, decision).values())
    decision.title_fr = "L’authentification unique"
    push.prepare(session, decision, settings, today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    assert decision.state == "approved"


def test_editing_a_draft_replans_in_place_and_approval_stamps_who_and_when(session, settings):
    theme, decision, user = build_world(session, sf_rows(4))
    first = {i.external_key: i.id for i in push.prepare(session, decision, settings, today=TODAY)}
    decision.status, decision.insight_en = "investigating", "We are looking into SSO."
    second = {i.external_key: i.id for i in push.prepare(session, decision, settings, today=TODAY)}
    assert not any(k.startswith(f"d{decision.id}-task") for k in second)  # no follow-up task any more
    assert all(second[k] == first[k] for k in second)  # same rows, updated
    push.approve(session, decision, user.id, now=NOW)
    assert decision.state == "approved" and decision.approved_by_id == user.id
    rows = [i for i in items(session, decision).values() if i.state == "approved"]
    assert rows and all(i.approved_by_id == user.id and i.approved_at == NOW for i in rows)
    assert all(i.payload["record"]["Insight__c"] == "We are looking into SSO." for i in rows)
    with pytest.raises(push.PushStateError):
        push.prepare(session, decision, settings)


def test_cancelled_draft_sends_nothing(session, settings, client, wire):
    theme, decision, user = build_world(session, sf_rows(4))
    push.prepare(session, decision, settings, today=TODAY)
    push.cancel(session, decision, user.id)
    report = push.send_pending(session, settings, client, today=TODAY)
    assert report.sent == 0 and wire.calls == []
    assert {i.state for i in items(session, decision).values()} <= {"cancelled", "skipped"}


def test_250_pushes_cost_two_upsert_calls_and_each_record_keeps_its_own_result(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=200, won_every=0, lost_every=2)
    on_hold = {a["Id"] for a in sf_rows(200)["Account"][:7]}
    wire.record_error = lambda sobject, rec: (
        {"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "Account is on legal hold", "fields": ["Account__c"]}
        if rec.get("Account__c") in on_hold else None)
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    by_call = [(m, p, n) for m, p, n in wire.calls]
    assert by_call == [("PATCH", "composite/sobjects/Retour_Insight__c/Retour_Key__c", 200),
                       ("PATCH", "composite/sobjects/Retour_Insight__c/Retour_Key__c", 200),
                       ("PATCH", "composite/sobjects/Task/Retour_Key__c", 100)]
    assert report.api_calls == 3 and report.batches == 3
    rows = items(session, decision)
    failed = [i for i in rows.values() if i.state == "failed"]
    assert len(failed) == report.failed == 7
    assert all(i.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION" and "legal hold" in i.error_message
               and "Account__c" in i.error_message and i.sf_id is None for i in failed)
    sent = [i for i in rows.values() if i.state == "sent"]
    assert len(sent) == report.sent == 500 - len(failed)
    assert all(i.sf_id and i.sent_at for i in sent)
    assert all(len(ids) == 1 for ids in wire.by_key("Retour_Insight__c").values())
    body = wire.bodies[0]
    assert body["allOrNone"] is False and body["records"][0]["attributes"] == {"type": "Retour_Insight__c"}


def test_locked_rows_are_resent_alone_with_backoff_until_they_land(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=6, won_every=0, lost_every=0)
    opp_keys = sorted(k for k in items(session, decision) if "-opp-" in k)
    seen: dict[str, int] = {}

    def locked(sobject, rec):
        key = rec["Retour_Key__c"]
        seen[key] = seen.get(key, 0) + 1
        if key in opp_keys and seen[key] <= (2 if key == opp_keys[0] else 1):
            return lock_error()
        return None

    wire.record_error = locked
    sleeps = Sleeps()
    report = push.send_pending(session, settings, client, today=TODAY, sleep=sleeps)
    assert [n for _, _, n in wire.calls] == [12, 6, 1]
    assert report.sent == 12 and report.failed == 0 and report.retry_later == 0
    assert report.errors["UNABLE_TO_LOCK_ROW"] == 7 and len(sleeps) == 2
    assert all(min(4.0, 2.0 ** k) * 0.5 <= s <= min(4.0, 2.0 ** k) for k, s in enumerate(sleeps))
    assert all(len(v) == 1 for v in wire.by_key("Retour_Insight__c").values())
    assert all(i.attempts == (3 if k == opp_keys[0] else 2 if k in opp_keys else 1)
               for k, i in items(session, decision).items())


def test_lost_response_and_503_are_resent_with_the_same_keys_and_never_make_a_second_record(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=5, won_every=0, lost_every=0)
    wire.call_faults = ["lost", (503, [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]),
                        requests.ReadTimeout("read timed out")]
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    keys = [b["records"] for b in wire.bodies]
    assert len(keys) == 4 and all(k == keys[0] for k in keys)  # the very same upserts, four times
    assert report.sent == 10 and report.resends == 3
    assert sorted(wire.by_key("Retour_Insight__c")) == sorted(items(session, decision))
    assert all(len(v) == 1 for v in wire.by_key("Retour_Insight__c").values())


def test_transient_failures_past_the_bound_wait_for_the_next_run_and_then_land(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=2, won_every=0, lost_every=0)
    unavailable = (503, [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}])
    wire.call_faults = [unavailable] * 4  # max_retries = 3: the first call and three resends fail
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    assert report.sent == 0 and report.retry_later == 4 and len(wire.calls) == 4
    assert all(i.state == "retry" and i.error_code == "SERVER_UNAVAILABLE" and i.attempts == 4
               for i in items(session, decision).values())
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    assert report.sent == 4 and all(i.state == "sent" for i in items(session, decision).values())


def test_a_missing_custom_object_fails_the_batch_with_an_actionable_message(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=2, won_every=0, lost_every=0)
    wire.call_faults = [(400, [{"message": "sObject type 'Retour_Insight__c' is not supported.", "errorCode": "INVALID_TYPE"}])]
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    assert report.failed == 4 and len(wire.calls) == 1
    item = next(iter(items(session, decision).values()))
    assert item.state == "failed" and item.error_code == "INVALID_TYPE" and "Grant read access" in item.error_message


def test_the_pause_stops_the_run_before_its_next_batch(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=8, won_every=0, lost_every=0)
    wire.on_call = lambda n: set_push_paused(session, True, user_id=user.id, reason="board meeting") if n == 1 else None
    report = push.send_pending(session, settings, client, today=TODAY, batch_size=5)
    assert len(wire.calls) == 1 and report.paused and report.stopped == "paused"
    states = [i.state for i in items(session, decision).values()]
    assert states.count("sent") == 5 and states.count("approved") == 11
    set_push_paused(session, False, user_id=user.id)
    report = push.send_pending(session, settings, client, today=TODAY, batch_size=5)
    assert report.sent == 11 and not report.paused


def test_each_rep_gets_at_most_the_daily_cap_and_the_rest_waits_for_another_day(session, make_settings, wire):
    settings = make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                              "push": {"per_rep_daily_cap": 3}})
    client = OrgClient(settings, sleep=Sleeps())
    decision, user = approved_world(session, settings, n=8, users=2, won_every=0, lost_every=0)  # 8 items per rep
    clock = lambda: NOW  # noqa: E731
    report = push.send_pending(session, settings, client, today=TODAY, now=clock)
    assert report.sent == 6 and report.deferred_by_cap == 10
    per_rep = {}
    for i in items(session, decision).values():
        per_rep.setdefault(i.owner_id, []).append(i.state)
    assert all(states.count("sent") == 3 and states.count("approved") == 5 for states in per_rep.values())
    assert push.send_pending(session, settings, client, today=TODAY, now=clock).sent == 0  # same day: still capped
    tomorrow = NOW + dt.timedelta(days=1)
    report = push.send_pending(session, settings, client, today=tomorrow.date(), now=lambda: tomorrow)
    assert report.sent == 6 and report.deferred_by_cap == 4


def test_nothing_is_sent_on_quiet_dates_or_weekends(session, make_settings, wire):
    holiday = dt.date(2026, 12, 24)
    settings = make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                              "push": {"quiet_dates": [holiday.isoformat()]}})
    client = OrgClient(settings, sleep=Sleeps())
    approved_world(session, settings, n=2)
    assert push.send_pending(session, settings, client, today=holiday).quiet
    assert push.send_pending(session, settings, client, today=dt.date(2026, 11, 21)).quiet  # a Saturday
    assert wire.calls == []
    assert push.send_pending(session, settings, client, today=TODAY).sent > 0


def test_withdraw_marks_insights_withdrawn_closes_open_tasks_and_leaves_done_ones(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=4, won_every=0, lost_every=2)  # opps 0 and 2 lost: 2 tasks
    push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    rows = items(session, decision)
    done_task = rows[f"d{decision.id}-task-{sf_rows(4)['Opportunity'][0]['Id']}"]
    session.add(Activity(id=done_task.sf_id, kind="Task", retour_key=done_task.external_key, is_closed=True,
                         status="Completed"))
    session.flush()
    push.withdraw(session, decision, user.id, now=NOW)
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    method, path, n = wire.calls[-1]
    assert (method, path) == ("PATCH", "composite/sobjects")  # an update by Id: never recreates a deleted record
    rows = items(session, decision)
    assert report.withdrawn == len(rows) - 1 and done_task.state == "sent"
    assert "already completed" in done_task.payload["withdraw_note"]
    assert all(r["Status__c"] == "withdrawn" for r in wire.records["Retour_Insight__c"].values())
    tasks = wire.records["Task"]
    assert tasks[done_task.sf_id]["Status"] == "Not Started"
    other = next(t for rid, t in tasks.items() if rid != done_task.sf_id)
    assert other["Status"] == "Completed" and other["Subject"].startswith("Withdrawn by Retour — Re-engage")
    assert all(len(v) == 1 for v in wire.by_key("Task").values())


def test_withdrawing_before_anything_was_sent_cancels_without_a_call(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=3)
    push.withdraw(session, decision, user.id)
    assert push.send_pending(session, settings, client, today=TODAY).sent == 0 and wire.calls == []
    assert {i.state for i in items(session, decision).values()} <= {"cancelled", "skipped"}


def test_efficacy_counts_tasks_done_deals_reopened_and_pipeline_recovered(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=4, won_every=0, lost_every=2)
    push.send_pending(session, settings, client, today=TODAY, now=lambda: NOW, sleep=Sleeps())
    rows = sf_rows(4)
    lost0, lost2 = rows["Opportunity"][0]["Id"], rows["Opportunity"][2]["Id"]
    task0 = items(session, decision)[f"d{decision.id}-task-{lost0}"]
    session.add(Activity(id=task0.sf_id, kind="Task", retour_key=task0.external_key, is_closed=True, status="Completed"))
    reopened = session.get(Opportunity, lost2)
    reopened.stage, reopened.is_closed = "Negotiation", False
    session.add(Opportunity(id="006NEWAFTERPUSH001", name="ACME 0 — SSO add-on", account_id=rows["Account"][0]["Id"],
                            stage="Prospecting", amount=5000, created_date=NOW + dt.timedelta(days=3)))
    session.add(Opportunity(id="006OLDBEFOREPUSH01", name="ACME 0 — older", account_id=rows["Account"][0]["Id"],
                            stage="Prospecting", amount=7000, created_date=NOW - dt.timedelta(days=3)))
    session.flush()
    figures = loop_figures(session, decision.id).as_dict()
    sent_at = min(i.sent_at for i in items(session, decision).values() if i.sent_at)
    assert figures == {"since": sent_at.isoformat(), "tasks_sent": 2, "tasks_completed": 1, "lost_deals_pushed": 2,
                       "lost_deals_reopened": 1, "deals_won": 0, "new_opportunities": 1,
                       "pipeline_recovered": [{"amount": 1002.0 + 5000.0, "currency": "EUR"}], "tasks_withdrawn": 0}


def test_withdrawing_after_unanswered_sends_upserts_the_withdrawn_form_by_key(session, settings, client, wire):
    decision, user = approved_world(session, settings, n=2, won_every=0, lost_every=0)
    wire.call_faults = ["lost"] * 4  # every attempt lands, no answer ever arrives
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    assert report.retry_later == 4 and all(i.sf_id is None for i in items(session, decision).values())
    push.withdraw(session, decision, user.id)
    assert all(i.state == "withdrawing" and i.payload["withdraw"]["mode"] == "upsert"
               for i in items(session, decision).values())
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    assert report.withdrawn == 4 and wire.calls[-1][1] == "composite/sobjects/Retour_Insight__c/Retour_Key__c"
    assert all(len(v) == 1 for v in wire.by_key("Retour_Insight__c").values())
    assert {r["Status__c"] for r in wire.records["Retour_Insight__c"].values()} == {"withdrawn"}


def test_chatter_posts_are_created_once_and_never_resent_after_an_unknown_outcome(session, make_settings, wire):
    settings = make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                              "push": {"chatter": True, "max_retries": 3}})
    client = OrgClient(settings, sleep=Sleeps())
    decision, user = approved_world(session, settings, n=2, won_every=0, lost_every=0)
    wire.call_faults = [None, (503, [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}])]
    report = push.send_pending(session, settings, client, today=TODAY, sleep=Sleeps())
    posts = [i for i in items(session, decision).values() if i.kind == "chatter"]
    assert [(m, p) for m, p, _ in wire.calls] == [("PATCH", "composite/sobjects/Retour_Insight__c/Retour_Key__c"),
                                                  ("POST", "composite/sobjects")]
    assert report.failed == 2 and all(p.state == "failed" and p.error_code == "OUTCOME_UNKNOWN" for p in posts)
    assert push.send_pending(session, settings, client, today=TODAY).sent == 0 and len(wire.calls) == 2
