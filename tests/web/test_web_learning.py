"""What the product owner teaches the theme pass from the desk: suggestions answered, "not feedback", themes made
from a name and example sentences or from a search of the evidence, and theme names in each reader's language."""

from __future__ import annotations

import re

from retour.models import CurationEvent, FeedbackSegment, Theme, ThemeEvidence, ThemeExample

from .conftest import INSTANCE

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
HX = {"HX-Request": "true"}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\xa0", " ")


def _hx(auth, url: str, target: str, data: dict | None = None):
    return auth.client.post(url, data={**(data or {}), "csrf_token": auth.csrf},
                            headers={**HX, "HX-Target": target})


def _french(auth) -> None:
    auth.post("/language", {"lang": "fr", "next": "/"})


# --------------------------------------------------------------------------------------------- suggestions
def test_suggestions_are_listed_escaped_with_their_salesforce_record_and_counted_in_no_figure(auth, factory, session):
    made = factory.theme("Slow exports", items=2)
    sug = factory.suggest(made.theme, HOSTILE + " exports crawl", account_name="Suggested SA")
    session.commit()
    auth.login("product_owner")
    html = auth.client.get(f"/themes/{made.theme.id}").text
    section = html[html.index('id="suggestions"'):html.index('id="evidence"')]
    assert "Suggestions (1)" in _text(section) and "Suggested SA" in section
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; exports crawl" in section
    seg_item = session.get(FeedbackSegment, sug.segment_id).item
    assert f'href="{INSTANCE}/{seg_item.source_id}"' in section
    assert f'action="/themes/{made.theme.id}/suggestions/{sug.id}/accept"' in section
    # The evidence list, its count, the board's filtered figures and the API count active evidence only.
    assert "Evidence 2 quotes from" in _text(html) and html.count('class="quote"') + html.count('class="quote pinned"') == 2
    board = auth.client.get("/api/v1/themes?window=365").get_json()["themes"]
    assert [(t["items"], t["accounts"], t["suggestions"]) for t in board] == [(2, 2, 1)]
    api = auth.client.get(f"/api/v1/themes/{made.theme.id}").get_json()
    assert api["evidence_total"] == 2 and sug.id not in {e["id"] for e in api["evidence"]}
    assert sum(m["items"] for m in api["months"]) == 2


def test_a_suggestion_says_which_theme_its_quote_counts_in_now(auth, factory, session):
    # Accepting moves the quote out of that theme: the review accepted quotes with no word of where from.
    here, there = factory.theme("Basque version", items=1), factory.theme("Data residency", items=1)
    there.theme.label_fr = "Résidence des données"
    filed = factory.suggest(here.theme, "Pas de version basque, la mairie y tient")
    session.add(ThemeEvidence(theme_id=there.theme.id, segment_id=filed.segment_id, similarity=0.5, state="active"))
    loose = factory.suggest(here.theme, "Euskara interface required by the council")
    session.commit()
    auth.login("product_owner")
    section = auth.client.get(f"/themes/{here.theme.id}").text
    section = section[section.index('id="suggestions"'):section.index('id="evidence"')]
    mine = section[section.index(f'id="sug-{filed.id}"'):section.index(f'id="sug-{loose.id}"')]
    assert f'Now in: <a href="/themes/{there.theme.id}">Data residency</a>' in mine
    assert "In no theme yet" in section[section.index(f'id="sug-{loose.id}"'):]
    _french(auth)
    fr = auth.client.get(f"/themes/{here.theme.id}").text
    assert f'Classée dans : <a href="/themes/{there.theme.id}">Résidence des données</a>' in fr
    assert "Dans aucun thème pour l’instant" in fr
    api = {s["id"]: s["now_in"] for s in
           auth.client.get(f"/api/v1/themes/{here.theme.id}/suggestions").get_json()["suggestions"]}
    assert api[loose.id] is None and api[filed.id]["id"] == there.theme.id
    assert api[filed.id]["label"] == "Data residency"


