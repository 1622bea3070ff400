"""OrgClient and auth at the wire: re-auth, retries, budget, error taxonomy, OAuth flows (Salesforce payloads)."""

from __future__ import annotations

import base64
import logging
import urllib.parse

import jwt
import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from connector.auth import jwt_audience, login_host_url
from connector.client import OrgClient, parse_limit_info
from connector.errors import AuthFailed, BudgetExhausted, FatalSalesforceError, RetriableSalesforceError

from tests.connector_helpers import BASE, INSTANCE, LIMIT, LOGIN, Sleeps, error, fixture, token_body, write_private_key

Q = f"{BASE}/queryAll/"


@pytest.fixture
def key(tmp_path):
    return write_private_key(tmp_path / "server.key")


@pytest.fixture
def jwt_settings(make_settings, key):
    return make_settings({"salesforce": {"auth": "jwt", "login_url": LOGIN, "consumer_key": "3MVG9CONSUMER",
                                         "username": "integration@acme.com", "private_key_file": str(key[0]),
                                         "max_reauth": 2},
                          "sync": {"max_retries": 3, "backoff_base_seconds": 1.0, "backoff_max_seconds": 5.0}})


@pytest.fixture
def session_settings(make_settings):
    return make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!SESSIONSECRET", "instance_url": INSTANCE},
                          "sync": {"max_retries": 3, "backoff_base_seconds": 1.0, "backoff_max_seconds": 5.0}})


def _token(rsps, times=1):
    for _ in range(times):
        rsps.post(f"{LOGIN}/services/oauth2/token", json=token_body())


def test_query_pages_follow_next_records_url_and_count_calls_per_object(session_settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, json=fixture("opportunity_page1.json"), headers=LIMIT)
        rsps.get(f"{BASE}/queryAll/01gRO0000016PIAYA2-2", json=fixture("opportunity_page2.json"),
                 headers={"Sforce-Limit-Info": "api-usage=27/15000"})
        client = OrgClient(session_settings, sleep=Sleeps())
        pages = list(client.query_pages("SELECT Id FROM Opportunity", object_name="Opportunity"))
    assert [len(p["records"]) for p in pages] == [2, 1]
    assert client.calls == 2 and client.calls_by_object["Opportunity"] == 2
    assert client.api_usage == (27, 15000)


def test_expired_session_reauthenticates_with_jwt_and_resumes(jwt_settings, key):
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _token(rsps)
        rsps.get(Q, status=401, json=error("INVALID_SESSION_ID", "Session expired or invalid"))
        rsps.post(f"{LOGIN}/services/oauth2/token", json=token_body("00Dxx!NEWTOKEN"))
        rsps.get(Q, json=fixture("opportunity_page2.json"), headers=LIMIT,
                 match=[matchers.header_matcher({"Authorization": "Bearer 00Dxx!NEWTOKEN"})])
        client = OrgClient(jwt_settings, sleep=Sleeps())
        page = client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
        assertion = urllib.parse.parse_qs(rsps.calls[0].request.body)["assertion"][0]
    assert page["records"][0]["Id"] == "006Hs00001ABCdGIAX"
    assert client.reauths == 1
    claims = jwt.decode(assertion, key[1], algorithms=["RS256"], audience=LOGIN)
    assert claims["iss"] == "3MVG9CONSUMER" and claims["sub"] == "integration@acme.com"
    assert 0 < claims["exp"] - __import__("time").time() <= 180


