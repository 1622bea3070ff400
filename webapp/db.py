"""One database session per request, opened lazily from the app's factory and closed at teardown.

The request owns the session: views commit what they change, and pass the session on to jobs and
connector functions, which never open their own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, Executable, Row
from sqlalchemy.orm import Session

from retour.config import Settings


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["retour.session_factory"]()
    return g.db_session


def probe(statement: Executable, params: dict[str, Any] | None = None) -> Row | None:
    """One read outside the request's session, in autocommit: a single round trip (no BEGIN, no ROLLBACK).

    For the checks every request makes (who is signed in, the data version) so a page served from the page
    cache opens no ORM session at all. The first row, or None.
    """
    bind = current_app.extensions["retour.session_factory"].kw["bind"]
    if isinstance(bind, Engine):
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return conn.execute(statement, params).first()
    assert isinstance(bind, Connection)  # tests: sessions bound to one connection in a rolled-back transaction
    return bind.execute(statement, params).first()


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
