"""Job runs (sync, themes, push): the one place a run is started, so a run a killed process left behind is seen.

A process killed mid-run (kill -9, a crash, a container stopped hard) never writes its run's end: that JobRun said
"running" for ever. Each run records which process owns it; when the same job starts again, a run still "running"
whose process is gone is marked "interrupted". A run on another host is given ``STALE_AFTER`` (far longer than any
run takes) before it is judged gone, since its process cannot be checked from here.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retour.models import JobRun, utcnow

STALE_AFTER = dt.timedelta(hours=12)
INTERRUPTED = "interrupted: its process ended before the run did (killed or crashed); the next run picks up from the " \
              "last committed point"


def owner() -> str:
    """This process, as a run records it: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(run: JobRun, now: dt.datetime) -> bool:
    who = (run.figures or {}).get("owner")
    host, _sep, pid = str(who or "").rpartition(":")
    if who and host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, under another user
        return False
    return run.started_at < now - STALE_AFTER if who else True  # a run older than owners was left by old code


def begin(session: Session, job: str, *, started_at: dt.datetime | None = None, **figures: Any) -> JobRun:
    """A new "running" JobRun for ``job`` (flushed); runs of the same job whose process is gone are interrupted."""
    now = utcnow()
    for run in session.scalars(select(JobRun).where(JobRun.job == job, JobRun.status == "running")):
        if _gone(run, now):
            run.status, run.finished_at, run.error = "interrupted", now, INTERRUPTED
    run = JobRun(job=job, status="running", started_at=started_at or now, figures={**figures, "owner": owner()})
    session.add(run)
    session.flush()
    return run
