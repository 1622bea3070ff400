"""run_sync at the wire (responses): paging, bookmarks, budget stops, mapping checks, Bulk 2.0 CSV paging."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry
from sqlalchemy import func, select

from connector.client import OrgClient
from connector.sync import run_start_after, run_sync, start_run
from retour.models import FeedbackItem, FeedbackSegment, JobRun, Opportunity, SyncState

from tests.connector_helpers import (
    BASE, INSTANCE, LIMIT, OPPORTUNITY_FIELDS, Sleeps, describe_body, error, fixture, wipe,
)

MAPPING = {"loss_reason": "Loss_Reason__c", "loss_detail": "Loss_Reason_Detail__c", "competitor": "Competitor__c",
           "region": "Region__c", "segment": "Segment__c", "extra": "speaks_basque=Speaks_Basque__c:boolean"}
DESCRIBE = f"{BASE}/sobjects/Opportunity/describe"
QUERY = f"{BASE}/queryAll/"
PAGE2 = f"{BASE}/queryAll/01gRO0000016PIAYA2-2"


@pytest.fixture
def session_factory(engine):
    """Real commits (the sync commits page by page), wiped after each test."""
    from sqlalchemy.orm import sessionmaker
    wipe(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    wipe(engine)


@pytest.fixture
def session(session_factory):
    with session_factory() as s:
        yield s


@pytest.fixture
def settings(make_settings):
    return make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                          "mapping": MAPPING, "sync": {"objects": ["Opportunity"], "max_retries": 2}})


def _describes(rsps, body: dict | None = None) -> None:
    """What a sync reads when it re-reads Opportunity's describe: the org's, asked in English, then the labels of
    the [mapping.extra] field in French (asked with Accept-Language), in that order."""
    body = body or describe_body("Opportunity", OPPORTUNITY_FIELDS)
    for accept in ("en-US", "fr"):
        rsps.get(DESCRIBE, json=body, headers=LIMIT, match=[matchers.header_matcher({"Accept-Language": accept})])


def _soql(call) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(call.request.url).query)["q"][0]


def test_first_sync_pages_through_next_records_url_and_builds_feedback(session_factory, settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _describes(rsps)
        rsps.get(QUERY, json=fixture("opportunity_page1.json"), headers=LIMIT)
        rsps.get(PAGE2, json=fixture("opportunity_page2.json"), headers=LIMIT)
        client = OrgClient(settings, sleep=Sleeps())
        report = run_sync(session_factory, settings, client)
        soql = _soql(rsps.calls[2])
    assert report["status"] == "ok"
    assert report["objects"]["Opportunity"] | {} and report["objects"]["Opportunity"]["fetched"] == 3
    assert report["objects"]["Opportunity"]["api_calls"] == 4  # the describe (in English), its labels in French, two pages
    assert "Description" not in soql.split("FROM")[0]  # one long-text field only: 2,000-record pages
    assert "ORDER BY SystemModstamp ASC, Id ASC" in soql and "SystemModstamp < " in soql
    with session_factory() as s:
        opp = s.get(Opportunity, "006Hs00001ABCdGIAX")
        assert opp.loss_reason == "Missing feature" and opp.attributes == {"speaks_basque": False}
        assert str(opp.amount) == "12000.50" and opp.close_date == dt.date(2024, 7, 2)
        items = {i.source_id: i for i in s.scalars(select(FeedbackItem))}
        assert set(items) == {"006Hs00001ABCdEIAX", "006Hs00001ABCdGIAX"}  # closed lost only
        fr = items["006Hs00001ABCdGIAX"]
        assert fr.text == "Missing feature. Pas d'export SAP, le client a choisi un concurrent."
        assert (fr.lang, fr.channel, fr.source_field, fr.account_id) == ("fr", "loss_reason", "loss_reason", "001Hs00002QwErTIAZ")
        assert items["006Hs00001ABCdEIAX"].lang == "en"
        state = s.get(SyncState, "Opportunity")
        assert state.watermark is not None and state.last_full_at == state.watermark
        assert state.details["labels"]["Speaks_Basque__c"] == "Speaks Basque"  # the board names the filter by it
        job = s.get(JobRun, report["job_run_id"])
        assert job.status == "ok" and job.api_calls == 4 and job.figures["objects"]["Opportunity"]["upserted"] == 3


def test_request_limit_exceeded_stops_resumably_with_bookmark_of_the_committed_page(session_factory, settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _describes(rsps)
        rsps.get(QUERY, json=fixture("opportunity_page1.json"), headers=LIMIT)
        rsps.get(PAGE2, status=403, json=error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
        client = OrgClient(settings, sleep=Sleeps())
        report = run_sync(session_factory, settings, client)
    assert report["status"] == "stopped" and "REQUEST_LIMIT_EXCEEDED" in report["error"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Opportunity)) == 2
        state = s.get(SyncState, "Opportunity")
        assert state.watermark == dt.datetime(2024, 7, 1, 9, 15, 2, tzinfo=dt.timezone.utc)
        assert s.get(JobRun, report["job_run_id"]).status == "stopped"
    # The next run resumes from the bookmark minus the look-back; the interrupted first sync is reconciled by Id.
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _describes(rsps)
        rsps.get(QUERY, json=fixture("opportunity_page2.json"), headers=LIMIT)
        # (the bookmark is older than getDeleted's 30 days, so deletions are found by comparing Ids)
        rsps.get(f"{BASE}/query/", json={"totalSize": 3, "done": True, "records": [
            {"attributes": {"type": "Opportunity"}, "Id": i} for i in
            ("006Hs00001ABCdEIAX", "006Hs00001ABCdFIAX", "006Hs00001ABCdGIAX")]}, headers=LIMIT)
        report = run_sync(session_factory, settings, client)
        soql = _soql(rsps.calls[2])
    assert report["status"] == "ok"
    assert "SystemModstamp >= 2024-07-01T09:10:02.000Z" in soql  # 300 s look-back
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Opportunity)) == 3


def test_budget_share_stops_the_run_cleanly(session_factory, settings):
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(DESCRIBE, json=describe_body("Opportunity", OPPORTUNITY_FIELDS), headers=LIMIT)
        rsps.get(QUERY, json=fixture("opportunity_page1.json"), headers={"Sforce-Limit-Info": "api-usage=3100/15000"})
        client = OrgClient(settings, sleep=Sleeps())
        report = run_sync(session_factory, settings, client)
    assert report["status"] == "stopped" and "api_budget_share" in report["error"]
    assert report["objects"]["Opportunity"]["upserted"] == 2


def test_missing_or_mistyped_mapped_field_stops_the_run_naming_closest_fields(session_factory, make_settings):
    settings = make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                              "mapping": {**MAPPING, "loss_reason": "Loss_Reasn__c",
                                          "extra": "speaks_basque=Region__c:boolean"},
                              "sync": {"objects": ["Opportunity"]}})
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(DESCRIBE, json=describe_body("Opportunity", OPPORTUNITY_FIELDS), headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert report["status"] == "failed"
    assert "Opportunity.Loss_Reasn__c ([mapping] loss_reason) does not exist" in report["error"]
    assert "Closest fields: Loss_Reason__c" in report["error"]
    assert "Opportunity.Region__c ([mapping.extra] speaks_basque) is a picklist field" in report["error"]


def test_invalid_field_mid_run_is_fatal_and_explained_by_a_fresh_describe(session_factory, settings):
    fields = {k: v for k, v in OPPORTUNITY_FIELDS.items() if k != "Competitor__c"}
    body = error("INVALID_FIELD", "No such column 'Competitor__c' on entity 'Opportunity'.")
    with session_factory() as s:  # a cached describe from an earlier run
        from connector.streams import OpportunityStream
        from connector.sync import _mapping_signature
        stream = OpportunityStream(settings)
        s.add(SyncState(object_name="Opportunity", watermark=dt.datetime(2024, 7, 1, tzinfo=dt.timezone.utc),
                        last_reconcile_at=dt.datetime.now(dt.timezone.utc),
                        details={"available": stream.wanted_fields(), "signature": _mapping_signature(stream)}))
        s.commit()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, status=400, json=body)
        rsps.get(DESCRIBE, json=describe_body("Opportunity", fields), headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert report["status"] == "failed" and "Competitor__c ([mapping] competitor) does not exist" in report["error"]


CSV_1 = ('"Id","Name","AccountId","OwnerId","StageName","IsClosed","IsWon","Amount","CloseDate","CreatedDate",'
         '"IsDeleted","CurrencyIsoCode","SystemModstamp","Loss_Reason__c","Loss_Reason_Detail__c","Competitor__c",'
         '"Region__c","Segment__c","Speaks_Basque__c"\n'
         '"006Hs00001ABCdEIAX","Acme","001Hs00002QwErTIAZ","005Hs000001XyZaIAK","Closed Lost","true","false","48000",'
         '"2024-06-30","2024-05-01T08:00:00.000Z","false","EUR","2024-07-01T09:15:02.000Z","Price",'
         '"Too expensive,\nsaid the CFO ""twice""","","EMEA","SMB","true"\n')
