"""Long CRM text on the desk (issue 18.2): a long quote is shown folded, and a 1 MB note run through a theme pass
leaves the theme page small.

A segment holds at most jobs.segment.MAX_SEGMENT_CHARS characters; the page shows a long one's first ~400 and the
rest behind "Show the whole quote" (a <details>, no script), in the reader's language, the quote escaped whole.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from jobs.segment import MAX_SEGMENT_CHARS
from jobs.themes import run_theme_pass
from retour.models import FeedbackSegment, ThemeEvidence
from tests.jobs.factories import MOBILE, NOW, PRICE, SSO, item

from .conftest import INSTANCE

FOLDED = re.compile(r'<div class="folded-quote">\s*<blockquote(?: id="[^"]*")? lang="[a-z]*">(.*?)<span class="fold-mark"[^>]*>…</span>'
                    r'</blockquote>\s*<details class="quote-rest"><summary>([^<]*)</summary>\s*'
                    r'<blockquote lang="[a-z]*">(.*?)</blockquote></details>', re.S)


@pytest.fixture
def web_settings(make_settings):
    """The web app's settings with the offline theme backend, so a pass runs here."""
    return make_settings({"salesforce": {"instance_url": INSTANCE},
                          "web": {"secret_key": "test-secret-key-not-for-production"},
                          "themes": {"backend": "tfidf"}})


def test_a_long_quote_is_shown_folded_after_about_400_characters_and_a_short_one_whole(auth, factory, session):
    words = " ".join(f"word{i}" for i in range(300))  # 2,389 characters, spaces to cut at
    long_text = f"Exports time out. {words} <script>alert(1)</script> end of the note"
    made = factory.theme("Exports", items=2, texts=[long_text, "Exports are slow"])
    session.commit()
    auth.login("viewer")

    html = auth.client.get(f"/themes/{made.theme.id}").text

    folds = FOLDED.findall(html)
    assert len(folds) == 1, "one long quote, folded once"
    head, summary, rest = folds[0]
    assert 300 < len(unescape(head)) <= 400 and not head.endswith("word")  # cut at a space, within ~400
    assert unescape(head) + unescape(rest) == long_text  # nothing lost between the two parts
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rest and "<script>alert(1)" not in html
    assert summary == f"Show the whole quote ({len(long_text):,} characters)"
    assert re.search(r'<blockquote(?: id="[^"]*")? lang="en">Exports are slow</blockquote>', html)


def test_a_folded_quote_says_show_the_whole_quote_in_french(auth, factory, session):
    made = factory.theme("Exports", items=1, texts=["Les exports échouent " * 60], lang="fr")
    session.commit()
    auth.login("viewer")
    html = auth.client.get(f"/themes/{made.theme.id}", headers={"Accept-Language": "fr"}).text
    (_head, summary, _rest), = FOLDED.findall(html)
    assert summary.replace("\u202f", " ").replace("\xa0", " ") == "Afficher toute la citation (1 260 caractères)"


def test_a_1_mb_note_through_a_theme_pass_leaves_the_theme_page_under_200_kb(auth, session, web_settings):
    """The note is stored whole; the pass segments its head into pieces of at most MAX_SEGMENT_CHARS, and the theme
    page shows those pieces folded (it was one 1,037,917-character quote and a 1.1 MB page)."""
    sentence = "their IT requires SAML single sign-on for every tool and without SSO there is no deal "
    note = item(sentence * (1_000_000 // len(sentence) + 1))
    session.add_all([note] + [item(t) for t in SSO + PRICE + MOBILE])
    session.flush()
    run_theme_pass(session, web_settings, now=NOW)
    session.commit()
    pieces = session.execute(select(FeedbackSegment.text, ThemeEvidence.theme_id)
                             .join(ThemeEvidence, ThemeEvidence.segment_id == FeedbackSegment.id)
                             .where(FeedbackSegment.item_id == note.id, ThemeEvidence.state == "active")).all()
    assert len(note.text) > 1_000_000 and pieces, "the note's segments were filed under a theme"
    assert max(len(text) for text, _t in pieces) <= MAX_SEGMENT_CHARS
    auth.login("viewer")

    page = auth.client.get(f"/themes/{pieces[0].theme_id}")

    assert page.status_code == 200 and len(page.data) < 200_000, len(page.data)
    assert FOLDED.search(page.text), "the note's long pieces are folded"


@pytest.mark.browser
def test_in_chromium_the_rest_of_a_long_quote_shows_only_once_asked(browser, committed, make_settings):
    """What a reader sees: the head and the summary; the rest is hidden until the summary is clicked, and the
    ellipsis goes when it shows."""
    from webapp import create_app
    from webapp.users import create_or_reset_user

    from .browser import LiveServer
    from .conftest import PASSWORD, Factory, log_in

    settings = make_settings({"web": {"secret_key": "browser-test-secret-key-0123456789"}})
    long_text = "Exports time out " + " ".join(f"w{i}" for i in range(400)) + " LAST_WORDS"
    server = context = None
    try:
        with committed() as s:
            create_or_reset_user(s, "viewer@example.com", PASSWORD, role="viewer")
            theme_id = Factory(s).theme("Exports", items=1, texts=[long_text]).theme.id
            s.commit()
        server = LiveServer(create_app(settings, session_factory=committed))
        context = browser.new_context(locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, server.url, "viewer@example.com")
        page.goto(f"{server.url}/themes/{theme_id}")
        rest = page.locator(".quote-rest > blockquote")
        assert page.locator(".folded-quote .fold-mark").is_visible() and not rest.is_visible()
        assert "LAST_WORDS" not in page.locator("#evidence").inner_text()
        page.get_by_text("Show the whole quote").click()
        assert rest.is_visible() and "LAST_WORDS" in rest.inner_text()
        assert not page.locator(".folded-quote .fold-mark").is_visible()
    finally:
        if context is not None:
            context.close()
        if server is not None:
            server.stop()