def test_persistent_401_fails_after_bounded_reauthentication(jwt_settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _token(rsps)
        for _ in range(3):  # first try + max_reauth=2 retries, each after a fresh login
            rsps.get(Q, status=401, json=error("INVALID_SESSION_ID", "Session expired or invalid"))
            if len(rsps.registered()) < 6:
                _token(rsps)
        client = OrgClient(jwt_settings, sleep=Sleeps())
        with pytest.raises(AuthFailed, match="max_reauth"):
            client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
    assert client.reauths == 2


def test_expired_session_id_auth_cannot_refresh_and_says_so(session_settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, status=401, json=error("INVALID_SESSION_ID", "Session expired or invalid"))
        client = OrgClient(session_settings, sleep=Sleeps())
        with pytest.raises(AuthFailed, match="cannot be refreshed"):
            client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")


def test_server_unavailable_and_lock_row_are_retried_with_growing_backoff(session_settings):
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(Q, status=503, json=error("SERVER_UNAVAILABLE", "Server temporarily unavailable"))
        rsps.get(Q, status=400, json=error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"))
        rsps.get(Q, json=fixture("opportunity_page2.json"), headers=LIMIT)
        client = OrgClient(session_settings, sleep=sleeps, rng=lambda: 1.0)
        page = client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
    assert page["done"] is True
    assert sleeps == [1.0, 2.0]
    assert client.retries == 2


def test_connection_reset_is_retried_then_gives_up_within_bound(session_settings):
    import requests
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, body=requests.ConnectionError("Connection reset by peer"))
        client = OrgClient(session_settings, sleep=sleeps, rng=lambda: 0.0)
        with pytest.raises(RetriableSalesforceError, match="gave up after 3 retries"):
            client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
    assert sleeps == [0.5, 1.0, 2.0]  # base 1 s · 2^n, half of it with rng=0, 4 attempts in all
    assert client.calls == 0  # no response reached us


def test_request_limit_exceeded_stops_without_retrying(session_settings):
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, status=403, json=error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
        client = OrgClient(session_settings, sleep=sleeps)
        with pytest.raises(BudgetExhausted, match="resume"):
            client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
    assert sleeps == [] and client.calls == 1


def test_invalid_field_is_fatal_with_actionable_message(session_settings):
    body = error("INVALID_FIELD", "\nSELECT Id, Nope__c FROM Opportunity\n           ^\nERROR at Row:1:Column:12\n"
                                  "No such column 'Nope__c' on entity 'Opportunity'.")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, status=400, json=body)
        client = OrgClient(session_settings, sleep=Sleeps())
        with pytest.raises(FatalSalesforceError) as info:
            client.query_page("SELECT Id, Nope__c FROM Opportunity", object_name="Opportunity")
    assert info.value.code == "INVALID_FIELD"
    assert "Nope__c" in str(info.value) and "[mapping]" in str(info.value) and "(Opportunity)" in str(info.value)


@pytest.mark.parametrize("code", ["INSUFFICIENT_ACCESS", "MALFORMED_QUERY"])
def test_permanent_errors_are_not_retried(session_settings, code):
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, status=400 if code == "MALFORMED_QUERY" else 403, json=error(code, "nope"))
        client = OrgClient(session_settings, sleep=sleeps)
        with pytest.raises(FatalSalesforceError, match=code):
            client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
    assert sleeps == []


def test_budget_share_refuses_the_next_call_once_usage_passes_it(session_settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, json=fixture("opportunity_page1.json"), headers={"Sforce-Limit-Info": "api-usage=3001/15000"})
        client = OrgClient(session_settings, sleep=Sleeps())
        client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
        with pytest.raises(BudgetExhausted, match="3001 of its 15000"):
            client.query_more("/services/data/v59.0/queryAll/01gRO0000016PIAYA2-2", object_name="Opportunity")
    assert client.calls == 1  # the refused call never went out


