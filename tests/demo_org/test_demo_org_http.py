"""The demo org over real HTTPS, through simple-salesforce: reads, paging, auth, limits and describe."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (SalesforceExpiredSession, SalesforceMalformedRequest,
                                          SalesforceRefusedRequest)

from connector.demo_org.testing import JWT_GRANT, http_session, jwt_assertion, salesforce

pytestmark = pytest.mark.demo_org


def _parse(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def test_query_all_returns_every_live_row_with_salesforce_shapes(org, sf):
    result = sf.query_all("SELECT Id, Name, StageName, IsClosed, Amount, CloseDate, SystemModstamp FROM Opportunity")
    live = [r for r in org.records("Opportunity") if not r["IsDeleted"]]
    assert result["totalSize"] == len(live) == len(result["records"])
    first = result["records"][0]
    assert first["attributes"] == {"type": "Opportunity", "url": f"/services/data/v59.0/sobjects/Opportunity/{first['Id']}"}
    assert len(first["Id"]) == 18 and first["Id"].startswith("006")
    assert isinstance(first["IsClosed"], bool) and isinstance(first["Amount"], float)
    assert first["SystemModstamp"].endswith("+0000") and _parse(first["SystemModstamp"])


def test_relationship_fields_come_back_nested_under_the_relationship(sf):
    rec = sf.query("SELECT Id, Account.Name, Account.Region__c, Owner.Department FROM Opportunity LIMIT 1")["records"][0]
    assert rec["Account"]["attributes"]["type"] == "Account"
    assert rec["Account"]["Name"] and rec["Account"]["Region__c"]
    assert rec["Owner"]["attributes"]["type"] == "User" and rec["Owner"]["Department"].startswith("Sales")


def test_filters_and_ordering_match_the_rows_they_select(org, sf):
    rows = [r for r in org.records("Task") if not r["IsDeleted"]]
    cut = sorted(r["SystemModstamp"] for r in rows)[len(rows) // 2]
    bound = _parse(cut)
    result = sf.query_all(format_soql("SELECT Id, SystemModstamp FROM Task WHERE SystemModstamp >= {} "
                                      "ORDER BY SystemModstamp ASC", bound.replace(microsecond=0)))
    expected = {r["Id"] for r in rows if _parse(r["SystemModstamp"]) >= bound.replace(microsecond=0)}
    assert {r["Id"] for r in result["records"]} == expected
    stamps = [r["SystemModstamp"] for r in result["records"]]
    assert stamps == sorted(stamps)


def test_string_equality_with_hostile_text_matches_exactly_one_record(fresh_org, fresh_sf):
    nasty = "O'Brien \\ \"quoted\" 100% _x_\nline2"
    target = fresh_org.create("Account", Name=nasty, Region__c="UK")
    fresh_org.create("Account", Name="O'Brien", Region__c="UK")
    result = fresh_sf.query(format_soql("SELECT Id, Name FROM Account WHERE Name = {}", nasty))
    assert [r["Id"] for r in result["records"]] == [target]
    like = fresh_sf.query(format_soql("SELECT Id FROM Account WHERE Name LIKE '{:like}%'", "O'Brien \\ \"quoted\" 100%"))
    assert [r["Id"] for r in like["records"]] == [target]


def test_not_equal_includes_null_values_like_soql(org, sf):
    rows = [r for r in org.records("Opportunity") if not r["IsDeleted"]]
    expected = {r["Id"] for r in rows if r["Loss_Reason__c"] != "Price"}
    got = sf.query_all("SELECT Id FROM Opportunity WHERE Loss_Reason__c != 'Price'")
    assert {r["Id"] for r in got["records"]} == expected
    assert any(rows_by_id["Loss_Reason__c"] is None for rows_by_id in rows if rows_by_id["Id"] in expected)


def test_pages_hold_2000_rows_but_200_with_two_long_text_fields(org, sf):
    total = sf.query("SELECT COUNT() FROM Task")["totalSize"]
    assert total > 2000
    plain = sf.query("SELECT Id, Subject, Description FROM Task")
    assert len(plain["records"]) == 2000 and plain["nextRecordsUrl"].endswith("-2000")
    wide = sf.query("SELECT Id, Description FROM Opportunity")
    assert len(wide["records"]) == wide["totalSize"]  # one long text field: no reduction below 2000
    two = sf.query("SELECT Id, Description, Loss_Reason_Detail__c FROM Opportunity")
    assert len(two["records"]) == 200 and two["done"] is False
    assert two["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert two["nextRecordsUrl"].endswith("-200")
    following = sf.query_more(two["nextRecordsUrl"], identifier_is_url=True)
    assert following["totalSize"] == two["totalSize"]
    assert not {r["Id"] for r in following["records"]} & {r["Id"] for r in two["records"]}
    everything = sf.query_all("SELECT Id, Description, Loss_Reason_Detail__c FROM Opportunity")
    assert len({r["Id"] for r in everything["records"]}) == two["totalSize"]


def test_batch_size_header_sets_the_page_size(sf):
    page = sf.query("SELECT Id FROM Task", headers={"Sforce-Query-Options": "batchSize=250"})
    assert len(page["records"]) == 250 and page["nextRecordsUrl"].endswith("-250")


def test_unknown_locator_is_invalid_query_locator(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query_more("/services/data/v59.0/query/01gRt0000000999AAA-2000", identifier_is_url=True)
    assert info.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_malformed_and_invalid_field_queries_answer_with_salesforce_errors(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Opportunity WHERE CloseDate = TODAY")
    assert info.value.status == 400 and info.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id, Nope__c FROM Opportunity")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope__c' on entity 'Opportunity'" in info.value.content[0]["message"]


def test_count_query_returns_total_and_no_records(org, sf):
    res = sf.query("SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Lost'")
    lost = [r for r in org.records("Opportunity") if r["StageName"] == "Closed Lost" and not r["IsDeleted"]]
    assert res["totalSize"] == len(lost) and res["records"] == [] and res["done"] is True


def test_content_document_link_needs_an_id_filter_without_query_all_files(org, sf):
    assert sf.query("SELECT Id FROM ContentDocumentLink")["totalSize"] > 0  # Retour's permission set grants it
    with org.fault("no-query-all-files"):
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query("SELECT Id FROM ContentDocumentLink")
    assert "ContentDocumentLink requires a filter" in info.value.content[0]["message"]
    opp = sf.query("SELECT LinkedEntityId FROM ContentDocumentLink WHERE LinkedEntityId IN ("
                   + ",".join(f"'{r['Id']}'" for r in sf.query("SELECT Id FROM Opportunity")["records"]) + ")")
    assert opp["totalSize"] > 0


def test_content_note_body_is_served_as_its_html(sf):
    note = sf.query("SELECT Id, Title, Content, TextPreview FROM ContentNote LIMIT 1")["records"][0]
    assert note["Content"] == f"/services/data/v59.0/sobjects/ContentNote/{note['Id']}/Content"
    body = sf.ContentNote.get_base64(note["Id"], "Content")
    assert body.decode("utf-8").startswith("<p>")


def test_describe_reports_fields_types_picklists_and_external_ids(sf):
    opp = sf.Opportunity.describe()
    assert opp["name"] == "Opportunity" and opp["keyPrefix"] == "006"
    fields = {f["name"]: f for f in opp["fields"]}
    assert fields["Loss_Reason__c"]["type"] == "picklist" and fields["Loss_Reason__c"]["custom"] is True
    assert {"Price", "Missing Feature"} <= {v["value"] for v in fields["Loss_Reason__c"]["picklistValues"]}
    assert fields["Loss_Reason_Detail__c"]["type"] == "textarea" and fields["Loss_Reason_Detail__c"]["length"] == 32000
    assert fields["Speaks_Basque__c"]["type"] == "boolean"
    assert fields["AccountId"]["referenceTo"] == ["Account"] and fields["AccountId"]["relationshipName"] == "Account"
    task = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert task["Retour_Key__c"]["externalId"] is True and task["Retour_Key__c"]["unique"] is True
    assert "SystemModstamp" not in {f["name"] for f in sf.ContentNote.describe()["fields"]}
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Opportunity", "Task", "Event", "Case", "ContentNote", "ContentDocumentLink", "Retour_Insight__c"} <= names


def test_describe_answers_labels_in_the_accept_language_asked_and_untranslated_ones_in_english(sf):
    def labels(accept: str | None) -> dict[str, str]:
        headers = {"Accept-Language": accept} if accept else {}
        return {f["name"]: f["label"] for f in sf.restful("sobjects/Opportunity/describe", headers=headers)["fields"]}

    org, french, english = labels(None), labels("fr-FR, fr;q=0.9"), labels("en-US")
    assert org["Speaks_Basque__c"] == english["Speaks_Basque__c"] == "Speaks Basque"
    assert french["Speaks_Basque__c"] == "Parle basque" and french["Loss_Reason__c"] == "Motif de perte"
    assert french["Amount"] == org["Amount"] == "Amount"  # no translation: the org's own label, as Salesforce does
    assert org == english


def test_describe_answers_picklist_value_labels_in_the_language_asked_and_keeps_the_values(sf):
    def values(accept: str) -> dict[str, dict[str, str]]:
        fields = sf.restful("sobjects/Opportunity/describe", headers={"Accept-Language": accept})["fields"]
        return {f["name"]: {v["value"]: v["label"] for v in f["picklistValues"]} for f in fields
                if f["name"] in ("StageName", "Loss_Reason__c", "Segment__c")}

    english, french = values("en-US"), values("fr-FR, fr;q=0.9")
    assert all(label == value for field in english.values() for value, label in field.items())
    assert french["StageName"]["Closed Lost"] == "Fermée/Perdue"
    assert french["StageName"]["Proposal/Price Quote"] == "Proposition/Devis"
    assert french["StageName"]["Qualification"] == "Qualification"
    assert french["Loss_Reason__c"]["Missing Feature"] == "Fonctionnalité manquante"
    assert french["Segment__c"] == english["Segment__c"]  # untranslated values: their one label
    assert {f: set(v) for f, v in french.items()} == {f: set(v) for f, v in english.items()}  # same API values


# --------------------------------------------------------------------------------------------- OAuth
def _token(org, data, auth=None):
    return http_session(org).post(f"{org.base_url}/services/oauth2/token", data=data, auth=auth, timeout=30)


def test_jwt_bearer_login_returns_a_working_session(org):
    resp = _token(org, {"grant_type": JWT_GRANT, "assertion": jwt_assertion(org)})
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["instance_url"] == org.base_url
    assert {"access_token", "id", "issued_at", "signature"} <= set(body)
    sf = Salesforce(session_id=body["access_token"], instance_url=body["instance_url"], session=http_session(org),
                    version="59.0")
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] > 25


def _other_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.mark.parametrize("kwargs, error", [
    ({"key": "other"}, "invalid_grant"),
    ({"audience": "https://login.salesforce.com"}, "invalid_grant"),
    ({"lifetime": -60}, "invalid_grant"),
    ({"issuer": "not-the-consumer-key"}, "invalid_client_id"),
    ({"subject": "someone@else.example"}, "invalid_grant"),
])
def test_jwt_bearer_login_refuses_bad_assertions(org, kwargs, error):
    if kwargs.get("key") == "other":
        kwargs = {"key": _other_key()}
    resp = _token(org, {"grant_type": JWT_GRANT, "assertion": jwt_assertion(org, **kwargs)})
    assert resp.status_code == 400
    assert resp.json()["error"] == error and resp.json()["error_description"]


def test_client_credentials_login_with_basic_auth_or_form(org):
    ok = _token(org, {"grant_type": "client_credentials"}, auth=(org.consumer_key, org.consumer_secret))
    assert ok.status_code == 200 and ok.json()["access_token"]
    form = _token(org, {"grant_type": "client_credentials", "client_id": org.consumer_key,
                        "client_secret": org.consumer_secret})
    assert form.status_code == 200
    bad = _token(org, {"grant_type": "client_credentials"}, auth=(org.consumer_key, "wrong"))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"


def test_unsupported_grant_is_refused(org):
    resp = _token(org, {"grant_type": "password", "username": "x", "password": "y"})
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


def test_missing_or_expired_session_gets_401_invalid_session_id(fresh_org, fresh_sf):
    raw = http_session(fresh_org).get(f"{fresh_org.base_url}/services/data/v59.0/limits", timeout=30)
    assert raw.status_code == 401
    assert raw.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert fresh_sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0
    fresh_org.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as info:
        fresh_sf.query("SELECT COUNT() FROM Account")
    assert info.value.status == 401 and info.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    assert salesforce(fresh_org).query("SELECT COUNT() FROM Account")["totalSize"] > 0  # a new login works


def test_sessions_expire_after_the_configured_lifetime(tmp_path):
    from connector.demo_org import DemoOrg
    from connector.demo_org.testing import shared_cache_dir
    import time
    with DemoOrg(tmp_path, scale=0.25, cache_dir=shared_cache_dir(), session_seconds=0.3) as short:
        sf = salesforce(short)
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0
        time.sleep(0.5)
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT COUNT() FROM Account")


# --------------------------------------------------------------------------------------------- limits
def test_every_api_call_is_counted_in_the_limit_header(fresh_org, fresh_sf):
    before = fresh_org.api_calls
    fresh_sf.query("SELECT Id FROM Account LIMIT 1")
    fresh_sf.query("SELECT Id FROM Account LIMIT 1")
    assert fresh_org.api_calls == before + 2
    assert fresh_sf.api_usage["api-usage"].used == before + 2
    assert fresh_sf.api_usage["api-usage"].total == fresh_org.api_limit
    limits = fresh_sf.limits()
    assert limits["DailyApiRequests"] == {"Max": fresh_org.api_limit, "Remaining": fresh_org.api_limit - before - 3}


def test_calls_beyond_the_daily_limit_get_403_request_limit_exceeded(fresh_org, fresh_sf):
    fresh_org.set_api_usage(fresh_org.api_limit - 1)
    assert fresh_sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0
    with pytest.raises(SalesforceRefusedRequest) as info:
        fresh_sf.query("SELECT COUNT() FROM Account")
    assert info.value.status == 403
    assert info.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert fresh_org.api_calls == fresh_org.api_limit
