"""Every insight Retour pushes holds both languages, so the reps' card shows each rep their own.

``Insight__c`` and ``Theme__c`` keep the record's one language (its evidence's, else its rep's) for the related
list; ``Insight_En__c`` / ``Insight_Fr__c`` and ``Title_En__c`` / ``Title_Fr__c`` carry each language the
decision has (None clears one it no longer has). Planned as a pure function, then pushed to the demo org over
HTTPS and read back with SOQL, the way the card's UI API query reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from connector import push
from connector.client import OrgClient
from connector.demo_org import DemoOrg
from connector.demo_org.schema import OBJECTS
from connector.demo_org.testing import Clock, http_session, seeded_org
from connector.push_plan import (
    INSIGHT,
    AccountRow,
    DecisionRow,
    EvidenceRow,
    OpportunityRow,
    OwnerRow,
    PlanOptions,
    plan_pushes,
)
from retour.config import load_settings
from retour.models import PushItem
from tests.conftest_push import NOW, TODAY, build_world

BOTH = ("Insight_En__c", "Insight_Fr__c", "Title_En__c", "Title_Fr__c")
EN, FR = "SSO ships in Q3: offer the beta.", "Le SSO arrive au T3 : proposez la bêta."


def _plan(decision: DecisionRow) -> dict[str, dict]:
    opps = {"006A": OpportunityRow("006A", "ACME renewal", "001A", "005A", "Proposal"),
            "006B": OpportunityRow("006B", "Globex new", "001B", "005B", "Proposal")}
    accounts = {"001A": AccountRow("001A", "ACME", "005A"), "001B": AccountRow("001B", "Globex", "005B")}
    owners = {"005A": OwnerRow("005A", "Ana"), "005B": OwnerRow("005B", "Bob", lang="en")}
    evidence = [EvidenceRow("006A", "001A", "fr"), EvidenceRow("006B", "001B", "en")]
    plan = plan_pushes(decision, evidence, opps, accounts, owners, PlanOptions(), dt.date(2026, 11, 18))
    return {i.key: i.record for i in plan if i.kind == INSIGHT}


def test_each_insight_carries_both_languages_whichever_language_the_record_picked():
    records = _plan(DecisionRow(id=5, theme_id=2, status="planned", insight_en=f"  {EN}\n", insight_fr=FR,
                                title_en="Single sign-on", title_fr="L’authentification unique"))
    assert records["d5-opp-006A"]["Insight__c"] == FR and records["d5-opp-006B"]["Insight__c"] == EN
    assert records["d5-opp-006A"]["Theme__c"] == "L’authentification unique"
    for record in records.values():
        assert {k: record[k] for k in BOTH} == {"Insight_En__c": EN, "Insight_Fr__c": FR,
                                                 "Title_En__c": "Single sign-on",
                                                 "Title_Fr__c": "L’authentification unique"}


def test_a_language_the_decision_lacks_is_written_as_null_so_an_edit_that_drops_it_clears_it():
    records = _plan(DecisionRow(id=5, theme_id=2, status="shipped", insight_en=EN, insight_fr=None,
                                title_en="Single sign-on", title_fr=None))
    for record in records.values():
        assert record["Insight__c"] == EN
        assert record["Insight_En__c"] == EN and record["Title_En__c"] == "Single sign-on"
        assert "Insight_Fr__c" in record and record["Insight_Fr__c"] is None and record["Title_Fr__c"] is None


def test_a_long_title_is_clipped_to_the_field_and_a_long_insight_is_kept_whole():
    title = "Single sign-on " * 30
    insight = "x" * 31_000
    record = _plan(DecisionRow(id=5, theme_id=2, status="planned", insight_en=insight, insight_fr=FR,
                               title_en=title, title_fr="L’authentification unique"))["d5-opp-006B"]
    assert len(record["Title_En__c"]) == 255 and record["Title_En__c"].endswith("…")
    assert record["Insight_En__c"] == insight


def test_the_demo_org_describes_the_four_fields_as_the_sfdx_project_declares_them():
    fields = OBJECTS["Retour_Insight__c"].fields
    by_name = {f.name: f for f in fields}
    assert by_name["Insight_En__c"].type == by_name["Insight_Fr__c"].type == "textarea"
    assert by_name["Insight_En__c"].length == by_name["Insight_Fr__c"].length == 32000
    assert by_name["Title_En__c"].type == by_name["Title_Fr__c"].type == "string"
    assert by_name["Title_En__c"].length == by_name["Title_Fr__c"].length == 255


# ------------------------------------------------------------------------------------------ against the demo org
@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("push-bilingual-keys")


@pytest.fixture
def org(tmp_path, keys_dir) -> Iterator[DemoOrg]:
    with seeded_org(tmp_path / "org", scale=0.05, keys_dir=keys_dir, clock=Clock(NOW)) as demo:
        yield demo


@pytest.fixture
def settings(org, tmp_path, database_url):
    return load_settings({"database_url": database_url, "data_dir": str(tmp_path / "data"),
                          "web": {"base_url": "https://retour.example.com"},
                          "push": {"per_rep_daily_cap": 10_000}}, environ=org.env())


@pytest.fixture
def client(settings, org):
    return OrgClient(settings, http=http_session(org), sleep=lambda s: None)


def _read_back(client: OrgClient, decision_id: int) -> dict[str, dict]:
    """The decision's insights as the org answers a SOQL query for them (one page is enough at this size)."""
    page = client.query_page("SELECT Id, Retour_Key__c, Insight__c, Insight_En__c, Insight_Fr__c, Title_En__c, "
                             "Title_Fr__c, Status__c FROM Retour_Insight__c", object_name="Retour_Insight__c",
                             include_deleted=False)
    assert page["done"]
    return {r["Retour_Key__c"]: r for r in page["records"] if r["Retour_Key__c"].startswith(f"d{decision_id}-")}


