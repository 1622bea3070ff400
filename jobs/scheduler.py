"""Every periodic job of Retour, declared in one table, run by APScheduler under a lease held in the database.

Why a lease: with several instances (two containers, a rolling deploy) against one PostgreSQL, two schedulers
would sync twice and push twice. Only the holder of the ``scheduler_lock`` row runs jobs; it renews the lease
well before it expires, and a crashed holder's lease simply runs out and another instance takes over.
Acquisition is one conditional UPDATE (or an INSERT guarded by the primary key), atomic on SQLite and
PostgreSQL alike.

Every run is written to ``job_run`` (status ok | skipped | failed, figures, error), committed apart from the
job's own work so a failing job still leaves its record.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from retour import runs
from retour.config import Settings
from retour.db import session_scope
from retour.models import JobRun, SchedulerLock, utcnow

log = logging.getLogger("retour.jobs.scheduler")

LOCK_NAME = "scheduler"
JOB_OPTIONS = {"coalesce": True, "max_instances": 1, "replace_existing": True}


class JobSkipped(Exception):
    """The job has nothing it may do right now (e.g. Salesforce not configured); recorded as skipped, not failed."""


# --------------------------------------------------------------------------------------------- the jobs
def sync_job(settings: Settings, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """Pull what changed in Salesforce (connector.sync)."""
    if not settings.salesforce.configured:
        raise JobSkipped("Salesforce is not configured: set [salesforce] auth (RETOUR_SALESFORCE_AUTH) to sync")
    from connector.client import connect
    from connector.sync import run_sync

    report = run_sync(session_factory, settings, connect(settings))
    return _figures(report)


def themes_job(settings: Settings, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """Assign new feedback to themes and refresh critical mass (jobs.themes)."""
    from jobs.themes import run_pass

    return run_pass(session_factory, settings)


def push_job(settings: Settings, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """Send approved insights back to Salesforce (connector.push); it checks the pause before every batch."""
    if not settings.salesforce.configured:
        raise JobSkipped("Salesforce is not configured: set [salesforce] auth (RETOUR_SALESFORCE_AUTH) to push")
    from connector.client import connect
    from connector.push import send_pending

    client = connect(settings)
    with session_scope(session_factory) as session:
        return _figures(send_pending(session, settings, client))


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[Settings, sessionmaker[Session]], dict[str, Any]]
    interval_setting: str  # field of [scheduler], in minutes
    # The job writes its own JobRun (connector.sync.run_sync does, with per-object figures): the runner only
    # records what the job could not (a skip), so there is one row per run.
    self_recording: bool = False

    def minutes(self, settings: Settings) -> int:
        return int(getattr(settings.scheduler, self.interval_setting))


# The one table. Ids are stable: APScheduler replaces a job by id, and JobRun rows are named after them.
JOBS: tuple[JobSpec, ...] = (
    JobSpec("sync", sync_job, "sync_minutes", self_recording=True),
    JobSpec("themes", themes_job, "themes_minutes"),
    JobSpec("push", push_job, "push_minutes"),
)


def _figures(report: Any) -> dict[str, Any]:
    if report is None:
        return {}
    if isinstance(report, dict):
        return report
    for attr in ("as_dict", "to_dict", "figures"):
        value = getattr(report, attr, None)
        if callable(value):
            return dict(value())
        if isinstance(value, dict):
            return dict(value)
    if hasattr(report, "__dataclass_fields__"):
        import dataclasses
        return dataclasses.asdict(report)
    return {"report": str(report)}


# --------------------------------------------------------------------------------------------- the lease
def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lock(session: Session, owner: str, ttl_seconds: int, *, name: str = LOCK_NAME,
                 now: dt.datetime | None = None) -> bool:
    """Take or renew the lease; True when ``owner`` holds it until now + ttl. The caller commits."""
    now = now or utcnow()
    expires = now + dt.timedelta(seconds=ttl_seconds)
    taken = session.execute(
        update(SchedulerLock)
        .where(SchedulerLock.name == name, (SchedulerLock.owner == owner) | (SchedulerLock.expires_at < now))
        .values(owner=owner, expires_at=expires)
        .execution_options(synchronize_session=False)).rowcount
    if taken == 1:
        return True
    try:
        with session.begin_nested():
            session.add(SchedulerLock(name=name, owner=owner, expires_at=expires))
    except IntegrityError:
        return False  # the row exists and is someone else's, unexpired
    return True


def release_lock(session: Session, owner: str, *, name: str = LOCK_NAME) -> None:
    session.execute(delete(SchedulerLock).where(SchedulerLock.name == name, SchedulerLock.owner == owner)
                    .execution_options(synchronize_session=False))


# --------------------------------------------------------------------------------------------- running
def record_run(session_factory: sessionmaker[Session], job_id: str, func: Callable[[], dict[str, Any]]) -> JobRun:
    """Run ``func`` with a JobRun row around it: running → ok | skipped | failed, figures and error kept."""
    with session_scope(session_factory) as session:
        run_id = runs.begin(session, job_id).id
    started = time.perf_counter()
    status, figures, error = "ok", {}, None
    try:
        figures = func() or {}
        # Jobs that report trouble in their figures (push: stopped by the pause or the budget, an error).
        if isinstance(figures, dict) and figures.get("error"):
            status, error = "failed", str(figures["error"])
        elif isinstance(figures, dict) and figures.get("stopped"):
            status, error = "stopped", f"stopped: {figures['stopped']}"
    except JobSkipped as exc:
        status, error = "skipped", str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded in job_run and logged, the scheduler keeps going
        status, error = "failed", f"{exc.__class__.__name__}: {exc}\n{traceback.format_exc(limit=8)}"
    seconds = round(time.perf_counter() - started, 3)
    with session_scope(session_factory) as session:
        run = session.get(JobRun, run_id)
        assert run is not None
        run.status = status
        run.finished_at = utcnow()
        run.figures = {**_jsonable(figures), "seconds": seconds, "owner": (run.figures or {}).get("owner")}
        run.error = error
        run.api_calls = int(figures.get("api_calls", 0) or 0) if isinstance(figures, dict) else 0
    log.info("job=%s state=%s s=%s%s", job_id, status, seconds,
             f" error={error.splitlines()[0]!r}" if error else "")
    return run


def _jsonable(figures: dict[str, Any]) -> dict[str, Any]:
    import json
    return json.loads(json.dumps(figures, default=str))


class LeasedRunner:
    """Runs a job only while this process holds the lease; renews it on a heartbeat."""

    def __init__(self, settings: Settings, session_factory: sessionmaker[Session], owner: str | None = None) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.owner = owner or default_owner()
        self.ttl = settings.scheduler.lock_ttl_seconds
        self._held = False
        self._lock = threading.Lock()

    def heartbeat(self) -> bool:
        with self._lock:
            with session_scope(self.session_factory) as session:
                held = acquire_lock(session, self.owner, self.ttl)
            if held != self._held:
                log.info("job=scheduler state=%s owner=%s", "leader" if held else "standby", self.owner)
            self._held = held
            return held

    def run(self, spec: JobSpec) -> JobRun | None:
        if not self.heartbeat():
            log.info("job=%s state=standby owner=%s", spec.id, self.owner)
            return None
        if spec.self_recording:
            return self._run_self_recording(spec)
        return record_run(self.session_factory, spec.id, lambda: spec.func(self.settings, self.session_factory))

    def _run_self_recording(self, spec: JobSpec) -> JobRun | None:
        try:
            figures = spec.func(self.settings, self.session_factory)
        except JobSkipped as exc:
            return record_run(self.session_factory, spec.id, lambda: (_ for _ in ()).throw(JobSkipped(str(exc))))
        except Exception as exc:  # noqa: BLE001 - the job recorded its own failed JobRun; the scheduler goes on
            log.error("job=%s state=failed error=%r", spec.id, f"{exc.__class__.__name__}: {exc}")
            return None
        log.info("job=%s state=%s", spec.id, figures.get("status", "ok") if isinstance(figures, dict) else "ok")
        return None

    def release(self) -> None:
        with session_scope(self.session_factory) as session:
            release_lock(session, self.owner)
        self._held = False


def build_scheduler(settings: Settings, session_factory: sessionmaker[Session], *, blocking: bool = False,
                    owner: str | None = None):
    """An APScheduler with every job of ``JOBS`` plus the lease heartbeat; not started."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    runner = LeasedRunner(settings, session_factory, owner)
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=dt.timezone.utc)
    for spec in JOBS:
        scheduler.add_job(runner.run, IntervalTrigger(minutes=spec.minutes(settings)), args=[spec], id=spec.id,
                          name=spec.func.__doc__.splitlines()[0] if spec.func.__doc__ else spec.id,
                          **JOB_OPTIONS)
    scheduler.add_job(runner.heartbeat, IntervalTrigger(seconds=max(1, settings.scheduler.lock_ttl_seconds // 3)),
                      id="lease", name="renew the scheduler lease", **JOB_OPTIONS)
    scheduler.retour_runner = runner  # type: ignore[attr-defined]
    return scheduler

