"""A person's act and a theme pass meeting on one theme: the later writer is refused, nothing is overwritten."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, text, update
from sqlalchemy.orm import sessionmaker

from retour.models import Theme
from webapp import create_app
from webapp.users import create_or_reset_user

from .browser import truncate_all
from .conftest import PASSWORD, Auth


def _blocked_on_a_lock(engine, wait: float = 10.0) -> None:
    """Until another connection waits on a row lock (PostgreSQL); SQLite offers no such view, so a short pause."""
    if engine.dialect.name != "postgresql":
        time.sleep(1.5)
        return
    deadline = time.monotonic() + wait
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar():
                return
            conn.rollback()
            time.sleep(0.05)
    raise AssertionError("the request never waited for the pass's lock")


def test_renaming_a_theme_a_pass_changed_meanwhile_is_refused_with_409_and_both_keep_their_word(
        engine, web_settings):
    factory = sessionmaker(engine, expire_on_commit=False)  # real commits: two connections meet
    truncate_all(engine)
    try:
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

        answers = []
        with engine.connect() as pass_conn:
            # A theme pass writing the theme's figures, not committed yet: the row (SQLite: the file) is its own.
            pass_conn.execute(update(Theme).where(Theme.id == theme_id)
                              .values(reason="measured by the pass", version=Theme.version + 1))
            person = threading.Thread(target=lambda: answers.append(
                auth.post(f"/themes/{theme_id}/rename", {"label": "Export timeouts"})))
            person.start()
            _blocked_on_a_lock(engine)  # the request has read the theme and waits to write it
            pass_conn.commit()
            person.join(30)
        assert answers and answers[0].status_code == 409
        assert "This theme changed while you acted" in answers[0].text and "reload the page" in answers[0].text
        with factory() as s:
            label, reason = s.execute(select(Theme.label, Theme.reason).where(Theme.id == theme_id)).one()
        assert (label, reason) == ("Slow exports", "measured by the pass")  # neither write undid the other
        again = auth.post(f"/themes/{theme_id}/rename", {"label": "Export timeouts"})
        assert again.status_code in (302, 303)  # done again on what the page now shows, it goes through
        with factory() as s:
            assert s.get(Theme, theme_id).label == "Export timeouts"
    finally:
        truncate_all(engine)
