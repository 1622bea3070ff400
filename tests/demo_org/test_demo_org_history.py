"""The seeded history follows the org's today: same ids and texts, dates moved by whole days, a mirror that
re-syncs after a restart on a later day updates its rows in place, and a running org never moves."""

from __future__ import annotations

import collections
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from connector.client import connect
from connector.demo_org import DemoOrg
from connector.demo_org.history import OPEN_END, day_start_ms
from connector.demo_org.schema import OBJECTS
from connector.demo_org.seed import DAY_MS
from connector.demo_org.testing import SEEDED_DAY, Clock, shared_cache_dir
from connector.sync import run_sync
from retour.config import load_settings
from retour.models import FeedbackItem, FeedbackSegment
from tests.connector_helpers import Sleeps, wipe

pytestmark = pytest.mark.demo_org
SCALE = 0.05
FIVE_WEEKS_LATER = SEEDED_DAY + dt.timedelta(days=36)  # the day the issue found every sparkline at zero


def _org(path, keys_dir, clock, scale=SCALE) -> DemoOrg:
    return DemoOrg(path, scale=scale, cache_dir=shared_cache_dir(), keys_dir=keys_dir, clock=clock)


def _rows(org: DemoOrg) -> dict[str, list[dict]]:
    return {name: org.store.all_rows(obj) for name, obj in OBJECTS.items()}


def test_two_todays_give_the_same_ids_and_texts_with_every_date_moved_by_the_difference(tmp_path, keys_dir):
    with _org(tmp_path / "a", keys_dir, Clock(SEEDED_DAY)) as early, \
            _org(tmp_path / "b", keys_dir, Clock(FIVE_WEEKS_LATER)) as late:
        before, after = _rows(early), _rows(late)
    moved = collections.Counter()
    for name, obj in OBJECTS.items():
        assert [r["Id"] for r in before[name]] == [r["Id"] for r in after[name]], name
        for old, new in zip(before[name], after[name]):
            for f in obj.fields:
                a, b = old[f.name], new[f.name]
                if a is None or f.type not in ("date", "datetime") or (f.type == "date" and a >= OPEN_END):
                    assert a == b, (name, f.name)  # ids, texts, amounts, stages, an open end: unchanged
                elif f.type == "date":
                    assert dt.date.fromisoformat(b) - dt.date.fromisoformat(a) == dt.timedelta(days=36), (name, f.name)
                    moved[f.type] += 1
                else:
                    assert b - a == 36 * DAY_MS, (name, f.name)
                    moved[f.type] += 1
    assert moved["date"] > 500 and moved["datetime"] > 2000, moved


def test_history_ends_at_the_start_of_the_clocks_today_with_every_theme_heard_in_the_last_90_days(org, tmp_path,
                                                                                                    keys_dir):
    """Five weeks after the seed's anchor, the org still has feedback from last month: the trends a demo shows
    compare two full windows instead of an empty one with the past."""
    today = FIVE_WEEKS_LATER
    with _org(tmp_path, keys_dir, Clock(today), scale=org.scale) as late:
        end = day_start_ms(today)
        rows = _rows(late)
        truth = late.truth()
    stamps = [r[f] for rs in rows.values() for r in rs for f in ("CreatedDate", "SystemModstamp") if r.get(f)]
    assert max(stamps) < end and max(stamps) > end - DAY_MS  # the history runs up to yesterday, never later
    when = {}  # record id -> the day its feedback is dated, as Retour reads it
    for r in rows["Opportunity"]:
        when[r["Id"]] = dt.date.fromisoformat(r["CloseDate"])
    for name in ("Task", "Event"):
        for r in rows[name]:
            when[r["Id"]] = dt.date.fromisoformat(r["ActivityDate"])
    for name in ("Case", "ContentNote"):
        for r in rows[name]:
            when[r["Id"]] = dt.datetime.fromtimestamp(r["CreatedDate"] / 1000, dt.timezone.utc).date()
    last_30, prior_30, last_90 = collections.Counter(), collections.Counter(), collections.Counter()
    for rid, theme in truth.items():
        age = (today - when[rid]).days
        last_30[theme] += 0 < age <= 30
        prior_30[theme] += 30 < age <= 60
        last_90[theme] += 0 < age <= 90
    themes = set(truth.values())
    assert all(last_90[t] > 0 for t in themes), last_90
    assert sum(last_30.values()) > 0.1 * sum(last_90.values())  # the last month is not an empty window
    assert sum(1 for t in themes if last_30[t] > 0 and prior_30[t] > 0) >= 0.8 * len(themes)


