"""Web fixtures: the app on the test's rolled-back session factory, users per role, a logged-in client, row
factories (theme with evidence, accounts and deals), and ``count_queries`` against N+1."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from retour.models import Account, FeedbackItem, FeedbackSegment, Opportunity, SalesforceUser, Theme, ThemeEvidence
from webapp import create_app
from webapp.users import create_or_reset_user

from .browser import CHROMIUM, CHROMIUM_ARGS, dedicated_factory, truncate_all

PASSWORD = "correct horse battery"
ROLES = ("viewer", "product_owner", "admin")
INSTANCE = "https://acme.my.salesforce.com"
_ids = itertools.count(1)


def sf_id(prefix: str) -> str:
    """A syntactically valid 18-character Salesforce Id, unique within the test session."""
    return f"{prefix}{next(_ids):012d}AAA"


@pytest.fixture
def web_settings(make_settings):
    return make_settings({
        "salesforce": {"instance_url": INSTANCE},
        "web": {"secret_key": "test-secret-key-not-for-production", "login_attempts_per_minute": 5},
        "mapping": {"region": "Region__c", "segment": "Segment__c",
                    "extra": {"speaks_basque": {"field": "Speaks_Basque__c", "kind": "boolean"}}},
    })


@pytest.fixture
def app(web_settings, session_factory) -> Flask:
    app = create_app(web_settings, session_factory=session_factory)
    app.config["TESTING"] = True
    app.config["RETOUR_CACHE_SECONDS"] = 0  # tests change rows behind the app's back; webapp.cache has its own test
    return app


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def users(session) -> dict[str, int]:
    """One account per role, committed (in the test's rolled-back transaction): role -> user id."""
    out = {}
    for role in ROLES:
        out[role] = create_or_reset_user(session, f"{role}@example.com", PASSWORD, role=role).id
    session.commit()
    return out


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Auth:
    """Log a test client in as a role and keep its CSRF token for later writes."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, role: str, password: str = PASSWORD):
        page = self.client.get("/login")
        response = self.client.post("/login", data={"email": f"{role}@example.com", "password": password,
                                                    "csrf_token": csrf_from(page.text)})
        if response.status_code == 302:
            self.csrf = self.client.get("/api/v1/me").get_json()["csrf_token"]
        return response

    def post(self, url: str, data: dict | None = None, **kw):
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf}, **kw)

    def api(self, method: str, url: str, json: dict | None = None):
        return self.client.open(url, method=method, json=json, headers={"X-CSRF-Token": self.csrf})


@pytest.fixture
def auth(client, users) -> Auth:
    return Auth(client)


@dataclass
class Made:
    theme: Theme
    evidence: list[ThemeEvidence]
    opportunities: list[Opportunity]
    accounts: list[Account]


class Factory:
    """Rows shaped like the connector's and the theme pass's, for one theme at a time."""

    def __init__(self, session) -> None:
        self.session = session
        self.now = dt.datetime.now(dt.timezone.utc)

    def rep(self, name: str = "Camille Martin", team: str = "EMEA Enterprise") -> SalesforceUser:
        user = SalesforceUser(id=sf_id("005"), name=name, email="rep@example.com", team=team)
        self.session.add(user)
        return user

    def theme(self, label: str = "Slow sync", *, items: int = 3, status: str = "emerging",
              texts: list[str] | None = None, region: str = "EMEA", segment: str = "Enterprise", lang: str = "en",
              channel: str = "loss_reason", amount: float = 10_000, basque: bool = False, days_ago: int = 5,
              rep: SalesforceUser | None = None, account_name: str | None = None, opp_name: str | None = None,
              won: bool = False, currency: str | None = "EUR") -> Made:
        rep = rep or self.rep()
        # Figures, status and why are never stored here: every page judges them from these rows (jobs.figures).
        # ``status`` matters for what only people set (merged, dismissed); a decided theme needs a decision.
        theme = Theme(label=label, status=status)
        self.session.add(theme)
        self.session.flush()
        evs, opps, accounts = [], [], []
        for i in range(items):
            acc = Account(id=sf_id("001"), name=account_name or f"Account {label} {i}")
            opp = Opportunity(id=sf_id("006"), name=opp_name or f"Deal {label} {i}", account_id=acc.id, owner_id=rep.id,
                              stage="Closed Won" if won else "Closed Lost", is_closed=True, is_won=won,
                              amount=amount, currency=currency, region=region, segment=segment,
                              attributes={"speaks_basque": basque})
            text = (texts[i % len(texts)] if texts else f"{label} hurts us, quote {i}")
            item = FeedbackItem(source_object="Opportunity", source_id=opp.id, source_field="loss_detail",
                                channel=channel, text=text, text_hash=f"h{next(_ids)}", lang=lang,
                                occurred_at=self.now - dt.timedelta(days=days_ago + i), account_id=acc.id,
                                opportunity_id=opp.id, owner_id=rep.id)
            self.session.add_all([acc, opp, item])
            self.session.flush()
            seg = FeedbackSegment(item_id=item.id, position=0, text=text, lang=lang)
            self.session.add(seg)
            self.session.flush()
            ev = ThemeEvidence(theme_id=theme.id, segment_id=seg.id, similarity=0.8)
            self.session.add(ev)
            evs.append(ev)
            opps.append(opp)
            accounts.append(acc)
        self.session.flush()
        return Made(theme, evs, opps, accounts)

    def quote(self, text: str, *, lang: str = "en", account_name: str = "Quote account", days_ago: int = 3,
              is_feedback: bool = True) -> FeedbackSegment:
        """One feedback text on its own deal, as a segment no theme holds yet (search results, suggestions)."""
        acc = Account(id=sf_id("001"), name=account_name)
        opp = Opportunity(id=sf_id("006"), name=f"{account_name} renewal", account_id=acc.id, stage="Closed Lost",
                          is_closed=True, is_won=False, amount=5_000, currency="EUR")
        item = FeedbackItem(source_object="Opportunity", source_id=opp.id, source_field="loss_detail",
                            channel="loss_reason", text=text, text_hash=f"h{next(_ids)}", lang=lang,
                            occurred_at=self.now - dt.timedelta(days=days_ago), account_id=acc.id,
                            opportunity_id=opp.id)
        self.session.add_all([acc, opp, item])
        self.session.flush()
        seg = FeedbackSegment(item_id=item.id, position=0, text=text, lang=lang, is_feedback=is_feedback)
        self.session.add(seg)
        self.session.flush()
        return seg

    def suggest(self, theme: Theme, text: str, *, similarity: float = 0.6, **kw) -> ThemeEvidence:
        """A quote the theme pass suggests for ``theme`` without filing it (state "suggested")."""
        seg = self.quote(text, **kw)
        ev = ThemeEvidence(theme_id=theme.id, segment_id=seg.id, similarity=similarity, state="suggested")
        self.session.add(ev)
        self.session.flush()
        return ev


@pytest.fixture
def factory(session) -> Factory:
    return Factory(session)


@pytest.fixture
def count_queries(engine):
    """Count SQL statements executed inside the ``with`` block (indico's fixture, on SQLAlchemy's event)."""

    @contextlib.contextmanager
    def _counter() -> Iterator[list[str]]:
        statements: list[str] = []

        def before(_conn, _cursor, statement, _params, _context, _executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return _counter


# ------------------------------------------------------------------------------------ in a real browser
@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, for a test module (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


def log_in(page, base: str, email: str, *, lang: str = "en") -> None:
    """Log in through the login form as a person would, in the page's language, and wait for the board."""
    password, button = ("Mot de passe", "Se connecter") if lang == "fr" else ("Password", "Log in")
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{base}/")


@pytest.fixture
def committed(engine, database_url):
    """A session factory whose commits are real (the server thread must see them); every table emptied after."""
    eng, factory = dedicated_factory(database_url)
    truncate_all(eng)
    try:
        yield factory
    finally:
        truncate_all(eng)
        eng.dispose()