CSV_2 = ('"Id","Name","AccountId","OwnerId","StageName","IsClosed","IsWon","Amount","CloseDate","CreatedDate",'
         '"IsDeleted","CurrencyIsoCode","SystemModstamp","Loss_Reason__c","Loss_Reason_Detail__c","Competitor__c",'
         '"Region__c","Segment__c","Speaks_Basque__c"\n'
         '"006Hs00001ABCdFIAX","Initech","","","Prospecting","false","false","","2024-09-30",'
         '"2024-05-02T08:00:00.000Z","false","EUR","2024-07-02T09:15:02.000Z","","","","NA","","false"\n'
         '"006Hs00001ABCdGIAX","Gone","","","Closed Lost","true","false","","2024-09-30",'
         '"2024-05-02T08:00:00.000Z","true","EUR","2024-07-03T09:15:02.000Z","Price","","","NA","","false"\n')


def test_bulk_query_streams_csv_pages_following_sforce_locator(session_factory, make_settings):
    settings = make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                              "mapping": MAPPING, "sync": {"objects": ["Opportunity"], "bulk_threshold": 2}})
    with session_factory() as s:
        s.add(Opportunity(id="006Hs00001ABCdGIAX", name="to be soft-deleted"))
        s.commit()
    results = f"{BASE}/jobs/query/750Hs00000ABCdEIAX/results"
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _describes(rsps)
        rsps.get(QUERY, json=fixture("opportunity_page1.json"), headers=LIMIT)  # totalSize 3 > threshold 2
        rsps.post(f"{BASE}/jobs/query", json={"id": "750Hs00000ABCdEIAX", "operation": "queryAll", "object": "Opportunity",
                                              "state": "UploadComplete", "contentType": "CSV", "apiVersion": 59.0},
                  headers=LIMIT)
        rsps.get(f"{BASE}/jobs/query/750Hs00000ABCdEIAX", json={"id": "750Hs00000ABCdEIAX", "state": "InProgress"},
                 headers=LIMIT)
        rsps.get(f"{BASE}/jobs/query/750Hs00000ABCdEIAX", json={"id": "750Hs00000ABCdEIAX", "state": "JobComplete",
                                                                 "numberRecordsProcessed": 3}, headers=LIMIT)
        rsps.get(results, body=CSV_1, content_type="text/csv",
                 headers={"Sforce-Locator": "MQ", "Sforce-NumberOfRecords": "1", **LIMIT})
        rsps.get(results, body=CSV_2, content_type="text/csv",
                 headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "2", "Sforce-Limit-Info": "api-usage=40/15000"})
        client = OrgClient(settings, sleep=Sleeps())
        report = run_sync(session_factory, settings, client)
        locators = [urllib.parse.parse_qs(urllib.parse.urlsplit(c.request.url).query).get("locator")
                    for c in rsps.calls if "/results" in c.request.url]
        job_body = rsps.calls[3].request.body
    assert report["status"] == "ok", report["error"]
    fig = report["objects"]["Opportunity"]
    assert (fig["api"], fig["fetched"], fig["upserted"], fig["deleted"], fig["api_calls"]) == ("bulk", 3, 2, 1, 8)
    assert locators == [None, ["MQ"]] and '"queryAll"' in str(job_body)
    assert client.api_usage == (40, 15000)
    with session_factory() as s:
        assert s.get(Opportunity, "006Hs00001ABCdGIAX") is None
        acme = s.get(Opportunity, "006Hs00001ABCdEIAX")
        assert acme.is_closed and acme.attributes == {"speaks_basque": True} and acme.competitor is None
        item = s.scalars(select(FeedbackItem)).one()
        assert item.text == 'Price. Too expensive,\nsaid the CFO "twice"'


