"""Bulk API 2.0 pulls at the wire on Salesforce's bad days (issue 19.2, 19.4, 19.5).

Job bodies follow the Bulk API 2.0 query walkthrough (``id``, ``operation``, ``object``, ``state``…), result pages
are CSV with ``Sforce-Locator`` (``null`` on the last page) and ``Sforce-NumberOfRecords``, errors are the REST
error array. A body cut mid-stream is what http.client raises when the connection closes before Content-Length
bytes (IncompleteRead), which urllib3 turns into ProtocolError.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import urllib.parse

import pytest
import responses
from responses.registries import OrderedRegistry
from sqlalchemy import func, select

from connector.client import OrgClient
from connector.streams import OpportunityStream
from connector.sync import _mapping_signature, run_sync
from retour.models import JobRun, Opportunity, SyncState

from tests.connector_helpers import BASE, INSTANCE, LIMIT, Sleeps, error, fixture, wipe

MAPPING = {"loss_reason": "Loss_Reason__c", "loss_detail": "Loss_Reason_Detail__c", "competitor": "Competitor__c",
           "region": "Region__c", "segment": "Segment__c", "extra": "speaks_basque=Speaks_Basque__c:boolean"}
QUERY = f"{BASE}/queryAll/"
JOBS = f"{BASE}/jobs/query"
JOB_ID = "750Hs00000ABCdEIAX"
RESULTS = f"{JOBS}/{JOB_ID}/results"
HEADER = ('"Id","Name","AccountId","OwnerId","StageName","IsClosed","IsWon","Amount","CloseDate","CreatedDate",'
          '"IsDeleted","CurrencyIsoCode","SystemModstamp","Loss_Reason__c","Loss_Reason_Detail__c","Competitor__c",'
          '"Region__c","Segment__c","Speaks_Basque__c"\n')


def _row(record_id: str, name: str, stamp: dt.datetime) -> str:
    return (f'"{record_id}","{name}","001Hs00002QwErTIAZ","005Hs000001XyZaIAK","Closed Lost","true","false","48000",'
            f'"2024-06-30","2024-05-01T08:00:00.000Z","false","EUR","{stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z")}",'
            f'"Price","Too expensive","","EMEA","SMB","false"\n')


@pytest.fixture
def session_factory(engine):
    from sqlalchemy.orm import sessionmaker
    wipe(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    wipe(engine)


@pytest.fixture
def settings(make_settings):
    return make_settings({"salesforce": {"auth": "session", "session_id": "00Dxx!S", "instance_url": INSTANCE},
                          "mapping": MAPPING, "sync": {"objects": ["Opportunity"], "bulk_threshold": 2,
                                                       "max_retries": 1, "backoff_base_seconds": 1.0}})


@pytest.fixture
def since(session_factory, settings):
    """An incremental bookmark an hour old, describe cached (no describe call), reconcile not due."""
    now = dt.datetime.now(dt.timezone.utc)
    since = (now - dt.timedelta(hours=1)).replace(microsecond=0)
    stream = OpportunityStream(settings)
    with session_factory() as s:
        s.add(SyncState(object_name="Opportunity", watermark=since, last_reconcile_at=now,
                        details={"available": stream.wanted_fields(), "signature": _mapping_signature(stream),
                                 "deleted_checked_at": since.strftime("%Y-%m-%dT%H:%M:%SZ")}))
        s.commit()
    return since


class _CutRaw(io.RawIOBase):
    """A response body whose connection closes after ``cut`` of its bytes, as http.client reports it."""

    def __init__(self, data: bytes, cut: int) -> None:
        self.data, self.cut, self.pos = data, cut, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.pos >= self.cut:
            raise http.client.IncompleteRead(self.data[:self.pos], len(self.data) - self.pos)
        n = min(len(buffer), self.cut - self.pos)
        buffer[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


def cut_body(text: str, cut: int) -> io.BufferedReader:
    return io.BufferedReader(_CutRaw(text.encode("utf-8"), cut))


def _job_until_complete(rsps) -> None:
    rsps.get(QUERY, json=fixture("opportunity_page1.json"), headers=LIMIT)  # totalSize 3 > bulk_threshold 2
    rsps.post(JOBS, headers=LIMIT, json={
        "id": JOB_ID, "operation": "queryAll", "object": "Opportunity", "createdById": "005Hs000001XyZaIAK",
        "createdDate": "2026-12-07T01:00:00.000+0000", "systemModstamp": "2026-12-07T01:00:00.000+0000",
        "state": "UploadComplete", "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": 59.0,
        "lineEnding": "LF", "columnDelimiter": "COMMA"})
    rsps.get(f"{JOBS}/{JOB_ID}", headers=LIMIT, json={"id": JOB_ID, "operation": "queryAll", "state": "JobComplete",
                                                      "numberRecordsProcessed": 3, "retries": 0,
                                                      "totalProcessingTime": 1200})


def _deleted(rsps, now: dt.datetime) -> None:
    stamp = (now - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:00.000+0000")
    rsps.get(f"{BASE}/sobjects/Opportunity/deleted/", headers=LIMIT, json={
        "deletedRecords": [], "earliestDateAvailable": "2026-11-25T00:00:00.000+0000", "latestDateCovered": stamp})


def _locators(rsps) -> list:
    return [urllib.parse.parse_qs(urllib.parse.urlsplit(c.request.url).query).get("locator", [None])[0]
            for c in rsps.calls if c.request.url.startswith(RESULTS)]


def test_a_page_cut_mid_body_is_read_again_by_its_locator(session_factory, settings, since):
    """Issue 19.2: the first page's connection closes mid-body; that page is read again (same locator, after a
    backoff) and the pull completes."""
    now = dt.datetime.now(dt.timezone.utc)
    page1 = HEADER + _row("006Hs00001ABCdEIAX", "Acme", since + dt.timedelta(minutes=5)) \
        + _row("006Hs00001ABCdFIAX", "Initech", since + dt.timedelta(minutes=50))
    page2 = HEADER + _row("006Hs00001ABCdGIAX", "Umbrella", since + dt.timedelta(minutes=10))
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _job_until_complete(rsps)
        rsps.get(RESULTS, body=cut_body(page1, len(HEADER) + 40), content_type="text/csv",
                 headers={"Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "2", **LIMIT})
        rsps.get(RESULTS, body=page1, content_type="text/csv",
                 headers={"Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "2", **LIMIT})
        rsps.get(RESULTS, body=page2, content_type="text/csv",
                 headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1", **LIMIT})
        _deleted(rsps, now)
        client = OrgClient(settings, sleep=sleeps, rng=lambda: 1.0)
        report = run_sync(session_factory, settings, client)
        locators = _locators(rsps)
    assert report["status"] == "ok", report["error"]
    fig = report["objects"]["Opportunity"]
    assert fig["api"] == "bulk" and fig["reread_pages"] == 1 and fig["upserted"] == 3
    assert locators == [None, None, "MTAwMDA"]  # the cut page again, then the next one
    assert sleeps == [1.0] and client.retries == 1
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Opportunity)) == 3
        assert s.get(SyncState, "Opportunity").watermark > now - dt.timedelta(minutes=1)


def test_bulk_query_has_no_order_by_and_the_bookmark_waits_for_the_jobs_last_page(session_factory, settings, since):
    """Issue 19.4 (and 19.2's bound): the Bulk job's SOQL has no ORDER BY. Its second page is cut on every attempt:
    after the bounded re-reads the object fails, the first page's rows stay, and the bookmark has not moved even
    though those rows were in key order - Bulk pages promise none. The next run upserts them again and completes."""
    now = dt.datetime.now(dt.timezone.utc)
    page1 = HEADER + _row("006Hs00001ABCdEIAX", "Acme", since + dt.timedelta(minutes=5)) \
        + _row("006Hs00001ABCdFIAX", "Initech", since + dt.timedelta(minutes=50))
    page2 = HEADER + _row("006Hs00001ABCdGIAX", "Umbrella", since + dt.timedelta(minutes=10))
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _job_until_complete(rsps)
        rsps.get(RESULTS, body=page1, content_type="text/csv",
                 headers={"Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "2", **LIMIT})
        for _ in range(2):  # first read + max_retries (1)
            rsps.get(RESULTS, body=cut_body(page2, len(HEADER) + 20), content_type="text/csv",
                     headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1", **LIMIT})
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=sleeps, rng=lambda: 1.0))
        rest_soql = urllib.parse.parse_qs(urllib.parse.urlsplit(rsps.calls[0].request.url).query)["q"][0]
        job_soql = json.loads(rsps.calls[1].request.body)["query"]
    assert "ORDER BY SystemModstamp ASC, Id ASC" in rest_soql  # REST pages are ordered: their bookmark moves
    assert "ORDER BY" not in job_soql and "SystemModstamp >= " in job_soql and "SystemModstamp < " in job_soql
    fig = report["objects"]["Opportunity"]
    assert report["status"] == "failed" and fig["status"] == "failed"
    assert "mid-body" in fig["error"] and "gave up after 1 retries" in fig["error"]
    with session_factory() as s:
        assert {o.id for o in s.scalars(select(Opportunity))} == {"006Hs00001ABCdEIAX", "006Hs00001ABCdFIAX"}
        assert s.get(SyncState, "Opportunity").watermark == since
        assert s.get(JobRun, report["job_run_id"]).status == "failed"
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _job_until_complete(rsps)
        rsps.get(RESULTS, body=page1, content_type="text/csv",
                 headers={"Sforce-Locator": "MTAwMDA", "Sforce-NumberOfRecords": "2", **LIMIT})
        rsps.get(RESULTS, body=page2, content_type="text/csv",
                 headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1", **LIMIT})
        _deleted(rsps, now)
        again = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
        rest_soql = urllib.parse.parse_qs(urllib.parse.urlsplit(rsps.calls[0].request.url).query)["q"][0]
    assert again["status"] == "ok" and again["objects"]["Opportunity"]["upserted"] == 3
    assert f"SystemModstamp >= {(since - dt.timedelta(minutes=5)).strftime('%Y-%m-%dT%H:%M:%S')}" in rest_soql
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Opportunity)) == 3
        assert s.get(SyncState, "Opportunity").watermark > now - dt.timedelta(minutes=1)


def test_limit_exceeded_on_bulk_job_creation_is_the_budget_a_resumable_stop(session_factory, settings, since):
    """Issue 19.5: the org's daily Bulk API 2.0 query jobs are spent: stop cleanly, keep the bookmark, no retry."""
    sleeps = Sleeps()
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json=fixture("opportunity_page1.json"), headers=LIMIT)
        rsps.post(JOBS, status=400, json=error("LIMIT_EXCEEDED",
                                               "Maximum Bulk API 2.0 query jobs in 24 hours reached (10000)."))
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=sleeps))
        assert len(rsps.calls) == 2
    assert report["status"] == "stopped" and sleeps == []
    assert "LIMIT_EXCEEDED" in report["error"] and "10000" in report["error"] and "resumes" in report["error"]
    with session_factory() as s:
        assert s.get(SyncState, "Opportunity").watermark == since
        assert s.get(JobRun, report["job_run_id"]).status == "stopped"


