"""Push planning as a pure function: what lands where, in whose language, and what is skipped and why."""

from __future__ import annotations

import datetime as dt

import pytest

from connector.push_plan import (
    AccountRow,
    DecisionRow,
    EvidenceRow,
    OpportunityRow,
    OwnerRow,
    PlanOptions,
    Waiting,
    add_business_days,
    is_quiet,
    missing_titles,
    plan_pushes,
    send_dates,
    skip_code,
    task_subject,
    withdrawal_fields,
)

WED = dt.date(2026, 11, 18)
OPTS = PlanOptions(base_url="https://retour.example.com/", task_due_days=5)


def decision(status="planned", en="SSO ships in Q3.", fr="Le SSO arrive au T3.", target="Q3", title_en="Single sign-on",
             title_fr="L’authentification unique"):
    return DecisionRow(id=12, theme_id=4, status=status, target=target, insight_en=en, insight_fr=fr,
                       title_en=title_en, title_fr=title_fr)


def world(**opp_changes):
    opps = {
        "006A": OpportunityRow("006A", "ACME renewal", "001A", "005A", "Closed Lost", True, False, dt.date(2026, 3, 2)),
        "006B": OpportunityRow("006B", "Globex new", "001B", "005B", "Proposal", False, False, None),
    }
    for opp_id, changes in opp_changes.items():
        opps[opp_id] = OpportunityRow(**{**opps[opp_id].__dict__, **changes})
    accounts = {"001A": AccountRow("001A", "ACME", "005A"), "001B": AccountRow("001B", "Globex", "005B")}
    owners = {"005A": OwnerRow("005A", "Ana"), "005B": OwnerRow("005B", "Bob")}
    evidence = [EvidenceRow("006A", "001A", "en"), EvidenceRow("006B", "001B", "en")]
    return evidence, opps, accounts, owners


def by_key(plan):
    return {i.key: i for i in plan}


def test_lost_opportunity_gets_insight_and_one_follow_up_task_and_open_one_only_the_insight():
    evidence, opps, accounts, owners = world()
    evidence.append(EvidenceRow("006A", "001A", "en"))  # the same deal raised it twice: still one task
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert set(plan) == {"d12-opp-006A", "d12-task-006A", "d12-acc-001A", "d12-opp-006B", "d12-acc-001B"}
    task = plan["d12-task-006A"]
    assert task.sobject == "Task" and task.owner_id == "005A" and not task.skipped
    # The theme is in a note of the lost deal, not in its loss reason: the subject does not say they lost over it.
    assert task.record["Subject"] == \
        "Re-engage ACME — Single sign-on: planned for Q3; raised before the deal was lost on March 2, 2026"
    assert task.record["WhatId"] == "006A" and task.record["OwnerId"] == "005A"
    assert task.record["ActivityDate"] == "2026-11-25"  # 5 business days after a Wednesday
    assert task.record["Retour_Key__c"] == "d12-task-006A"
    insight = plan["d12-opp-006B"].record
    assert insight["Opportunity__c"] == "006B" and "Account__c" not in insight
    assert insight["Theme_Url__c"] == "https://retour.example.com/themes/4"
    assert insight["Decision_Status__c"] == "planned" and insight["Status__c"] == "active"
    assert insight["Insight__c"] == "SSO ships in Q3." and insight["Retour_Key__c"] == "d12-opp-006B"
    assert insight["Name"] == insight["Theme__c"] == "Single sign-on"
    assert plan["d12-acc-001B"].record["Account__c"] == "001B"


def test_french_evidence_gets_the_french_insight_and_task_and_falls_back_to_english_without_one():
    evidence, opps, accounts, owners = world()
    evidence = [EvidenceRow("006A", "001A", "fr"), EvidenceRow("006B", "001B", "en")]
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert plan["d12-opp-006A"].record["Insight__c"] == "Le SSO arrive au T3."
    assert plan["d12-opp-006A"].record["Name"] == "L’authentification unique"
    assert plan["d12-task-006A"].record["Subject"] == (
        "Relancer ACME — L’authentification unique : au programme pour Q3 ; évoqué avant la perte du 2 mars 2026")
    assert plan["d12-opp-006B"].record["Insight__c"] == "SSO ships in Q3."
    assert plan["d12-opp-006B"].record["Name"] == "Single sign-on"
    plan = by_key(plan_pushes(decision(fr=None), evidence, opps, accounts, owners, OPTS, WED))
    assert plan["d12-opp-006A"].record["Insight__c"] == "SSO ships in Q3." and plan["d12-opp-006A"].lang == "en"
    assert plan["d12-opp-006A"].record["Name"] == "Single sign-on"


