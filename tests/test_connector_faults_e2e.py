"""The connector's sync against the demo org with its fault switches on: what Salesforce does on its bad days."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from connector.client import connect
from connector.demo_org.testing import seeded_org
from connector.sync import run_sync
from retour import models
from retour.config import load_settings

from tests.connector_helpers import Sleeps, wipe

MIRRORED = (models.SalesforceUser, models.Account, models.Opportunity, models.Activity, models.Case, models.Note)

pytestmark = pytest.mark.demo_org
SCALE = 0.05


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with seeded_org(tmp_path_factory.mktemp("demo-org-faults-e2e"), scale=SCALE) as demo:
        yield demo


@pytest.fixture
def settings(org, database_url, tmp_path):
    return load_settings({"database_url": database_url, "data_dir": str(tmp_path)}, environ=org.env())


def test_a_deleted_note_leaves_the_mirror_without_get_deleted_which_content_note_lacks(org, factory, settings):
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client, objects=["ContentNote"])["status"] == "ok"
    with factory() as s:
        local = set(s.scalars(select(models.Note.id)))
    gone = sorted(local)[0]
    org.hard_delete("ContentNote", gone)
    calls = org.api_calls
    report = run_sync(factory, settings, client, objects=["ContentNote"])
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["ContentNote"]["deleted"] == 1
    with factory() as s:
        assert set(s.scalars(select(models.Note.id))) == local - {gone}
        assert gone not in set(s.scalars(select(models.FeedbackItem.source_id)))
    # the incremental query, one page of Ids and - since a note is missing - the user's Query All Files; no getDeleted
    assert org.api_calls - calls == 3


def test_notes_out_of_sight_without_query_all_files_are_kept_not_taken_for_deleted(org, factory, settings):
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client, objects=["ContentNote"])["status"] == "ok"
    with factory() as s:
        mirrored = set(s.scalars(select(models.Note.id)))
    own = {r["Id"] for r in org.records("ContentNote") if r["OwnerId"] == org.integration_user_id}
    assert own < mirrored  # most notes belong to the reps: the user sees them through Query All Files only
    with org.fault("no-query-all-files"):
        report = run_sync(factory, settings, client, objects=["ContentNote"])
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["ContentNote"]["deleted"] == 0
    with factory() as s:
        assert set(s.scalars(select(models.Note.id))) == mirrored


def test_retour_check_says_when_the_integration_user_lacks_query_all_files(org, settings):
    from connector.checks import salesforce_checks

    granted = {r["check"]: r for r in salesforce_checks(settings)}["salesforce note access"]
    with org.fault("no-query-all-files"):
        lacking = {r["check"]: r for r in salesforce_checks(settings)}["salesforce note access"]
    assert granted["ok"] and "Query All Files" in granted["detail"]
    assert not lacking["ok"]
    assert "lacks Query All Files" in lacking["detail"] and "Retour_Integration permission set" in lacking["detail"]


def test_the_permission_set_asks_for_query_all_files_and_the_view_all_data_it_needs():
    import xml.etree.ElementTree as ET
    from pathlib import Path

    path = (Path(__file__).parents[1] / "deploy" / "salesforce" / "force-app" / "main" / "default" / "permissionsets"
            / "Retour_Integration.permissionset-meta.xml")
    ns = {"m": "http://soap.sforce.com/2006/04/metadata"}
    enabled = {p.findtext("m:name", namespaces=ns) for p in ET.parse(path).getroot().findall("m:userPermissions", ns)
               if p.findtext("m:enabled", namespaces=ns) == "true"}
    # Query All Files requires View All Data (Salesforce Help, "Query All Files"): a set with one alone won't deploy.
    assert {"ApiEnabled", "QueryAllFiles", "ViewAllData"} <= enabled


def snapshot(factory) -> dict:
    """What the sync mirrors, minus when it wrote it."""
    with factory() as s:
        return {model.__tablename__: sorted(tuple(str(v) for v in row) for row in s.execute(
            select(*(c for c in model.__table__.columns if c.name != "synced_at")))) for model in MIRRORED}


def live_ids(org, sobject) -> set[str]:
    return {r["Id"] for r in org.records(sobject) if not r.get("IsDeleted")}


def bookmarks_back(factory, days: float, objects: tuple[str, ...] | None = None) -> None:
    """As if the last sync ran ``days`` ago: every bookmark and deletion check moved back."""
    with factory() as s:
        for state in s.scalars(select(models.SyncState)):
            if objects and state.object_name not in objects:
                continue
            then = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
            state.watermark = then
            state.details = {**(state.details or {}), "deleted_checked_at": then.strftime("%Y-%m-%dT%H:%M:%SZ")}
        s.commit()


def test_a_bookmark_older_than_the_delete_log_falls_back_to_ids_and_every_object_syncs(org, factory, settings):
    """Issue 19.1: getDeleted keeps 15 days; with a bookmark 20 days old the run failed at Opportunity for ever."""
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client)["status"] == "ok"
    gone = sorted(live_ids(org, "Opportunity"))[0]
    org.hard_delete("Opportunity", gone)
    bookmarks_back(factory, 20)
    with org.fault("deleted-15-days"):
        report = run_sync(factory, settings, client)
        again = run_sync(factory, settings, client)
    assert report["status"] == "ok", report["error"]
    opp = report["objects"]["Opportunity"]
    assert opp["deleted"] == 1 and any("INVALID_REPLICATION_DATE" in n for n in opp["notes"]), opp
    assert report["objects"]["Task"]["status"] == "ok"
    with factory() as s:
        assert set(s.scalars(select(models.Opportunity.id))) == live_ids(org, "Opportunity")
    assert again["status"] == "ok" and not again["objects"]["Opportunity"]["notes"]  # back on getDeleted


def test_a_purged_delete_log_is_noticed_and_deletions_are_found_by_ids(org, factory, settings):
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client, objects=["Case"])["status"] == "ok"
    gone = sorted(live_ids(org, "Case"))[0]
    bookmarks_back(factory, 1, ("Case",))
    with org.fault("deleted-purged"):
        org.hard_delete("Case", gone)
        report = run_sync(factory, settings, client, objects=["Case"])
    case = report["objects"]["Case"]
    assert report["status"] == "ok" and case["deleted"] == 1 and case["notes"], case
    with factory() as s:
        assert s.get(models.Case, gone) is None


def test_a_bulk_result_body_cut_mid_stream_is_read_again_and_the_mirror_is_whole(org, factory, settings):
    """Issue 19.2: an IncompleteRead escaped as urllib3's ProtocolError and rolled back what was read."""
    sleeps = Sleeps()
    assert run_sync(factory, settings, connect(settings, sleep=Sleeps()), api="bulk")["status"] == "ok"
    clean = snapshot(factory)
    wipe(factory.kw["bind"])
    with org.fault("bulk-cut"):
        report = run_sync(factory, settings, connect(settings, sleep=sleeps), api="bulk")
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["Opportunity"]["api"] == "bulk" and sleeps  # a backoff before each re-read
    assert snapshot(factory) == clean


