"""Retour's web app: product owners review themes, decide, and approve what is pushed back to reps.

``create_app`` is a thin factory: it wires settings, the per-request database session, security, the
translations and one blueprint per screen area. It does no network and no migrations (callers run
``retour.db.upgrade``); the only file it may touch is the generated secret key under ``data_dir``.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import IntegerConverter, Map

from retour.config import Settings, load_settings

MAX_ROW_ID = 2**63 - 1  # the largest id a BIGINT (PostgreSQL) or INTEGER (SQLite) column holds


class RowId(IntegerConverter):
    """``<int:...>`` in a URL is a row id, and no row has an id past a signed 64-bit integer: such a URL is a 404,
    not an overflow in the database driver (a 500)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, MAX_ROW_ID if max is None else max, signed)


def create_app(settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None) -> Flask:
    """Build the Flask app for ``settings``; ``session_factory`` defaults to one on the configured database."""
    settings = settings or load_settings()
    if session_factory is None:
        from retour.db import make_engine
        from retour.db import session_factory as make_factory
        session_factory = make_factory(make_engine(settings.effective_database_url))

    from webapp import cache, db, display, errors, i18n, security, templating
    from webapp.views import admin, api, auth, board, decisions, evidence, proposals, themes

    app = Flask(__name__)
    app.url_map.converters["int"] = RowId  # before any route is added: every <int:...> is a row id
    app.config.update(
        SECRET_KEY=security.secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.web.secure_cookies,
        SESSION_COOKIE_NAME="retour_session",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        MAX_CONTENT_LENGTH=1_000_000,
        JSON_SORT_KEYS=False,
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.finalize = display.finalize  # bidi controls in CRM text cannot reorder what people read
    app.extensions["retour.settings"] = settings
    app.extensions["retour.session_factory"] = session_factory

    db.init_app(app)
    cache.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    for module in (auth, board, themes, evidence, proposals, decisions, admin, api):
        app.register_blueprint(module.bp)
    return app