def test_a_record_whose_language_has_no_title_is_skipped_not_named_after_anything_else():
    """A draft from before titles: its French records wait for a French title; the English title never stands in."""
    evidence, opps, accounts, owners = world()
    evidence = [EvidenceRow("006A", "001A", "fr"), EvidenceRow("006B", "001B", "en")]
    plan = by_key(plan_pushes(decision(title_fr=None), evidence, opps, accounts, owners, OPTS, WED))
    for key in ("d12-opp-006A", "d12-task-006A", "d12-acc-001A"):
        assert plan[key].skip_reason == "no title for reps in French: edit the decision to write one", key
    assert not plan["d12-opp-006B"].skipped and plan["d12-opp-006B"].record["Name"] == "Single sign-on"


def test_missing_titles_names_each_written_insight_without_a_title():
    assert missing_titles(decision()) == []
    assert missing_titles(decision(title_en=" ", title_fr=None)) == ["en", "fr"]
    assert missing_titles(decision(fr=None, title_fr=None)) == []  # no French insight: no French title needed


def test_a_french_speaking_rep_gets_french_when_the_evidence_language_is_unknown():
    evidence, opps, accounts, owners = world()
    evidence = [EvidenceRow("006A", "001A", "other")]
    owners["005A"] = OwnerRow("005A", "Ana", True, "fr")
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert plan["d12-task-006A"].lang == "fr" and plan["d12-task-006A"].record["Subject"].startswith("Relancer ACME")


def test_the_reps_own_language_wins_over_the_quotes_language():
    """A rep who writes in French reads French, though the customer's quote on the deal was English."""
    evidence, opps, accounts, owners = world()
    owners["005A"] = OwnerRow("005A", "Ana", True, "fr")
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert evidence[0].lang == "en"
    assert plan["d12-task-006A"].lang == "fr" and plan["d12-task-006A"].record["Subject"].startswith("Relancer ACME")
    assert plan["d12-opp-006A"].record["Name"] == "L’authentification unique"
    assert plan["d12-opp-006B"].lang == "en"  # Bob's language is unknown: the quote's


def test_each_record_shows_the_quote_that_put_it_in_the_push_its_most_typical_one():
    evidence, opps, accounts, owners = world()
    evidence = [EvidenceRow("006A", "001A", "fr", quote="pas de SSO, la DSI bloque", similarity=0.41),
                EvidenceRow("006A", "001A", "en", quote="no SAML single sign-on", similarity=0.62),
                EvidenceRow("006B", "001B", "en", quote="<b>SSO</b> required", similarity=0.5)]
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert plan["d12-opp-006A"].payload()["quote"] == "no SAML single sign-on"
    assert plan["d12-opp-006A"].payload()["quote_lang"] == "en"
    assert plan["d12-task-006A"].payload()["quote"] == "no SAML single sign-on"
    assert plan["d12-acc-001B"].payload()["quote"] == "<b>SSO</b> required"  # kept as written: pages escape it
    long = EvidenceRow("006B", "001B", "en", quote="word " * 200, similarity=0.9)
    shown = by_key(plan_pushes(decision(), [long], opps, accounts, owners, OPTS, WED))["d12-opp-006B"]
    assert len(shown.payload()["quote"]) <= 300 and shown.payload()["quote"].endswith("…")