def test_a_maintenance_page_in_place_of_a_result_page_is_retried(session_factory, settings, since):
    """Issue 19.3 for Bulk: a 200 HTML page where CSV was asked for is not parsed as CSV; it is read again."""
    now = dt.datetime.now(dt.timezone.utc)
    page = HEADER + _row("006Hs00001ABCdEIAX", "Acme", since + dt.timedelta(minutes=5))
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        _job_until_complete(rsps)
        rsps.get(RESULTS, status=200, content_type="text/html;charset=UTF-8",
                 body="<html><head><title>Service unavailable</title></head><body>Try again later</body></html>")
        rsps.get(RESULTS, body=page, content_type="text/csv",
                 headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1", **LIMIT})
        _deleted(rsps, now)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["Opportunity"]["upserted"] == 1 and report["objects"]["Opportunity"]["set_aside"] == 0


def test_a_bulk_job_failed_on_a_timeout_is_split_into_two_jobs_over_the_halves_of_its_range(session_factory,
                                                                                           settings, since):
    """Issue 19.5 for Bulk: Salesforce's Bulk 2.0 docs answer a job that keeps timing out with 'apply filter
    criteria'; the job is not run again as it was, its SystemModstamp range is halved into two jobs."""
    now = dt.datetime.now(dt.timezone.utc)
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        rsps.get(QUERY, json=fixture("opportunity_page1.json"), headers=LIMIT)
        acme = _row("006Hs00001ABCdEIAX", "Acme", since + dt.timedelta(minutes=5))
        initech = _row("006Hs00001ABCdFIAX", "Initech", now - dt.timedelta(minutes=5))
        for job_id, state, rows in (("750Hs00000ABCd1IAX", "Failed", None),
                                    ("750Hs00000ABCd2IAX", "JobComplete", acme),
                                    ("750Hs00000ABCd3IAX", "JobComplete", initech)):
            rsps.post(JOBS, headers=LIMIT, json={"id": job_id, "operation": "queryAll", "object": "Opportunity",
                                                 "state": "UploadComplete", "contentType": "CSV", "apiVersion": 59.0})
            status = {"id": job_id, "operation": "queryAll", "state": state}
            if rows is None:
                status["errorMessage"] = ("The query was retried more than 15 times without completing. Apply filter "
                                          "criteria and try again.")
            rsps.get(f"{JOBS}/{job_id}", headers=LIMIT, json=status)
            if rows is not None:
                rsps.get(f"{JOBS}/{job_id}/results", body=HEADER + rows, content_type="text/csv",
                         headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1", **LIMIT})
        _deleted(rsps, now)
        report = run_sync(session_factory, settings, OrgClient(settings, sleep=Sleeps()))
        ranges = []
        for call in rsps.calls:
            if call.request.method == "POST":
                where = json.loads(call.request.body)["query"].split(" WHERE ")[1]
                ranges.append(tuple(c.split(" ")[2] for c in where.split(" AND ")))
    assert report["status"] == "ok", report["error"]
    fig = report["objects"]["Opportunity"]
    assert fig["split_queries"] == 1 and fig["upserted"] == 2
    whole, first, second = ranges
    assert first[0] == whole[0] and first[1] == second[0] and second[1] == whole[1]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Opportunity)) == 2
        assert s.get(SyncState, "Opportunity").watermark > now - dt.timedelta(minutes=1)
