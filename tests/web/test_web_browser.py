"""End to end in headless Chromium: the product owner's whole path, screenshots, and hostile CRM text that must
never execute. The app runs in a thread, so data is committed on a dedicated engine and truncated afterwards."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from webapp import create_app
from webapp.users import create_or_reset_user

from .browser import LiveServer, seed
from .conftest import INSTANCE, PASSWORD, log_in

pytestmark = pytest.mark.browser
# The README's screenshots come from the real demo, on request only (python scripts/screenshots.py); this test writes
# its own pictures to a temporary directory, or to RETOUR_SCREENSHOTS_DIR to look at them, never to docs/screenshots.
SCREENSHOTS = Path(os.environ.get("RETOUR_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="retour-screenshots-"))


@pytest.fixture
def live(committed, make_settings):
    settings = make_settings({"salesforce": {"instance_url": INSTANCE},
                              "web": {"secret_key": "browser-test-secret-key-0123456789"},
                              "mapping": {"extra": {"speaks_basque": {"field": "Speaks_Basque__c", "kind": "boolean"}}}})
    with committed() as s:
        for role in ("admin", "product_owner", "viewer"):
            create_or_reset_user(s, f"{role}@example.com", PASSWORD, role=role)
        s.commit()
    server = LiveServer(create_app(settings, session_factory=committed))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    p = context.new_page()
    p.set_default_timeout(10_000)
    try:
        yield p
    finally:
        context.close()


def _login(page, base: str, role: str = "product_owner") -> None:
    log_in(page, base, f"{role}@example.com")


def test_product_owner_filters_opens_merges_decides_approves_and_switches_to_french(live, committed, page):
    seeded = seed(committed)
    base = live.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _login(page, base)
    rows = page.locator("tr.theme-row th a")
    assert rows.all_inner_texts()[:2] == ["Exports time out on large files", "SSO login loops"]
    page.screenshot(path=str(SCREENSHOTS / "board.png"), full_page=True)

    # Filter the board: EMEA only, bookmarkable URL
    page.get_by_label("Region").select_option("EMEA")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*region=EMEA.*"))
    assert "SSO login loops" not in rows.all_inner_texts()
    assert "the filtered feedback only" in page.locator("#board-summary").inner_text()

    # Open a theme
    page.get_by_role("link", name="Exports time out on large files").click()  # in the board's filters
    page.wait_for_url(f"{base}/themes/{seeded.themes['Exports time out on large files']}?region=EMEA")
    assert "the filtered feedback only" in page.locator("#theme-period").inner_text()
    assert page.locator("svg.chart rect").count() == 13  # all time: twelve months after one bar for the earlier ones
    assert page.locator("li.quote").count() == 9
    assert page.locator(f'a[href^="{INSTANCE}/006"]').count() >= 9
    page.screenshot(path=str(SCREENSHOTS / "detail.png"), full_page=True)

    # Pin a quote with htmx (CSRF header from app.js), no page reload
    page.locator("li.quote").nth(2).get_by_role("button", name="Pin").click()
    page.locator("li.quote.pinned").first.wait_for()
    assert "Quote pinned." in page.locator("#evidence").inner_text()

    # Merge "CSV export is slow" into it
    page.goto(f"{base}/themes/{seeded.themes['CSV export is slow']}")
    page.get_by_label("Merge this theme into").select_option(label="Exports time out on large files")
    page.get_by_role("button", name="Merge", exact=True).click()
    page.wait_for_url(f"{base}/themes/{seeded.themes['Exports time out on large files']}")
    assert "Themes merged." in page.content()
    assert page.locator("li.quote").count() == 12
    assert "merged “CSV export is slow” into this theme" in page.locator(".log").inner_text()

    # Record a decision, preview its push, approve
    page.get_by_role("link", name="Record a decision").click()
    page.get_by_label("Status").select_option("planned")
    page.get_by_label("Target release or date").fill("2026.4 (December)")
    # No person has named the theme in English: the title starts empty and asks for one (never the machine's label).
    assert page.get_by_label("Title for reps, in English").input_value() == ""
    assert page.locator("#d-title-en-missing").is_visible()
    page.get_by_label("Title for reps, in English").fill("Exports of any size")
    page.get_by_label("Title for reps, in French").fill("Des exports de toute taille")
    page.get_by_label("Insight for reps, in English").fill("Exports of any size are streamed from release 2026.4; re-open the deal.")
    page.get_by_label("Insight for reps, in French").fill("Les exports de toute taille sont diffusés en continu dès la version 2026.4.")
    page.get_by_role("button", name="Save and preview").click()
    page.wait_for_url(re.compile(r".*/decisions/\d+$"))
    assert "What will be pushed" in page.content()
    assert page.locator("table.preview tbody tr").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "decision-preview.png"), full_page=True)
    page.get_by_role("button", name="Approve the push").click()
    page.wait_for_url(re.compile(r".*/decisions/\d+$"))
    assert page.locator("#decision-state").inner_text() == "approved"

    # Switch to French
    page.goto(f"{base}/")
    page.get_by_label("Language", exact=True).select_option("fr")
    page.get_by_role("button", name="Switch").click()
    page.get_by_role("heading", name="Thèmes").wait_for()
    assert "Chiffre d’affaires en jeu" in page.content()
    page.screenshot(path=str(SCREENSHOTS / "board-fr.png"), full_page=True)


PAYLOADS = [
    "<script>window.__pwned='script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "\"><svg onload=\"window.__pwned='svg'\">",
    "<a href=\"javascript:window.__pwned='js'\">javascript:window.__pwned='link'</a>",
    "'><iframe src=\"javascript:parent.__pwned='iframe'\"></iframe>",
]


def test_hostile_crm_text_never_executes_in_the_browser(live, committed, page):
    """Through FeedbackItem, Account, Opportunity and Theme rows (the sync connector is not in the tree yet)."""
    seeded = seed(committed, hostile=PAYLOADS)
    base = live.url
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, base, "admin")
    theme_id = next(iter(seeded.themes.values()))
    for url in ("/", "/?q=script", f"/themes/{theme_id}", f"/api/v1/themes/{theme_id}", "/evidence/search?q=pwned"):
        page.goto(base + url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)
        assert page.evaluate("typeof window.__pwned") == "undefined", f"payload executed on {url}"
        assert page.locator("a[href^='javascript:'], iframe, svg[onload], img[onerror]").count() == 0
        if not url.startswith("/api/"):
            assert "<script>window.__pwned" in page.locator("main").inner_text()  # shown as text, not run
    assert dialogs == []


@pytest.mark.demo_org
def test_hostile_loss_reason_synced_from_the_org_never_executes(live, committed, page, tmp_path, database_url):
    """The same proof end to end: the payload is typed into the demo org and arrives through a real sync."""
    from connector.client import connect
    from connector.demo_org import DemoOrg
    from connector.demo_org.testing import shared_cache_dir
    from connector.sync import run_sync
    from retour.config import load_settings
    from retour.models import FeedbackItem, FeedbackSegment, Theme, ThemeEvidence

    payload = " ".join(PAYLOADS)
    with DemoOrg(tmp_path / "org", scale=0.02, cache_dir=shared_cache_dir()) as org:
        lost = next(r for r in org.records("Opportunity") if r["IsClosed"] and not r["IsWon"])
        org.update("Opportunity", lost["Id"], Loss_Reason_Detail__c=payload, Name=PAYLOADS[2])
        settings = load_settings({"data_dir": str(tmp_path / "data"), "database_url": database_url}, environ=org.env())
        report = run_sync(committed, settings, connect(settings), objects=["User", "Account", "Opportunity"])
    assert report["status"] == "ok", report
    with committed() as s:
        item = s.query(FeedbackItem).filter(FeedbackItem.source_id == lost["Id"],
                                            FeedbackItem.text.contains("__pwned")).one()
        # Filed under a theme the way a theme pass files it (segment + evidence), so the pages show it.
        theme = Theme(label="Synced hostile text", status="emerging")
        s.add(theme)
        s.flush()
        seg = FeedbackSegment(item_id=item.id, position=0, text=item.text, lang=item.lang)
        s.add(seg)
        s.flush()
        s.add(ThemeEvidence(theme_id=theme.id, segment_id=seg.id))
        s.commit()
        theme_id = theme.id
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, live.url, "viewer")
    for url in ("/?q=pwned", f"/themes/{theme_id}"):
        page.goto(live.url + url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(150)
        assert page.evaluate("typeof window.__pwned") == "undefined", f"payload executed on {url}"
        assert page.locator("a[href^='javascript:'], iframe, svg[onload], img[onerror]").count() == 0
    shown = page.locator("#evidence").inner_text()
    # The connector cleans tags out of notes; the rest, and the opportunity's name, are shown as plain text.
    assert "javascript:window.__pwned" in shown and "<svg onload=\"window.__pwned='svg'\">" in shown
    assert dialogs == []


def test_product_owner_answers_suggestions_and_makes_themes_in_english_and_french(live, committed, page, tmp_path):
    """Suggestions answered with htmx (CSRF header, no reload), 'not feedback', a theme made from a search and one
    from example sentences, then the same pages in French with the theme's French name."""
    from retour.models import Theme, ThemeEvidence

    seeded = seed(committed, hostile=None)
    exports = seeded.themes["Exports time out on large files"]
    with committed() as s:
        quotes = s.query(ThemeEvidence).filter_by(theme_id=seeded.themes["CSV export is slow"]).all()
        for ev in quotes:  # the pass was unsure of these: suggested for the exports theme, filed nowhere
            s.add(ThemeEvidence(theme_id=exports, segment_id=ev.segment_id, similarity=0.55, state="suggested"))
            s.delete(ev)
        s.get(Theme, seeded.themes["SSO login loops"]).label_fr = "Boucles de connexion SSO"
        s.commit()
    base = live.url
    _login(page, base)
    assert "3 suggestions" in page.locator("tr.theme-row").first.inner_text()
    page.screenshot(path=str(tmp_path / "board-en.png"), full_page=True)
    page.locator("tr.theme-row").first.get_by_role("link", name="3 suggestions").click()
    page.wait_for_url(f"{base}/themes/{exports}#suggestions")
    assert page.locator("#suggestions li.quote").count() == 3 and page.locator("#evidence li.quote").count() == 9
    page.screenshot(path=str(tmp_path / "theme-en.png"), full_page=True)

    page.locator("#suggestions li.quote").first.get_by_role("button", name="Accept").click()
    page.get_by_text("Suggestion accepted: the quote is now evidence.").wait_for()
    assert page.locator("#suggestions li.quote").count() == 2 and page.locator("#evidence li.quote").count() == 10
    page.locator("#suggestions li.quote").first.get_by_role("button", name="Not feedback").click()
    page.get_by_text("Marked as not feedback: it counts in no theme.").wait_for()
    page.locator("#suggestions li.quote").first.get_by_role("button", name="Not about this theme").click()
    page.get_by_text("Suggestion declined").wait_for()
    assert page.locator("#suggestions li.quote").count() == 0
    page.locator("#evidence li.quote").nth(1).get_by_role("button", name="Not feedback").click()
    page.locator("#evidence").get_by_text("Marked as not feedback").wait_for()
    assert page.locator("#evidence li.quote").count() == 9

    page.get_by_role("link", name="Find quotes").click()
    page.get_by_label("Words in the feedback").fill("sso")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r".*/evidence/search\?q=sso"))
    hits = page.locator("li.hit")
    assert hits.count() == 3 and "SSO login loops" in hits.first.inner_text()
    page.screenshot(path=str(tmp_path / "search-en.png"), full_page=True)
    hits.first.locator("input[type=checkbox]").check()
    page.get_by_label("Name of the theme").fill("Okta single sign-on")
    page.get_by_role("button", name="Make a theme of these").click()
    page.wait_for_url(re.compile(r".*/themes/\d+$"))
    assert page.locator("#theme-label").inner_text() == "Okta single sign-on"
    assert page.locator("#evidence li.quote").count() == 1

    page.get_by_role("link", name="Themes", exact=True).click()
    page.locator("#new-theme summary").click()
    page.get_by_label("Name of the theme").fill("Facturation en double")
    page.get_by_label("French", exact=True).check()
    page.get_by_label("Example sentences, one per line").fill("Ils ont été facturés deux fois\nDuplicate invoices every month")
    page.get_by_role("button", name="Create the theme").click()
    page.wait_for_url(re.compile(r".*/themes/\d+$"))
    assert "the next theme pass will gather it from the example sentences below" in page.locator("#gathering").inner_text()
    assert page.locator("#theme-label").inner_text() == "Facturation en double"
    page.screenshot(path=str(tmp_path / "new-theme-en.png"), full_page=True)
    page.get_by_label("Name this theme in English").fill("Double billing")
    page.get_by_role("button", name="Save the name").first.click()
    page.wait_for_url(re.compile(r".*/themes/\d+$"))
    assert page.locator("#theme-label").inner_text() == "Double billing"

    page.get_by_label("Language", exact=True).select_option("fr")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state("load")
    assert page.locator("#theme-label").inner_text() == "Facturation en double"
    page.screenshot(path=str(tmp_path / "new-theme-fr.png"), full_page=True)
    page.goto(f"{base}/")
    assert "Boucles de connexion SSO" in page.locator("table.board").inner_text()
    page.screenshot(path=str(tmp_path / "board-fr.png"), full_page=True)
    page.goto(f"{base}/themes/{seeded.themes['SSO login loops']}")
    page.screenshot(path=str(tmp_path / "theme-fr.png"), full_page=True)
    page.goto(f"{base}/evidence/search?q=export")
    page.screenshot(path=str(tmp_path / "search-fr.png"), full_page=True)
    print("screenshots:", tmp_path)


