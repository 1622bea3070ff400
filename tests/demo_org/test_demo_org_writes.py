"""Writes, deletes, hooks, fault injection and Bulk 2.0 queries against a fresh demo org over HTTPS."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
import requests
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest, SalesforceResourceNotFound

from connector.demo_org.testing import http_session

pytestmark = pytest.mark.demo_org


def _an_opportunity(sf) -> str:
    return sf.query("SELECT Id FROM Opportunity WHERE StageName = 'Closed Lost' LIMIT 1")["records"][0]["Id"]


def test_create_then_update_bumps_system_modstamp_and_last_modified(fresh_org, fresh_sf):
    opp = _an_opportunity(fresh_sf)
    created = fresh_sf.Task.create({"Subject": "Retour insight", "WhatId": opp, "Description": "Note"})
    assert created["success"] is True and created["errors"] == [] and created["id"].startswith("00T")
    first = fresh_sf.Task.get(created["id"])
    assert first["AccountId"]  # derived from the opportunity, as Salesforce does
    assert first["Status"] == "Not Started" and first["IsClosed"] is False
    time.sleep(0.01)
    assert fresh_sf.Task.update(created["id"], {"Status": "Completed"}) == 204
    second = fresh_sf.Task.get(created["id"])
    assert second["IsClosed"] is True
    assert second["SystemModstamp"] > first["SystemModstamp"]
    assert second["LastModifiedDate"] > first["LastModifiedDate"]


def test_update_hook_changes_the_row_seen_by_the_next_incremental_query(fresh_org, fresh_sf):
    opp = _an_opportunity(fresh_sf)
    latest = fresh_sf.query("SELECT SystemModstamp FROM Opportunity ORDER BY SystemModstamp DESC LIMIT 1")
    fresh_org.update("Opportunity", opp, Loss_Reason_Detail__c="Changed by the test")
    rows = fresh_sf.query_all(f"SELECT Id, Loss_Reason_Detail__c FROM Opportunity WHERE SystemModstamp > "
                              f"{latest['records'][0]['SystemModstamp']}")["records"]
    assert [(r["Id"], r["Loss_Reason_Detail__c"]) for r in rows] == [(opp, "Changed by the test")]


def test_soft_deleted_row_is_gone_from_query_but_in_query_all(fresh_org, fresh_sf):
    opp = _an_opportunity(fresh_sf)
    fresh_org.soft_delete("Opportunity", opp)
    q = f"SELECT Id, IsDeleted FROM Opportunity WHERE Id = '{opp}'"
    assert fresh_sf.query(q)["totalSize"] == 0
    rows = fresh_sf.query_all(q, include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(opp, True)]
    with pytest.raises(SalesforceResourceNotFound) as info:
        fresh_sf.Opportunity.get(opp)
    assert info.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_hard_deleted_row_is_purged_and_listed_by_get_deleted(fresh_org, fresh_sf):
    import datetime as dt
    task = fresh_sf.query("SELECT Id FROM Task LIMIT 1")["records"][0]["Id"]
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    fresh_org.hard_delete("Task", task)
    assert fresh_sf.query_all(f"SELECT Id FROM Task WHERE Id = '{task}'", include_deleted=True)["totalSize"] == 0
    deleted = fresh_sf.Task.deleted(start, dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2))
    assert [d["id"] for d in deleted["deletedRecords"]] == [task]
    assert deleted["deletedRecords"][0]["deletedDate"].endswith("+0000")
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)
    with pytest.raises(SalesforceMalformedRequest) as info:
        fresh_sf.Task.deleted(start - dt.timedelta(days=31), start)
    assert info.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_rest_delete_is_a_soft_delete(fresh_org, fresh_sf):
    case = fresh_sf.query("SELECT Id FROM Case LIMIT 1")["records"][0]["Id"]
    assert fresh_sf.Case.delete(case) == 204
    assert [r["IsDeleted"] for r in fresh_org.records("Case") if r["Id"] == case] == [True]


def test_upsert_by_external_id_creates_then_updates(fresh_org, fresh_sf):
    opp = _an_opportunity(fresh_sf)
    first = fresh_sf.Task.upsert("Retour_Key__c/push-1", {"Subject": "Insight", "WhatId": opp}, raw_response=True)
    assert first.status_code == 201
    body = first.json()
    assert body["created"] is True and body["success"] is True and body["errors"] == []
    again = fresh_sf.Task.upsert("Retour_Key__c/push-1", {"Subject": "Insight v2"}, raw_response=True)
    assert again.status_code == 200 and again.json() == {"id": body["id"], "success": True, "errors": [],
                                                          "created": False}
    rows = [r for r in fresh_org.records("Task") if r["Retour_Key__c"] == "push-1"]
    assert [(r["Id"], r["Subject"]) for r in rows] == [(body["id"], "Insight v2")]


@pytest.mark.parametrize("payload, code", [
    ({"Subject": "x", "Status": "Bogus"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
    ({"Subject": "x", "WhatId": "0067R000009999XQAQ"}, "INVALID_CROSS_REFERENCE_KEY"),
    ({"Subject": "x", "Nope__c": 1}, "INVALID_FIELD"),
    ({"Subject": "x", "IsClosed": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ({"Subject": "x" * 300}, "STRING_TOO_LONG"),
])
def test_invalid_writes_are_refused_with_salesforce_error_codes(fresh_sf, payload, code):
    with pytest.raises(SalesforceMalformedRequest) as info:
        fresh_sf.Task.create(payload)
    assert info.value.status == 400 and info.value.content[0]["errorCode"] == code


def test_required_field_missing_names_the_field(fresh_sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        fresh_sf.Opportunity.create({"Name": "No stage", "CloseDate": "2026-12-01"})
    err = info.value.content[0]
    assert err["errorCode"] == "REQUIRED_FIELD_MISSING" and err["fields"] == ["StageName"]


def _collection(sf, method, path, payload):
    return sf.restful(path, method=method, data=json.dumps(payload))


def test_composite_upsert_reports_mixed_success_per_record(fresh_org, fresh_sf):
    opp = _an_opportunity(fresh_sf)
    result = _collection(fresh_sf, "PATCH", "composite/sobjects/Task/Retour_Key__c", {"allOrNone": False, "records": [
        {"attributes": {"type": "Task"}, "Retour_Key__c": "a-1", "Subject": "ok", "WhatId": opp},
        {"attributes": {"type": "Task"}, "Retour_Key__c": "a-2", "Subject": "bad", "Priority": "Urgent!!"},
    ]})
    assert result[0]["success"] is True and result[0]["created"] is True and result[0]["id"].startswith("00T")
    assert result[1]["success"] is False
    assert result[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert result[1]["errors"][0]["fields"] == ["Priority"]
    keys = {r["Retour_Key__c"] for r in fresh_org.records("Task")}
    assert "a-1" in keys and "a-2" not in keys
    again = _collection(fresh_sf, "PATCH", "composite/sobjects/Task/Retour_Key__c", {"allOrNone": False, "records": [
        {"attributes": {"type": "Task"}, "Retour_Key__c": "a-1", "Subject": "ok again"}]})
    assert again == [{"id": result[0]["id"], "success": True, "errors": [], "created": False}]


def test_all_or_none_rolls_back_every_record_when_one_fails(fresh_org, fresh_sf):
    before = len(fresh_org.records("Task"))
    result = _collection(fresh_sf, "POST", "composite/sobjects", {"allOrNone": True, "records": [
        {"attributes": {"type": "Task"}, "Subject": "would be fine"},
        {"attributes": {"type": "Task"}, "Subject": "bad", "Status": "Nope"},
    ]})
    assert result[0] == {"success": False, "errors": [{
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
        "fields": []}]}
    assert result[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert len(fresh_org.records("Task")) == before


def test_composite_update_and_delete_collections(fresh_org, fresh_sf):
    ids = [r["Id"] for r in fresh_sf.query("SELECT Id FROM Case LIMIT 3")["records"]]
    upd = _collection(fresh_sf, "PATCH", "composite/sobjects", {"allOrNone": False, "records": [
        {"attributes": {"type": "Case"}, "Id": ids[0], "Status": "Escalated"},
        {"attributes": {"type": "Case"}, "Id": ids[1], "Status": "Exploded"}]})
    assert upd[0] == {"id": ids[0], "success": True, "errors": []}
    assert upd[1]["success"] is False and upd[1]["id"] == ids[1]
    deleted = fresh_sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids[1:]),
                                                                              "allOrNone": "false"})
    assert [d["success"] for d in deleted] == [True, True]
    gone = {r["Id"] for r in fresh_org.records("Case") if r["IsDeleted"]}
    assert set(ids[1:]) <= gone and ids[0] not in gone


def test_a_burst_of_writes_is_never_stamped_in_the_future(fresh_org, fresh_sf):
    """Every record written before a moment is seen by ``SystemModstamp <= that moment``: stamps follow the
    org's clock even when 200 records are written in a few milliseconds (they may share a stamp)."""
    opp = _an_opportunity(fresh_sf)
    records = [{"attributes": {"type": "Task"}, "Subject": f"Burst {i}", "WhatId": opp} for i in range(200)]
    results = fresh_sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
    assert all(r["success"] for r in results)
    after_ms = time.time_ns() // 1_000_000
    stamps = [r["SystemModstamp"] for r in fresh_org.records("Task") if (r["Subject"] or "").startswith("Burst ")]
    assert len(stamps) == 200
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(after_ms // 1000)) + f".{after_ms % 1000:03d}Z"
    seen = fresh_sf.query_all(f"SELECT Id FROM Task WHERE Subject LIKE 'Burst %' AND SystemModstamp <= {now}")
    assert seen["totalSize"] == 200, (max(stamps), now)


def test_collections_over_200_records_are_refused(fresh_sf):
    records = [{"attributes": {"type": "Task"}, "Subject": f"t{i}"} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as info:
        _collection(fresh_sf, "POST", "composite/sobjects", {"allOrNone": False, "records": records})
    assert info.value.status == 400


def test_insight_records_can_be_upserted_with_references(fresh_org, fresh_sf):
    opp = fresh_sf.query("SELECT Id, AccountId FROM Opportunity LIMIT 1")["records"][0]
    res = _collection(fresh_sf, "PATCH", "composite/sobjects/Retour_Insight__c/Retour_Key__c", {"allOrNone": False,
        "records": [{"attributes": {"type": "Retour_Insight__c"}, "Retour_Key__c": "theme-1-opp", "Name": "SSO",
                     "Theme__c": "SSO", "Decision_Status__c": "planned", "Insight__c": "Planned for Q1",
                     "Opportunity__c": opp["Id"], "Account__c": opp["AccountId"], "Status__c": "active",
                     "Theme_Url__c": "http://127.0.0.1:8080/themes/1"}]})
    assert res[0]["success"] is True and res[0]["id"].startswith("a0R")
    rows = fresh_sf.query("SELECT Id, Opportunity__r.Name, Decision_Status__c FROM Retour_Insight__c")["records"]
    assert rows[0]["Opportunity__r"]["Name"] and rows[0]["Decision_Status__c"] == "planned"


# --------------------------------------------------------------------------------------------- faults
def test_injected_fault_answers_once_then_the_org_recovers(fresh_org, fresh_sf):
    fresh_org.inject_fault("GET", r"/query", 503, times=1)
    with pytest.raises(SalesforceGeneralError) as info:
        fresh_sf.query("SELECT Id FROM Account LIMIT 1")
    assert info.value.status == 503
    assert fresh_sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1


def test_unable_to_lock_row_fault_does_not_apply_the_write(fresh_org, fresh_sf):
    body = [{"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}]
    fresh_org.inject_fault("POST", r"/sobjects/Task", 400, body)
    with pytest.raises(SalesforceMalformedRequest) as info:
        fresh_sf.Task.create({"Subject": "locked"})
    assert info.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert not [r for r in fresh_org.records("Task") if r["Subject"] == "locked"]


def test_dropped_response_applies_the_write_but_the_client_sees_a_broken_connection(fresh_org, fresh_sf):
    opp = _an_opportunity(fresh_sf)
    fresh_org.inject_fault("PATCH", r"composite/sobjects/Task/Retour_Key__c", 0, drop_response=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        _collection(fresh_sf, "PATCH", "composite/sobjects/Task/Retour_Key__c", {"allOrNone": False, "records": [
            {"attributes": {"type": "Task"}, "Retour_Key__c": "lost-1", "Subject": "applied", "WhatId": opp}]})
    assert [r["Subject"] for r in fresh_org.records("Task") if r["Retour_Key__c"] == "lost-1"] == ["applied"]
    retry = _collection(fresh_sf, "PATCH", "composite/sobjects/Task/Retour_Key__c", {"allOrNone": False, "records": [
        {"attributes": {"type": "Task"}, "Retour_Key__c": "lost-1", "Subject": "applied", "WhatId": opp}]})
    assert retry[0]["created"] is False  # the retry finds the record the lost response had created


# --------------------------------------------------------------------------------------------- Bulk 2.0
def test_bulk2_query_pages_csv_with_locators(org, sf):
    pages = list(sf.bulk2.Opportunity.query("SELECT Id, Name, Account.Name, Amount, IsWon, SystemModstamp "
                                            "FROM Opportunity", max_records=300, wait=0))
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(page))]
    live = [r for r in org.records("Opportunity") if not r["IsDeleted"]]
    assert len(pages) == -(-len(live) // 300)
    assert len(rows) == len(live) == len({r["Id"] for r in rows})
    assert set(rows[0]) == {"Id", "Name", "Account.Name", "Amount", "IsWon", "SystemModstamp"}
    assert rows[0]["IsWon"] in ("true", "false") and rows[0]["SystemModstamp"].endswith("Z")


def test_bulk2_query_all_includes_deleted_rows_and_reports_job_state(fresh_org, fresh_sf):
    session = http_session(fresh_org)
    session.headers["Authorization"] = f"Bearer {fresh_sf.session_id}"
    base = f"{fresh_org.base_url}/services/data/v59.0/jobs/query"
    task = fresh_sf.query("SELECT Id FROM Task LIMIT 1")["records"][0]["Id"]
    fresh_org.soft_delete("Task", task)
    job = session.post(base, json={"operation": "queryAll", "query": f"SELECT Id, IsDeleted FROM Task WHERE Id = '{task}'"})
    assert job.status_code == 200 and job.json()["state"] == "UploadComplete"
    info = session.get(f"{base}/{job.json()['id']}").json()
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 1
    res = session.get(f"{base}/{job.json()['id']}/results", params={"maxRecords": 10})
    assert res.headers["Sforce-NumberOfRecords"] == "1" and res.headers["Sforce-Locator"] == "null"
    assert res.text == f'"Id","IsDeleted"\n"{task}","true"\n'
    bad = session.post(base, json={"operation": "query", "query": "SELECT Nope FROM Task"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_fault_on_the_token_endpoint_fails_one_login(fresh_org):
    from connector.demo_org.testing import JWT_GRANT, jwt_assertion
    fresh_org.inject_fault("POST", r"/services/oauth2/token$", 502, "<html>Bad gateway</html>")
    session = http_session(fresh_org)
    data = {"grant_type": JWT_GRANT, "assertion": jwt_assertion(fresh_org)}
    first = session.post(f"{fresh_org.base_url}/services/oauth2/token", data=data, timeout=30)
    assert first.status_code == 502 and first.text == "<html>Bad gateway</html>"
    assert session.post(f"{fresh_org.base_url}/services/oauth2/token", data=data, timeout=30).status_code == 200


def test_query_cursor_survives_between_pages_while_rows_are_purged(fresh_org, fresh_sf):
    first = fresh_sf.query("SELECT Id FROM Task ORDER BY Id", headers={"Sforce-Query-Options": "batchSize=200"})
    later = fresh_sf.query_all("SELECT Id FROM Task ORDER BY Id")["records"][200]["Id"]
    fresh_org.hard_delete("Task", later)
    second = fresh_sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    ids = [r["Id"] for r in second["records"]]
    assert later not in ids and len(ids) == 199  # the purged row is skipped, nothing else moves


def test_concurrent_clients_get_consistent_answers(org):
    from concurrent.futures import ThreadPoolExecutor

    from connector.demo_org.testing import salesforce

    def read(_):
        sf = salesforce(org)
        return sorted(r["Id"] for r in sf.query_all("SELECT Id FROM Task WHERE IsClosed = true")["records"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(read, range(4)))
    assert results[0] and all(r == results[0] for r in results)


def test_a_lone_surrogate_in_a_written_field_is_stored_as_a_replacement_not_a_server_error(fresh_org, fresh_sf):
    """A JSON request can carry a lone UTF-16 surrogate (a \\udXXX escape); the demo org answered 500."""
    opp = _an_opportunity(fresh_sf)
    created = fresh_sf.Task.create({"Subject": "Call", "WhatId": opp, "Description": "broken \ud83d emoji"})
    assert created["success"] is True
    back = fresh_sf.Task.get(created["id"])
    assert back["Description"] == "broken \ufffd emoji"
    assert fresh_sf.Task.update(created["id"], {"Subject": "again \udfff"}) == 204
    assert fresh_sf.Task.get(created["id"])["Subject"] == "again \ufffd"