def test_a_record_whose_every_quote_a_pending_split_would_move_is_held_and_one_with_a_quote_that_stays_goes():
    evidence, opps, accounts, owners = world()
    evidence = [EvidenceRow("006A", "001A", "en", quote="dashboards can't be filtered by site", similarity=0.5,
                            split_pending=True),
                EvidenceRow("006B", "001B", "en", quote="dashboards can't be filtered by site", similarity=0.5,
                            split_pending=True),
                EvidenceRow("006B", "001B", "en", quote="the app does not work offline", similarity=0.3)]
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    for key in ("d12-opp-006A", "d12-task-006A", "d12-acc-001A"):
        assert skip_code(plan[key].skip_reason) == "split_pending", key
    for key in ("d12-opp-006B", "d12-acc-001B"):
        assert not plan[key].skipped, key
        assert plan[key].payload()["quote"] == "the app does not work offline"  # the quote that stays, not the other


def test_a_loss_reason_a_pending_split_would_move_does_not_say_they_lost_over_it():
    evidence, opps, accounts, owners = world()
    evidence = [EvidenceRow("006A", "001A", "en", channel="loss_reason", split_pending=True),
                EvidenceRow("006A", "001A", "en", channel="note")]
    subject = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))["d12-task-006A"].text
    assert "lost over it" not in subject and "raised before the deal was lost" in subject


@pytest.mark.parametrize("status", ["investigating", "wont_do"])
def test_no_follow_up_task_unless_the_decision_is_planned_or_shipped(status):
    evidence, opps, accounts, owners = world()
    plan = by_key(plan_pushes(decision(status), evidence, opps, accounts, owners, OPTS, WED))
    assert "d12-task-006A" not in plan and plan["d12-opp-006A"].record["Decision_Status__c"] == status


def test_won_deals_inactive_owners_and_deleted_records_are_skipped_with_a_reason():
    evidence, opps, accounts, owners = world(**{"006B": {"is_won": True, "is_closed": True, "stage": "Closed Won"}})
    owners["005A"] = OwnerRow("005A", "Ana", is_active=False)
    evidence.append(EvidenceRow("006GONE", "001GONE", "en"))
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert plan["d12-opp-006B"].skip_reason == "won deal: nothing to give back"
    assert "inactive" in plan["d12-opp-006A"].skip_reason and "Ana" in plan["d12-opp-006A"].skip_reason
    assert "inactive" in plan["d12-task-006A"].skip_reason
    assert "deleted" in plan["d12-opp-006GONE"].skip_reason and "deleted" in plan["d12-acc-001GONE"].skip_reason
    assert plan["d12-acc-001B"].skip_reason is None  # the account of a won deal still hears about the decision


