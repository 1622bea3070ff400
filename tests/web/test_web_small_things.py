"""Small things a user hits (issue 17.7): the site icon, the pause banner's who/when/why, moving a quote to a theme
picked by name, and a merge sent with no theme chosen."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from retour.models import AppSetting, CurationEvent, Theme, ThemeEvidence
from retour.switches import PUSH_PAUSE

from .browser import seed
# The browser test runs on test_web_browser's fixtures (headless Debian Chromium, the app served in a thread).
from .test_web_browser import _login, live, page  # noqa: F401


# --------------------------------------------------------------------------------------------- favicon
def test_favicon_is_an_image_and_every_page_links_it(client, auth):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype.startswith("image/")
        assert response.get_data().lstrip().startswith(b"<svg")
        assert "max-age" in response.headers["Cache-Control"]
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


# --------------------------------------------------------------------------------------------- pause banner
def _banner(html: str) -> str:
    match = re.search(r'<div class="banner paused"[^>]*id="pause-banner">(.*?)</div>', html, re.S)
    assert match, "no pause banner"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def _pause(auth, session, reason: str, at: dt.datetime) -> None:
    auth.post("/admin/pause", {"paused": "true", "reason": reason, "next": "/admin/"})
    row = session.get(AppSetting, PUSH_PAUSE)
    session.refresh(row)
    row.value = {**row.value, "at": at.isoformat()}  # a known moment, to read it back in each language
    session.commit()


def test_the_pause_banner_says_who_paused_when_and_why_in_the_readers_language(auth, session):
    auth.login("admin")
    _pause(auth, session, "Quarter close <b>", dt.datetime(2026, 3, 4, 15, 30, tzinfo=dt.timezone.utc))
    html = auth.client.get("/evidence/search").text
    banner = _banner(html)
    assert re.search(r"Paused by admin@example\.com on Mar 4, 2026, 3:30[ \u202f]PM\.", banner), banner
    assert "Reason: Quarter close &lt;b&gt;" in banner  # typed by a person: escaped like any text
    assert "<b>" not in html.split('id="pause-banner"')[1].split("</div>")[0]

    auth.post("/language", {"lang": "fr"})
    banner = _banner(auth.client.get("/evidence/search").text)
    assert "Mis en pause par admin@example.com le 4 mars 2026, 15:30." in banner
    assert "Motif : Quarter close &lt;b&gt;" in banner


def test_a_pause_without_a_reason_says_so_and_resuming_removes_the_banner(auth, session):
    auth.login("product_owner")
    _pause(auth, session, "", dt.datetime(2026, 3, 4, 15, 30, tzinfo=dt.timezone.utc))
    banner = _banner(auth.client.get("/evidence/search").text)
    assert "Paused by product_owner@example.com" in banner and "No reason given." in banner
    auth.post("/admin/pause", {"paused": "false"})
    assert 'id="pause-banner"' not in auth.client.get("/evidence/search").text


# --------------------------------------------------------------------------------------------- move by name
HX = {"HX-Request": "true", "HX-Target": "evidence"}


def test_a_quote_moves_to_the_theme_named_in_any_language_case_and_spacing_aside(auth, factory, session):
    a = factory.theme("Slow sync", items=2)
    b = factory.theme("Exports time out", items=1)
    b.theme.label_fr = "Les exports expirent"
    session.commit()
    auth.login("product_owner")
    response = auth.post(f"/themes/{a.theme.id}/evidence/{a.evidence[0].id}/move", {"target": "  exports TIME out "},
                         headers=HX)
    assert response.status_code == 200
    assert "Quote moved to “Exports time out”." in response.text
    session.expire_all()
    assert session.get(ThemeEvidence, a.evidence[0].id).theme_id == b.theme.id

    response = auth.post(f"/themes/{a.theme.id}/evidence/{a.evidence[1].id}/move", {"target": "les exports expirent"})
    assert response.status_code == 302  # without htmx: the page again, with the message
    session.expire_all()
    assert session.get(ThemeEvidence, a.evidence[1].id).theme_id == b.theme.id


def test_a_quote_moves_to_the_theme_named_without_its_accents_in_english_and_french(auth, factory, session):
    """The review typed "pas d'interlocuteur dedie" and was told no theme has that name; rename and create already
    compared names with accents aside (retour.folding.wording), the move box compared them in SQL."""
    a = factory.theme("Slow sync", items=2)
    b = factory.theme("Pas d'interlocuteur dédié", items=1)
    c = factory.theme("Champion left", items=1)
    c.theme.label_fr = "Départ du champion"
    session.commit()
    auth.login("product_owner")
    moved = auth.post(f"/themes/{a.theme.id}/evidence/{a.evidence[0].id}/move",
                      {"target": "pas d’interlocuteur DEDIE"}, headers=HX)
    assert "Quote moved to “Pas d&#39;interlocuteur dédié”." in moved.text, moved.text[:600]
    auth.post("/language", {"lang": "fr"})
    moved = auth.post(f"/themes/{a.theme.id}/evidence/{a.evidence[1].id}/move", {"target": "DÉPART DU CHAMPION"},
                      headers=HX)
    assert "Citation déplacée vers « Départ du champion »." in moved.text.replace("\u202f", " ").replace("\xa0", " ")
    session.expire_all()
    assert [session.get(ThemeEvidence, e.id).theme_id for e in a.evidence] == [b.theme.id, c.theme.id]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_target_search_finds_names_with_case_and_accents_aside(auth, factory, session, lang):
    """"depart", "DÉPART" and "heberg" listed nothing: SQLite folds ASCII case only, and neither database accents."""
    here = factory.theme("Slow sync", items=1)
    left = factory.theme("Champion left", items=1)
    left.theme.label_fr = "Départ du champion"
    factory.theme("Hébergement en France", items=1)
    factory.theme("Coût de l'hébergement", items=1)  # holds the word, not at the start: after
    session.commit()
    auth.login("product_owner")
    if lang == "fr":
        auth.post("/language", {"lang": "fr"})
    shown = "Départ du champion" if lang == "fr" else "Champion left"

    def offered(typed: str) -> list[str]:
        url = f"/themes/{here.theme.id}/targets"
        return [html.unescape(n) for n in re.findall(r'<option value="([^"]+)">',
                                                     auth.client.get(url, query_string={"target": typed}).text)]

    for typed in ("depart", "DÉPART", "départ du", "DEPART  du champion"):
        assert offered(typed) == [shown], typed
    assert offered("heberg") == ["Hébergement en France", "Coût de l'hébergement"]
    assert offered("HÉBERGEMENT") == ["Hébergement en France", "Coût de l'hébergement"]
    assert offered("cout de l’hebergement") == ["Coût de l'hébergement"]
    assert offered("zzz") == []


@pytest.mark.parametrize("typed, said", [
    ("Exports", "No theme is called “Exports”. Did you mean “Exports time out”?"),
    ("Nothing like it", "No theme is called “Nothing like it”: pick one from the list as you type."),
    ("9999", "There is no active theme no. 9999: type the theme&#39;s name."),
    ("", "Type the name of the theme this quote belongs to."),
])
def test_an_unknown_target_is_said_over_the_quotes_not_a_404_page(auth, factory, session, typed, said):
    a = factory.theme("Slow sync", items=1)
    factory.theme("Exports time out", items=1)
    session.commit()
    auth.login("product_owner")
    url = f"/themes/{a.theme.id}/evidence/{a.evidence[0].id}/move"
    response = auth.post(url, {"target": typed}, headers=HX)
    assert response.status_code == 200  # htmx swaps it in (it swaps no 4xx answer)
    assert response.text.startswith('<section aria-labelledby="h-evidence" id="evidence"')
    assert re.search(r'<p class="flash error" role="alert">\s*' + re.escape(said), response.text), response.text[:600]
    page = auth.post(url, {"target": typed}, follow_redirects=True)
    assert page.status_code == 200 and said in page.text
    session.expire_all()
    assert session.get(ThemeEvidence, a.evidence[0].id).theme_id == a.theme.id


def test_a_refused_move_keeps_the_name_typed_in_that_quotes_box_to_correct_it(auth, factory, session):
    """"Did you mean “Exports time out”?" came back over a list whose box was empty again: the person retyped."""
    a = factory.theme("Slow sync", items=2)
    factory.theme("Exports time out", items=1)
    session.commit()
    auth.login("product_owner")
    refused = auth.post(f"/themes/{a.theme.id}/evidence/{a.evidence[1].id}/move", {"target": " Exports "},
                        headers=HX).text
    assert "Did you mean “Exports time out”?" in refused
    box = re.search(rf'<input id="move-{a.evidence[1].id}"[^>]*>', refused).group(0)
    assert 'value="Exports"' in box and "autofocus" in box and 'aria-invalid="true"' in box
    other = re.search(rf'<input id="move-{a.evidence[0].id}"[^>]*>', refused).group(0)
    assert "value=" not in other and "autofocus" not in other
    again = auth.client.get(f"/themes/{a.theme.id}").text  # the next page load starts clean
    assert "autofocus" not in re.search(rf'<input id="move-{a.evidence[1].id}"[^>]*>', again).group(0)


def test_two_themes_with_one_name_ask_for_the_number(auth, factory, session):
    a = factory.theme("Slow sync", items=1)
    b = factory.theme("Pricing", items=1)
    c = factory.theme("Pricing", items=1)
    session.commit()
    auth.login("product_owner")
    url = f"/themes/{a.theme.id}/evidence/{a.evidence[0].id}/move"
    response = auth.post(url, {"target": "pricing"}, headers=HX)
    assert f"Several themes are called “pricing”: type the number of the one you mean (#{b.theme.id}, #{c.theme.id})." \
        in response.text
    auth.post(url, {"target": f"#{c.theme.id}"}, headers=HX)
    session.expire_all()
    assert session.get(ThemeEvidence, a.evidence[0].id).theme_id == c.theme.id


def test_the_target_search_finds_themes_beyond_the_ones_the_page_lists(auth, factory, session):
    a = factory.theme("Slow sync", items=1)
    for i in range(5):
        factory.theme(f"Login loops {i}", items=1)
    gone = factory.theme("Login loops merged", items=1, status="merged")
    session.commit()
    auth.login("product_owner")
    html = auth.client.get(f"/themes/{a.theme.id}/targets?target=LOGIN%20loops").text
    names = re.findall(r'<option value="([^"]+)">', html)
    assert sorted(names) == [f"Login loops {i}" for i in range(5)]
    assert gone.theme.label not in html and "Slow sync" not in html
    assert auth.client.get(f"/themes/{a.theme.id}/targets?target=100%25").text.strip() == ""  # % is a letter here
    control = re.findall(r'<option value="([^"]+)">', auth.client.get(f"/themes/{a.theme.id}/targets?target=%00Login").text)
    assert len(control) == 5  # a NUL (PostgreSQL refuses it in any string) counts as a space
    auth.client.post("/logout", data={"csrf_token": auth.csrf})
    auth.login("viewer")
    assert auth.client.get(f"/themes/{a.theme.id}/targets?target=login").status_code == 403


def test_the_theme_page_offers_names_not_numbers_to_move_a_quote(auth, factory, session):
    a = factory.theme("Slow sync", items=1)
    factory.theme("Exports time out", items=1)
    session.commit()
    auth.login("product_owner")
    html = auth.client.get(f"/themes/{a.theme.id}").text
    assert 'name="target" list="theme-targets"' in html and 'inputmode="numeric"' not in html
    assert '<option value="Exports time out"></option>' in html
    assert "Move to theme no." not in html


# --------------------------------------------------------------------------------------------- merge
def test_merge_with_nothing_chosen_says_so_beside_the_form(auth, factory, session):
    a = factory.theme("Slow sync", items=1)
    b = factory.theme("Exports time out", items=1)
    session.commit()
    auth.login("product_owner")
    response = auth.post(f"/themes/{a.theme.id}/merge", {"target_id": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Choose the theme to merge this one into." in response.text and "<html" not in response.text
    gone = auth.post(f"/themes/{a.theme.id}/merge", {"target_id": "9999"}, headers={"HX-Request": "true"})
    assert "That theme no longer exists or was merged: choose another one." in gone.text
    page = auth.post(f"/themes/{a.theme.id}/merge", {"target_id": "9999"}, follow_redirects=True)
    assert page.status_code == 200 and "That theme no longer exists or was merged" in page.text
    session.expire_all()
    assert session.get(Theme, a.theme.id).status != "merged"

    done = auth.post(f"/themes/{a.theme.id}/merge", {"target_id": str(b.theme.id)}, headers={"HX-Request": "true"})
    assert done.headers["HX-Redirect"] == f"/themes/{b.theme.id}"
    assert "Themes merged." in auth.client.get(f"/themes/{b.theme.id}").text
    session.expire_all()
    assert session.get(Theme, a.theme.id).status == "merged"


# --------------------------------------------------------------------------------------------- in a browser
@pytest.mark.browser
def test_in_a_browser_a_quote_moves_to_a_theme_picked_by_name_and_an_empty_merge_says_so(live, committed, page):
    from playwright.sync_api import expect

    seeded = seed(committed)
    base = live.url
    _login(page, base)
    source = seeded.themes["Pricing too high for SMB"]
    page.goto(f"{base}/themes/{source}")
    first = page.locator("li.quote").first
    moved_text = first.locator("blockquote").inner_text()

    # A name that is no theme's: the refusal shows over the quotes, the page stays.
    first.get_by_label("Move to the theme").fill("Nothing like this")
    first.get_by_role("button", name="Move", exact=True).click()
    page.locator("#evidence .flash.error").wait_for()
    assert "No theme is called “Nothing like this”" in page.locator("#evidence .flash.error").inner_text()
    assert page.url == f"{base}/themes/{source}" and page.locator("li.quote").count() == 5

    # Typing part of a name fills the list from the server (htmx), then the full name moves the quote.
    box = page.locator("li.quote").first.get_by_label("Move to the theme")
    expect(box).to_be_focused()  # what was typed stays in the box, to correct it
    assert box.input_value() == "Nothing like this"
    box.fill("")
    with page.expect_response(lambda r: "/targets?target=sso" in r.url):
        box.press_sequentially("sso", delay=30)
    expect(page.locator("#theme-targets option")).to_have_count(1)
    assert page.locator("#theme-targets option").first.get_attribute("value") == "SSO login loops"
    box.fill("SSO login loops")
    box.press("Enter")
    expect(page.locator("#evidence .flash")).to_contain_text("Quote moved")
    assert "Quote moved to “SSO login loops”." in page.locator("#evidence").inner_text()
    assert page.locator("li.quote").count() == 4
    page.goto(f"{base}/themes/{seeded.themes['SSO login loops']}")
    assert moved_text in page.locator("#evidence").inner_text()

    # Merge with nothing chosen: a message beside the form, nothing merged.
    page.get_by_role("button", name="Merge", exact=True).click()
    page.locator("#merge-notice .flash.error").wait_for()
    assert page.locator("#merge-notice").inner_text().strip() == "Choose the theme to merge this one into."
    assert page.url == f"{base}/themes/{seeded.themes['SSO login loops']}"


@pytest.mark.browser
def test_in_a_browser_keyboard_focus_stays_in_the_quotes_after_curating_one(live, committed, page):
    """After a quote was rejected with the keyboard, focus fell to the page and the next Tab jumped past every quote."""
    from playwright.sync_api import expect

    seeded = seed(committed)
    base = live.url
    _login(page, base)
    page.goto(f"{base}/themes/{seeded.themes['Exports time out on large files']}")
    quotes = page.locator("#evidence li.quote")
    second, third = quotes.nth(1).get_attribute("id"), quotes.nth(2).get_attribute("id")
    quotes.nth(1).get_by_role("button", name="Not about this theme").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#evidence .flash")).to_contain_text("Quote rejected.")
    expect(page.locator(f"#{second}")).to_have_count(0)
    where = "() => { const li = document.activeElement.closest('li.quote'); return li ? li.id : document.activeElement.tagName; }"
    # Focus is put back once htmx settled the swap, a moment after the new list shows: wait for it, then read it.
    page.wait_for_function(f"() => ({where})() !== 'BODY'", timeout=5000)
    assert page.evaluate(where) == third  # the quote now in that place
    page.keyboard.press("Tab")
    assert page.evaluate(where) == third  # and Tab goes on through its buttons, not past the list


def test_every_button_of_a_quote_is_described_by_that_quote_for_screen_readers(auth, factory, session):
    # Fifty "Pin" and "Not feedback" buttons read alike to a screen reader unless each says which quote it acts on.
    made = factory.theme("Exports", items=3, texts=["Exports time out above 10k rows", "No CSV export of reports",
                                                     "Excel export loses the accents"])
    suggested = made.evidence[2]
    suggested.state = "suggested"
    session.commit()
    auth.login("product_owner")
    page = auth.client.get(f"/themes/{made.theme.id}").text
    quotes = dict(re.findall(r'<blockquote id="(s?q-\d+)" lang="[a-z]*">([^<]+)</blockquote>', page))
    described = re.findall(r'<button type="submit"[^>]*aria-describedby="(s?q-\d+)"', page)
    assert len(described) >= 4 * 2 + 3  # pin, not about it, not feedback, move per quote; 3 answers per suggestion
    assert set(described) == set(quotes) and len(quotes) == 3
    assert sorted(quotes.values()) == sorted(["Exports time out above 10k rows", "No CSV export of reports",
                                              "Excel export loses the accents"])


def test_the_activity_log_writes_its_dates_as_the_page_does_with_the_time_in_each_language(auth, factory, session):
    """Review: the Activity list read "12/7/26, 10:52 PM" on a page whose other dates read "Dec 7, 2026"."""
    made = factory.theme("Slow sync", items=1)
    for at in (dt.datetime(2026, 12, 7, 22, 52, tzinfo=dt.timezone.utc),
               dt.datetime(2026, 8, 1, 9, 5, tzinfo=dt.timezone.utc)):
        session.add(CurationEvent(action="confirm", theme_id=made.theme.id, at=at))
    session.commit()
    auth.login("viewer")

    def log(html: str) -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", html.split('id="h-log"')[1].split("</ul>")[0]).split())

    english = log(auth.client.get(f"/themes/{made.theme.id}").text)
    assert re.search(r"Dec 7, 2026, 10:52[ \u202f]PM", english) and re.search(r"Aug 1, 2026, 9:05[ \u202f]AM", english)
    assert "12/7/26" not in english
    auth.post("/language", {"lang": "fr"})
    french = log(auth.client.get(f"/themes/{made.theme.id}").text)
    assert "7 déc. 2026, 22:52" in french and "1er août 2026, 09:05" in french, french