def test_changed_text_updates_the_item_and_drops_its_segments_unchanged_text_writes_nothing(session):
    from connector.feedback import apply_feedback, specs_for
    row = {"id": "006Hs00001ABCdEIAX", "is_closed": True, "is_won": False, "loss_reason": "Price",
           "loss_detail": "Too expensive for them.", "account_id": "001Hs00002QwErTIAZ", "owner_id": None,
           "close_date": dt.date(2024, 6, 30), "created_date": None, "system_modstamp": None}
    apply_feedback(session, "Opportunity", [row["id"]], specs_for("Opportunity", row))
    item = session.scalars(select(FeedbackItem)).one()
    session.add(FeedbackSegment(item_id=item.id, position=0, text="Too expensive"))
    session.flush()
    again = apply_feedback(session, "Opportunity", [row["id"]], specs_for("Opportunity", row))
    assert again["unchanged"] == 1 and session.scalar(select(func.count()).select_from(FeedbackSegment)) == 1
    old_hash = item.text_hash
    row["loss_detail"] = "Trop cher pour eux, ils ont choisi Globex."
    changed = apply_feedback(session, "Opportunity", [row["id"]], specs_for("Opportunity", row))
    session.expire_all()
    item = session.scalars(select(FeedbackItem)).one()
    assert changed["updated"] == 1 and item.text_hash != old_hash and item.lang == "fr"
    assert session.scalar(select(func.count()).select_from(FeedbackSegment)) == 0
    row["is_won"], row["stage"] = True, "Closed Won"  # reopened and won: no loss reason any more
    gone = apply_feedback(session, "Opportunity", [row["id"]], specs_for("Opportunity", row))
    assert gone["deleted"] == 1 and session.scalar(select(func.count()).select_from(FeedbackItem)) == 0


def test_task_linked_to_opportunity_account_or_case_points_back_to_its_records():
    from connector.feedback import specs_for
    base = {"description": "Call notes", "owner_id": "005x", "activity_date": None, "created_date": None,
            "system_modstamp": None, "retour_key": None}
    on_opp = specs_for("Task", {**base, "id": "00T1", "what_id": "006Hs00001ABCdEIAX", "account_id": "001A"})[0]
    on_acc = specs_for("Task", {**base, "id": "00T2", "what_id": "001Hs00002QwErTIAZ", "account_id": None})[0]
    on_case = specs_for("Task", {**base, "id": "00T3", "what_id": "500Hs00000AbCdEIAX", "account_id": "001B"})[0]
    ours = specs_for("Task", {**base, "id": "00T4", "what_id": "006x", "account_id": None, "retour_key": "r-1"})
    assert (on_opp.opportunity_id, on_opp.account_id, on_opp.channel) == ("006Hs00001ABCdEIAX", "001A", "note")
    assert (on_acc.opportunity_id, on_acc.account_id) == (None, "001Hs00002QwErTIAZ")
    assert (on_case.opportunity_id, on_case.account_id, on_case.source_object) == (None, "001B", "Task")
    assert ours == []  # Retour's own pushed tasks are not feedback


def test_hard_deleted_ids_from_get_deleted_disappear_with_their_feedback(session_factory, settings):
    now = dt.datetime.now(dt.timezone.utc)
    with session_factory() as s:
        from connector.streams import OpportunityStream
        from connector.sync import _mapping_signature
        stream = OpportunityStream(settings)
        s.add(SyncState(object_name="Opportunity", watermark=now - dt.timedelta(hours=1), last_reconcile_at=now,
                        details={"available": stream.wanted_fields(), "signature": _mapping_signature(stream),
                                 "deleted_checked_at": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}))
        s.add(Opportunity(id="006Hs00001ABCdEIAX", name="purged"))
        s.add(FeedbackItem(source_object="Opportunity", source_id="006Hs00001ABCdEIAX", source_field="loss_reason",
                           channel="loss_reason", text="Price", text_hash="x", occurred_at=now))
        s.commit()
    covered = (now - dt.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:00.000+0000")
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json={"totalSize": 0, "done": True, "records": []}, headers=LIMIT)
        rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", headers=LIMIT, json={
            "deletedRecords": [{"id": "006Hs00001ABCdEIAX", "deletedDate": covered}],
            "earliestDateAvailable": "2026-10-01T00:00:00.000+0000", "latestDateCovered": covered})
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(rsps.calls[1].request.url).query)
    assert report["objects"]["Opportunity"]["deleted"] == 1 and report["objects"]["Opportunity"]["api_calls"] == 2
    assert params["start"][0].endswith("Z") and params["end"][0].endswith("Z")
    with session_factory() as s:
        assert s.get(Opportunity, "006Hs00001ABCdEIAX") is None
        assert s.scalar(select(func.count()).select_from(FeedbackItem)) == 0
        assert s.get(SyncState, "Opportunity").details["deleted_checked_at"] == covered[:19] + "Z"


