"""The demo org's record page: the desk's "Open in Salesforce" link shows the rep's record and what Retour pushed."""

from __future__ import annotations

import html

import pytest

from connector.demo_org.testing import http_session
from retour.config import SalesforceSettings, Settings
from webapp.queries import salesforce_url

pytestmark = pytest.mark.demo_org

HOSTILE = "<script>alert(1)</script>"


def _lost_opportunity(org) -> dict:
    return next(r for r in org.records("Opportunity")
                if not r["IsDeleted"] and r["StageName"] == "Closed Lost" and r["AccountId"])


def _desk_link(org, record_id: str) -> str:
    """The URL the desk's "Open in Salesforce" builds for this record against the demo org."""
    url = salesforce_url(Settings(salesforce=SalesforceSettings(instance_url=org.base_url)), record_id)
    assert url is not None
    return url


def test_the_desks_link_opens_a_page_with_the_opportunitys_name_stage_and_account(org):
    opp = _lost_opportunity(org)
    account = next(r for r in org.records("Account") if r["Id"] == opp["AccountId"])
    resp = http_session(org).get(_desk_link(org, opp["Id"]), timeout=30)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    page = resp.text
    assert "Demo org — a stand-in for Salesforce" in page
    assert f"<h1>{_escaped(opp['Name'])}</h1>" in page
    assert "Closed Lost" in page and _escaped(account["Name"]) in page
    assert "<script" not in page.lower()


def test_a_15_character_id_opens_the_same_record(org):
    opp = _lost_opportunity(org)
    resp = http_session(org).get(f"{org.base_url}/{opp['Id'][:15]}", timeout=30)
    assert resp.status_code == 200 and f"<h1>{_escaped(opp['Name'])}</h1>" in resp.text


def test_a_pushed_insight_and_task_show_on_the_opportunitys_page(fresh_org, fresh_sf):
    opp = _lost_opportunity(fresh_org)
    fresh_sf.Retour_Insight__c.create({
        "Name": "SSO with Okta", "Retour_Key__c": "t1-opp", "Opportunity__c": opp["Id"],
        "Decision_Status__c": "planned", "Target_Release__c": "2027.1",
        "Title_En__c": "Single sign-on with Okta", "Insight_En__c": "Planned for the spring release."})
    fresh_sf.Task.create({
        "Subject": "Retour: SSO with Okta is planned", "Description": "Tell the customer SSO ships in 2027.1.",
        "WhatId": opp["Id"], "Status": "Not Started", "ActivityDate": "2026-12-20", "Retour_Key__c": "t1-task"})
    page = http_session(fresh_org).get(_desk_link(fresh_org, opp["Id"]), timeout=30).text
    for shown in ("SSO with Okta", "Single sign-on with Okta", "Planned for the spring release.", "2027.1",
                  "Retour: SSO with Okta is planned", "Tell the customer SSO ships in 2027.1.", "Not Started",
                  "2026-12-20"):
        assert shown in page
    insights = page.split('class="insights"')[1].split("</section>")[0]
    assert "SSO with Okta" in insights and "Retour Insights (1)" in insights
    tasks = page.split('class="tasks"')[1].split("</section>")[0]
    # newest first: the task Retour just pushed heads the list, above the seeded activity
    first_row = tasks.split("<tbody>")[1].split("</tr>")[0]
    assert "Retour: SSO with Okta is planned" in first_row


def test_an_insight_on_an_account_shows_on_the_accounts_page(fresh_org, fresh_sf):
    account = next(r for r in fresh_org.records("Account") if not r["IsDeleted"] and r["Region__c"])
    fresh_sf.Retour_Insight__c.create({"Name": "Offline mode", "Retour_Key__c": "t2-acc",
                                       "Account__c": account["Id"], "Insight_En__c": "Shipped in 2026.4."})
    page = http_session(fresh_org).get(_desk_link(fresh_org, account["Id"]), timeout=30).text
    assert f"<h1>{_escaped(account['Name'])}</h1>" in page and _escaped(account["Region__c"]) in page
    assert "Offline mode" in page and "Shipped in 2026.4." in page


def test_hostile_pushed_text_is_escaped_not_run(fresh_org, fresh_sf):
    opp = _lost_opportunity(fresh_org)
    fresh_sf.Retour_Insight__c.create({"Name": HOSTILE, "Retour_Key__c": "t3-opp", "Opportunity__c": opp["Id"],
                                       "Insight_En__c": f"{HOSTILE} & \"quotes\""})
    fresh_sf.Task.create({"Subject": HOSTILE, "Description": HOSTILE, "WhatId": opp["Id"], "Status": "Not Started"})
    page = http_session(fresh_org).get(f"{fresh_org.base_url}/{opp['Id']}", timeout=30).text
    assert HOSTILE not in page and "<script" not in page.lower()
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4
    assert "&amp; &quot;quotes&quot;" in page


def test_page_forbids_scripts_through_its_content_security_policy(org):
    resp = http_session(org).get(f"{org.base_url}/{_lost_opportunity(org)['Id']}", timeout=30)
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["006000000000000AAA", "001ZZ0000000000", "not-an-id", "%3Cscript%3E"])
def test_an_unknown_or_malformed_id_answers_an_html_404(org, path):
    resp = http_session(org).get(f"{org.base_url}/{path}", timeout=30)
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "Record not found" in resp.text and "Traceback" not in resp.text
    assert "<script" not in resp.text.lower()


def test_a_deleted_record_answers_an_html_404(fresh_org):
    opp = _lost_opportunity(fresh_org)
    fresh_org.soft_delete("Opportunity", opp["Id"])
    resp = http_session(fresh_org).get(f"{fresh_org.base_url}/{opp['Id']}", timeout=30)
    assert resp.status_code == 404 and "Record not found" in resp.text


def test_the_page_needs_no_token_and_is_not_counted_as_an_api_call(org):
    opp = _lost_opportunity(org)
    session = http_session(org)
    before = org.api_calls
    for _ in range(3):
        assert session.get(f"{org.base_url}/{opp['Id']}", timeout=30).status_code == 200
    assert session.get(f"{org.base_url}/not-an-id", timeout=30).status_code == 404
    assert org.api_calls == before


def test_the_page_is_not_served_under_the_api_path(org):
    opp = _lost_opportunity(org)
    resp = http_session(org).get(f"{org.base_url}/services/data/v59.0/{opp['Id']}", timeout=30)
    assert resp.status_code == 401  # the API still asks for a session and answers JSON, never the page
    assert resp.headers["Content-Type"].startswith("application/json")


def test_an_injected_fault_does_not_hit_the_record_page(fresh_org):
    opp = _lost_opportunity(fresh_org)
    fresh_org.inject_fault("GET", ".*", status=503, times=5)
    try:
        assert http_session(fresh_org).get(f"{fresh_org.base_url}/{opp['Id']}", timeout=30).status_code == 200
    finally:
        fresh_org.clear_faults()


def _escaped(text: str) -> str:
    return html.escape(text, quote=True)
