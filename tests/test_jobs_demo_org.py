"""Sync from the demo org over HTTPS, then themes and critical mass, then the scheduler's jobs: the whole loop."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connector.client import connect
from connector.demo_org.testing import seeded_org
from connector.sync import run_sync
from jobs import scheduler as sched
from jobs.themes import run_theme_pass
from retour.config import load_settings
from retour.db import session_scope
from retour.models import FeedbackItem, FeedbackSegment, JobRun, Theme, ThemeEvidence
from tests.connector_helpers import Sleeps

pytestmark = pytest.mark.demo_org
SCALE = 0.05


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with seeded_org(tmp_path_factory.mktemp("demo-org-jobs"), scale=SCALE) as demo:
        yield demo


@pytest.fixture
def settings(org, database_url, tmp_path):
    return load_settings({"database_url": database_url, "data_dir": str(tmp_path)}, environ=org.env())


def _evidence(factory):
    with factory() as s:
        return set(s.execute(select(ThemeEvidence.theme_id, ThemeEvidence.segment_id)
                             .where(ThemeEvidence.state == "active")).all())


def test_synced_feedback_becomes_themes_with_critical_mass_and_stays_put(org, factory, settings):
    assert run_sync(factory, settings, connect(settings, sleep=Sleeps()))["status"] == "ok"
    with session_scope(factory) as s:
        first = run_theme_pass(s, settings)
    assert first["themes_created"] > 0 and first["segments_embedded"] > 0
    with factory() as s:
        themes = s.scalars(select(Theme)).all()
        logistics = s.scalar(select(func.count()).select_from(FeedbackSegment).where(FeedbackSegment.is_feedback.is_(False)))
        assert logistics > 0
        assert all(t.status in ("emerging", "critical") and t.reason and t.label for t in themes)
        assert any(t.metrics["figures"]["accounts"] > 0 for t in themes)
        assert any(t.metrics["figures"]["revenue_at_stake"] > 0 for t in themes)
        assert not any(t.metrics["figures"]["unconverted"] for t in themes)  # the org's rates convert GBP and CHF
    before = _evidence(factory)
    # Nothing changed in Salesforce: the next loop embeds nothing and moves nothing.
    run_sync(factory, settings, connect(settings, sleep=Sleeps()))
    with session_scope(factory) as s:
        again = run_theme_pass(s, settings)
    assert again["segments_embedded"] == 0 and again["themes_created"] == 0
    assert _evidence(factory) == before
    # A rep edits a note: its old clauses leave, the new text is segmented and embedded on the next pass.
    with factory() as s:
        task_item = s.scalars(select(FeedbackItem).where(FeedbackItem.source_object == "Task")).first()
        task_id, old_text = task_item.source_id, task_item.text
    org.update("Task", task_id, Description="Lost: no SAML single sign-on for Okta, their IT blocked the deal.")
    run_sync(factory, settings, connect(settings, sleep=Sleeps()))
    with session_scope(factory) as s:
        third = run_theme_pass(s, settings)
    assert third["segments_embedded"] >= 1
    with factory() as s:
        texts = s.scalars(select(FeedbackSegment.text).join(FeedbackItem)
                          .where(FeedbackItem.source_id == task_id)).all()
    assert any("SAML" in t for t in texts) and old_text not in texts


def test_scheduler_jobs_sync_and_theme_the_demo_org_and_record_each_run(org, factory, settings):
    runner = sched.LeasedRunner(settings, factory, owner="demo-test")
    try:
        for spec in sched.JOBS[:2]:  # sync, themes (push has nothing approved to send)
            runner.run(spec)
        push = runner.run(sched.JOBS[2])
    finally:
        runner.release()
    with factory() as s:
        all_runs = s.scalars(select(JobRun)).all()
        runs = {r.job: r for r in all_runs}
        themes = s.scalar(select(func.count()).select_from(Theme))
    assert runs["sync"].status == "ok" and runs["themes"].status == "ok", (runs["sync"].error, runs["themes"].error)
    assert runs["themes"].figures["themes_created"] == themes > 0
    assert push is not None and push.status in ("ok", "stopped"), push.error
    assert sorted(r.job for r in all_runs) == ["push", "sync", "themes"]  # one row per run, sync's its own