def test_html_maintenance_pages_are_retried_and_the_sync_completes(org, factory, settings):
    """Issue 19.3: a 200 whose body is not JSON raised TypeError and nothing retried it."""
    sleeps = Sleeps()
    assert run_sync(factory, settings, connect(settings, sleep=Sleeps()))["status"] == "ok"
    clean = snapshot(factory)
    wipe(factory.kw["bind"])
    with org.fault("html-200"):
        client = connect(settings, sleep=sleeps)
        report = run_sync(factory, settings, client)
    assert report["status"] == "ok", report["error"]
    assert client.retries >= 1 and len(sleeps) == client.retries
    assert snapshot(factory) == clean


def test_bulk_queries_carry_no_order_by_and_mirror_what_rest_does(org, factory, settings):
    """Issue 19.4: Bulk 2.0 queries ended in ORDER BY SystemModstamp, Id, which Bulk does not support."""
    assert run_sync(factory, settings, connect(settings, sleep=Sleeps()))["status"] == "ok"
    clean = snapshot(factory)
    wipe(factory.kw["bind"])
    with org.fault("bulk-no-order-by"):
        report = run_sync(factory, settings, connect(settings, sleep=Sleeps()), api="bulk")
    assert report["status"] == "ok", report["error"]
    assert snapshot(factory) == clean


def test_a_query_timeout_on_a_wide_range_is_split_until_the_slices_answer(org, factory, settings):
    """Issue 19.5: QUERY_TIMEOUT retried with the same query times out again; the range is halved instead."""
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client, objects=["Opportunity"])["status"] == "ok"
    edited = sorted(live_ids(org, "Opportunity"))[1]
    org.update("Opportunity", edited, Name="Renamed while the org was slow")
    bookmarks_back(factory, 10, ("Opportunity",))
    with org.fault("query-timeout"):
        report = run_sync(factory, settings, client, objects=["Opportunity"])
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["Opportunity"]["api_calls"] > 2  # the refused wide query, then its slices
    with factory() as s:
        assert s.get(models.Opportunity, edited).name == "Renamed while the org was slow"
