"""Shared fixtures: a real database (SQLite by default, PostgreSQL with RETOUR_TEST_DATABASE_URL), rolled back per test.

In CI (CI=true) a PostgreSQL run must reach PostgreSQL: a connection failure fails the session rather than
skipping tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from retour.config import Settings, load_settings
from retour.db import make_engine, upgrade
from retour.models import Base

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _test_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("RETOUR_TEST_DATABASE_URL", "")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def reset_database(engine: Engine) -> None:
    """Empty the database completely (tables and Alembic's version table) before migrating it."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _test_database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    reset_database(eng)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine):
    """A session factory whose sessions commit for real, on a database emptied before and after the test.

    For code that commits page by page (the connector's sync and import, the demo org end to end): the rolled-back
    outer transaction of ``connection`` cannot hold it. A directory's conftest may define its own ``factory``.
    """
    from tests.connector_helpers import wipe

    wipe(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    wipe(engine)


@pytest.fixture
def connection(engine: Engine):
    """One outer transaction per test, rolled back at the end, on SQLite too.

    pysqlite starts no transaction for ``conn.begin()``; the first SAVEPOINT would then open one by itself
    and its RELEASE commit it, leaking a test's commits into the next test. An explicit BEGIN makes the outer
    transaction real (PostgreSQL needs nothing).
    """
    conn = engine.connect()
    trans = conn.begin()
    if engine.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def session_factory(connection) -> sessionmaker[Session]:
    """Sessions bound to the test's outer transaction: code may commit, everything is rolled back after the test."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory) -> Iterator[Session]:
    s = session_factory()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str):
    """Settings from a mapping, never from the developer's environment."""

    def _make(overrides: dict | None = None, **kwargs) -> Settings:
        base = {"data_dir": str(tmp_path / "data"), "database_url": database_url}
        base.update(overrides or {})
        base.update(kwargs)
        return load_settings(base, environ={})

    return _make


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared material not found at {SHARED}: the repository must sit beside shared/")
    return SHARED


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI nothing is silently skipped: a skipped test (missing PostgreSQL, browser, demo org) fails.

    Tests of genuinely optional extras may skip with a reason starting "optional:".
    """
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not getattr(report, "wasxfail", None):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not reason.startswith("optional:") and "optional:" not in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, which must run every test: {reason}"
