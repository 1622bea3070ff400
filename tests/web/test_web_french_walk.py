"""A French reader walks every page and reads no English: each page reachable from the navigation, a theme, a
decision and its preview, the administration, a search, form errors and flash messages, on a seeded database.

A page fails on any piece of visible text that is an English message of the catalogue whose French differs (a
message left untranslated: the template said it without ``_``, or a job built the sentence in English), on
English sentences the catalogue's messages with placeholders would have produced ("3 accounts in 180 days"),
and on internal codes ("segment_id", "old:") that are not words for people. Money must say its currency the
French way ("70 k €", "1,2 M €").
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from retour.models import AppUser, ThemeEvidence, ThemeProposal
from webapp.i18n import TRANSLATIONS

from .conftest import Auth
from .small_org import build

PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
VISIBLE_ATTRS = ("title", "placeholder", "aria-label", "alt")
# Words a French sentence does not hold: English the catalogue never knew (a message written without ``_``).
ENGLISH_WORDS = re.compile(r"\b(the|is|are|this|that|with|cannot|must|should|will|has|have|been|of|to|and|or|"
                           r"no|not|for|from|at|in|on|by|it|its|per|days?|accounts?|items?|quotes?)\b")
QUOTED = re.compile(r"«[^»]*»|“[^”]*”")  # a name or a quote inside a sentence is the CRM's or a person's text


def english(text: str) -> bool:
    return bool(ENGLISH_WORDS.search(QUOTED.sub("", text)))


CODES = re.compile(r"\b(segment_id|theme_id|evidence_id|old:|new:|None|True|False)\b|\{\{|%\(")


class _Text(HTMLParser):
    """Text a reader sees: text nodes outside script/style, the attributes a browser shows, button values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._open: list[tuple[str, bool]] = []  # (tag, in another language) for elements that set ``lang``

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style") or ("lang" in attrs and (attrs["lang"] or "")[:2] != "fr"):
            # code, or text in its own language (lang="" is unknown): a quote, a language's own name
            self._skip += 1
            self._open.append((tag, True))
        elif "lang" in attrs:
            self._open.append((tag, False))
        if self._skip:
            return
        for name in VISIBLE_ATTRS:
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            if self._open.pop()[1]:
                self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return [" ".join(p.split()) for p in parser.parts if p.strip()]


def _catalogue():
    with PO.open("rb") as fh:
        return read_po(fh)


def _pattern(message: str) -> re.Pattern[str]:
    """A catalogue message as a regular expression over a rendered sentence (placeholders match any text)."""
    pieces = re.split(r"%\([a-z_]+\)[sd]|%[sd]", " ".join(message.split()))
    return re.compile(".+?".join(re.escape(p) for p in pieces), re.DOTALL)


class Untranslated:
    """The catalogue's English messages that French says differently, as exact strings and as patterns."""

    def __init__(self) -> None:
        self.exact: set[str] = set()
        self.patterns: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = []
        for m in _catalogue():
            if not m.id:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            for english in ids:
                english = " ".join(english.split())
                if any(" ".join(s.split()) == english for s in strings):
                    continue  # the same in both languages ("Score", "Total", "%(n)s · %(m)s")
                if "%" not in english:
                    self.exact.add(english)
                elif len(re.findall(r"[A-Za-z]{3,}", re.sub(r"%\([a-z_]+\)[sd]", "", english))) >= 2:
                    french = [_pattern(s) for s in strings if s]
                    self.patterns.append((english, _pattern(english), french[0] if french else _pattern(english)))

    def found_in(self, texts: list[str]) -> list[str]:
        out = []
        for text in texts:
            if text in self.exact or text.rstrip(" :.") in self.exact:
                out.append(text)
                continue
            for english, pattern, french in self.patterns:
                if pattern.search(text) and not french.search(text):
                    out.append(f"{text!r} (from {english!r})")
                    break
        return out


@pytest.fixture(scope="module")
def untranslated() -> Untranslated:
    return Untranslated()