@pytest.mark.demo_org
def test_pushed_insights_hold_both_languages_in_the_org_and_keep_them_when_withdrawn(session, settings, client, org):
    opps = [o for o in org.records("Opportunity") if not o["IsClosed"]][:6]
    rows = {"User": org.records("User"), "Account": org.records("Account"), "Opportunity": opps}
    langs = {o["Id"]: "fr" for o in opps[:3]}  # half the deals were lost in French
    theme, decision, user = build_world(session, rows, insight_en=EN, insight_fr=FR, langs=langs)
    push.prepare(session, decision, settings, today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    report = push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None)
    assert report.sent > 0 and report.failed == 0

    landed = _read_back(client, decision.id)
    assert len(landed) == report.sent
    picked = {r["Insight__c"] for r in landed.values()}
    assert picked == {EN, FR}  # the single-language field still follows each record's evidence
    for record in landed.values():
        assert (record["Insight_En__c"], record["Insight_Fr__c"]) == (EN, FR)
        assert (record["Title_En__c"], record["Title_Fr__c"]) == ("Single sign-on", "L’authentification unique")

    push.withdraw(session, decision, user.id, now=NOW)
    push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None)
    withdrawn = _read_back(client, decision.id)
    assert {r["Status__c"] for r in withdrawn.values()} == {"withdrawn"}
    assert all(r["Insight_Fr__c"] == FR and r["Insight_En__c"] == EN for r in withdrawn.values())


@pytest.mark.demo_org
def test_an_english_only_decision_leaves_the_french_fields_empty_in_the_org(session, settings, client, org):
    opps = [o for o in org.records("Opportunity") if not o["IsClosed"]][:3]
    rows = {"User": org.records("User"), "Account": org.records("Account"), "Opportunity": opps}
    theme, decision, user = build_world(session, rows, insight_en=EN, insight_fr=None, title_fr=None,
                                        langs={o["Id"]: "fr" for o in opps})
    push.prepare(session, decision, settings, today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    assert push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None).failed == 0

    landed = _read_back(client, decision.id)
    assert landed
    for record in landed.values():
        assert record["Insight__c"] == record["Insight_En__c"] == EN  # French evidence, no French text: English
        assert record["Insight_Fr__c"] is None and record["Title_Fr__c"] is None


@pytest.mark.demo_org
def test_an_org_on_old_metadata_stops_the_push_in_one_line_and_every_record_waits_for_the_deploy(
        session, settings, client, org):
    opps = [o for o in org.records("Opportunity") if not o["IsClosed"]][:4]
    rows = {"User": org.records("User"), "Account": org.records("Account"), "Opportunity": opps}
    theme, decision, user = build_world(session, rows, insight_en=EN, insight_fr=FR)
    push.prepare(session, decision, settings, today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    with org.fault("old-metadata"):
        calls = org.api_calls
        stopped = push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None)
        describes = org.api_calls - calls
    assert stopped.stopped == "metadata" and stopped.failed == stopped.sent == 0 and stopped.batches == 1
    assert stopped.error == ("Retour_Insight__c lacks Insight_En__c, Insight_Fr__c, Title_En__c, Title_Fr__c: deploy "
                             "the SFDX project in deploy/salesforce first (sf project deploy start) and assign the "
                             "integration user its Retour_Integration permission set.")
    assert describes == 2  # the refused batch and one describe to name the fields; no other batch is tried
    items = session.scalars(select(PushItem).where(PushItem.decision_id == decision.id,
                                                   PushItem.state != "skipped")).all()
    assert items and {(i.state, i.error_code, i.error_message) for i in items} == {
        ("approved", "INVALID_FIELD", stopped.error)}

    after_deploy = push.send_pending(session, settings, client, today=TODAY, sleep=lambda s: None)
    assert after_deploy.stopped is None and after_deploy.sent == len(items) and after_deploy.failed == 0
