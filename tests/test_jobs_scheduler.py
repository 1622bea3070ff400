"""The job table, the database lease and job-run records."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import delete, select

from jobs import scheduler as sched
from retour.db import session_factory as make_factory
from retour.db import session_scope
from retour.models import JobRun, SchedulerLock


def test_job_table_is_pinned():
    """Ids are stable (APScheduler replaces jobs by id, JobRun rows are named after them) and intervals come from settings."""
    assert [(j.id, j.interval_setting, j.self_recording) for j in sched.JOBS] == [
        ("sync", "sync_minutes", True), ("themes", "themes_minutes", False), ("push", "push_minutes", False)]
    assert sched.JOB_OPTIONS == {"coalesce": True, "max_instances": 1, "replace_existing": True}


def test_scheduler_declares_every_job_with_its_interval_and_options(make_settings, engine):
    settings = make_settings({"scheduler": {"sync_minutes": 7, "themes_minutes": 11, "push_minutes": 3}})
    s = sched.build_scheduler(settings, make_factory(engine), owner="test")
    jobs = {j.id: j for j in s.get_jobs()}
    assert set(jobs) == {"sync", "themes", "push", "lease"}
    assert {k: jobs[k].trigger.interval for k in ("sync", "themes", "push")} == {
        "sync": dt.timedelta(minutes=7), "themes": dt.timedelta(minutes=11), "push": dt.timedelta(minutes=3)}
    assert jobs["lease"].trigger.interval == dt.timedelta(seconds=settings.scheduler.lock_ttl_seconds // 3)
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1


@pytest.fixture
def committed(engine):
    """Sessions that really commit (a lease must be visible to other connections); rows cleaned afterwards."""
    factory = make_factory(engine)
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield factory, name
    with session_scope(factory) as s:
        s.execute(delete(SchedulerLock).where(SchedulerLock.name.like("test-%")))
        s.execute(delete(JobRun).where(JobRun.job.like("test-%")))


def _acquire(factory, owner, name, ttl=60, now=None):
    with session_scope(factory) as s:
        return sched.acquire_lock(s, owner, ttl, name=name, now=now)


def test_only_one_of_two_schedulers_holds_the_lease(committed):
    factory, name = committed
    assert _acquire(factory, "a", name) is True
    assert _acquire(factory, "b", name) is False
    assert _acquire(factory, "a", name) is True  # renewal by the holder


def test_concurrent_acquisitions_elect_exactly_one_holder(committed):
    factory, name = committed
    results: dict[str, bool] = {}
    barrier = threading.Barrier(4)

    def contend(owner):
        barrier.wait(timeout=10)
        results[owner] = _acquire(factory, owner, name)

    threads = [threading.Thread(target=contend, args=(f"o{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    holders = [o for o in ("o0", "o1", "o2", "o3") if results.get(o)]
    assert len(holders) == 1
    with session_scope(factory) as s:
        assert s.get(SchedulerLock, name).owner == holders[0]


def test_an_expired_lease_is_taken_over(committed):
    factory, name = committed
    t0 = dt.datetime.now(dt.timezone.utc)
    assert _acquire(factory, "crashed", name, ttl=30, now=t0)
    assert not _acquire(factory, "standby", name, ttl=30, now=t0 + dt.timedelta(seconds=10))
    assert _acquire(factory, "standby", name, ttl=30, now=t0 + dt.timedelta(seconds=31))
    assert not _acquire(factory, "crashed", name, ttl=30, now=t0 + dt.timedelta(seconds=32))


def test_released_lease_is_free_at_once(committed):
    factory, name = committed
    assert _acquire(factory, "a", name)
    with session_scope(factory) as s:
        sched.release_lock(s, "a", name=name)
    assert _acquire(factory, "b", name)


def test_every_run_is_recorded_with_figures_or_error(committed):
    factory, _ = committed
    ok = sched.record_run(factory, "test-ok", lambda: {"rows": 3})
    skipped = sched.record_run(factory, "test-skip", lambda: (_ for _ in ()).throw(sched.JobSkipped("not configured")))

    def boom():
        raise RuntimeError("database went away")

    failed = sched.record_run(factory, "test-fail", boom)
    with session_scope(factory) as s:
        rows = {r.job: r for r in s.scalars(select(JobRun).where(JobRun.job.like("test-%")))}
    assert rows["test-ok"].status == "ok" and rows["test-ok"].figures["rows"] == 3 and rows["test-ok"].finished_at
    assert rows["test-skip"].status == "skipped" and rows["test-skip"].error == "not configured"
    assert rows["test-fail"].status == "failed" and "database went away" in rows["test-fail"].error
    assert (ok.status, skipped.status, failed.status) == ("ok", "skipped", "failed")


def test_sync_and_push_skip_cleanly_without_salesforce(make_settings, committed):
    factory, _ = committed
    settings = make_settings()
    for job in (sched.sync_job, sched.push_job):
        with pytest.raises(sched.JobSkipped, match="RETOUR_SALESFORCE_AUTH"):
            job(settings, factory)


def test_sync_without_salesforce_leaves_one_skipped_run(make_settings, committed):
    factory, _ = committed
    spec = sched.JobSpec("test-sync", sched.sync_job, "sync_minutes", self_recording=True)
    runner = sched.LeasedRunner(make_settings(), factory, owner="leader")
    try:
        run = runner.run(spec)
    finally:
        runner.release()
    assert run is not None and run.status == "skipped" and "RETOUR_SALESFORCE_AUTH" in run.error
    with session_scope(factory) as s:
        assert len(s.scalars(select(JobRun).where(JobRun.job == "test-sync")).all()) == 1


def test_push_stopped_by_the_pause_is_recorded_as_stopped(committed):
    factory, _ = committed
    run = sched.record_run(factory, "test-push", lambda: {"paused": True, "stopped": "paused", "sent": 0})
    assert run.status == "stopped" and run.figures["sent"] == 0


def test_a_standby_instance_does_not_run_jobs(make_settings, committed):
    factory, name = committed
    settings = make_settings()
    calls = []
    spec = sched.JobSpec("test-job", lambda s, f: calls.append(1) or {"n": 1}, "themes_minutes")
    leader = sched.LeasedRunner(settings, factory, owner="leader")
    standby = sched.LeasedRunner(settings, factory, owner="standby")
    try:
        assert leader.run(spec) is not None
        assert standby.run(spec) is None
        assert calls == [1]
    finally:
        leader.release()
        standby.release()