def _board_figures(page, theme_id: int) -> tuple[str, str, str]:
    row = page.locator(f'tr.theme-row[data-theme="{theme_id}"]')
    return (row.locator(".fig-accounts").inner_text(), row.locator(".fig-items").inner_text(),
            row.locator(".fig-at-stake").inner_text())


def _theme_figures(page) -> tuple[str, str, str]:
    return tuple(page.locator(f"#fig-{name}").inner_text() for name in ("accounts", "items", "at-stake"))


def test_in_a_browser_the_board_and_the_theme_page_agree_for_each_period_and_a_merge_shows_at_once(live, committed,
                                                                                                    page):
    """What a product owner reads: the board's row and the theme's header give the same accounts, items and money
    for every period and a filter; merging a theme changes both on the next page load, with no theme pass."""
    seeded = seed(committed)
    base = live.url
    target, merged = seeded.themes["Exports time out on large files"], seeded.themes["CSV export is slow"]
    _login(page, base)
    compared = []
    for query in ("", "window=30", "window=365", "lang=fr", "region=EMEA"):
        page.goto(f"{base}/?{query}")
        if not page.locator(f'tr.theme-row[data-theme="{target}"]').count():
            continue  # nothing in this period or scope cites it: the board leaves it out, as the figures say
        on_board = _board_figures(page, target)
        page.goto(f"{base}/themes/{target}?{query}")
        assert _theme_figures(page) == on_board, query
        compared.append(on_board)
    assert len(compared) >= 3 and len(set(compared)) >= 2  # several views, and the periods do differ
    page.goto(f"{base}/")
    before, other = _board_figures(page, target), _board_figures(page, merged)
    page.goto(f"{base}/themes/{merged}")
    page.get_by_label("Merge this theme into").select_option(label="Exports time out on large files")
    page.get_by_role("button", name="Merge", exact=True).click()
    page.wait_for_url(f"{base}/themes/{target}")
    after_header = _theme_figures(page)
    page.goto(f"{base}/")
    after = _board_figures(page, target)
    assert after == after_header
    assert int(after[1].replace(",", "")) > int(before[1].replace(",", ""))
    assert int(after[1].replace(",", "")) <= int(before[1].replace(",", "")) + int(other[1].replace(",", ""))
    assert page.locator(f'tr.theme-row[data-theme="{merged}"]').count() == 0  # a merged theme leaves the board