def test_a_quote_that_left_a_theme_says_where_it_went_in_both_activities_and_in_the_accept_notice(auth, factory,
                                                                                                   session):
    """The review saw a theme lose quotes moved away and accepted elsewhere with only "rejected a quote" in its
    activity, and the receiving theme say "accepted a suggested quote" with no word of where it came from."""
    here = factory.theme("Exports", items=3)
    there = factory.theme("Pricing <b>", items=1)
    there.theme.label_fr = "Tarifs <b>"
    taken = ThemeEvidence(theme_id=there.theme.id, segment_id=here.evidence[1].segment_id, similarity=0.6,
                          state="suggested")
    session.add(taken)
    loose = factory.suggest(there.theme, "Euskara interface required by the council")
    session.commit()
    auth.login("product_owner")
    auth.post(f"/themes/{here.theme.id}/evidence/{here.evidence[0].id}/move", {"target_id": str(there.theme.id)})
    accepted = _text(_hx(auth, f"/themes/{there.theme.id}/suggestions/{taken.id}/accept", "suggestions").text)
    assert "Suggestion accepted: the quote is now evidence here, and no longer in “Exports”." in accepted
    assert "Suggestion accepted: the quote is now evidence." in _text(
        _hx(auth, f"/themes/{there.theme.id}/suggestions/{loose.id}/accept", "suggestions").text)  # from no theme

    def activity(theme_id: int) -> str:
        page = auth.client.get(f"/themes/{theme_id}").text
        log = re.search(r'<ul class="log">(.*?)</ul>', page, re.S).group(1)
        assert "<b>" not in log  # a theme's name is escaped like any text
        return _text(log).replace("&lt;", "<").replace("&gt;", ">")

    left = activity(here.theme.id)
    assert "moved a quote to “Pricing <b>”" in left
    assert "accepted a quote of this theme as a suggestion for “Pricing <b>”: it left here" in left
    came = activity(there.theme.id)
    assert "moved a quote here from “Exports”" in came and "accepted a suggested quote from “Exports”" in came
    assert came.count("accepted a suggested quote") == 2  # the one from no theme says so without a name
    api = auth.client.get(f"/api/v1/themes/{here.theme.id}").get_json()["activity"]
    assert {(e["action"], e["theme_id"]) for e in api} == {("move_evidence", there.theme.id),
                                                           ("accept_suggestion", there.theme.id)}
    _french(auth)
    left = activity(here.theme.id)
    assert "a déplacé une citation vers « Tarifs <b> »" in left
    assert "a accepté pour « Tarifs <b> » une citation de ce thème qui lui était suggérée : elle n’est plus ici" in left
    assert "a accepté une citation suggérée, qui était dans « Exports »" in activity(there.theme.id)


def test_the_board_says_how_many_suggestions_wait_for_each_theme(auth, factory, session):
    waiting, quiet = factory.theme("Slow exports", items=2), factory.theme("SSO loops", items=1)
    factory.suggest(waiting.theme, "Exports crawl")
    factory.suggest(waiting.theme, "The export never ends")
    session.commit()
    auth.login("viewer")
    html = auth.client.get("/").text
    assert f'<a class="badge" href="/themes/{waiting.theme.id}#suggestions">2 suggestions</a>' in html
    assert f"/themes/{quiet.theme.id}#suggestions" not in html
    _french(auth)
    assert "2 suggestions" in auth.client.get("/").text  # French plural: « 2 suggestions »


def test_accepting_a_suggestion_makes_it_evidence_in_the_same_response_and_on_the_next_page(auth, factory, session,
                                                                                            app):
    app.config["RETOUR_CACHE_SECONDS"] = 60
    made = factory.theme("Slow exports", items=2)
    sug = factory.suggest(made.theme, "Exports crawl past 10k rows")
    session.commit()
    auth.login("product_owner")
    assert "Exports crawl past 10k rows" in auth.client.get(f"/themes/{made.theme.id}").text  # now cached
    resp = _hx(auth, f"/themes/{made.theme.id}/suggestions/{sug.id}/accept", "suggestions")
    assert resp.status_code == 200
    text = _text(resp.text)
    assert "Suggestion accepted: the quote is now evidence." in text
    assert 'id="evidence" hx-swap-oob="true"' in resp.text and "Evidence 3 quotes from" in text
    assert 'id="sug-' not in resp.text and "Exports crawl past 10k rows" in resp.text  # moved lists
    session.expire_all()
    ev = session.get(ThemeEvidence, sug.id)
    assert (ev.state, ev.origin) == ("active", "curator")
    assert session.get(FeedbackSegment, sug.segment_id).person_verdict is True
    page = auth.client.get(f"/themes/{made.theme.id}").text
    assert "Evidence 3 quotes from" in _text(page) and "Suggestions (" not in _text(page)
    assert "accepted a suggested quote" in page


