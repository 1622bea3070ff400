"""ContentNote through the demo org: links changed without the note changing, and a note body read by blob."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connector.client import connect
from connector.demo_org.testing import seeded_org
from connector.sync import run_sync
from retour import models
from retour.config import load_settings

from tests.connector_helpers import Sleeps

pytestmark = pytest.mark.demo_org
SCALE = 0.05


@pytest.fixture
def org(tmp_path):
    with seeded_org(tmp_path / "org", scale=SCALE) as demo:
        yield demo


def _settings(org, database_url, tmp_path, **sync):
    return load_settings({"database_url": database_url, "data_dir": str(tmp_path), "sync": sync}, environ=org.env())


def _note_item(factory, note_id: str) -> tuple[models.Note, models.FeedbackItem | None]:
    with factory() as s:
        return s.get(models.Note, note_id), s.scalars(select(models.FeedbackItem).where(
            models.FeedbackItem.source_object == "ContentNote", models.FeedbackItem.source_id == note_id)).first()


def test_a_link_removed_or_added_in_salesforce_moves_the_note_and_its_feedback(org, factory, database_url, tmp_path):
    settings = _settings(org, database_url, tmp_path, reconcile_every_hours=0)
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client, objects=["Opportunity", "ContentNote"])["status"] == "ok"
    with factory() as s:
        with_feedback = set(s.scalars(select(models.FeedbackItem.source_id).where(
            models.FeedbackItem.source_object == "ContentNote")))
    links = [link for link in org.records("ContentDocumentLink") if link["LinkedEntityId"].startswith("006")
             and link["ContentDocumentId"] in with_feedback]
    unlinked, relinked = links[0], next(link for link in links[1:]
                                        if link["ContentDocumentId"] != links[0]["ContentDocumentId"])
    other_opp = next(o for o in org.records("Opportunity") if o["Id"] != relinked["LinkedEntityId"])
    before = {n["Id"]: n["LastModifiedDate"] for n in org.records("ContentNote")}
    org.hard_delete("ContentDocumentLink", unlinked["Id"])
    org.hard_delete("ContentDocumentLink", relinked["Id"])
    org.create("ContentDocumentLink", ContentDocumentId=relinked["ContentDocumentId"],
               LinkedEntityId=other_opp["Id"], ShareType="V", Visibility="AllUsers")
    assert {n["Id"]: n["LastModifiedDate"] for n in org.records("ContentNote")} == before  # the notes did not change
    now_linked = {}
    for link in org.records("ContentDocumentLink"):
        now_linked.setdefault(link["ContentDocumentId"], set()).add(link["LinkedEntityId"])

    report = run_sync(factory, settings, client, objects=["ContentNote"])
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["ContentNote"]["relinked"] == 2 and report["objects"]["ContentNote"]["fetched"] == 0
    note, item = _note_item(factory, unlinked["ContentDocumentId"])
    assert unlinked["LinkedEntityId"] not in note.linked_ids
    assert set(note.linked_ids) == now_linked.get(note.id, set())
    assert note.opportunity_id != unlinked["LinkedEntityId"]
    assert item.opportunity_id == note.opportunity_id and item.account_id == note.account_id
    note, item = _note_item(factory, relinked["ContentDocumentId"])
    assert other_opp["Id"] in note.linked_ids and relinked["LinkedEntityId"] not in note.linked_ids
    assert set(note.linked_ids) == now_linked[note.id]
    if not any(e.startswith("006") and e < other_opp["Id"] for e in note.linked_ids):
        assert note.opportunity_id == other_opp["Id"]
    assert (item.opportunity_id, item.account_id) == (note.opportunity_id, note.account_id)


def test_links_are_read_again_only_when_the_reconcile_is_due(org, factory, database_url, tmp_path):
    settings = _settings(org, database_url, tmp_path)  # reconcile_every_hours: 24 by default
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client, objects=["ContentNote"])["status"] == "ok"
    link = next(li for li in org.records("ContentDocumentLink") if li["LinkedEntityId"].startswith("006"))
    org.hard_delete("ContentDocumentLink", link["Id"])
    calls = org.api_calls
    report = run_sync(factory, settings, client, objects=["ContentNote"])
    # the incremental query and the Ids (ContentNote has no getDeleted): the full sync read every link an hour ago
    assert org.api_calls - calls == 2 and report["objects"]["ContentNote"]["relinked"] == 0
    with factory() as s:
        state = s.get(models.SyncState, "ContentNote")
        state.details = {**state.details, "links_checked_at": "2000-01-01T00:00:00.000Z"}
        s.commit()
    assert run_sync(factory, settings, client, objects=["ContentNote"])["objects"]["ContentNote"]["relinked"] == 1
    assert link["LinkedEntityId"] not in _note_item(factory, link["ContentDocumentId"])[0].linked_ids


def test_a_maintenance_page_served_in_place_of_a_note_body_is_read_again_never_stored(
        org, factory, database_url, tmp_path):
    settings = _settings(org, database_url, tmp_path)
    long_notes = {n["Id"]: n for n in org.records("ContentNote") if len(n["TextPreview"] or "") >= 250}
    assert long_notes  # their bodies are read one by one, by blob
    sleeps = Sleeps()
    client = connect(settings, sleep=sleeps)
    with org.fault("html-200"):
        report = run_sync(factory, settings, client, objects=["ContentNote"])
    assert report["status"] == "ok", report["error"]
    with factory() as s:
        bodies = dict(s.execute(select(models.Note.id, models.Note.body).where(models.Note.id.in_(long_notes))).all())
    assert bodies and not [b for b in bodies.values() if "maintenance" in (b or "").lower()]
    assert all(body.split()[:6] == long_notes[i]["TextPreview"].split()[:6] for i, body in bodies.items())
    assert sleeps  # some bodies met the maintenance page and were read again after a backoff


def test_a_note_body_that_is_never_its_size_fails_the_page_in_one_line_and_keeps_the_bookmark(
        org, factory, database_url, tmp_path):
    settings = _settings(org, database_url, tmp_path, max_retries=2)
    note = next(n for n in org.records("ContentNote") if len(n["TextPreview"] or "") >= 250)
    page = "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>"
    org.inject_fault("GET", rf"/sobjects/ContentNote/{note['Id']}/Content", status=200, times=3, body=page)
    report = run_sync(factory, settings, connect(settings, sleep=Sleeps()), objects=["ContentNote"])
    figures = report["objects"]["ContentNote"]
    assert figures["status"] == "failed" and "\n" not in figures["error"]
    assert figures["error"].startswith(f"the body of note {note['Id']} came back {len(page)} bytes, not its "
                                       f"ContentSize of {note['ContentSize']}, 3 times: Salesforce answered HTTP 200 "
                                       "with a body")
    with factory() as s:
        assert s.get(models.Note, note["Id"]) is None  # the page was not stored
        assert s.get(models.SyncState, "ContentNote").watermark is None


def test_without_query_all_files_the_links_of_notes_out_of_sight_are_kept(org, factory, database_url, tmp_path):
    settings = _settings(org, database_url, tmp_path, reconcile_every_hours=0)
    client = connect(settings, sleep=Sleeps())
    assert run_sync(factory, settings, client, objects=["ContentNote"])["status"] == "ok"
    with factory() as s:
        before = dict(s.execute(select(models.Note.id, models.Note.linked_ids)).all())
    with org.fault("no-query-all-files"):
        report = run_sync(factory, settings, client, objects=["ContentNote"])
    assert report["status"] == "ok", report["error"]
    assert report["objects"]["ContentNote"]["relinked"] == 0  # their links are hidden, not removed
    with factory() as s:
        assert dict(s.execute(select(models.Note.id, models.Note.linked_ids)).all()) == before