def test_in_french_a_product_owner_merges_on_the_theme_page_and_undoes_it_from_the_notice(live, committed, browser):
    """The merge (htmx) lands on the surviving theme with its notice; "Annuler la fusion" there (htmx again) gives
    the merged theme back its quotes, on its own page, in French all the way."""
    seeded = seed(committed)
    base = live.url
    source, target = seeded.themes["CSV export is slow"], seeded.themes["Exports time out on large files"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, base, "product_owner@example.com", lang="fr")
        page.goto(f"{base}/themes/{source}")
        assert page.locator("li.quote").count() == 3
        page.get_by_label("Fusionner ce thème dans").select_option(label="Exports time out on large files")
        page.get_by_role("button", name="Fusionner", exact=True).click()
        page.wait_for_url(f"{base}/themes/{target}")
        notice = page.locator("main > .flash").first
        assert "Thèmes fusionnés." in notice.inner_text()
        assert page.locator("li.quote").count() == 12

        notice.get_by_role("button", name="Annuler la fusion").click()
        page.wait_for_url(f"{base}/themes/{source}")
        assert "Fusion annulée : « CSV export is slow » est de nouveau un thème à part entière" in \
            page.locator("main > .flash").first.inner_text()
        assert page.locator("li.quote").count() == 3
        assert "a annulé la fusion de ce thème dans « Exports time out on large files »" in \
            page.locator(".log").inner_text()
        page.goto(f"{base}/themes/{target}")
        assert page.locator("li.quote").count() == 9
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_name_this_theme_label_sits_on_its_inputs_line_not_the_hints(live, committed, browser, lang):
    """Review: in French "Nommer ce thème en français" ended the hint's line and its input started the next."""
    from retour.models import Theme
    seeded = seed(committed)
    theme_id = seeded.themes["CSV export is slow"]
    with committed() as s:  # no name in either language yet: both pages offer to write one
        t = s.get(Theme, theme_id)
        t.label_en = t.label_fr = None
        s.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=f"{lang}-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, live.url, "product_owner@example.com", lang=lang)
        page.goto(f"{live.url}/themes/{theme_id}")
        hint, label, field = (page.locator(sel).bounding_box()
                              for sel in ("#name-in-hint", "label[for=name-in-label]", "#name-in-label"))
        assert hint["y"] + hint["height"] <= label["y"] + 1, (hint, label)  # the hint stands on its own line
        middle = label["y"] + label["height"] / 2
        assert field["y"] <= middle <= field["y"] + field["height"], (label, field)  # the label beside its input
        assert label["x"] < field["x"]
    finally:
        context.close()