def test_declining_a_suggestion_without_htmx_rejects_it_and_redirects_to_the_suggestions(auth, factory, session):
    made = factory.theme("Slow exports", items=1)
    keep = factory.suggest(made.theme, "Exports crawl")
    drop = factory.suggest(made.theme, "The coffee machine is broken")
    session.commit()
    auth.login("product_owner")
    resp = auth.post(f"/themes/{made.theme.id}/suggestions/{drop.id}/decline", {"from": "suggestions"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/themes/{made.theme.id}#suggestions"
    page = auth.client.get(resp.headers["Location"]).text
    assert "Suggestion declined: it will not be suggested for this theme again." in page
    assert "The coffee machine is broken" not in page and "Suggestions (1)" in _text(page)
    session.expire_all()
    assert session.get(ThemeEvidence, drop.id).state == "rejected"
    assert session.get(ThemeEvidence, keep.id).state == "suggested"
    # Someone answered first: htmx swaps no 4xx, so the answer is the lists as they are now, with the reason.
    again = _hx(auth, f"/themes/{made.theme.id}/suggestions/{drop.id}/accept", "suggestions")
    assert again.status_code == 200 and 'class="flash error" role="alert">This quote is no longer a suggestion' in again.text
    assert "Suggestions (1)" in _text(again.text) and "The coffee machine is broken" not in again.text


def test_a_viewer_reads_suggestions_without_buttons(auth, factory, session):
    made = factory.theme("Slow exports", items=1)
    sug = factory.suggest(made.theme, "Exports crawl")
    session.commit()
    auth.login("viewer")
    html = auth.client.get(f"/themes/{made.theme.id}").text
    assert "Exports crawl" in html and f"/suggestions/{sug.id}/" not in html and "/not-feedback" not in html


# --------------------------------------------------------------------------------------------- not feedback
def test_not_feedback_on_evidence_removes_the_quote_and_records_the_persons_verdict(auth, factory, session):
    made = factory.theme("Slow exports", items=3, texts=["Exports crawl", "Call me back Tuesday", "Export hangs"])
    session.commit()
    auth.login("product_owner")
    ev = next(e for e in made.evidence if session.get(FeedbackSegment, e.segment_id).text == "Call me back Tuesday")
    resp = _hx(auth, f"/themes/{made.theme.id}/evidence/{ev.id}/not-feedback", "evidence")
    assert resp.status_code == 200 and 'id="evidence">' in resp.text  # the target itself, not out of band
    assert "Marked as not feedback: it counts in no theme." in resp.text
    assert "Call me back Tuesday" not in resp.text and "Evidence 2 quotes from" in _text(resp.text)
    session.expire_all()
    seg = session.get(FeedbackSegment, ev.segment_id)
    assert (seg.person_verdict, seg.is_feedback) == (False, False)
    assert session.get(ThemeEvidence, ev.id).state == "rejected"
    page = auth.client.get(f"/themes/{made.theme.id}").text
    assert "Call me back Tuesday" not in page and "said a quote is not feedback" in page
    _french(auth)  # one quote reads as one: « qu’une citation », never « que 1 citation »
    assert "a indiqué qu’une citation n’est pas un retour" in auth.client.get(f"/themes/{made.theme.id}").text


def test_not_feedback_on_a_suggestion_takes_it_off_the_list(auth, factory, session):
    made = factory.theme("Slow exports", items=1)
    sug = factory.suggest(made.theme, "Lunch at noon")
    session.commit()
    auth.login("product_owner")
    resp = _hx(auth, f"/themes/{made.theme.id}/evidence/{sug.id}/not-feedback", "suggestions")
    assert resp.status_code == 200 and "Lunch at noon" not in resp.text
    assert "Marked as not feedback" in resp.text and 'id="evidence" hx-swap-oob="true"' in resp.text
    session.expire_all()
    assert session.get(FeedbackSegment, sug.segment_id).person_verdict is False
    assert "Lunch at noon" not in auth.client.get(f"/themes/{made.theme.id}").text


# --------------------------------------------------------------------------------------------- new themes
def test_a_theme_from_a_name_and_example_sentences_opens_saying_the_next_pass_gathers_its_evidence(auth, session,
                                                                                                 users):
    auth.login("product_owner")
    board = auth.client.get("/").text
    assert 'action="/themes/new"' in board and "New theme" in board
    resp = auth.post("/themes/new", {"label": "Authentification SAML", "lang": "fr",
                                     "examples": "Ils exigent le SSO SAML\n\n  They need SAML single sign-on  \n"})
    assert resp.status_code == 302
    theme = session.query(Theme).filter_by(label="Authentification SAML").one()
    assert resp.headers["Location"] == f"/themes/{theme.id}"
    assert (theme.origin, theme.label_fr, theme.label_en) == ("person", "Authentification SAML", None)
    assert sorted(x.text for x in session.query(ThemeExample).filter_by(theme_id=theme.id)) == [
        "Ils exigent le SSO SAML", "They need SAML single sign-on"]
    page = _text(auth.client.get(resp.headers["Location"]).text)
    assert "Theme created. The next theme pass will gather its evidence from the sentences you wrote." in page
    assert "No evidence yet: the next theme pass will gather it from the example sentences below." in page
    assert "Example sentences (2)" in page and "They need SAML single sign-on" in page
    assert "created the theme" in page and "product_owner@example.com" in page
    board = _text(auth.client.get("/").text)
    assert "Authentification SAML" in board and "Figures come with the next theme pass." in board


def test_a_new_theme_without_sentences_is_refused_and_keeps_what_was_typed(auth, session, users):
    auth.login("product_owner")
    resp = auth.post("/themes/new", {"label": "<b>SAML</b>", "lang": "en", "examples": "  \n "})
    assert resp.status_code == 400
    assert "A new theme needs example sentences or quotes chosen from the evidence." in resp.text
    assert 'value="&lt;b&gt;SAML&lt;/b&gt;"' in resp.text and "<b>SAML" not in resp.text
    assert session.query(Theme).count() == 0
    no_lang = auth.post("/themes/new", {"label": "SAML", "examples": "They need SAML"})
    assert no_lang.status_code == 400 and "English or in French" in no_lang.text


def test_example_sentences_added_on_a_theme_page_are_listed_escaped(auth, factory, session):
    made = factory.theme("SSO", items=1)
    session.commit()
    auth.login("product_owner")
    resp = auth.post(f"/themes/{made.theme.id}/examples", {"examples": f"Okta loops\n{HOSTILE}"})
    assert resp.headers["Location"] == f"/themes/{made.theme.id}#examples"
    page = auth.client.get(resp.headers["Location"]).text
    assert "2 example sentences added: the next theme pass learns from them." in page
    assert "Okta loops" in page and "<script>alert" not in page and "&lt;script&gt;" in page
    assert session.query(ThemeExample).filter_by(theme_id=made.theme.id).count() == 2
    empty = auth.post(f"/themes/{made.theme.id}/examples", {"examples": ""}, follow_redirects=True)
    assert "Write at least one example sentence, one per line." in empty.text


def test_a_refused_example_sentence_stays_in_the_form_with_the_reason_beside_it(auth, factory, session):
    """One sentence over 1,000 characters sent the person back to an empty form: every sentence typed was lost."""
    made = factory.theme("SSO", items=1)
    session.commit()
    auth.login("product_owner")
    typed = "Okta loops on login\n" + "SAML <again> " * 90
    refused = auth.post(f"/themes/{made.theme.id}/examples", {"examples": typed})
    assert refused.status_code == 400
    form = re.search(r'<form method="post" action="/themes/\d+/examples".*?</form>', refused.text, re.S).group(0)
    assert re.search(r'<p class="flash error" role="alert" id="add-examples-error">An example sentence fits in '
                     r'1000 characters.</p>', form), form
    box = re.search(r"<textarea id=\"add-examples\"([^>]*)>(.*?)</textarea>", form, re.S)
    assert "autofocus" in box.group(1) and "add-examples-error" in box.group(1)
    assert box.group(2) == typed.replace("<", "&lt;").replace(">", "&gt;")
    assert session.query(ThemeExample).filter_by(theme_id=made.theme.id).count() == 0
    assert "add-examples-error" not in auth.client.get(f"/themes/{made.theme.id}").text


# --------------------------------------------------------------------------------------------- search
def test_search_finds_feedback_quotes_in_any_case_with_their_theme_escaped(auth, factory, session):
    made = factory.theme("Single sign-on", items=1, texts=["Okta SAML keeps looping"])
    factory.quote(HOSTILE + " saml is a must", account_name="Hostile SA")
    factory.quote("SAML meeting notes, not feedback", is_feedback=False)
    factory.quote("Exports crawl")
    factory.quote("50% off if they sign SAML")
    session.commit()
    auth.login("product_owner")
    html = auth.client.get("/evidence/search?q=SaMl").text
    assert "3 quotes contain “SaMl”." in _text(html)
    assert "SAML meeting notes" not in html and "Exports crawl" not in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert f'<a href="/themes/{made.theme.id}">Single sign-on</a>' in html and "in no theme" in html
    assert html.count('name="segment_id"') == 3 and 'formaction="/evidence/make-theme"' in html
    literal = _text(auth.client.get("/evidence/search?q=50%25").text)
    assert "1 quote contains “50%”." in literal  # % is a character, not a wildcard
    assert "Type at least 2 characters." in auth.client.get("/evidence/search?q=s").text


def test_search_shows_at_most_100_matches_25_a_page_in_a_bounded_number_of_queries(auth, factory, session,
                                                                                    count_queries):
    for i in range(130):
        factory.quote(f"Invoice export number {i} failed")
    session.commit()
    auth.login("viewer")
    with count_queries() as statements:
        html = auth.client.get("/evidence/search?q=invoice").text
    assert "More than 100 quotes contain “invoice”: the 100 newest are shown." in _text(html)
    assert html.count('class="quote hit"') == 25 and "Page 1 of 4" in html and "Invoice export number 129" in html
    assert 'name="segment_id"' not in html  # a viewer reads, a product owner files
    assert len(statements) <= 8, statements
    last = auth.client.get("/evidence/search?q=invoice&page=4").text
    assert last.count('class="quote hit"') == 25 and "Invoice export number 30 failed" in last
    assert "Invoice export number 29 failed" not in last
    assert "Page 4 of 4" in auth.client.get("/evidence/search?q=invoice&page=99").text
    api = auth.client.get("/api/v1/evidence/search?q=invoice&page=2").get_json()
    assert (api["total"], api["more"], api["pages"], len(api["results"])) == (100, True, 4, 25)


def test_making_a_theme_of_ticked_quotes_files_them_there_as_a_persons_evidence(auth, factory, session):
    old = factory.theme("Misc", items=1, texts=["They need SAML"])
    loose = factory.quote("SAML is mandatory for them")
    session.commit()
    auth.login("product_owner")
    moved = old.evidence[0].segment_id
    resp = auth.post("/evidence/make-theme", {"q": "saml", "label": "SAML single sign-on", "lang": "en",
                                             "segment_id": [str(moved), str(loose.id)]})
    theme = session.query(Theme).filter_by(label="SAML single sign-on").one()
    assert resp.headers["Location"] == f"/themes/{theme.id}"
    page = auth.client.get(resp.headers["Location"]).text
    assert "Theme created from 2 quotes." in page and "Evidence 2 quotes from" in _text(page)
    assert "They need SAML" in page and "SAML is mandatory for them" in page
    session.expire_all()
    assert {e.segment_id for e in session.query(ThemeEvidence).filter_by(theme_id=theme.id, state="active")} == {
        moved, loose.id}
    assert session.query(ThemeEvidence).filter_by(theme_id=old.theme.id).count() == 0
    assert session.get(FeedbackSegment, loose.id).person_verdict is True
    unnamed = auth.post("/evidence/make-theme", {"q": "saml", "lang": "en", "segment_id": [str(loose.id)]})
    assert unnamed.status_code == 400 and "Give the theme a name." in unnamed.text


def test_adding_ticked_quotes_to_a_theme_shows_it_beside_them_on_the_search_page(auth, factory, session, app):
    app.config["RETOUR_CACHE_SECONDS"] = 60
    target = factory.theme("SSO", items=1, texts=["Okta loops"])
    a, b = factory.quote("Okta SAML is required"), factory.quote("okta login fails")
    session.commit()
    auth.login("product_owner")
    before = auth.client.get("/evidence/search?q=okta").text
    assert before.count("in no theme") == 2
    assert f'<option value="{target.theme.id}">SSO</option>' in before
    resp = auth.post("/evidence/file", {"q": "okta", "page": "1", "theme_id": str(target.theme.id),
                                        "segment_id": [str(a.id), str(b.id)]})
    assert resp.headers["Location"] == "/evidence/search?q=okta&page=1"
    after = auth.client.get(resp.headers["Location"]).text
    assert "2 quotes filed under “SSO”." in after and "in no theme" not in after
    assert after.count(f'<a href="/themes/{target.theme.id}">SSO</a>') == 3
    assert "Evidence 3 quotes from" in _text(auth.client.get(f"/themes/{target.theme.id}").text)
    # Filed again with one more: only the new one counts as filed, the others are said to be there already.
    c = factory.quote("okta again")
    session.commit()
    again = auth.post("/evidence/file", {"q": "okta", "page": "1", "theme_id": str(target.theme.id),
                                         "segment_id": [str(a.id), str(b.id), str(c.id)]}, follow_redirects=True)
    assert "1 quote filed under “SSO”. 2 were already there." in again.text
    none = auth.post("/evidence/file", {"q": "okta", "theme_id": str(target.theme.id)}, follow_redirects=True)
    assert "Tick at least one quote." in none.text


def test_a_refused_make_a_theme_or_file_keeps_the_ticked_quotes_the_name_and_the_theme_chosen(auth, factory, session):
    """A name forgotten or no theme chosen sent the person back to the search with every tick gone."""
    target = factory.theme("SSO", items=1, texts=["Okta loops"])
    a, b, c = factory.quote("Okta SAML is required"), factory.quote("okta login fails"), factory.quote("okta again")
    session.commit()
    auth.login("product_owner")
    unnamed = auth.post("/evidence/make-theme", {"q": "okta", "page": "1", "label": " ", "lang": "fr",
                                                 "segment_id": [str(a.id), str(c.id)]})
    assert unnamed.status_code == 400 and "Give the theme a name." in unnamed.text
    ticked = set(re.findall(r'<input type="checkbox" name="segment_id" value="(\d+)"[^>]* checked>', unnamed.text))
    assert ticked == {str(a.id), str(c.id)}
    assert re.search(r'<input type="radio" name="lang" value="fr" checked>', unnamed.text)
    no_theme = auth.post("/evidence/file", {"q": "okta", "theme_id": "", "label": "Okta <SAML>",
                                            "segment_id": [str(b.id)]})
    assert no_theme.status_code == 400 and "Choose the theme to file the quotes under." in no_theme.text
    assert re.findall(r'value="(\d+)"[^>]* checked>', no_theme.text) == [str(b.id)]
    assert 'id="mk-label" name="label" maxlength="200" value="Okta &lt;SAML&gt;"' in no_theme.text
    unticked = auth.post("/evidence/file", {"q": "okta", "theme_id": str(target.theme.id)})
    assert unticked.status_code == 400 and "Tick at least one quote." in unticked.text
    assert f'<option value="{target.theme.id}" selected>SSO</option>' in unticked.text
    assert session.query(ThemeEvidence).filter_by(theme_id=target.theme.id).count() == 1  # nothing was filed


def test_the_language_of_a_theme_made_from_found_quotes_is_a_named_group_of_radios(auth, factory, session):
    """The radios were "English" and "French" after a bare "written in": a screen reader said "English, radio
    button" with nothing to say what is in English."""
    factory.quote("Okta SAML is required")
    session.commit()
    auth.login("product_owner")
    html = auth.client.get("/evidence/search?q=okta").text
    group = re.search(r'<fieldset class="choice"><legend>written in</legend>(.*?)</fieldset>', html, re.S)
    assert group and group.group(1).count('type="radio" name="lang"') == 2


# --------------------------------------------------------------------------------------------- names
def test_each_reader_sees_the_theme_named_in_their_language(auth, factory, session):
    made = factory.theme("Slow exports", items=1, days_ago=1)
    other = factory.theme("SSO loops", items=1, days_ago=90)
    made.theme.label_fr = "Exports lents"
    session.commit()
    auth.login("product_owner")
    english = auth.client.get(f"/themes/{made.theme.id}").text
    assert '<h1 id="theme-label">Slow exports</h1>' in english and "Exports lents" not in english.split("Curate")[0]
    assert "Name this theme in English" in english  # no English name of its own yet: a person is asked
    _french(auth)
    french = auth.client.get(f"/themes/{made.theme.id}").text
    assert '<h1 id="theme-label">Exports lents</h1>' in french and "<title>Exports lents · Retour</title>" in french
    assert "Nommer ce thème en français" not in french and 'id="name-in"' not in french
    assert ">Exports lents</a>" in auth.client.get("/").text
    other_page = auth.client.get(f"/themes/{other.theme.id}").text
    assert f'<option value="{made.theme.id}">Exports lents</option>' in other_page  # merge and move targets
    assert 'id="name-in"' in other_page and "Nommer ce thème en français" in other_page


def test_naming_a_theme_in_the_readers_language_shows_at_once(auth, factory, session, app):
    app.config["RETOUR_CACHE_SECONDS"] = 60
    made = factory.theme("Exports lents", items=1)
    session.commit()
    auth.login("product_owner")
    assert ">Exports lents</a>" in auth.client.get("/").text  # cached
    resp = auth.post(f"/themes/{made.theme.id}/name", {"lang": "en", "label": "Slow exports"})
    page = auth.client.get(resp.headers["Location"]).text
    assert "Name saved." in page and '<h1 id="theme-label">Slow exports</h1>' in page and 'id="name-in"' not in page
    assert ">Slow exports</a>" in auth.client.get("/").text
    _french(auth)
    assert ">Exports lents</a>" in auth.client.get("/").text  # no French name: the theme's label
    log = _text(auth.client.get(f"/themes/{made.theme.id}").text)
    assert "a nommé le thème dans une langue « Slow exports », anglais" in log  # in words, no ids
    session.expire_all()
    assert (session.get(Theme, made.theme.id).label_en, session.get(Theme, made.theme.id).label) == (
        "Slow exports", "Exports lents")
    bad = auth.post(f"/themes/{made.theme.id}/name", {"lang": "de", "label": "Langsam"}, follow_redirects=True)
    assert "Dites si le nom est écrit en anglais ou en français." in bad.text


def test_proposals_name_the_themes_in_the_readers_language(auth, factory, session):
    from retour.models import ThemeProposal
    a, b = factory.theme("Slow exports", items=2), factory.theme("Export timeouts", items=1)
    a.theme.label_fr, b.theme.label_fr = "Exports lents", "Exports qui expirent"
    session.add(ThemeProposal(kind="merge", theme_id=b.theme.id, other_theme_id=a.theme.id, payload={}))
    session.commit()
    auth.login("product_owner")
    _french(auth)
    text = _text(auth.client.get("/").text)
    assert "« Exports qui expirent » et « Exports lents » semblent parler du même sujet." in text
    assert "Fusionner dans « Exports lents »" in text


# --------------------------------------------------------------------------------------------- page cache
def test_every_new_act_shows_on_the_next_page_load_with_the_page_cache_on(auth, factory, session, app):
    """Each act writes a curation event, which moves the data version the cached pages are keyed by."""
    app.config["RETOUR_CACHE_SECONDS"] = 60
    made = factory.theme("Slow exports", items=2, texts=["Exports crawl", "Export hangs"])
    declined, noise = factory.suggest(made.theme, "Coffee is cold"), factory.suggest(made.theme, "Lunch at noon")
    loose = factory.quote("Invoices arrive twice")
    session.commit()
    auth.login("product_owner")
    page = f"/themes/{made.theme.id}"

    def then(url: str, act, *expected: str, gone: str = "") -> None:
        auth.client.get(url)  # cached before the act
        act()
        html = _text(auth.client.get(url).text)
        assert all(e in html for e in expected), (expected, html[-2000:])
        assert not gone or gone not in html, gone

    then(page, lambda: auth.post(f"{page}/suggestions/{declined.id}/decline"), "Suggestions (1)", gone="Coffee is cold")
    then(page, lambda: auth.post(f"{page}/evidence/{noise.id}/not-feedback"), "Evidence 2 quotes from", gone="Lunch at noon")
    then(page, lambda: auth.post(f"{page}/evidence/{made.evidence[0].id}/not-feedback"), "Evidence 1 quote from")
    then(page, lambda: auth.post(f"{page}/examples", {"examples": "Exports time out"}), "Example sentences (1)")
    then("/", lambda: auth.post("/themes/new", {"label": "Double invoices", "lang": "en", "examples": "Billed twice"}),
         "Double invoices")
    then("/", lambda: auth.post("/evidence/make-theme", {"label": "Invoices", "lang": "en",
                                                         "segment_id": [str(loose.id)]}), "Invoices")
    then(page, lambda: auth.post("/evidence/file", {"theme_id": str(made.theme.id), "segment_id": [str(loose.id)]}),
         "Evidence 2 quotes from", "Invoices arrive twice")


# --------------------------------------------------------------------------------------------- French
def test_the_new_pages_read_in_french(auth, factory, session):
    made = factory.theme("Exports lents", items=1, lang="fr")
    factory.suggest(made.theme, "L'export plante")
    session.commit()
    auth.login("product_owner")
    auth.post(f"/themes/{made.theme.id}/examples", {"examples": "L'export prend des heures"})
    _french(auth)
    theme = _text(auth.client.get(f"/themes/{made.theme.id}").text)
    for words in ("Suggestions (1)", "Accepter", "Pas un retour", "Phrases d’exemple (1)", "Nommer ce thème en français",
                  "Ajouter les phrases", "a écrit une phrase d’exemple"):
        assert words in theme, words
    board = _text(auth.client.get("/").text)
    assert "Nouveau thème" in board and "Chercher des citations" in board and "1 suggestion" in board
    search = _text(auth.client.get("/evidence/search?q=export").text)
    assert "2 citations contiennent « export »." in search
    assert "Faire un thème des citations cochées" in search and "Ajouter à ce thème" in search
    new = _text(auth.client.get("/themes/new").text)
    assert "Nom du thème" in new and "Créer le thème" in new


def test_every_string_of_the_desk_is_in_the_french_catalogue():
    """A new _() in a template or a view without its French line would show English on a French page."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    from webapp.i18n import TRANSLATIONS
    from webapp.templating import __file__ as templating_file
    from pathlib import Path

    root = Path(templating_file).parent
    method_map = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = {(m if isinstance(m, str) else m[0]): f"{fn}:{line}"
             for fn, line, m, _c, _x in extract_from_dir(root, method_map, {"templates/**.html": {"extensions": "jinja2.ext.do"}},
                                                         keywords=keywords)}
    with (TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    missing = sorted(f"{where}: {msg!r}" for msg, where in found.items() if msg not in catalogue)
    assert not missing, "untranslated:\n" + "\n".join(missing)


# --------------------------------------------------------------------------------------------- API
def test_the_api_lists_accepts_and_declines_suggestions(auth, factory, session):
    made = factory.theme("Slow exports", items=1)
    yes, no = factory.suggest(made.theme, "Exports crawl", similarity=0.7), factory.suggest(made.theme, "Coffee")
    session.commit()
    auth.login("viewer")
    listed = auth.client.get(f"/api/v1/themes/{made.theme.id}/suggestions").get_json()
    assert listed["total"] == 2 and [s["id"] for s in listed["suggestions"]] == [yes.id, no.id]
    assert listed["suggestions"][0]["url"].startswith(INSTANCE)
    assert auth.api("POST", f"/api/v1/themes/{made.theme.id}/suggestions/{yes.id}/accept").status_code == 403
    auth.login("product_owner")
    ok = auth.api("POST", f"/api/v1/themes/{made.theme.id}/suggestions/{yes.id}/accept").get_json()
    assert ok["evidence"]["state"] == "active"
    assert auth.api("POST", f"/api/v1/themes/{made.theme.id}/suggestions/{no.id}/decline").get_json()[
        "evidence"]["state"] == "rejected"
    again = auth.api("POST", f"/api/v1/themes/{made.theme.id}/suggestions/{no.id}/decline")
    assert again.status_code == 400 and "no longer a suggestion" in again.get_json()["error"]["message"]
    assert auth.client.get(f"/api/v1/themes/{made.theme.id}/suggestions").get_json() == {"total": 0, "suggestions": []}
    assert auth.client.get(f"/api/v1/themes/{made.theme.id}").get_json()["evidence_total"] == 2


def test_the_api_creates_themes_names_them_and_files_quotes(auth, factory, session):
    made = factory.theme("Slow exports", items=1)
    loose = factory.quote("Invoices are wrong")
    session.commit()
    auth.login("product_owner")
    created = auth.api("POST", "/api/v1/themes", {"label": "Factures", "lang": "fr",
                                                  "examples": ["Les factures sont fausses"]})
    assert created.status_code == 201
    theme = created.get_json()["theme"]
    assert (theme["label_fr"], theme["label_en"], theme["origin"]) == ("Factures", None, "person")
    tid = theme["id"]
    named = auth.api("POST", f"/api/v1/themes/{tid}/name", {"lang": "en", "label": "Invoices"}).get_json()
    assert named["theme"]["label_en"] == "Invoices"
    more = auth.api("POST", f"/api/v1/themes/{tid}/examples", {"examples": ["Invoice totals are off", "  "]})
    assert more.get_json()["examples_added"] == 1
    filed = auth.api("POST", f"/api/v1/themes/{tid}/evidence", {"segment_ids": [loose.id]}).get_json()
    assert filed["added"] == 1
    found = auth.client.get("/api/v1/evidence/search?q=INVOICES").get_json()
    assert [(r["segment_id"], r["theme"]["id"], r["theme"]["label_en"]) for r in found["results"]] == [
        (loose.id, tid, "Invoices")]
    gone = auth.api("POST", f"/api/v1/themes/{made.theme.id}/evidence/{made.evidence[0].id}/not-feedback").get_json()
    assert gone["evidence"]["state"] == "rejected"
    rows = {t["id"]: t for t in auth.client.get("/api/v1/themes").get_json()["themes"]}
    assert rows[made.theme.id]["label_en"] is None and rows[made.theme.id]["items"] == 0
    assert rows[tid]["label_en"] == "Invoices" and rows[tid]["items"] == 1
    for body in ({"label": "X", "lang": "en"}, {"label": "", "lang": "en", "examples": ["x"]},
                 {"label": "X", "lang": "en", "segment_ids": ["one"]}, {"label": "X", "lang": "en", "segment_ids": [10**9]}):
        bad = auth.api("POST", "/api/v1/themes", body)
        assert bad.status_code == 400 and bad.get_json()["error"]["message"], body
    assert session.query(CurationEvent).filter_by(action="create_theme").count() == 1
