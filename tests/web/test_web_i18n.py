"""English and French UI: committed catalogue up to date, user preference, then switch, then Accept-Language."""

from __future__ import annotations

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from retour.models import AppUser
from webapp.i18n import TRANSLATIONS, compile_catalogue

PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"


def test_committed_french_catalogue_is_compiled_from_the_po_file():
    """A clean clone shows French with no build step; `python -m webapp.i18n` refreshes the .mo."""
    import io
    fresh = read_mo(io.BytesIO(compile_catalogue(PO)))
    with PO.with_suffix(".mo").open("rb") as fh:
        committed = read_mo(fh)
    def pairs(catalog):
        return {str(m.id): str(m.string) for m in catalog if m.id}
    assert pairs(fresh) == pairs(committed) and len(pairs(fresh)) > 100


def test_every_french_message_is_translated():
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    untranslated = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert not untranslated


def test_accept_language_french_gives_a_french_login_page(client):
    html = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}).text
    assert '<html lang="fr">' in html and "Se connecter" in html and "Mot de passe" in html


def test_user_preference_beats_accept_language_and_the_switch_saves_it(auth, factory, session, users):
    factory.theme("Lenteur")
    session.commit()
    auth.login("viewer")
    assert "Thèmes" not in auth.client.get("/", headers={"Accept-Language": "en"}).text
    auth.post("/language", {"lang": "fr", "next": "/"})
    assert session.get(AppUser, users["viewer"]).locale == "fr"
    html = auth.client.get("/", headers={"Accept-Language": "en"}).text
    assert "Thèmes" in html and "Chiffre d’affaires en jeu" in html and "critique" in html


def test_language_switch_works_before_login(client):
    from .conftest import csrf_from
    token = csrf_from(client.get("/login").text)
    client.post("/language", data={"lang": "fr", "next": "/login", "csrf_token": token})
    assert "Se connecter" in client.get("/login", headers={"Accept-Language": "en"}).text


def test_the_language_switch_says_language_changed_in_the_language_chosen(auth, factory, session, users):
    """"Language changed." was said in the language left: English on the first French page, and back."""
    auth.login("viewer")
    french = auth.post("/language", {"lang": "fr", "next": "/"}, follow_redirects=True).text
    assert "Langue changée." in french and "Language changed." not in french
    english = auth.post("/language", {"lang": "en", "next": "/"}, follow_redirects=True).text
    assert "Language changed." in english and "Langue changée." not in english


def test_switching_language_on_a_form_shown_again_with_its_refusal_comes_back_to_a_page_not_a_405(auth, factory,
                                                                                                 session):
    """A refused form is shown at the address it was posted to, which may have no page to GET: the switch led there
    (browsers send no Referer to say where the form was: Referrer-Policy is no-referrer)."""
    import re

    def back_of(response) -> str:
        return re.search(r'<input type="hidden" name="next" value="([^"]*)">', response.text).group(1)

    made = factory.theme("Slow sync")
    session.commit()
    auth.login("product_owner")
    refused = auth.post(f"/themes/{made.theme.id}/decisions", {"status": "planned", "insight_en": "Soon"})
    assert refused.status_code == 400 and back_of(refused) == f"/themes/{made.theme.id}/decisions/new"
    switched = auth.post("/language", {"lang": "fr", "next": back_of(refused)}, follow_redirects=True)
    assert switched.status_code == 200 and "Enregistrer une décision" in switched.text
    examples = auth.post(f"/themes/{made.theme.id}/examples", {"examples": "x" * 1001})
    assert examples.status_code == 400 and back_of(examples) == f"/themes/{made.theme.id}"  # the page above it
    unnamed = auth.post("/evidence/make-theme", {"q": "sync", "page": "1", "lang": "en"})
    assert unnamed.status_code == 400 and back_of(unnamed) == "/evidence/search?q=sync&amp;page=1"
    for response in (refused, examples, unnamed):
        assert auth.client.get(back_of(response).replace("&amp;", "&")).status_code == 200
    assert back_of(auth.client.get("/?window=30")) == "/?window=30"  # a page one can GET comes back to itself


def test_french_pages_put_a_space_before_colons_and_semicolons(auth, factory, session, users):
    """"Décision: prévu", "État: brouillon", "Commercial: …", "Thème: …" and "…en anglais; écrivez…" were glued in
    English style beside "Compte : …" on the same pages."""
    import re
    made = factory.theme("Exports lents", items=2, lang="fr", texts=["L'export est lent"])
    session.get(AppUser, users["product_owner"]).locale = "fr"
    session.commit()
    auth.login("product_owner")
    refused = auth.post(f"/themes/{made.theme.id}/decisions",
                        {"status": "planned", "insight_en": "Faster exports", "insight_fr": "Exports plus rapides"})
    assert "avec le message en anglais ; écrivez le titre" in refused.text
    created = auth.post(f"/themes/{made.theme.id}/decisions", {
        "status": "planned", "title_en": "Faster exports", "insight_en": "Faster exports in the next release",
        "title_fr": "Exports plus rapides", "insight_fr": "Exports plus rapides dans la prochaine version"})
    pages = [auth.client.get(created.headers["Location"]).text, auth.client.get("/evidence/search?q=export").text]
    text = " ".join(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", p)) for p in pages)
    assert "Décision : prévu" in text and "État : brouillon" in text and "Commercial : Camille Martin" in text
    assert "Compte : Account Exports lents 0" in text and "Thème : Exports lents" in text
    assert not re.search(r"\w[:;] ", text), re.findall(r".{30}\w[:;] .{10}", text)


def test_french_dates_write_the_first_of_the_month_as_1er_and_no_other_day(app):
    """"1er août 2026", as French typography writes it (Babel gives "1 août 2026"); the 2nd stays "2"; the short,
    all-digit format and English are untouched."""
    import datetime as dt

    from webapp.templating import date

    first = dt.date(2026, 8, 1)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert date(first) == "1er août 2026" and date(dt.date(2026, 8, 2)) == "2 août 2026"
        assert date(dt.date(2026, 1, 1)) == "1er janv. 2026" and date(dt.date(2026, 1, 11)) == "11 janv. 2026"
        assert date(first, "long") == "1er août 2026" and date(first, "full") == "samedi 1er août 2026"
        assert date(first, "short") == "01/08/2026"
        # A datetime is read on the reader's day (UTC here): just after midnight on the 1st is the 1st.
        assert date(dt.datetime(2026, 9, 1, 0, 30, tzinfo=dt.timezone.utc)) == "1er sept. 2026"
        assert date(None) == "—"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert date(first) == "Aug 1, 2026" and date(first, "long") == "August 1, 2026"


def test_a_french_page_says_when_a_decision_was_made_on_the_first_as_1er(auth, factory, session, users):
    import datetime as dt

    from retour.models import Decision

    made = factory.theme("Lenteur")
    session.add(Decision(theme_id=made.theme.id, status="planned", title_fr="Plus rapide", insight_fr="En cours",
                         created_at=dt.datetime(2026, 8, 1, 10, tzinfo=dt.timezone.utc)))
    session.get(AppUser, users["viewer"]).locale = "fr"
    session.commit()
    auth.login("viewer")
    assert "1er août 2026" in auth.client.get(f"/themes/{made.theme.id}").text