def test_run_start_bound_covers_every_stamp_of_the_starting_millisecond():
    """``key < run_start`` must include an edit stamped in the millisecond the run starts in (stamps are floored
    to the millisecond), and writes after the run starts must stamp at or above it (they go to the next run)."""
    at = dt.datetime(2026, 11, 23, 2, 38, 45, 325_000, tzinfo=dt.timezone.utc)
    assert run_start_after(at) == at + dt.timedelta(milliseconds=1)
    assert run_start_after(at + dt.timedelta(microseconds=999)) == at + dt.timedelta(milliseconds=1)
    before = dt.datetime.now(dt.timezone.utc)
    start = start_run()
    assert before < start <= dt.datetime.now(dt.timezone.utc)
    assert start.microsecond % 1000 == 0


def _one_page(records: list[dict]) -> dict:
    return {"totalSize": len(records), "done": True, "records": records}


def _opps() -> list[dict]:
    page = fixture("opportunity_page1.json")["records"] + fixture("opportunity_page2.json")["records"]
    return [dict(r) for r in page]


def _sync(session_factory, settings, records: list[dict]) -> dict:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(DESCRIBE, json=describe_body("Opportunity", OPPORTUNITY_FIELDS), headers=LIMIT)
        rsps.get(QUERY, json=_one_page(records), headers=LIMIT)
        return run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))


def test_text_no_database_can_store_is_replaced_at_ingest_and_counted(session_factory, settings):
    records = _opps()
    records[0]["Name"] = "Acme\x00 renewal"
    records[2]["Loss_Reason_Detail__c"] = "No SSO \ud83d and no SAML"  # a lone surrogate, as JSON's \\udXXX carries it
    report = _sync(session_factory, settings, records)
    assert report["status"] == "ok"
    figures = report["objects"]["Opportunity"]
    assert figures["replaced"] == 2 and figures["set_aside"] == 0 and figures["upserted"] == 3
    with session_factory() as s:
        assert s.get(Opportunity, records[0]["Id"]).name == "Acme\ufffd renewal"
        item = s.scalars(select(FeedbackItem).where(FeedbackItem.source_id == records[2]["Id"])).one()
        assert "\ufffd" in item.text and "\ud83d" not in item.text


def test_a_record_that_cannot_be_mapped_is_set_aside_and_the_rest_of_the_sync_goes_on(session_factory, settings):
    from retour.models import SetAside

    records = _opps()
    records[1]["CloseDate"] = "the 31st of never"
    report = _sync(session_factory, settings, records)
    assert report["status"] == "ok"
    figures = report["objects"]["Opportunity"]
    assert figures["set_aside"] == 1 and figures["upserted"] == 2
    with session_factory() as s:
        aside = s.scalars(select(SetAside)).one()
        assert (aside.object_name, aside.record_id, aside.times) == ("Opportunity", records[1]["Id"], 1)
        assert "cannot be mapped" in aside.reason and aside.record["CloseDate"] == "the 31st of never"
        assert s.get(Opportunity, records[0]["Id"]) is not None and s.get(Opportunity, records[1]["Id"]) is None
    # Fixed in Salesforce, the next run stores it and it is no longer set aside.
    records[1]["CloseDate"] = "2024-06-30"
    records[1]["SystemModstamp"] = "2024-07-03T10:00:00.000+0000"
    _sync(session_factory, settings, records)
    with session_factory() as s:
        assert s.scalars(select(SetAside)).all() == [] and s.get(Opportunity, records[1]["Id"]) is not None


def test_a_record_the_database_refuses_is_set_aside_and_the_page_is_stored(session_factory, settings, engine):
    from retour.models import SetAside

    records = _opps()
    # Each database refuses something else: PostgreSQL a number past NUMERIC(18, 2), SQLite's driver a signalling NaN.
    records[0]["Amount"] = 1e30 if engine.dialect.name == "postgresql" else "sNaN"
    report = _sync(session_factory, settings, records)
    assert report["status"] == "ok"
    figures = report["objects"]["Opportunity"]
    assert figures["set_aside"] == 1 and figures["upserted"] == 2
    with session_factory() as s:
        aside = s.scalars(select(SetAside)).one()
        assert aside.record_id == records[0]["Id"] and "refused by the database" in aside.reason, aside.reason
        assert s.get(Opportunity, records[1]["Id"]) is not None


# ------------------------------------------------------------------------------------------ issue 19.1, 19.5
ACCOUNT_QUERY = QUERY  # every pull goes through queryAll; the registry answers them in order
RECONCILE = f"{BASE}/query/"  # SELECT Id FROM X (query, not queryAll: deleted rows must not count)


def _iso(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sf_datetime(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _bookmarked(s, settings, name: str, since: dt.datetime) -> None:
    """A SyncState as an earlier incremental run left it: describe cached, reconcile not due, getDeleted at
    ``since``."""
    from connector.streams import STREAMS
    from connector.sync import _mapping_signature
    stream = STREAMS[name](settings)
    s.add(SyncState(object_name=name, watermark=since, last_reconcile_at=dt.datetime.now(dt.timezone.utc),
                    details={"available": stream.wanted_fields(), "signature": _mapping_signature(stream),
                             "deleted_checked_at": _iso(since)}))


@pytest.fixture
def two_objects(make_settings):
    return make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                          "mapping": MAPPING, "sync": {"objects": ["Account", "Opportunity"], "max_retries": 1}})


