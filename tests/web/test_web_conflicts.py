"""A person's act and a theme pass meeting on one theme: the later writer is refused, nothing is overwritten."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import sessionmaker

from retour.models import Theme
from webapp import create_app
from webapp.users import create_or_reset_user

from .browser import truncate_all
from .conftest import PASSWORD, Auth


@pytest.fixture
def live(engine, web_settings):
    """Real commits on the test database (two connections must meet), a product owner signed in, one theme."""
    factory = sessionmaker(engine, expire_on_commit=False)
    truncate_all(engine)
    with factory() as s:
        create_or_reset_user(s, "product_owner@example.com", PASSWORD, role="product_owner")
        theme = Theme(label="Slow exports", status="emerging")
        s.add(theme)
        s.commit()
        theme_id = theme.id
    app = create_app(web_settings, session_factory=factory)
    app.config.update(TESTING=True, RETOUR_CACHE_SECONDS=0)
    auth = Auth(app.test_client())
    auth.login("product_owner")
    yield engine, factory, auth, theme_id
    truncate_all(engine)


def _while_a_pass_writes_the_theme(engine, theme_id: int, act):
    """Run ``act`` (a request) while a theme pass holds the theme's row with its own uncommitted write, and commit
    the pass once the request has read the theme: the request's write then names a version that is gone (on SQLite
    it waits for the file until then). Returns the request's answer."""
    person = threading.Event()
    has_read = threading.Event()

    def watch(_conn, _cursor, statement, *_args):
        if person.is_set() and threading.current_thread().name == "person" and "\nFROM theme \nWHERE theme.id" in statement:
            has_read.set()

    answers = []
    event.listen(engine, "after_cursor_execute", watch)
    try:
        with engine.connect() as pass_conn:
            pass_conn.execute(update(Theme).where(Theme.id == theme_id)
                              .values(reason="measured by the pass", version=Theme.version + 1))
            person.set()
            thread = threading.Thread(target=lambda: answers.append(act()), name="person")
            thread.start()
            assert has_read.wait(30), "the request never read the theme"
            pass_conn.commit()
            thread.join(30)
    finally:
        event.remove(engine, "after_cursor_execute", watch)
    assert answers, "the request did not answer"
    return answers[0]


def _stands(factory, theme_id: int) -> tuple[str, str | None]:
    with factory() as s:
        return tuple(s.execute(select(Theme.label, Theme.reason).where(Theme.id == theme_id)).one())


def test_a_rename_sent_while_a_pass_wrote_the_theme_changes_nothing_and_says_so_on_the_page_it_came_from(live):
    engine, factory, auth, theme_id = live
    answer = _while_a_pass_writes_the_theme(engine, theme_id, lambda: auth.post(  # no Referer, as browsers send here
        f"/themes/{theme_id}/rename", {"label": "Export timeouts"}))
    assert answer.status_code == 303 and answer.headers["Location"] == f"/themes/{theme_id}"  # not a page to reload
    assert _stands(factory, theme_id) == ("Slow exports", "measured by the pass")  # neither write undid the other
    shown = auth.client.get(answer.headers["Location"]).text
    assert "This changed while you acted" in shown and "do it again if it still applies" in shown
    again = auth.post(f"/themes/{theme_id}/rename", {"label": "Export timeouts"})
    assert again.status_code in (302, 303) and _stands(factory, theme_id)[0] == "Export timeouts"


def test_the_same_sent_by_htmx_refreshes_the_page_with_the_notice_and_by_the_api_is_a_409(live):
    engine, factory, auth, theme_id = live
    answer = _while_a_pass_writes_the_theme(engine, theme_id, lambda: auth.post(
        f"/themes/{theme_id}/rename", {"label": "Export timeouts"}, headers={"HX-Request": "true"}))
    assert answer.status_code == 204 and answer.headers["HX-Refresh"] == "true"  # htmx shows no 4xx answer
    assert "This changed while you acted" in auth.client.get(f"/themes/{theme_id}").text
    answer = _while_a_pass_writes_the_theme(engine, theme_id, lambda: auth.api(
        "POST", f"/api/v1/themes/{theme_id}/rename", {"label": "Export timeouts"}))
    assert answer.status_code == 409
    assert answer.get_json()["error"]["message"].startswith("This changed while you acted")
    assert _stands(factory, theme_id)[0] == "Slow exports"
