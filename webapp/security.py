"""Who may do what, and the protections every response carries.

- ``PERMISSIONS`` is the one table of endpoint -> minimum role. An endpoint missing from it is refused
  (fail closed) and a test walks ``app.url_map`` so a new route without a declared permission fails CI.
- CSRF: a random token kept in the signed session cookie; every unsafe request (form or API) must echo it
  in the ``csrf_token`` field or the ``X-CSRF-Token`` header (htmx sends the header, see static/app.js).
- Login attempts are limited per client IP + e-mail in memory (per process: with several server processes
  the effective limit is multiplied by the worker count, which is still a brake on guessing; a restart
  forgets the counters).
- Headers: a Content-Security-Policy without inline script, no framing, no MIME sniffing, no referrer.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_babel import gettext
from sqlalchemy import bindparam, select

from connector.text import storable_record
from retour.config import Settings
from retour.models import AppUser
from webapp.cache import CSRF_SLOT, EMAIL_SLOT, rendering_slots
from webapp.db import get_session, probe
from webapp.queries import VERSION_COLUMNS, VERSION_WIDTH, DataVersion
from webapp.users import role_rank

log = logging.getLogger("retour.web")

PUBLIC = "public"
PERMISSIONS: dict[str, str] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,  # ending a session needs no role (CSRF still applies)
    "auth.set_language": PUBLIC,
    "auth.favicon": PUBLIC,
    "board.index": "viewer",
    "themes.detail": "viewer",
    "themes.deals_csv": "viewer",
    "themes.rename": "product_owner",
    "themes.confirm": "product_owner",
    "themes.merge": "product_owner",
    "themes.unmerge": "product_owner",
    "themes.move_evidence": "product_owner",
    "themes.targets": "product_owner",
    "themes.reject_evidence": "product_owner",
    "themes.pin_evidence": "product_owner",
    "themes.accept_suggestion": "product_owner",
    "themes.decline_suggestion": "product_owner",
    "themes.not_feedback": "product_owner",
    "themes.new": "product_owner",
    "themes.create": "product_owner",
    "themes.add_examples": "product_owner",
    "themes.name_in": "product_owner",
    "evidence.search": "viewer",
    "evidence.make_theme": "product_owner",
    "evidence.file_under": "product_owner",
    "decisions.new": "product_owner",
    "decisions.create": "product_owner",
    "decisions.show": "viewer",
    "decisions.edit": "product_owner",
    "decisions.update": "product_owner",
    "decisions.approve": "product_owner",
    "decisions.cancel": "product_owner",
    "decisions.withdraw": "product_owner",
    "decisions.send_now": "admin",  # it spends the org's API calls outside the schedule
    "proposals.review": "viewer",
    "proposals.accept": "product_owner",
    "proposals.decline": "product_owner",
    "admin.index": "admin",
    "admin.add_user": "admin",
    "admin.set_user_role": "admin",
    "admin.set_user_active": "admin",
    "admin.pause": "product_owner",
    # The API's map is for its users, who have accounts: it tells a stranger every route and parameter.
    "api.openapi": "viewer",
    "api.me": "viewer",
    "api.board": "viewer",
    "api.theme": "viewer",
    "api.rename": "product_owner",
    "api.confirm": "product_owner",
    "api.merge": "product_owner",
    "api.unmerge": "product_owner",
    "api.move_evidence": "product_owner",
    "api.reject_evidence": "product_owner",
    "api.pin_evidence": "product_owner",
    "api.suggestions": "viewer",
    "api.accept_suggestion": "product_owner",
    "api.decline_suggestion": "product_owner",
    "api.not_feedback": "product_owner",
    "api.create_theme": "product_owner",
    "api.add_examples": "product_owner",
    "api.name_in": "product_owner",
    "api.add_evidence": "product_owner",
    "api.search": "viewer",
    "api.create_decision": "product_owner",
    "api.decision": "viewer",
    "api.update_decision": "product_owner",
    "api.approve": "product_owner",
    "api.cancel": "product_owner",
    "api.withdraw": "product_owner",
    "api.proposals": "viewer",
    "api.split_quotes": "viewer",
    "api.accept_proposal": "product_owner",
    "api.decline_proposal": "product_owner",
    "api.get_pause": "viewer",
    "api.set_pause": "product_owner",
}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


# --------------------------------------------------------------------------------------------- secret key
def secret_key(settings: Settings) -> str:
    """``[web] secret_key``, or one generated once and kept in ``data_dir/secret_key`` (mode 0600)."""
    if settings.web.secret_key:
        return settings.web.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    os.chmod(path, 0o600)
    return key


# --------------------------------------------------------------------------------------------- rate limit
class LoginLimiter:
    """Failed logins per (IP, e-mail) in a sliding minute; bounded memory (oldest keys dropped)."""

    def __init__(self, per_minute: int, max_keys: int = 10_000, clock=time.monotonic) -> None:
        self.per_minute = per_minute
        self.max_keys = max_keys
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def blocked(self, ip: str, email: str) -> bool:
        with self._lock:
            return self.per_minute > 0 and len(self._recent((ip, email), self.clock())) >= self.per_minute

    def failed(self, ip: str, email: str) -> None:
        with self._lock:
            now = self.clock()
            key = (ip, email)
            self._recent(key, now)
            if key not in self._hits and len(self._hits) >= self.max_keys:
                self._hits.pop(next(iter(self._hits)))
            self._hits.setdefault(key, deque()).append(now)

    def succeeded(self, ip: str, email: str) -> None:
        with self._lock:
            self._hits.pop((ip, email), None)


# --------------------------------------------------------------------------------------------- CSRF
def csrf_token() -> str:
    if rendering_slots():  # a page rendered for the page cache: filled in per request (webapp.cache)
        return CSRF_SLOT
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    expected = session.get("csrf")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(str(expected), str(sent))


# --------------------------------------------------------------------------------------------- users
@dataclass(frozen=True)
class SignedIn:
    """Who is signed in, as read by the one query every request makes (no ORM session needed)."""

    id: int
    email: str
    role: str
    locale: str | None


_USER_AND_VERSION = select(AppUser.id, AppUser.email, AppUser.role, AppUser.locale, AppUser.is_active,
                           AppUser.session_epoch, *VERSION_COLUMNS).where(AppUser.id == bindparam("uid"))


def signed_in() -> SignedIn | None:
    return g.get("signed_in")


def current_user() -> AppUser | None:
    """The signed-in account as a row of the request's session (loaded on first use: views that write need it)."""
    if "user" not in g:
        who = signed_in()
        g.user = get_session().get(AppUser, who.id) if who is not None else None
    return g.user


