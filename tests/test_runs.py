"""A job run a killed process left "running" is marked interrupted when the same job starts again."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

from sqlalchemy import select

from retour import runs
from retour.models import JobRun, utcnow


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_whose_process_is_gone_is_marked_interrupted_when_the_job_starts_again(session):
    left = JobRun(job="sync", status="running", started_at=utcnow() - dt.timedelta(minutes=5),
                  figures={"owner": f"{socket.gethostname()}:{_dead_pid()}"})
    session.add(left)
    session.flush()
    new = runs.begin(session, "sync")
    assert left.status == "interrupted" and left.finished_at is not None and "interrupted" in left.error
    assert new.status == "running" and new.figures["owner"] == runs.owner()


def test_a_run_of_a_live_process_or_another_job_is_left_alone(session):
    alive = JobRun(job="sync", status="running", started_at=utcnow(), figures={"owner": runs.owner()})
    other_job = JobRun(job="themes", status="running", started_at=utcnow() - dt.timedelta(minutes=5),
                       figures={"owner": f"{socket.gethostname()}:{_dead_pid()}"})
    session.add_all([alive, other_job])
    session.flush()
    runs.begin(session, "sync")
    assert alive.status == "running" and other_job.status == "running"


def test_a_run_on_another_host_is_judged_gone_only_when_far_older_than_any_run(session):
    recent = JobRun(job="push", status="running", started_at=utcnow() - dt.timedelta(minutes=30),
                    figures={"owner": "another-host:123"})
    ancient = JobRun(job="push", status="running", started_at=utcnow() - runs.STALE_AFTER - dt.timedelta(hours=1),
                     figures={"owner": "another-host:456"})
    from_old_code = JobRun(job="push", status="running", started_at=utcnow() - dt.timedelta(minutes=1), figures={})
    session.add_all([recent, ancient, from_old_code])
    session.flush()
    runs.begin(session, "push")
    assert (recent.status, ancient.status, from_old_code.status) == ("running", "interrupted", "interrupted")
    assert len(session.scalars(select(JobRun).where(JobRun.job == "push", JobRun.status == "running")).all()) == 2
