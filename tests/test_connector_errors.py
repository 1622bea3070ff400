"""The error taxonomy at the wire (issue 19.3, 19.5): what Salesforce answers on its bad days, and what Retour does.

Bodies are Salesforce's documented error shape (``[{"message", "errorCode"}]``) or, for a maintenance or proxy
page, what such a front end serves: HTML with status 200.
"""

from __future__ import annotations

import pytest
import responses
from responses.registries import OrderedRegistry

from connector.client import OrgClient
from connector.errors import PolicyBlocked, QueryTimeout, RetriableSalesforceError, UnreadableResponse

from tests.connector_helpers import BASE, INSTANCE, LIMIT, Sleeps, error, fixture

Q = f"{BASE}/queryAll/"
MAINTENANCE = ('<!DOCTYPE html>\n<html><head><title>Down for Maintenance</title></head>\n<body>'
               '<h1>Salesforce is down for maintenance</h1>\n<script>alert("x")</script></body></html>')


@pytest.fixture
def settings(make_settings):
    return make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                          "sync": {"max_retries": 3, "backoff_base_seconds": 1.0, "backoff_max_seconds": 5.0}})


def test_a_200_maintenance_page_is_a_retriable_error_and_the_retry_gets_the_page(settings):
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(Q, body=MAINTENANCE, status=200, content_type="text/html; charset=utf-8")
        rsps.get(Q, json=fixture("opportunity_page2.json"), headers=LIMIT)
        client = OrgClient(settings, sleep=sleeps, rng=lambda: 1.0)
        page = client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
    assert page["records"][0]["Id"] == "006Hs00001ABCdGIAX"
    assert sleeps == [1.0] and client.retries == 1


def test_a_maintenance_page_that_lasts_gives_up_naming_what_came_back_escaped_on_one_line(settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, body=MAINTENANCE, status=200, content_type="text/html; charset=utf-8")
        client = OrgClient(settings, sleep=Sleeps())
        with pytest.raises(UnreadableResponse) as info:
            client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
    message = str(info.value)
    assert isinstance(info.value, RetriableSalesforceError) and "gave up after 3 retries" in message
    assert "text/html; charset=utf-8" in message and "(Opportunity)" in message
    assert "<!DOCTYPE html> <html><head><title>Down for Maintenance" in message
    assert "\n" not in message and len(message) < 400  # the page's first 80 characters, not the page
    assert '\\"x\\"' not in message  # cut at 80 characters: the script is not quoted at all


def test_transaction_security_policy_block_is_fatal_in_one_line_and_not_retried(settings):
    sleeps = Sleeps()
    body = error("TXN_SECURITY_METERING_ERROR", "Access blocked by a transaction security policy.")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, status=403, json=body)
        client = OrgClient(settings, sleep=sleeps)
        with pytest.raises(PolicyBlocked) as info:
            client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
        assert len(rsps.calls) == 1
    assert sleeps == [] and client.retries == 0
    assert "transaction security policy" in str(info.value) and "\n" not in str(info.value)
    assert "exempt" in str(info.value)


def test_query_timeout_is_not_retried_with_the_same_query(settings):
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(Q, status=400, json=error("QUERY_TIMEOUT", "Your query request was running for too long."))
        client = OrgClient(settings, sleep=sleeps)
        with pytest.raises(QueryTimeout):
            client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
        assert len(rsps.calls) == 1
    assert sleeps == []


def test_an_empty_406_is_retried(settings):
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(Q, status=406, body="")
        rsps.get(Q, json=fixture("opportunity_page2.json"), headers=LIMIT)
        client = OrgClient(settings, sleep=sleeps, rng=lambda: 1.0)
        page = client.query_page("SELECT Id FROM Opportunity", object_name="Opportunity")
    assert page["done"] is True and sleeps == [1.0]
