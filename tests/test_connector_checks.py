"""`retour check` against the demo org: the fields a push writes are compared with the org's describe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from connector.checks import push_fields_check, salesforce_checks
from connector.client import OrgClient
from connector.demo_org import DemoOrg
from connector.demo_org.testing import SEEDED_DAY, seeded_org
from connector.push_plan import DecisionRow, EvidenceRow, OpportunityRow, AccountRow, OwnerRow, PlanOptions, \
    plan_pushes, written_fields
from retour.config import load_settings

SCALE = 0.05


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Iterator[DemoOrg]:
    with seeded_org(tmp_path_factory.mktemp("demo-org-checks"), scale=SCALE) as demo:
        yield demo


@pytest.fixture
def settings(org, database_url, tmp_path):
    return load_settings({"database_url": database_url, "data_dir": str(tmp_path)}, environ=org.env())


def test_the_fields_checked_are_those_the_push_builds():
    decision = DecisionRow(id=1, theme_id=1, status="planned", insight_en="x", title_en="x")
    opp = OpportunityRow("006A", "A", "001A", "005A", "Closed Lost", is_closed=True)
    plan = plan_pushes(decision, [EvidenceRow("006A", "001A", "en")], {"006A": opp},
                       {"001A": AccountRow("001A", "A", "005A")}, {"005A": OwnerRow("005A", "Ana")}, PlanOptions(),
                       SEEDED_DAY)
    fields = written_fields(PlanOptions())
    for intended in plan:
        assert set(intended.record) <= set(fields[intended.sobject])
    assert {"Insight_En__c", "Insight_Fr__c", "Title_En__c", "Title_Fr__c"} <= set(fields["Retour_Insight__c"])
    assert "FeedItem" not in fields and "FeedItem" in written_fields(PlanOptions(chatter=True))


@pytest.mark.demo_org
def test_retour_check_names_the_fields_an_org_on_old_metadata_lacks_and_the_deploy_to_run(org, settings):
    current = {r["check"]: r for r in salesforce_checks(settings)}["salesforce push fields"]
    with org.fault("old-metadata"):
        old = {r["check"]: r for r in salesforce_checks(settings)}["salesforce push fields"]
    assert current["ok"], current["detail"]
    assert not old["ok"]
    assert old["detail"].startswith("Retour_Insight__c lacks Insight_En__c, Insight_Fr__c, Title_En__c, Title_Fr__c: ")
    assert "deploy the SFDX project in deploy/salesforce first" in old["detail"] and "\n" not in old["detail"]


def _describe(name: str, fields: list[str], *, read_only: tuple[str, ...] = ()) -> dict:
    """An sObject describe as Salesforce shapes it, reduced to the keys the check reads and a few around them."""
    return {"name": name, "custom": name.endswith("__c"), "createable": True, "updateable": True,
            "fields": [{"name": f, "type": "string", "length": 255, "createable": f not in read_only,
                        "updateable": f not in read_only, "nillable": True, "label": f} for f in fields]}


@responses.activate
def test_a_missing_object_and_a_field_the_user_cannot_write_are_said_in_the_same_line(tmp_path, database_url):
    settings = load_settings({"database_url": database_url, "data_dir": str(tmp_path), "salesforce": {
        "auth": "session", "instance_url": "https://acme.my.salesforce.com", "session_id": "00Dx!token"}})
    base = "https://acme.my.salesforce.com/services/data/v59.0/sobjects"
    fields = written_fields(PlanOptions())
    responses.get(f"{base}/Retour_Insight__c/describe", status=404,
                  json=[{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
    responses.get(f"{base}/Task/describe", json=_describe("Task", fields["Task"], read_only=("Retour_Key__c",)))
    client = OrgClient(settings, sleep=lambda s: None)
    result = push_fields_check(client, settings)
    assert not result["ok"]
    assert result["detail"] == ("the org has no Retour_Insight__c object; Task.Retour_Key__c is read-only for the "
                                "integration user: deploy the SFDX project in deploy/salesforce first (sf project "
                                "deploy start) and assign the integration user its Retour_Integration permission set.")