def test_chatter_posts_are_off_by_default_and_planned_when_enabled():
    evidence, opps, accounts, owners = world()
    assert all(i.sobject != "FeedItem" for i in plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    on = PlanOptions(base_url="", chatter=True)
    posts = [i for i in plan_pushes(decision(), evidence, opps, accounts, owners, on, WED) if i.kind == "chatter"]
    assert [p.record["ParentId"] for p in posts] == ["006A", "006B"]


def test_long_titles_and_targets_are_clipped_to_the_field_lengths():
    evidence, opps, accounts, owners = world()
    d = DecisionRow(id=12, theme_id=4, status="shipped", target="R" * 200, insight_en="x", title_en="S" * 400)
    plan = by_key(plan_pushes(d, evidence, opps, accounts, owners, OPTS, WED))
    rec = plan["d12-opp-006A"].record
    assert len(rec["Name"]) == 80 and len(rec["Theme__c"]) == 255 and len(rec["Target_Release__c"]) == 80
    assert len(plan["d12-task-006A"].record["Subject"]) == 255


def test_due_dates_skip_weekends_and_quiet_dates_and_quiet_days_are_recognised():
    friday = dt.date(2026, 11, 20)
    assert add_business_days(friday, 1) == dt.date(2026, 11, 23)
    assert add_business_days(dt.date(2026, 11, 21), 0) == dt.date(2026, 11, 23)
    assert add_business_days(dt.date(2026, 11, 23), 2, (dt.date(2026, 11, 24),)) == dt.date(2026, 11, 26)
    assert is_quiet(dt.date(2026, 11, 21), (), True) and not is_quiet(dt.date(2026, 11, 21), (), False)
    assert is_quiet(dt.date(2026, 12, 25), (dt.date(2026, 12, 25),), False)
    assert not is_quiet(friday, (dt.date(2026, 12, 25),), True)


def test_withdrawal_marks_insights_withdrawn_and_closes_tasks_saying_so():
    assert withdrawal_fields("insight", {"Retour_Key__c": "k", "Status__c": "active"}, "Completed")["Status__c"] == "withdrawn"
    insight = withdrawal_fields("insight", {"Name": "Offline mode", "Status__c": "active"}, "Completed")
    assert insight["Name"] == "Withdrawn: Offline mode"
    assert withdrawal_fields("insight", insight, "Completed")["Name"] == "Withdrawn: Offline mode"  # once only
    french = withdrawal_fields("insight", {"Name": "Mode hors ligne " + "x" * 80}, "Completed", "fr")["Name"]
    assert french.startswith("Retiré : Mode hors ligne") and len(french) == 80
    task = withdrawal_fields("task", {"Subject": "Re-engage ACME", "Status": "Not Started"}, "Completed")
    assert task["Status"] == "Completed" and task["Subject"] == "Withdrawn by Retour — Re-engage ACME"
    with pytest.raises(ValueError):
        withdrawal_fields("chatter", {}, "Completed")


def test_a_deal_whose_owner_left_goes_to_the_accounts_active_owner_and_the_preview_says_so():
    evidence, opps, accounts, owners = world()
    owners["005A"] = OwnerRow("005A", "Ana", is_active=False)
    accounts["001A"] = AccountRow("001A", "ACME", "005B")  # Bob owns the account
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    task = plan["d12-task-006A"]
    assert not task.skipped and task.owner_id == "005B" and task.rep_name == "Bob"
    assert task.record["OwnerId"] == "005B"  # Salesforce refuses a task given to an inactive user
    assert task.payload()["handed_from"] == "Ana" and task.payload()["handed_why"] == "owner_inactive"
    insight = plan["d12-opp-006A"]
    assert not insight.skipped and insight.owner_id == "005B" and insight.payload()["handed_from"] == "Ana"
    # A deal whose owner is unknown to Retour goes the same way; one whose account has no active owner is skipped.
    opps["006A"] = OpportunityRow("006A", "ACME renewal", "001A", None, "Closed Lost", True, False, dt.date(2026, 3, 2))
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert plan["d12-task-006A"].owner_id == "005B" and plan["d12-task-006A"].payload()["handed_why"] == "owner_unknown"
    # A won deal goes to nobody: its row speaks of no hand-over.
    opps["006A"] = OpportunityRow("006A", "ACME renewal", "001A", "005A", "Closed Won", True, True, dt.date(2026, 3, 2))
    won = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))["d12-opp-006A"]
    assert skip_code(won.skip_reason) == "won" and "handed_from" not in won.payload()
    opps["006A"] = OpportunityRow("006A", "ACME renewal", "001A", None, "Closed Lost", True, False, dt.date(2026, 3, 2))
    owners["005B"] = OwnerRow("005B", "Bob", is_active=False)
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert skip_code(plan["d12-task-006A"].skip_reason) == "owner_unknown"
    assert "handed_from" not in plan["d12-task-006A"].payload()


def test_every_skip_reason_planning_gives_reads_back_as_its_code():
    evidence, opps, accounts, owners = world(**{"006B": {"is_won": True, "is_closed": True}})
    owners["005A"] = OwnerRow("005A", "Ana", is_active=False)
    evidence += [EvidenceRow("006GONE", None, "en"), EvidenceRow(None, "001GONE", "en"), EvidenceRow("006C", "001C")]
    opps["006C"] = OpportunityRow("006C", "Initech", "001C", None)
    accounts["001C"] = AccountRow("001C", "Initech", None)  # nobody on the account either: no one to hand it to
    plan = by_key(plan_pushes(decision(title_fr=None), evidence, opps, accounts, owners, OPTS, WED))
    codes = {key: skip_code(i.skip_reason) for key, i in plan.items()}
    assert codes["d12-opp-006A"] == "owner_inactive" and codes["d12-opp-006B"] == "won"
    assert codes["d12-opp-006GONE"] == "opportunity_deleted" and codes["d12-acc-001GONE"] == "account_deleted"
    assert codes["d12-opp-006C"] == "owner_unknown" and codes["d12-acc-001B"] is None
    _ev, opps, accounts, owners = world()
    french = by_key(plan_pushes(decision(title_fr=None), [EvidenceRow("006B", "001B", "fr")], opps, accounts, owners,
                                OPTS, WED))
    assert skip_code(french["d12-acc-001B"].skip_reason) == "no_title_fr"
    assert skip_code("a reason from an older version") == "other" and skip_code(None) is None


