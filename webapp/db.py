"""One database session per request, opened lazily from the app's factory and closed at teardown.

The request owns the session: views commit what they change, and pass the session on to jobs and
connector functions, which never open their own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, Executable
from sqlalchemy.orm import Session

from retour.config import Settings


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["retour.session_factory"]()
    return g.db_session


_COMPILED: dict[tuple[int, str], tuple[Executable, str]] = {}  # holds the statement: its id is never reused


def probe(statement: Executable, params: dict[str, Any] | None = None) -> tuple | None:
    """One read outside the request's session, in autocommit: a single round trip (no BEGIN, no ROLLBACK).

    For the checks every request makes (who is signed in, the data version) so a page served from the page
    cache opens no ORM session at all. The first row as a tuple of driver values, or None. On PostgreSQL the
    statement, compiled once, goes straight to a pooled psycopg connection (half the CPU of a Core execution).
    """
    bind = current_app.extensions["retour.session_factory"].kw["bind"]
    if isinstance(bind, Engine) and bind.dialect.driver == "psycopg":
        key = (id(statement), bind.dialect.name)
        hit = _COMPILED.get(key)
        if hit is None or hit[0] is not statement:
            hit = _COMPILED[key] = (statement, str(statement.compile(dialect=bind.dialect)))
        sql = hit[1]
        raw = bind.raw_connection()
        try:
            conn = raw.driver_connection
            conn.autocommit = True  # the pool hands out idle connections: nothing is open to commit
            try:
                with conn.cursor() as cursor:
                    cursor.execute(sql, params)
                    return cursor.fetchone()
            finally:
                conn.autocommit = False  # the next checkout (an ORM session) gets a transactional connection
        except Exception:
            raw.invalidate()  # a connection in an unknown state never goes back to the pool
            raise
        finally:
            raw.close()
    if isinstance(bind, Engine):
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(statement, params).first()
    else:
        assert isinstance(bind, Connection)  # tests: sessions bound to one connection in a rolled-back transaction
        row = bind.execute(statement, params).first()
    return tuple(row) if row is not None else None


def settings() -> Settings:
    return current_app.extensions["retour.settings"]


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close_session)