def test_the_catalogue_has_no_empty_french_message():
    empty = [m.id for m in _catalogue() if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert not empty


# Words French writes as English does; any other message whose French is its English was left untranslated (the
# walk cannot see those: they read the same in both languages).
SAME_IN_BOTH = {"note", "Administration", "E-mail", "Retour", "Source", "source", "Segment", "segment", "Pages",
                "Score", "Suggestions", "Total"}


def test_no_french_message_is_its_english_left_as_it_was():
    same = [m.id for m in _catalogue() if m.id and isinstance(m.id, str) and m.string == m.id
            and re.sub(r"%\([a-z_]+\)[sd]", "", m.id).strip(" ·—:,") and m.id not in SAME_IN_BOTH]
    assert not same


def test_the_walk_flags_english_left_on_a_french_page(untranslated):
    """The check itself: it must catch a catalogue message said in English, plain or with its figures filled in."""
    assert untranslated.found_in(["Themes"]) == ["Themes"]
    assert untranslated.found_in(["Thèmes", "Score"]) == []
    filled_in = "3 of the 10 accounts that gave feedback in 180 days (30%, rule ≥ 25%)"
    assert untranslated.found_in([filled_in]), "a filled-in English sentence went unnoticed"
    assert not untranslated.found_in(["3 des 10 comptes qui ont donné un retour en 180 jours (30 %, règle ≥ 25 %)"])
    # Text in another language by its own lang (a quote) is not the page's; a hard-coded English phrase is.
    texts = visible_text('<p>Thème</p><blockquote lang="en">Too slow</blockquote><p>Exported by the sync</p>')
    assert texts == ["Thème", "Exported by the sync"]
    assert [t for t in texts if english(t)] == ["Exported by the sync"]
    assert not english("Renommé « Single sign-on » par la DSI")


@pytest.fixture
def french_desk(app, auth, session, users):
    """The small org, a decision with its preview, curation in the activity log; an admin reading in French."""
    org = build(session)
    sap_quotes = [session.get(ThemeEvidence, i).segment_id for k, ids in org.evidence.items() if k[0] == "SAP"
                  for i in ids]
    session.add_all([
        ThemeProposal(kind="merge", theme_id=org.themes["Pricing"], other_theme_id=org.themes["SSO"],
                      payload={"similarity": 0.3}),
        ThemeProposal(kind="split", theme_id=org.themes["SAP"], payload={
            "groups": [sap_quotes[:2], sap_quotes[2:]], "examples": [["stays"], ["SAP sync breaks on invoices"]]}),
        ThemeProposal(kind="rename", theme_id=org.themes["SSO"], payload={"label": "Single sign-on"}),
    ])
    for user_id in users.values():
        session.get(AppUser, user_id).locale = "fr"
    session.commit()
    assert auth.login("admin").status_code == 302
    sap, pricing = org.themes["SAP"], org.themes["Pricing"]
    auth.post(f"/themes/{sap}/rename", {"label": "Exports SAP"})
    first = org.evidence[("Pricing", next(k[1] for k in org.evidence if k[0] == "Pricing"))][0]
    auth.post(f"/themes/{pricing}/evidence/{first}/move", {"target_id": str(sap)})
    auth.post(f"/themes/{pricing}/name", {"lang": "fr", "label": "Tarifs"})
    auth.post("/admin/pause", {"paused": "true", "reason": "Fin de trimestre", "next": "/"})
    created = auth.post(f"/themes/{sap}/decisions", {
        "status": "planned", "target": "2026.4", "title_en": "SAP exports",
        "insight_en": "Native SAP export in 2026.4.",
        "title_fr": "Exports SAP", "insight_fr": "Export SAP natif en 2026.4."})
    assert created.status_code == 302, created.text
    return org, sap, pricing, created.headers["Location"]


def _links(html: str) -> set[str]:
    return {h for h in re.findall(r'href="(/[^"#]*)"', html) if not h.startswith(("/static", "/api", "/logout"))}


def test_every_page_reads_in_french(app, auth, french_desk, untranslated):
    org, sap, pricing, decision_url = french_desk
    pages = {"/", "/?window=365", "/?window=30", "/?lang=fr", "/evidence/search?q=SAP", "/evidence/search?q=zzz",
             "/themes/new", "/admin/", f"/themes/{sap}", f"/themes/{sap}?window=365", f"/themes/{pricing}",
             f"/themes/{org.themes['SSO']}", f"/themes/{sap}/decisions/new", decision_url,
             decision_url + "/edit"}
    pages |= _links(auth.client.get("/").text) | _links(auth.client.get(f"/themes/{sap}").text)
    found: dict[str, list[str]] = {}
    walk(auth, pages, untranslated, found)
    viewer = Auth(app.test_client())
    assert viewer.login("viewer").status_code == 302
    walk(viewer, {"/", f"/themes/{sap}", decision_url, "/evidence/search?q=SAP"}, untranslated, found)
    auth.post("/admin/pause", {"paused": "false", "next": "/"})
    assert auth.post(decision_url + "/approve").status_code == 302  # an approved decision, a decided theme
    walk(auth, {"/", f"/themes/{sap}", decision_url}, untranslated, found)
    assert not found, json.dumps(found, ensure_ascii=False)


def walk(auth, pages, untranslated, found) -> None:
    for url in sorted(pages):
        resp = auth.client.get(url, follow_redirects=True)
        texts = visible_text(resp.text)
        bad = untranslated.found_in(texts) + [t for t in texts if CODES.search(t) or english(t)]
        if resp.status_code != 200 or bad:
            found[url] = [f"HTTP {resp.status_code}"] * (resp.status_code != 200) + bad


def test_form_errors_and_messages_read_in_french(auth, french_desk, untranslated):
    org, sap, pricing, decision_url = french_desk
    answers = [
        auth.post(f"/themes/{sap}/decisions", {"status": "planned", "title_en": "", "insight_en": ""}),
        auth.post(f"/themes/{sap}/rename", {"label": " "}, follow_redirects=True),
        auth.post(f"/themes/{sap}/merge", {"target_id": ""}, follow_redirects=True),
        auth.post(f"/themes/{sap}/merge", {"target_id": str(sap)}, follow_redirects=True),
        auth.post(f"/themes/{sap}/examples", {"examples": ""}, follow_redirects=True),
        auth.post("/themes/new", {"label": "", "lang": "fr", "examples": ""}),
        auth.post(decision_url + "/withdraw", follow_redirects=True),
        auth.post(decision_url + "/approve", follow_redirects=True),
        auth.post("/admin/users", {"email": "new@example.com", "password": "short", "role": "viewer"},
                  follow_redirects=True),
        auth.post("/admin/users", {"email": "nobody", "password": "long enough pass", "role": "viewer"},
                  follow_redirects=True),
    ]
    answers += [auth.client.post(f"/themes/{sap}/rename", data={"label": "x"}),  # no CSRF token: 400
                auth.client.get("/themes/999999")]  # 404
    found: dict[str, list[str]] = {}
    for resp in answers:
        texts = visible_text(resp.text)
        errors = [t for t in texts if t[:1].isalpha()]
        bad = untranslated.found_in(texts) + [t for t in texts if CODES.search(t) or english(t)]
        if bad:
            found.setdefault(resp.request.path, []).extend(bad)
        assert errors, resp.request.path
    assert not found, json.dumps(found, ensure_ascii=False)
    flashes = re.findall(r'<p class="flash[^"]*"[^>]*>([^<]+)</p>', "".join(a.text for a in answers))
    assert flashes and all(f.strip()[:1].isupper() for f in flashes), flashes


def test_money_reads_with_its_currency_the_french_way(auth, french_desk):
    org, sap, *_ = french_desk
    for url in ("/", f"/themes/{sap}"):
        html = auth.client.get(url).text
        amounts = re.findall(r"\d[\d\u202f\u00a0 ,]*\s?(?:k|M|Md)?\s?(?:€|EUR|£|GBP|XYZ)", html)
        assert amounts, url
        assert re.search(r"\d(?:,\d)?\u00a0(?:k|M)\u00a0€", html), url
        assert not re.search(r"\d(?:\.\d)?[kM]\b", " ".join(visible_text(html))), url


VISIBLE_FRENCH_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest('script, style')) continue;
    const own = el.closest('[lang]');
    if (own && !(own.getAttribute('lang') || '').startsWith('fr')) continue;
    if (!el.getClientRects().length) continue;
    const t = n.textContent.replace(/\\s+/g, ' ').trim();
    if (t) out.push(t);
  }
  return out;
}"""


@pytest.mark.browser
def test_in_chromium_a_french_reader_walks_the_desk_and_reads_no_english(browser, committed, make_settings,
                                                                        untranslated):
    """What Chromium shows (visible text only, CSS applied), page by page from the navigation and the board."""
    from webapp import create_app
    from webapp.users import create_or_reset_user

    from .browser import LiveServer
    from .conftest import PASSWORD, log_in

    settings = make_settings({"web": {"secret_key": "browser-test-secret-key-0123456789"},
                              "mapping": {"extra": {"speaks_basque": {"field": "Speaks_Basque__c",
                                                                      "kind": "boolean"}}}})
    server = context = None
    try:
        with committed() as s:
            create_or_reset_user(s, "admin@example.com", PASSWORD, role="admin")
            org = build(s)
            s.commit()
        server = LiveServer(create_app(settings, session_factory=committed))
        context = browser.new_context(locale="fr-FR", extra_http_headers={"Accept-Language": "fr-FR,fr"})
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, server.url, "admin@example.com", lang="fr")
        links = page.eval_on_selector_all("nav a, tr.theme-row th a", "els => els.map(e => e.getAttribute('href'))")
        pages = ["/", *dict.fromkeys(links), "/evidence/search?q=SAP", f"/themes/{org.themes['SAP']}/decisions/new"]
        found = {}
        for url in pages:
            page.goto(server.url + url)
            texts = page.evaluate(VISIBLE_FRENCH_TEXT)
            bad = untranslated.found_in(texts) + [t for t in texts if CODES.search(t) or english(t)]
            if bad:
                found[url] = bad
        page.goto(server.url + "/")
        at_stake = page.locator("td.fig-at-stake").first.inner_text()
        assert len(pages) >= 6 and not found, found
        assert re.fullmatch(r"[\d,]+\s(k|M)\s€(\s\+ .*)?", at_stake.replace("\u202f", " ").replace("\xa0", " ")
                            .split("\n")[0]), at_stake
    finally:
        if context is not None:
            context.close()
        if server is not None:
            server.stop()


def test_a_refused_decision_names_the_statuses_as_the_form_does(auth, french_desk):
    org, sap, *_ = french_desk
    page = auth.post(f"/themes/{sap}/decisions", {"status": "later", "title_en": "t", "insight_en": "i"}).text
    error = re.search(r'<p class="error"[^>]*>([^<]*)<', page) or re.search(r'role="alert"[^>]*>([^<]*)<', page)
    assert error and "prévu" in error.group(1) and "wont_do" not in error.group(1), error and error.group(1)


def test_every_curation_refusal_has_its_french(app):
    """jobs.curation refuses with a code (jobs never import Flask); the web app says each code through the
    catalogue, so a code without its French fails here rather than reaching a French page in English."""
    from flask_babel import force_locale

    from jobs.curation import CODES, CurationError
    from webapp.actions import CURATION_REFUSALS, curation_refusal

    assert set(CURATION_REFUSALS) == set(CODES)
    params = {"max": 200, "got": 201, "sentence": 2, "theme_id": 7, "status": "merged", "what": "merged",
              "lang": "de", "ids": [9], "act": "accepted", "name": "Connecteur Power BI"}
    with app.test_request_context("/"), force_locale("fr"):
        for code in sorted(CODES):
            said = curation_refusal(CurationError(code, "an English refusal", **params))
            assert said and not english(said) and "English" not in said, (code, said)
        lost = CurationError("label_empty", "x")
        lost.code = "a_code_nobody_said"  # what a table left behind would meet: French, never the English text
        assert curation_refusal(lost) == "Cette modification ne peut pas être faite telle que demandée."
    with pytest.raises(ValueError, match="unknown curation refusal code"):
        CurationError("made_up", "no table knows this")


def test_a_proposal_curation_refuses_says_why_in_french(auth, session, french_desk):
    """A rename proposal accepted with a name too long: jobs.curation refuses, jobs.proposals passes the refusal on,
    and the French page says it in French (it was 'a theme label is at most 200 characters (got 201).')."""
    org, *_ = french_desk
    rename = session.query(ThemeProposal).filter_by(kind="rename", theme_id=org.themes["SSO"]).one()
    page = auth.post(f"/proposals/{rename.id}/accept", {"label": "x" * 201}, follow_redirects=True).text
    flashes = re.findall(r'<p class="flash[^"]*"[^>]*>([^<]+)</p>', page)
    assert flashes[-1] == "Le nom d’un thème tient en 200 caractères.", flashes  # the fixture's own come first


@pytest.mark.parametrize("query, said", [
    ("status=nope", "status=« nope » ne fait pas partie des valeurs possibles : emerging, critical, decided"),
    ("window=7", "window=« 7 » : choisissez l’une des valeurs"),
    ("page=%C2%B2", "page=« ² » n’est pas un numéro de page"),
])
def test_a_filter_the_board_does_not_know_is_refused_in_french(auth, french_desk, query, said):
    """The parameter and its value as the address wrote them; every word around them French (the detail was the
    English 'status='nope' is not one of: …')."""
    resp = auth.client.get(f"/?{query}")
    texts = visible_text(resp.text)
    assert resp.status_code == 400 and any(said in t for t in texts), texts
    assert not [t for t in texts if english(t)], texts