def _account(record_id: str, stamp: dt.datetime) -> dict:
    return {"attributes": {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{record_id}"},
            "Id": record_id, "Name": "Globex", "OwnerId": "005Hs000001XyZaIAK", "Industry": "Energy",
            "BillingCountry": "France", "CreatedDate": "2024-05-01T08:00:00.000+0000", "IsDeleted": False,
            "SystemModstamp": _sf_datetime(stamp)}


def test_get_deleted_past_the_delete_log_compares_ids_instead_and_every_object_still_syncs(session_factory,
                                                                                            two_objects):
    """Issue 19.1: a bookmark 20 days old. Salesforce answers getDeleted with INVALID_REPLICATION_DATE: the object's
    deletions are found by comparing Ids, the report says so, and the next object syncs. The run is ok, and the
    next getDeleted starts from this run, not 20 days back again."""
    now = dt.datetime.now(dt.timezone.utc)
    old = now - dt.timedelta(days=20)
    with session_factory() as s:
        _bookmarked(s, two_objects, "Account", old)
        _bookmarked(s, two_objects, "Opportunity", old)
        s.add(Opportunity(id="006Hs00001ABCdEIAX", name="still there"))
        s.add(Opportunity(id="006Hs00001ABCdFIAX", name="purged long ago"))
        s.commit()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(ACCOUNT_QUERY, json=_one_page([_account("001Hs00002QwErTIAZ", now - dt.timedelta(hours=2))]),
                 headers=LIMIT)
        rsps.get(f"{BASE}/sobjects/Account/deleted/", status=400, json=error(
            "INVALID_REPLICATION_DATE", "startDate cannot be before the earliest date available"))
        rsps.get(RECONCILE, json=_one_page([{"attributes": {"type": "Account"}, "Id": "001Hs00002QwErTIAZ"}]),
                 headers=LIMIT)
        rsps.get(QUERY, json=_one_page([]), headers=LIMIT)
        rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", status=400, json=error(
            "INVALID_REPLICATION_DATE", "startDate cannot be before the earliest date available"))
        rsps.get(RECONCILE, json=_one_page([{"attributes": {"type": "Opportunity"}, "Id": "006Hs00001ABCdEIAX"}]),
                 headers=LIMIT)
        report = run_sync(session_factory, two_objects, OrgClient(two_objects, sleep=Sleeps()))
        reconcile_soql = _soql(rsps.calls[5])
    assert report["status"] == "ok", report["error"]
    opp = report["objects"]["Opportunity"]
    assert opp["status"] == "ok" and opp["deleted"] == 1 and opp["api_calls"] == 3
    assert any("INVALID_REPLICATION_DATE" in n and "comparing every Opportunity Id" in n for n in opp["notes"])
    assert report["objects"]["Account"]["status"] == "ok" and report["objects"]["Account"]["upserted"] == 1
    assert reconcile_soql == "SELECT Id FROM Opportunity"
    with session_factory() as s:
        assert s.get(Opportunity, "006Hs00001ABCdFIAX") is None and s.get(Opportunity, "006Hs00001ABCdEIAX")
        state = s.get(SyncState, "Opportunity")
        checked = dt.datetime.strptime(state.details["deleted_checked_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.timezone.utc)
        assert checked > now - dt.timedelta(minutes=1) and "full_pending" not in state.details
        assert state.watermark > now - dt.timedelta(minutes=1)


def test_earliest_date_available_after_the_bookmark_means_deletions_were_purged_so_ids_are_compared(
        session_factory, settings):
    """Issue 19.1: getDeleted answers, but its delete log begins after the window's start (a purge under load): the
    deletions before it are lost, so every Id is compared this run."""
    now = dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(days=3)
    purged_at = now - dt.timedelta(days=1)
    with session_factory() as s:
        _bookmarked(s, settings, "Opportunity", since)
        s.add(Opportunity(id="006Hs00001ABCdFIAX", name="deleted before the purge"))
        s.commit()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json=_one_page([]), headers=LIMIT)
        rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", headers=LIMIT, json={
            "deletedRecords": [], "earliestDateAvailable": _sf_datetime(purged_at),
            "latestDateCovered": _sf_datetime(now - dt.timedelta(minutes=1))})
        rsps.get(RECONCILE, json=_one_page([]), headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    fig = report["objects"]["Opportunity"]
    assert report["status"] == "ok" and fig["deleted"] == 1
    assert any("earliestDateAvailable" in n for n in fig["notes"])
    with session_factory() as s:
        assert s.get(Opportunity, "006Hs00001ABCdFIAX") is None


def test_one_object_failing_does_not_stop_the_others_and_keeps_its_bookmark(session_factory, two_objects):
    """Issue 19.1: Account is refused (a permission); Opportunity still syncs. The run is partial, the report says
    which object failed and why, and the failed object's bookmark does not move."""
    now = dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(hours=1)
    with session_factory() as s:
        _bookmarked(s, two_objects, "Account", since)
        _bookmarked(s, two_objects, "Opportunity", since)
        s.commit()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(ACCOUNT_QUERY, status=403,
                 json=error("INSUFFICIENT_ACCESS", "insufficient access rights on object id"))
        rsps.get(QUERY, json=fixture("opportunity_page2.json"), headers=LIMIT)
        rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", headers=LIMIT, json={
            "deletedRecords": [], "earliestDateAvailable": _sf_datetime(now - dt.timedelta(days=15)),
            "latestDateCovered": _sf_datetime(now - dt.timedelta(minutes=1))})
        report = run_sync(session_factory, two_objects, OrgClient(two_objects, sleep=Sleeps()))
    assert report["status"] == "partial"
    assert report["objects"]["Account"]["status"] == "failed" and report["objects"]["Account"]["api_calls"] == 1
    assert "INSUFFICIENT_ACCESS" in report["objects"]["Account"]["error"]
    assert report["error"].startswith("Account: ") and "INSUFFICIENT_ACCESS" in report["error"]
    assert report["objects"]["Opportunity"]["status"] == "ok" and report["objects"]["Opportunity"]["upserted"] == 1
    with session_factory() as s:
        assert s.get(SyncState, "Account").watermark == since
        assert s.get(SyncState, "Opportunity").watermark > since
        assert s.get(JobRun, report["job_run_id"]).status == "partial"