FRI = dt.date(2026, 11, 20)


def test_send_dates_follow_each_reps_cap_from_what_went_today_and_skip_quiet_days():
    queue = [Waiting(1, "005A"), Waiting(2, "005A"), Waiting(3, "005B"), Waiting(4, "005A", withdrawal=True),
             Waiting(5, "005A"), Waiting(6, "005A"), Waiting(7, None), Waiting(8, "005A")]
    dates = send_dates(queue, {"005A": 1}, 2, FRI, (dt.date(2026, 11, 24),), True)
    mon, wed = dt.date(2026, 11, 23), dt.date(2026, 11, 25)
    # 005A had 1 of 2 today: one more today, then 2 on Monday, Tuesday 24th is a quiet date: the last on Wednesday.
    assert dates == {1: FRI, 2: mon, 3: FRI, 4: FRI, 5: mon, 6: wed, 7: FRI, 8: wed}
    # A quiet day (a Saturday): nothing goes today, whatever was sent by hand; Monday takes 2 a rep.
    assert send_dates(queue[:3], {"005A": 2}, 2, dt.date(2026, 11, 21)) == {1: mon, 2: mon, 3: mon}
    assert send_dates(queue[:2], {}, 0, FRI) == {1: None, 2: None}  # a cap of 0 sends nothing, ever


def test_a_task_says_they_lost_over_it_only_when_the_loss_reason_itself_names_the_theme():
    evidence, opps, accounts, owners = world()
    evidence = [EvidenceRow("006A", "001A", "en", channel="loss_reason"), EvidenceRow("006B", "001B", "en")]
    plan = by_key(plan_pushes(decision(), evidence, opps, accounts, owners, OPTS, WED))
    assert plan["d12-task-006A"].record["Subject"] == \
        "Re-engage ACME — Single sign-on: planned for Q3; they lost over it on March 2, 2026"
    french = by_key(plan_pushes(decision(), [EvidenceRow("006A", "001A", "fr", channel="loss_reason")], opps, accounts,
                                owners, OPTS, WED))
    assert french["d12-task-006A"].record["Subject"].endswith(" ; perdu pour cette raison le 2 mars 2026")
    first = by_key(plan_pushes(decision(), [EvidenceRow("006A", "001A", "fr", channel="note")],
                               world(**{"006A": {"close_date": dt.date(2026, 3, 1)}})[1], accounts, owners, OPTS, WED))
    assert first["d12-task-006A"].record["Subject"].endswith(" ; évoqué avant la perte du 1er mars 2026")


def test_a_title_that_already_says_the_target_is_not_followed_by_it_again():
    # "Re-engage ACME — SSO planned for Q3: planned for Q3" read like a machine (a review).
    said = task_subject(decision(title_en="SSO planned for Q3"), "en", "ACME", None)
    assert said == "Re-engage ACME — SSO planned for Q3"
    assert task_subject(decision(title_en="SSO (q3)"), "en", "ACME", None) == "Re-engage ACME — SSO (q3): planned"
    # Words, not letters: "Q35" is not "Q3".
    assert task_subject(decision(title_en="Q35 pricing"), "en", "ACME", None) == \
        "Re-engage ACME — Q35 pricing: planned for Q3"
    assert task_subject(decision(title_fr="Le SSO arrive au t3", target="T3"), "fr", "ACME", None) == \
        "Relancer ACME — Le SSO arrive au t3 : au programme"
