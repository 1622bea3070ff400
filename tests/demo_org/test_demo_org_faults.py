"""The demo org's fault switches answer what Salesforce answers on its bad days, with Salesforce's wire shapes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests

from connector.demo_org import DemoOrg
from connector.demo_org.faults import FAULTS, HTML_EVERY, parse_faults
from connector.demo_org.testing import SEEDED_DAY, Clock, access_token, http_session, jwt_assertion, shared_cache_dir

from .conftest import SMALL

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def org(tmp_path_factory, keys_dir) -> Iterator[DemoOrg]:
    demo = DemoOrg(tmp_path_factory.mktemp("demo-org-faults"), scale=SMALL, cache_dir=shared_cache_dir(),
                   keys_dir=keys_dir, clock=Clock(SEEDED_DAY))
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def api(org):
    """GET/POST under /services/data/v59.0 with a bearer token, answering the raw ``requests`` response."""
    session = http_session(org)
    token = access_token(org, session)

    def call(method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return session.request(method, f"{org.base_url}/services/data/v59.0/{path}", headers=headers, timeout=30,
                               **kwargs)

    return call


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def test_unknown_fault_names_are_refused_with_the_known_ones():
    assert parse_faults("html-200, bulk-cut") == {"html-200", "bulk-cut"}
    with pytest.raises(ValueError, match="unknown demo org fault\\(s\\): nope; known: deleted-15-days"):
        parse_faults("html-200,nope")


def test_get_deleted_reaches_30_days_and_15_with_the_switch(org, api):
    twenty_days = {"start": iso(now() - dt.timedelta(days=20)), "end": iso(now())}
    ok = api("GET", "sobjects/Opportunity/deleted/", params=twenty_days)
    assert ok.status_code == 200 and "earliestDateAvailable" in ok.json()
    with org.fault("deleted-15-days"):
        refused = api("GET", "sobjects/Opportunity/deleted/", params=twenty_days)
        ten_days = api("GET", "sobjects/Opportunity/deleted/",
                       params={"start": iso(now() - dt.timedelta(days=10)), "end": iso(now())})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    earliest = dt.datetime.fromisoformat(ten_days.json()["earliestDateAvailable"].replace("+0000", "+00:00"))
    assert abs((now() - earliest) - dt.timedelta(days=15)) < dt.timedelta(minutes=2)


def test_a_purged_delete_log_refuses_older_starts_and_says_where_it_begins(org, api):
    with org.fault("deleted-purged"):
        refused = api("GET", "sobjects/Task/deleted/",
                      params={"start": iso(now() - dt.timedelta(days=1)), "end": iso(now())})
        purge = now().replace(second=0, microsecond=0)
        after = api("GET", "sobjects/Task/deleted/",
                    params={"start": iso(purge), "end": iso(purge + dt.timedelta(minutes=2))})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    body = after.json()
    assert after.status_code == 200 and body["deletedRecords"] == []
    earliest = dt.datetime.fromisoformat(body["earliestDateAvailable"].replace("+0000", "+00:00"))
    assert dt.timedelta(0) <= purge - earliest <= dt.timedelta(minutes=1)


def test_content_note_has_no_get_deleted(api):
    response = api("GET", "sobjects/ContentNote/deleted/",
                   params={"start": iso(now() - dt.timedelta(days=1)), "end": iso(now())})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_TYPE"
    assert api("GET", "sobjects/ContentNote/describe").json()["replicateable"] is False
    assert api("GET", "sobjects/Opportunity/describe").json()["replicateable"] is True


def _bulk_job(api, soql: str) -> requests.Response:
    return api("POST", "jobs/query", json={"operation": "queryAll", "query": soql})


def test_bulk_result_page_is_cut_mid_body_once_then_served_whole(org, api):
    with org.fault("bulk-cut"):
        job = _bulk_job(api, "SELECT Id, Name FROM Account").json()
        with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
            api("GET", f"jobs/query/{job['id']}/results").content
        again = api("GET", f"jobs/query/{job['id']}/results")
    lines = again.text.strip().split("\n")
    assert again.status_code == 200 and lines[0] == '"Id","Name"'
    assert len(lines) - 1 == int(again.headers["Sforce-NumberOfRecords"]) > 0


def test_every_fourth_call_meets_an_html_maintenance_page(org, api):
    with org.fault("html-200"):
        answers = [api("GET", "limits") for _ in range(2 * HTML_EVERY)]
    html = [i for i, r in enumerate(answers) if r.headers["Content-Type"].startswith("text/html")]
    assert html == [HTML_EVERY - 1, 2 * HTML_EVERY - 1]
    page = answers[html[0]]
    assert page.status_code == 200 and "maintenance" in page.text
    with pytest.raises(requests.exceptions.JSONDecodeError):
        page.json()
    assert all("DailyApiRequests" in r.json() for i, r in enumerate(answers) if i not in html)


def test_bulk_query_with_order_by_is_refused_with_the_switch(org, api):
    soql = "SELECT Id FROM Opportunity ORDER BY SystemModstamp ASC, Id ASC"
    assert _bulk_job(api, soql).status_code == 200
    with org.fault("bulk-no-order-by"):
        refused = _bulk_job(api, soql)
        plain = _bulk_job(api, "SELECT Id FROM Opportunity")
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALIDJOB"
    assert "ORDER BY" in refused.json()[0]["message"]
    assert plain.status_code == 200 and plain.json()["state"] == "UploadComplete"


def test_a_wide_system_modstamp_range_times_out_and_a_narrow_one_answers(org, api):
    end = now()

    def query(days: int) -> requests.Response:
        soql = (f"SELECT Id FROM Opportunity WHERE SystemModstamp >= {iso(end - dt.timedelta(days=days))} "
                f"AND SystemModstamp < {iso(end)}")
        return api("GET", "queryAll/", params={"q": soql})

    assert query(30).status_code == 200
    with org.fault("query-timeout"):
        wide, narrow = query(30), query(3)
    assert wide.status_code == 400
    assert wide.json() == [{"message": "Your query request was running for too long.", "errorCode": "QUERY_TIMEOUT"}]
    assert narrow.status_code == 200 and "records" in narrow.json()


def _client_credentials(org, host: str) -> requests.Response:
    session = http_session(org)
    port = org.base_url.rsplit(":", 1)[1]
    return session.post(f"https://{host}:{port}/services/oauth2/token", data={"grant_type": "client_credentials"},
                        auth=(org.consumer_key, org.consumer_secret), timeout=30)


def test_client_credentials_are_refused_on_the_login_host_and_served_on_my_domain(org):
    assert _client_credentials(org, "localhost").status_code == 200
    with org.fault("cc-my-domain-only"):
        login_host = _client_credentials(org, "localhost")
        my_domain = _client_credentials(org, "127.0.0.1")
    assert login_host.status_code == 400
    assert login_host.json() == {"error": "invalid_grant", "error_description": "request not supported on this domain"}
    assert my_domain.status_code == 200 and my_domain.json()["instance_url"] == org.base_url


def test_jwt_audience_must_be_the_login_server_as_for_a_my_domain(org):
    session = http_session(org)

    def login(audience: str) -> requests.Response:
        return session.post(f"{org.base_url}/services/oauth2/token", timeout=30,
                            data={"grant_type": JWT_GRANT, "assertion": jwt_assertion(org, audience=audience)})

    assert login(org.base_url).status_code == 200
    with org.fault("jwt-login-audience"):
        own_url, login_server = login(org.base_url), login("https://login.salesforce.com")
    assert own_url.status_code == 400
    assert own_url.json() == {"error": "invalid_grant", "error_description": "audience is invalid"}
    assert login_server.status_code == 200 and "access_token" in login_server.json()


def test_without_query_all_files_the_user_sees_only_its_own_notes(org, api):
    def permissions() -> dict:
        body = api("GET", "query/", params={"q": "SELECT PermissionsQueryAllFiles, PermissionsViewAllData "
                                                 "FROM UserPermissionAccess"}).json()
        return {k: v for k, v in body["records"][0].items() if k != "attributes"}

    def notes() -> set[str]:
        return {r["Id"] for r in api("GET", "query/", params={"q": "SELECT Id, OwnerId FROM ContentNote"}).json()["records"]}

    everyone = notes()
    assert permissions() == {"PermissionsQueryAllFiles": True, "PermissionsViewAllData": True}
    with org.fault("no-query-all-files"):
        assert permissions() == {"PermissionsQueryAllFiles": False, "PermissionsViewAllData": True}
        own = notes()
        by_id = api("GET", "query/", params={"q": f"SELECT Id FROM ContentNote WHERE Id = '{sorted(everyone)[0]}'"})
    owned = {r["Id"] for r in org.records("ContentNote") if r["OwnerId"] == org.integration_user_id}
    assert own == owned & everyone and len(own) < len(everyone)
    assert by_id.json()["totalSize"] == 1  # filtered by Id, a note the user can see is returned


def test_switches_given_at_start_are_on(tmp_path, keys_dir):
    demo = DemoOrg(tmp_path, scale=SMALL, cache_dir=shared_cache_dir(), keys_dir=keys_dir, clock=Clock(SEEDED_DAY),
                   faults=["no-query-all-files", "html-200"])
    assert demo.faults == {"no-query-all-files", "html-200"} and not demo.query_all_files
    with pytest.raises(ValueError, match="unknown demo org fault"):
        DemoOrg(tmp_path, faults=["slow"])


def test_html_200_meets_a_note_body_too_whose_content_size_tells_them_apart(org, api):
    note = org.records("ContentNote")[0]
    with org.fault("html-200"):
        blobs = [api("GET", f"sobjects/ContentNote/{note['Id']}/Content") for _ in range(HTML_EVERY)]
    pages = [b for b in blobs if "Down for maintenance" in b.text]
    bodies = [b for b in blobs if b not in pages]
    assert len(pages) == 1 and len(bodies) == HTML_EVERY - 1
    assert {b.headers["Content-Type"] for b in blobs} == {"text/html;charset=UTF-8"}  # the type cannot tell them apart
    assert {len(b.content) for b in bodies} == {note["ContentSize"]} != {len(pages[0].content)}


def test_old_metadata_describes_the_insight_without_both_languages_and_refuses_records_writing_them(org, api):
    def described() -> set[str]:
        return {f["name"] for f in api("GET", "sobjects/Retour_Insight__c/describe").json()["fields"]}

    record = {"attributes": {"type": "Retour_Insight__c"}, "Retour_Key__c": "old-metadata-probe", "Name": "SSO",
              "Insight_En__c": "SSO ships in Q3."}
    with org.fault("old-metadata"):
        old = described()
        answer = api("PATCH", "composite/sobjects/Retour_Insight__c/Retour_Key__c",
                     json={"allOrNone": False, "records": [record]})
    bilingual = {"Insight_En__c", "Insight_Fr__c", "Title_En__c", "Title_Fr__c"}
    assert bilingual <= described() and not bilingual & old and "Insight__c" in old
    assert answer.status_code == 200
    assert answer.json() == [{"success": False, "errors": [{"statusCode": "INVALID_FIELD", "message": "No such column "
                              "'Insight_En__c' on sobject of type Retour_Insight__c", "fields": ["Insight_En__c"]}]}]
    assert not [r for r in org.records("Retour_Insight__c") if r["Retour_Key__c"] == "old-metadata-probe"]
