"""One database session per request, opened lazily from the app's factory and closed at teardown.

The request owns the session: views commit what they change, and pass the session on to jobs and
connector functions, which never open their own.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from retour.config import Settings


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["retour.session_factory"]()
    return g.db_session


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