def test_a_running_org_keeps_its_dates_past_midnight_and_a_restart_next_day_moves_them(tmp_path, keys_dir, engine,
                                                                                      database_url):
    """The demo database synced yesterday is re-synced today: the same items (ids, texts, segments filed on them)
    with dates one day later, and nothing read twice into a second row."""
    wipe(engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    clock = Clock(dt.datetime(2026, 11, 19, 23, 50, tzinfo=dt.timezone.utc))
    data = tmp_path / "data"

    def sync(org: DemoOrg) -> dict[int, tuple]:
        settings = load_settings({"database_url": database_url, "data_dir": str(tmp_path / "retour")},
                                 environ=org.env())
        assert run_sync(factory, settings, connect(settings, sleep=Sleeps()))["status"] == "ok"
        with factory() as s:
            return {i.id: (i.source_id, i.text_hash, i.occurred_at) for i in s.scalars(select(FeedbackItem))}

    try:
        with _org(data, keys_dir, clock) as org:
            yesterday = sync(org)
            seeded = _rows(org)
            with factory() as s:  # what curation hangs on: segments of the items (kept while their text is)
                for item_id in list(yesterday)[:20]:
                    s.add(FeedbackSegment(item_id=item_id, position=0, text="filed by a person", lang="en"))
                s.commit()
            clock.advance(minutes=20)  # past midnight, still running
            assert _rows(org) == seeded
            assert sync(org) == yesterday
        with _org(data, keys_dir, clock) as org:  # the demo is started again the next day
            today = sync(org)
        assert today.keys() == yesterday.keys()
        for item_id, (source, digest, occurred) in yesterday.items():
            assert today[item_id] == (source, digest, occurred + dt.timedelta(days=1))
        with factory() as s:
            assert len(s.scalars(select(FeedbackSegment)).all()) == 20
    finally:
        wipe(engine)


def test_a_seeded_deal_is_never_moved_after_the_first_push_on_its_account(tmp_path, keys_dir):
    """Moved past a push, a deal seeded days before it would read as pipeline the push brought in."""
    clock = Clock(SEEDED_DAY)
    with _org(tmp_path, keys_dir, clock) as org:
        opps = sorted(org.store.all_rows(OBJECTS["Opportunity"]), key=lambda o: o["CreatedDate"])
        newest, other = opps[-1], next(o for o in reversed(opps) if o["AccountId"] != opps[-1]["AccountId"])
        landed = day_start_ms(SEEDED_DAY) + 9 * 3_600_000  # Retour's follow-up landed that morning
        org.create("Task", Subject="Re-engage", WhatId=newest["Id"], Retour_Key__c="d1-task-x", Status="Not Started",
                   CreatedDate=dt.datetime.fromtimestamp(landed / 1000, dt.timezone.utc))
        clock.advance(days=20)
        assert org.place_history() == 20
        after = {o["Id"]: o for o in org.store.all_rows(OBJECTS["Opportunity"])}
    on_account = [o for o in after.values() if o["AccountId"] == newest["AccountId"]]
    assert max(o["CreatedDate"] for o in on_account) == landed - DAY_MS == after[newest["Id"]]["CreatedDate"]
    assert after[other["Id"]]["CreatedDate"] == other["CreatedDate"] + 20 * DAY_MS  # other accounts move whole


def test_a_clock_ahead_of_the_wall_clock_is_refused(tmp_path, keys_dir):
    """Its history would carry SystemModstamps in the future, which no sync ever reads."""
    ahead = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    with pytest.raises(ValueError, match="after the wall clock"):
        _org(tmp_path, keys_dir, Clock(ahead)).start()


def test_a_copy_that_replaces_another_is_stamped_now_so_a_mirror_of_the_old_one_reads_it_again(tmp_path, keys_dir):
    clock = Clock(SEEDED_DAY)
    with _org(tmp_path, keys_dir, clock) as org:
        first = max(r["SystemModstamp"] for r in org.store.all_rows(OBJECTS["Opportunity"]))
    assert first < day_start_ms(SEEDED_DAY)  # a new org's stamps are spread over its history
    before = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    again = DemoOrg(tmp_path, scale=SCALE, cache_dir=shared_cache_dir(), keys_dir=keys_dir, clock=clock, fresh=True)
    with again:
        stamps = {r["SystemModstamp"] for r in again.store.all_rows(OBJECTS["Opportunity"])}
        notes = {r["LastModifiedDate"] for r in again.store.all_rows(OBJECTS["ContentNote"])}
    assert min(stamps) >= before and min(notes) >= before


def test_an_open_ended_date_stays_open_when_the_history_moves(tmp_path, keys_dir):
    """Salesforce writes 9999-12-31 for "no end" (a dated rate's NextStartDate); moved, SQLite would make it NULL."""
    clock = Clock(SEEDED_DAY)
    with _org(tmp_path, keys_dir, clock) as org:
        deal = org.store.all_rows(OBJECTS["Opportunity"])[0]
        org.store.conn.execute('UPDATE "Opportunity" SET "CloseDate" = ? WHERE "Id" = ?', ("9999-12-31", deal["Id"]))
        clock.advance(days=3)
        assert org.place_history() == 3
        assert org.store.get_row(OBJECTS["Opportunity"], deal["Id"])["CloseDate"] == "9999-12-31"