def user_email() -> str:
    """The e-mail shown in the header: a slot while a page is rendered for the page cache."""
    who = signed_in()
    if who is None:
        return ""
    return EMAIL_SLOT if rendering_slots() else who.email


def client_ip() -> str:
    # Behind a proxy, the address is the proxy's: the login limiter then counts the proxy, not each client.
    return request.remote_addr or "?"


def is_api() -> bool:
    return request.path.startswith("/api/")


def has_role(role: str) -> bool:
    who = signed_in()
    return who is not None and role_rank(who.role) >= role_rank(role)


def login(user: AppUser) -> None:
    """Start a fresh session (new CSRF token) so a session fixed before login is useless after it."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session["csrf"] = secrets.token_urlsafe(32)


def _load_user() -> None:
    """Read the signed-in account and the data version (webapp.cache's key) in one autocommit query."""
    g.signed_in = None
    uid = session.get("uid")
    if uid is not None:
        row = probe(_USER_AND_VERSION, {"uid": uid})
        # An inactive account, or a session opened before the account's last logout, password or role change, is
        # over: a stolen copy of the cookie dies with the one its owner logged out of.
        if row is not None and row[4] and row[5] == session.get("epoch", 0):
            g.signed_in = SignedIn(*row[:4])
            g.data_version = DataVersion(*row[6:6 + VERSION_WIDTH])
        else:
            session.clear()


def _authorise():
    endpoint = request.endpoint
    if endpoint is None:  # 404 / 405: let Flask answer
        return None
    needed = PERMISSIONS.get(endpoint)
    if needed is None:
        log.error("web=permission endpoint=%s state=undeclared", endpoint)
        abort(403)
    if endpoint != "static":
        _load_user()
    if needed != PUBLIC:
        if g.signed_in is None:
            if is_api():
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        if not has_role(needed):
            log.info("web=forbidden endpoint=%s role=%s needed=%s", endpoint, g.signed_in.role, needed)
            abort(403)
    if request.method in UNSAFE_METHODS and not _csrf_ok():
        log.warning("web=csrf endpoint=%s state=rejected", endpoint)
        abort(400, description="csrf")
    return None


def _refuse_unstorable_text():
    """A NUL or a lone surrogate in what a person submits is refused with one clear line, before any view runs.

    No database stores them (PostgreSQL refuses a NUL in any string, and a lone surrogate cannot be encoded), so a
    rename, a login or an example sentence holding one ended in a 500. CRM text is cleaned at ingest; what a person
    types is theirs to correct, so it is refused rather than silently changed. Reads (GET) stay lenient: a search
    treats a control character as a space, and ``next`` is never stored (safe_next sends a hostile one home)."""
    if request.method not in UNSAFE_METHODS or request.endpoint in (None, "static"):
        return None
    values: list[object] = [v for key, v in request.form.items(multi=True) if key != "next"]
    if request.is_json:
        values.append(request.get_json(silent=True))
    if any(storable_record(v)[1] for v in values):
        abort(400, description=gettext("A value holds a character no database can store (a NUL or a broken "
                                       "character): remove it and send again."))
    return None


HSTS = "max-age=31536000; includeSubDomains"


def _headers(response):
    if current_app.extensions["retour.settings"].web.secure_cookies:
        # Secure cookies mean the site is served over HTTPS: tell browsers never to try plain HTTP again.
        response.headers["Strict-Transport-Security"] = HSTS
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    settings: Settings = app.extensions["retour.settings"]
    app.extensions["retour.login_limiter"] = LoginLimiter(settings.web.login_attempts_per_minute)
    app.before_request(_authorise)
    app.before_request(_refuse_unstorable_text)
    app.after_request(_headers)
    # Templates read who is signed in (e-mail, role) without loading the account into the session.
    app.jinja_env.globals.update(csrf_token=csrf_token, has_role=has_role, current_user=signed_in,
                                 user_email=user_email)


def login_limiter() -> LoginLimiter:
    return current_app.extensions["retour.login_limiter"]
