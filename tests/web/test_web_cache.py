"""The page cache (webapp.cache.cached_page): a hit costs one query, any write shows on the next request,
and nothing per user (e-mail, CSRF token) or per role crosses from one person to another."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from retour.models import Account, Opportunity, SyncState, Theme
from webapp.users import create_or_reset_user

from .conftest import PASSWORD, Auth


@pytest.fixture(autouse=True)
def cache_on(app):
    app.config["RETOUR_CACHE_SECONDS"] = 60
    return app


def _tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]*)"', html)) | set(
        re.findall(r'name="csrf-token" content="([^"]*)"', html))


def _who(html: str) -> str:
    return re.search(r'<span class="who">([^<]*) \(', html).group(1)


def _second_product_owner(session, app) -> Auth:
    create_or_reset_user(session, "second.po@example.com", PASSWORD, role="product_owner")
    session.commit()
    other = Auth(app.test_client())
    page = other.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert other.client.post("/login", data={"email": "second.po@example.com", "password": PASSWORD,
                                              "csrf_token": token}).status_code == 302
    other.csrf = other.client.get("/api/v1/me").get_json()["csrf_token"]
    return other


def test_a_cached_page_costs_one_query_and_keeps_the_security_headers(auth, factory, session, count_queries):
    made = factory.theme("Slow exports", items=3)
    session.commit()
    auth.login("viewer")
    for url in ("/", "/?region=EMEA&window=90", f"/themes/{made.theme.id}"):
        first = auth.client.get(url)
        with count_queries() as hit:
            again = auth.client.get(url)
        assert len(hit) == 1, f"{url}: a cached page should read the user with the data version only: {hit}"
        assert "app_user" in hit[0] and "max(theme.updated_at)" in hit[0]
        assert again.text == first.text
        assert "Slow exports" in again.text
        assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]
        assert again.headers["Cache-Control"] == "no-store"


def test_two_people_of_one_role_never_see_each_others_email_or_token(auth, factory, session, app, count_queries):
    made = factory.theme("Shared theme", items=2)
    session.commit()
    auth.login("product_owner")
    other = _second_product_owner(session, app)
    assert auth.csrf and other.csrf and auth.csrf != other.csrf
    for url in ("/", f"/themes/{made.theme.id}"):
        mine = auth.client.get(url).text
        with count_queries() as hit:
            theirs = other.client.get(url).text  # served from the page the first person's request stored
        assert len(hit) == 1
        assert _who(mine) == "product_owner@example.com" and _who(theirs) == "second.po@example.com"
        assert "product_owner@example.com" not in theirs and "second.po@example.com" not in mine
        assert _tokens(mine) == {auth.csrf} and _tokens(theirs) == {other.csrf}
        assert "retour-slot" not in mine and "retour-slot" not in theirs
    # and each token still works for its owner only
    assert other.post(f"/themes/{made.theme.id}/rename", {"label": "Renamed by the second"}).status_code == 302
    forged = other.client.post(f"/themes/{made.theme.id}/rename", data={"label": "X", "csrf_token": auth.csrf})
    assert forged.status_code == 400


def test_each_role_gets_its_own_page(auth, factory, session, app):
    made = factory.theme("Role theme", items=2)
    session.commit()
    pages = {}
    for role in ("product_owner", "viewer", "admin"):
        a = Auth(app.test_client())
        assert a.login(role).status_code == 302
        pages[role] = a.client.get(f"/themes/{made.theme.id}").text
    assert 'id="h-curate"' in pages["product_owner"] and 'id="h-curate"' not in pages["viewer"]
    assert "/pin" in pages["admin"] and "/pin" not in pages["viewer"]
    assert "/admin/" in pages["admin"] and "/admin/" not in pages["product_owner"]


def test_text_shaped_like_a_slot_stays_text_and_gets_no_token(auth, factory, session):
    evil = '<retour-slot csrf> <retour-slot email> <script>window.x=1</script>'
    made = factory.theme(evil, items=2, texts=[evil], account_name=evil)
    session.commit()
    auth.login("product_owner")
    for _ in range(2):  # miss, then hit
        html = auth.client.get(f"/themes/{made.theme.id}").text
        assert "<script>window.x" not in html and "&lt;script&gt;window.x=1&lt;/script&gt;" in html
        assert "&lt;retour-slot csrf&gt;" in html and "<retour-slot" not in html
        assert html.count(auth.csrf) == len(re.findall(r'name="csrf_token"', html)) + 1  # forms + the meta tag
        assert html.count("product_owner@example.com") == 1


def test_curation_shows_on_the_next_request(auth, factory, session):
    made = factory.theme("Before", items=3)
    session.commit()
    auth.login("product_owner")
    url = f"/themes/{made.theme.id}"
    assert "Before" in auth.client.get("/").text and "Before" in auth.client.get(url).text
    renamed = auth.post(f"{url}/rename", {"label": "After"}, follow_redirects=True).text
    assert "Theme renamed." in renamed and '<h1 id="theme-label">After</h1>' in renamed
    again = auth.client.get(url).text
    assert "Theme renamed." not in again and '<h1 id="theme-label">After</h1>' in again  # the flash shows once
    assert "After" in auth.client.get("/").text and ">Before<" not in auth.client.get("/").text
    assert auth.client.get(url).text.count('class="quote"') == 3
    auth.post(f"{url}/evidence/{made.evidence[0].id}/reject", follow_redirects=True)  # reads the flash
    assert auth.client.get(url).text.count('class="quote"') == 2


def test_a_decision_shows_on_the_next_theme_page(auth, factory, session):
    made = factory.theme("To decide", items=2)
    session.commit()
    auth.login("product_owner")
    url = f"/themes/{made.theme.id}"
    assert "No decision yet." in auth.client.get(url).text
    # follow_redirects reads each flash: a pending flash would make the next page skip the cache
    assert auth.post(f"{url}/decisions", {"status": "planned", "target": "2026.9", "title_en": "Faster exports",
                                          "insight_en": "Coming in 2026.9.", "title_fr": "Des exports plus rapides",
                                          "insight_fr": "Prévu en 2026.9."}, follow_redirects=True).status_code == 200
    page = auth.client.get(url).text
    assert "No decision yet." not in page and "2026.9" in page and "(draft, awaiting approval," in page
    decision_id = re.search(r'href="/decisions/(\d+)"', page).group(1)
    assert "Push approved." in auth.post(f"/decisions/{decision_id}/approve", follow_redirects=True).text
    page = auth.client.get(url).text
    assert "(approved," in page and "(draft, awaiting approval," not in page


def test_the_pause_switch_shows_on_the_next_request(auth, factory, session):
    made = factory.theme("Paused theme", items=1)
    session.commit()
    auth.login("product_owner")
    for url in ("/", f"/themes/{made.theme.id}"):
        assert 'id="pause-banner"' not in auth.client.get(url).text
    assert auth.api("PUT", "/api/v1/pause", {"paused": True}).status_code == 200
    for url in ("/", f"/themes/{made.theme.id}"):
        assert 'id="pause-banner"' in auth.client.get(url).text


def test_a_theme_pass_shows_on_the_next_request(auth, factory, session):
    made = factory.theme("Growing", items=2, days_ago=40)
    factory.theme("Steady", items=2, days_ago=10)
    session.commit()
    auth.login("viewer")
    assert re.findall(r'href="/themes/\d+">([^<]+)<', auth.client.get("/").text) == ["Steady", "Growing"]
    more = factory.theme("Unfiled", items=6, days_ago=1)  # what the pass files under "Growing", in one transaction
    for ev in more.evidence:
        ev.theme_id = made.theme.id
    session.get(Theme, more.theme.id).status = "dismissed"
    session.get(Theme, made.theme.id).metrics = {"members": 8}
    session.commit()
    html = auth.client.get("/").text
    assert re.findall(r'href="/themes/\d+">([^<]+)<', html) == ["Growing", "Steady"]
    row = html[html.index(f'data-theme="{made.theme.id}"'):]
    assert re.search(r'class="num fig-items">8<', row) and re.search(r'class="num fig-accounts">8<', row)


def test_each_synced_object_shows_as_soon_as_its_bookmark_is_committed(auth, factory, session):
    made = factory.theme("Synced", items=1, account_name="Old account name", opp_name="Old deal name")
    session.commit()
    auth.login("viewer")
    url = f"/themes/{made.theme.id}"
    assert "Old account name" in auth.client.get(url).text
    run_start = dt.datetime.now(dt.timezone.utc)
    # connector.sync commits each object's rows, then its bookmark with last_run_at = the run's start
    session.get(Account, made.accounts[0].id).name = "New account name"
    session.add(SyncState(object_name="Account", watermark=run_start, last_run_at=run_start))
    session.commit()
    page = auth.client.get(url).text
    assert "New account name" in page and "Old deal name" in page
    session.get(Opportunity, made.opportunities[0].id).name = "New deal name"  # next object, same run
    session.add(SyncState(object_name="Opportunity", watermark=run_start, last_run_at=run_start))
    session.commit()
    assert "New deal name" in auth.client.get(url).text


def test_language_is_part_of_the_key(auth, factory, session):
    made = factory.theme("Bilingual", items=1)
    session.commit()
    auth.login("viewer")
    url = f"/themes/{made.theme.id}"
    assert "Evidence" in auth.client.get(url).text
    auth.post("/language", {"lang": "fr", "next": "/"}, follow_redirects=True)
    page = auth.client.get(url).text
    assert "Éléments" in page and "Evidence" not in page


def test_feedback_deleted_by_a_sync_leaves_the_sparkline_and_the_evidence(auth, factory, session):
    made = factory.theme("Shrinking", items=3, days_ago=2)
    session.commit()
    auth.login("viewer")
    url = f"/themes/{made.theme.id}"
    assert 'aria-label="3 items in 12 weeks"' in auth.client.get("/").text
    assert auth.client.get(url).text.count('class="quote"') == 3
    # a record deleted in Salesforce: the connector deletes its feedback (evidence cascades), then the bookmark
    item = made.evidence[0].segment.item
    session.delete(item)
    now = dt.datetime.now(dt.timezone.utc)
    session.add(SyncState(object_name="Opportunity", watermark=now, last_run_at=now))
    session.commit()
    assert 'aria-label="2 items in 12 weeks"' in auth.client.get("/").text
    assert auth.client.get(url).text.count('class="quote"') == 2


def test_probe_on_an_engine_reads_in_autocommit_and_leaves_pooled_connections_transactional(
        web_settings, engine, session):
    """The per-request probe (webapp.db.probe) as production runs it, on an engine's pool (PostgreSQL: straight
    to psycopg): same answer as the session, and the connection it used is transactional again afterwards."""
    from sqlalchemy import text

    from retour.db import session_factory as make_factory
    from webapp import create_app
    from webapp.db import probe
    from webapp.queries import DATA_VERSION, data_version

    app = create_app(web_settings, session_factory=make_factory(engine))
    with app.app_context():
        for _ in range(3):
            assert probe(DATA_VERSION) == tuple(data_version(session))
        assert probe(text("SELECT 1 WHERE 1 = 0")) is None
    if engine.dialect.name != "postgresql":
        return  # SQLite: the test's open write transaction locks the file; the psycopg path is what matters here
    with engine.connect() as conn:  # the pool's connection: a write in it is undone by a rollback
        conn.execute(text("CREATE TABLE probe_check (x INTEGER)"))
        conn.rollback()
    with engine.connect() as conn:
        assert "probe_check" not in set(engine.dialect.get_table_names(conn))


def test_a_write_to_one_theme_leaves_the_evidence_of_another_cached(auth, factory, session, count_queries):
    big = factory.theme("Big theme", items=4)
    other = factory.theme("Other theme", items=1)
    session.commit()
    auth.login("product_owner")
    url = f"/themes/{big.theme.id}"
    assert auth.client.get(url).text.count('class="quote"') == 4
    auth.post(f"/themes/{other.theme.id}/rename", {"label": "Other renamed"}, follow_redirects=True)
    with count_queries() as after:
        page = auth.client.get(url).text  # the page is rendered afresh (new data version)...
    assert page.count('class="quote"') == 4 and "Other renamed" in page  # (a merge target)
    assert not [q for q in after if "feedback_segment.text" in q], "...but the evidence of this theme was cached"
    with count_queries() as pinned:  # a pin in this theme: its evidence is read again
        page = auth.post(f"{url}/evidence/{big.evidence[1].id}/pin", {"pinned": "true"}, follow_redirects=True).text
    assert [q for q in pinned if "feedback_segment.text" in q] and page.count('class="quote pinned"') == 1
    assert auth.client.get(url).text.count('class="quote pinned"') == 1