def test_a_security_policy_block_stops_the_whole_run_in_one_line(session_factory, two_objects):
    """Issue 19.5: TXN_SECURITY_METERING_ERROR holds for the whole org: the run fails at once, nothing is retried."""
    with session_factory() as s:
        _bookmarked(s, two_objects, "Account", dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
        _bookmarked(s, two_objects, "Opportunity", dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
        s.commit()
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.get(ACCOUNT_QUERY, status=403, json=error("TXN_SECURITY_METERING_ERROR",
                                                       "Access blocked by a transaction security policy."))
        report = run_sync(session_factory, two_objects, OrgClient(two_objects, sleep=sleeps))
        assert len(rsps.calls) == 1
    assert report["status"] == "failed" and "Opportunity" not in report["objects"] and sleeps == []
    assert "transaction security policy" in report["error"] and "\n" not in report["error"]


def test_query_timeout_halves_the_systemmodstamp_range_instead_of_retrying_the_same_query(session_factory, settings):
    """Issue 19.5: QUERY_TIMEOUT again on the first half: it is halved again; the slices cover the window once, in
    order, and the bookmark ends at the run's start."""
    now = dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(days=8)
    with session_factory() as s:
        _bookmarked(s, settings, "Opportunity", since)
        s.commit()
    timeout = error("QUERY_TIMEOUT", "Your query request was running for too long.")
    records = _opps()
    for i, rec in enumerate(records):
        rec["SystemModstamp"] = _sf_datetime(since + dt.timedelta(days=1 + 3 * i))
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, status=400, json=timeout)  # [since - 5 min, now)
        rsps.get(QUERY, status=400, json=timeout)  # its first half
        rsps.get(QUERY, json=_one_page(records[:1]), headers=LIMIT)  # first quarter
        rsps.get(QUERY, json=_one_page([]), headers=LIMIT)  # second quarter
        rsps.get(QUERY, json=_one_page(records[1:]), headers=LIMIT)  # second half
        rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", headers=LIMIT, json={
            "deletedRecords": [], "earliestDateAvailable": _sf_datetime(now - dt.timedelta(days=15)),
            "latestDateCovered": _sf_datetime(now - dt.timedelta(minutes=1))})
        sleeps = Sleeps()
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=sleeps))
        bounds = []
        for call in rsps.calls[:5]:
            where = _soql(call).split(" WHERE ")[1].split(" ORDER BY ")[0]
            parts = dict((c.split(" ")[1], c.split(" ")[2]) for c in where.split(" AND "))
            bounds.append((parts[">="], parts["<"]))
    assert report["status"] == "ok", report["error"]
    fig = report["objects"]["Opportunity"]
    assert fig["split_queries"] == 2 and fig["upserted"] == 3 and sleeps == []
    whole, first_half, q1, q2, second_half = bounds
    assert first_half[0] == whole[0] and second_half[1] == whole[1] and first_half[1] == second_half[0]
    assert (q1[0], q1[1], q2[0], q2[1]) == (first_half[0], q2[0], q1[1], first_half[1])
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Opportunity)) == 3
        assert s.get(SyncState, "Opportunity").watermark > now - dt.timedelta(minutes=1)


def _translated(body: dict, labels: dict[str, str]) -> dict:
    """``body`` as Salesforce answers it in another language: the translated labels, the others unchanged."""
    return {**body, "fields": [{**f, "label": labels.get(f["name"], f["label"])} for f in body["fields"]]}


EMPTY_PAGE = {"totalSize": 0, "done": True, "records": []}


def test_a_re_read_describe_reads_the_mapped_fields_labels_in_english_and_french_and_keeps_the_translations(
        session_factory, settings):
    org = describe_body("Opportunity", OPPORTUNITY_FIELDS)
    french = _translated(org, {"Speaks_Basque__c": "Parle basque", "Region__c": "Région"})
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(DESCRIBE, json=org, headers=LIMIT, match=[matchers.header_matcher({"Accept-Language": "en-US"})])
        rsps.get(DESCRIBE, json=french, headers=LIMIT, match=[matchers.header_matcher({"Accept-Language": "fr"})])
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
        asked = [c.request.headers.get("Accept-Language") for c in rsps.calls if c.request.url.startswith(DESCRIBE)]
    assert report["status"] == "ok" and report["objects"]["Opportunity"]["api_calls"] == 3
    assert asked == ["en-US", "fr"]  # the describe itself in English, then only French for the labels
    with session_factory() as s:
        details = s.get(SyncState, "Opportunity").details
    assert details["labels"]["Speaks_Basque__c"] == "Speaks Basque"
    # Only the [mapping.extra] field, and only where French says it differently (Region__c is not asked).
    assert details["labels_by_language"] == {"fr": {"Speaks_Basque__c": "Parle basque"}}

    # The next run finds the same mapping: no describe at all, in any language.
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", headers=LIMIT, json={
            "deletedRecords": [], "earliestDateAvailable": "2026-10-01T00:00:00.000+0000",
            "latestDateCovered": "2026-12-01T00:00:00.000+0000"})
        again = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert again["status"] == "ok" and again["objects"]["Opportunity"]["api_calls"] == 2