def test_bulk_responses_update_api_usage_through_the_session_hook(session_settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(f"{BASE}/jobs/query/750xx000000001AAA/results", body='"Id"\n"006Hs00001ABCdEIAX"\n',
                 content_type="text/csv", headers={"Sforce-Limit-Info": "api-usage=99/15000", "Sforce-Locator": "null"})
        client = OrgClient(session_settings, sleep=Sleeps())
        resp = client.raw("GET", "jobs/query/750xx000000001AAA/results", object_name="Opportunity")
    assert resp.headers["Sforce-Locator"] == "null"
    assert client.api_usage == (99, 15000) and client.calls_by_object["Opportunity"] == 1


def test_token_error_becomes_auth_failed_with_hint_and_no_secret(make_settings, key, caplog):
    settings = make_settings({"salesforce": {"auth": "client_credentials", "login_url": "https://acme.my.salesforce.com",
                                             "consumer_key": "3MVG9KEY", "consumer_secret": "TOPSECRET123"}})
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(f"{INSTANCE}/services/oauth2/token", status=400,
                  json={"error": "invalid_client", "error_description": "invalid client credentials"})
        with pytest.raises(AuthFailed) as info:
            OrgClient(settings, sleep=Sleeps())
        basic = rsps.calls[0].request.headers["Authorization"]
    assert basic == "Basic " + base64.b64encode(b"3MVG9KEY:TOPSECRET123").decode()
    assert "invalid_client" in str(info.value) and "consumer_secret" in str(info.value)
    assert "TOPSECRET123" not in str(info.value) and "TOPSECRET123" not in caplog.text


def test_client_credentials_login_builds_client_on_returned_instance(make_settings):
    settings = make_settings({"salesforce": {"auth": "client_credentials", "login_url": "acme.my",
                                             "consumer_key": "k", "consumer_secret": "s"}})
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.post(f"{INSTANCE}/services/oauth2/token", json=token_body(),
                  match=[matchers.urlencoded_params_matcher({"grant_type": "client_credentials"})])
        client = OrgClient(settings, sleep=Sleeps())
    assert client.base_url == f"{BASE}/"


def test_missing_private_key_file_names_the_setting(make_settings, tmp_path):
    settings = make_settings({"salesforce": {"auth": "jwt", "consumer_key": "k", "username": "u@x",
                                             "private_key_file": str(tmp_path / "nope.key")}})
    with pytest.raises(AuthFailed, match="private_key_file"):
        OrgClient(settings, sleep=Sleeps())


def test_legacy_password_login_warns_and_refuses_non_salesforce_hosts(make_settings, caplog):
    settings = make_settings({"salesforce": {"auth": "password", "login_url": "https://127.0.0.1:8443",
                                             "username": "u@x", "password": "pw", "security_token": "tok"}})
    with pytest.raises(AuthFailed, match="only reaches"):
        OrgClient(settings, sleep=Sleeps())
    assert "retiring" in caplog.text


def test_login_hosts_and_audiences():
    assert login_host_url("test") == "https://test.salesforce.com"
    assert login_host_url("acme--uat.sandbox.my") == "https://acme--uat.sandbox.my.salesforce.com"
    assert jwt_audience("https://acme--uat.sandbox.my.salesforce.com") == "https://test.salesforce.com"
    assert jwt_audience("https://acme.my.salesforce.com") == "https://login.salesforce.com"
    assert jwt_audience("https://127.0.0.1:8443") == "https://127.0.0.1:8443"
    assert parse_limit_info("api-usage=25/15000") == (25, 15000) and parse_limit_info(None) is None


def test_limit_info_reads_the_org_usage_not_a_connected_app_quota_before_it(session_settings):
    """Issue 19.8: ``per-app-api-usage`` is one app's quota; only the entry named ``api-usage`` is the org's."""
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        # The app's quota is nearly spent (240/250), the org's is not (25/5000): the budget is the org's.
        rsps.get(Q, json=fixture("opportunity_page1.json"),
                 headers={"Sforce-Limit-Info": "per-app-api-usage=240/250, api-usage=25/5000"})
        rsps.get(f"{BASE}/queryAll/01gRO0000016PIAYA2-2", json=fixture("opportunity_page2.json"),
                 headers={"Sforce-Limit-Info": "api-usage=26/5000; per-app-api-usage=241/250(appName=retour)"})
        client = OrgClient(session_settings, sleep=Sleeps())
        client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
        assert client.api_usage == (25, 5000)
        client.query_more("/services/data/v59.0/queryAll/01gRO0000016PIAYA2-2", object_name="Opportunity")
    assert client.api_usage == (26, 5000)
    assert parse_limit_info("per-app-api-usage=17/250(appName=sample-connected-app)") is None
    assert parse_limit_info("api-usage=110018/100000; api-bursts=1/750") == (110018, 100000)