def test_a_failing_localized_describe_keeps_the_sync_going_and_the_last_translation(session_factory, settings,
                                                                                    caplog):
    with session_factory() as s:  # a describe from an earlier run read the French label; the mapping changed since
        s.add(SyncState(object_name="Opportunity", details={
            "signature": "an older mapping", "labels_by_language": {"fr": {"Speaks_Basque__c": "Parle basque"}}}))
        s.commit()
    org = describe_body("Opportunity", OPPORTUNITY_FIELDS)
    unavailable = error("SERVER_UNAVAILABLE", "Server temporarily unavailable.")
    french = matchers.header_matcher({"Accept-Language": "fr"})
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(DESCRIBE, json=org, headers=LIMIT, match=[matchers.header_matcher({"Accept-Language": "en-US"})])
        for _attempt in range(3):  # [sync] max_retries = 2
            rsps.get(DESCRIBE, status=503, json=unavailable, headers=LIMIT, match=[french])
        rsps.get(QUERY, json=fixture("opportunity_page1.json"), headers=LIMIT)
        rsps.get(PAGE2, json=fixture("opportunity_page2.json"), headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["Opportunity"]["upserted"] == 3
    with session_factory() as s:
        details = s.get(SyncState, "Opportunity").details
    assert details["labels"]["Speaks_Basque__c"] == "Speaks Basque"
    assert details["labels_by_language"] == {"fr": {"Speaks_Basque__c": "Parle basque"}}
    unread = [r.getMessage() for r in caplog.records if "state=labels_unread" in r.getMessage()]
    assert len(unread) == 1 and "language=fr" in unread[0] and "code=SERVER_UNAVAILABLE" in unread[0]
    assert "00Dxx!S" not in caplog.text  # the session id never reaches the log


def test_labels_the_configuration_gives_in_both_languages_keep_no_salesforce_translation(session_factory,
                                                                                         make_settings):
    """The French describe is still read, for the stage's and loss reason's value labels, but the configured
    ``label_fr`` wins: no French field label is kept."""
    settings = make_settings({
        "salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
        "mapping": {**MAPPING, "extra": {"speaks_basque": {"field": "Speaks_Basque__c", "kind": "boolean",
                                                           "label": "Basque speaker", "label_fr": "Bascophone"}}},
        "sync": {"objects": ["Opportunity"]}})
    org = describe_body("Opportunity", OPPORTUNITY_FIELDS)
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(DESCRIBE, json=org, headers=LIMIT, match=[matchers.header_matcher({"Accept-Language": "en-US"})])
        rsps.get(DESCRIBE, json=_translated(org, {"Speaks_Basque__c": "Parle basque"}), headers=LIMIT,
                 match=[matchers.header_matcher({"Accept-Language": "fr"})])
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert report["status"] == "ok" and report["objects"]["Opportunity"]["api_calls"] == 3
    with session_factory() as s:
        assert "labels_by_language" not in s.get(SyncState, "Opportunity").details


def _org_speaking(default: str, bodies: dict[str, dict]):
    """A describe endpoint answering in the language Accept-Language asks for, else in the integration user's
    (``default``), as Salesforce's Translation Workbench does: ``bodies`` by language ("en", "fr")."""
    def answer(request):
        asked = (request.headers.get("Accept-Language") or default).split("-")[0].lower()
        return 200, LIMIT, json.dumps(bodies.get(asked, bodies[default]))
    return answer


def test_a_french_integration_user_still_gives_english_labels_and_french_readers_salesforces_translation(
        session_factory, make_settings):
    """The org answers a describe in French by default (its integration user is French) and honours en-US: the
    English labels are read as such, and "Parle basque", which differs from them, is kept for French readers where
    the configuration gives only ``label``."""
    from webapp.templating import field_labels

    settings = make_settings({
        "salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
        "mapping": {**MAPPING, "extra": {"speaks_basque": {"field": "Speaks_Basque__c", "kind": "boolean",
                                                           "label": "Speaks Basque"}}},
        "sync": {"objects": ["Opportunity"]}})
    org = describe_body("Opportunity", OPPORTUNITY_FIELDS)
    french = _translated(org, {"Speaks_Basque__c": "Parle basque"})
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        for _describe in range(2):
            rsps.add_callback(responses.GET, DESCRIBE, callback=_org_speaking("fr", {"en": org, "fr": french}),
                              content_type="application/json")
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
        asked = [c.request.headers.get("Accept-Language") for c in rsps.calls if c.request.url.startswith(DESCRIBE)]
    assert report["status"] == "ok" and asked == ["en-US", "fr"]
    with session_factory() as s:
        details = s.get(SyncState, "Opportunity").details
        assert details["labels"]["Speaks_Basque__c"] == "Speaks Basque"
        assert details["labels_by_language"] == {"fr": {"Speaks_Basque__c": "Parle basque"}}
        extra = settings.mapping.extra
        assert list(field_labels(s, extra, "fr").values()) == ["Parle basque"]
        assert list(field_labels(s, extra, "en").values()) == ["Speaks Basque"]


def test_removing_label_fr_from_the_config_reads_the_french_labels_again_at_the_next_sync(session_factory,
                                                                                         make_settings):
    def configured(**labels: str):
        return make_settings({
            "salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
            "mapping": {**MAPPING, "extra": {"speaks_basque": {"field": "Speaks_Basque__c", "kind": "boolean",
                                                               **labels}}},
            "sync": {"objects": ["Opportunity"]}})

    org = describe_body("Opportunity", OPPORTUNITY_FIELDS)
    english = matchers.header_matcher({"Accept-Language": "en-US"})
    deleted = {"deletedRecords": [], "earliestDateAvailable": "2026-10-01T00:00:00.000+0000",
               "latestDateCovered": "2026-12-01T00:00:00.000+0000"}
    named = configured(label="Basque speaker", label_fr="Bascophone")
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(DESCRIBE, json=org, headers=LIMIT, match=[english])
        # French named by the config: the French describe is read for the stage's value labels only.
        rsps.get(DESCRIBE, json=_translated(org, {"Speaks_Basque__c": "Parle basque"}), headers=LIMIT,
                 match=[matchers.header_matcher({"Accept-Language": "fr"})])
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        assert run_sync(session_factory, named, OrgClient(named, sleep=Sleeps()))["status"] == "ok"
    with session_factory() as s:
        assert "labels_by_language" not in s.get(SyncState, "Opportunity").details

    # Another wording of the same labels asks nothing new: the describe is not read again.
    reworded = configured(label="Basque speakers", label_fr="Bascophones")
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", headers=LIMIT, json=deleted)
        assert run_sync(session_factory, reworded, OrgClient(reworded, sleep=Sleeps()))["status"] == "ok"

    # label_fr removed: the next sync re-reads the describe and, this time, its French labels.
    english_only = configured(label="Basque speaker")
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(DESCRIBE, json=org, headers=LIMIT, match=[english])
        rsps.get(DESCRIBE, json=_translated(org, {"Speaks_Basque__c": "Parle basque"}), headers=LIMIT,
                 match=[matchers.header_matcher({"Accept-Language": "fr"})])
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", headers=LIMIT, json=deleted)
        report = run_sync(session_factory, english_only, OrgClient(english_only, sleep=Sleeps()))
    assert report["status"] == "ok" and report["objects"]["Opportunity"]["api_calls"] == 4
    with session_factory() as s:
        assert s.get(SyncState, "Opportunity").details["labels_by_language"] == {
            "fr": {"Speaks_Basque__c": "Parle basque"}}


def _picklists(body: dict, values: dict[str, dict[str, str]]) -> dict:
    """``body`` with ``picklistValues`` on the fields of ``values`` ({field: {API value: label}}), in Salesforce's
    shape (the labels in the language the describe was asked in)."""
    def entries(field: str) -> list[dict]:
        return [{"active": True, "defaultValue": False, "label": label, "validFor": None, "value": value}
                for value, label in values[field].items()]
    return {**body, "fields": [{**f, "picklistValues": entries(f["name"]) if f["name"] in values else []}
                               for f in body["fields"]]}


STAGES_EN = {"Prospecting": "Prospecting", "Qualification": "Qualification", "Closed Won": "Closed Won",
             "Closed Lost": "Closed Lost"}
STAGES_FR = {"Prospecting": "Prospection", "Qualification": "Qualification", "Closed Won": "Fermée/Gagnée",
             "Closed Lost": "Fermée/Perdue"}


def test_a_re_read_describe_keeps_the_stage_and_loss_reason_value_labels_that_say_something_else_per_language(
        session_factory, settings):
    """An org whose loss reasons are codes ("PRICE") shows its English readers "Price": the English labels that
    differ from the value are kept, and the French ones that differ from the English; a picklist the desk does not
    show (CurrencyIsoCode) and an untranslated value ("Qualification", "Other") are not."""
    org = describe_body("Opportunity", OPPORTUNITY_FIELDS)
    english = _picklists(org, {"StageName": STAGES_EN, "CurrencyIsoCode": {"EUR": "Euro"},
                               "Loss_Reason__c": {"PRICE": "Price", "GAP": "Missing Feature", "Other": "Other"}})
    french = _picklists(_translated(org, {"Speaks_Basque__c": "Parle basque"}), {
        "StageName": STAGES_FR, "CurrencyIsoCode": {"EUR": "Euro (fr)"},
        "Loss_Reason__c": {"PRICE": "Prix", "GAP": "Missing Feature", "Other": "Other"}})
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(DESCRIBE, json=english, headers=LIMIT, match=[matchers.header_matcher({"Accept-Language": "en-US"})])
        rsps.get(DESCRIBE, json=french, headers=LIMIT, match=[matchers.header_matcher({"Accept-Language": "fr"})])
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert report["status"] == "ok" and report["objects"]["Opportunity"]["api_calls"] == 3  # no third describe
    with session_factory() as s:
        details = s.get(SyncState, "Opportunity").details
    assert details["values_by_language"] == {
        "en": {"Loss_Reason__c": {"PRICE": "Price", "GAP": "Missing Feature"}},
        "fr": {"StageName": {"Prospecting": "Prospection", "Closed Won": "Fermée/Gagnée",
                             "Closed Lost": "Fermée/Perdue"},
               "Loss_Reason__c": {"PRICE": "Prix"}}}  # "GAP" reads "Missing Feature" in French too: the English one
    assert details["labels_by_language"] == {"fr": {"Speaks_Basque__c": "Parle basque"}}


def test_a_failing_french_describe_keeps_the_last_french_value_labels(session_factory, settings, caplog):
    with session_factory() as s:  # an earlier describe read the French stages; the mapping changed since
        s.add(SyncState(object_name="Opportunity", details={
            "signature": "an older mapping",
            "values_by_language": {"fr": {"StageName": {"Closed Lost": "Fermée/Perdue"},
                                          "Unmapped__c": {"A": "Un"}}}}))
        s.commit()
    org = _picklists(describe_body("Opportunity", OPPORTUNITY_FIELDS),
                     {"StageName": STAGES_EN, "Loss_Reason__c": {"PRICE": "Price"}})
    unavailable = error("SERVER_UNAVAILABLE", "Server temporarily unavailable.")
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(DESCRIBE, json=org, headers=LIMIT, match=[matchers.header_matcher({"Accept-Language": "en-US"})])
        for _attempt in range(3):  # [sync] max_retries = 2
            rsps.get(DESCRIBE, status=503, json=unavailable, headers=LIMIT,
                     match=[matchers.header_matcher({"Accept-Language": "fr"})])
        rsps.get(QUERY, json=EMPTY_PAGE, headers=LIMIT)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert report["status"] == "ok", report["error"]
    with session_factory() as s:
        details = s.get(SyncState, "Opportunity").details
    # English read afresh; French kept from the last describe, for the fields the desk still shows.
    assert details["values_by_language"] == {"en": {"Loss_Reason__c": {"PRICE": "Price"}},
                                             "fr": {"StageName": {"Closed Lost": "Fermée/Perdue"}}}
    unread = [r.getMessage() for r in caplog.records if "state=labels_unread" in r.getMessage()]
    assert len(unread) == 1 and "kept_values=1" in unread[0]
