"""Two themes of one name: refused when a person gives the name, told apart by number where one already exists.

The review accepted a split as "Power BI connector" beside an active "Power BI connector" (#15): the desk made a
second one without a word, the Move box then offered the name twice (and refused it with "type the number", which it
showed nowhere), and merging them read "“Power BI connector” is part of “Power BI connector” now".
"""

from __future__ import annotations

import html
import re

from retour.models import Theme, ThemeEvidence, ThemeProposal

TAKEN = "A theme is already called “%s” (#%d): pick another name, or merge into that theme."
TAKEN_SPLIT = ("A theme is already called “%s” (#%d): pick another name, or move the quotes of this part to that "
               "theme.")
TAKEN_SPLIT_FR = ("Un thème s’appelle déjà « %s » (#%d) : choisissez un autre nom, ou déplacez les citations de cette "
                  "partie dans ce thème.")
TAKEN_FR = "Un thème s’appelle déjà « %s » (#%d) : choisissez un autre nom, ou fusionnez dans ce thème."


def _split(session, made) -> ThemeProposal:
    """A split of ``made`` keeping its first quote and carving out the others (as the pass stores it)."""
    segs = [e.segment_id for e in made.evidence]
    p = ThemeProposal(kind="split", theme_id=made.theme.id, payload={
        "groups": [segs[:1], segs[1:]], "examples": [["stays"], ["Power BI refresh fails"]]})
    session.add(p)
    session.commit()
    return p


def _input(page: str, field_id: str) -> str:
    """The tag of the input ``field_id`` on the page."""
    found = re.search(r'<input id="%s"[^>]*>' % re.escape(field_id), page)
    assert found, field_id
    return html.unescape(found.group(0))


def _themes(session) -> int:
    session.expire_all()
    return session.query(Theme).count()


def test_accepting_a_split_under_the_name_of_an_active_theme_is_refused_and_the_name_stays_in_its_box(
        auth, factory, session):
    taken = factory.theme("Power BI connector", items=2)
    broad = factory.theme("Reporting", items=3)
    p = _split(session, broad)
    before = _themes(session)
    auth.login("product_owner")
    resp = auth.post(f"/proposals/{p.id}/accept", {"label": "power BI connector ", "back": str(broad.theme.id)})
    assert resp.headers["Location"] == f"/themes/{broad.theme.id}"
    page = auth.client.get(resp.headers["Location"]).text
    # The other theme as it writes its name, and what to do instead for a part: move it there, not merge.
    assert html.escape(TAKEN_SPLIT % ("Power BI connector", taken.theme.id), quote=False) in page
    box = _input(page, f"split-label-{p.id}")
    assert 'value="power BI connector "' in box and 'aria-invalid="true"' in box  # as typed
    assert _themes(session) == before and session.get(ThemeProposal, p.id).status == "open"
    # On the board too, in French: the proposals open again, the name typed still there.
    auth.post("/language", {"lang": "fr", "next": "/"})
    auth.post(f"/proposals/{p.id}/accept", {"label": "Power BI connector", "back": "board"})
    board = auth.client.get("/").text
    assert html.escape(TAKEN_SPLIT_FR % ("Power BI connector", taken.theme.id), quote=False) in board
    assert '<details class="proposals-box" id="proposals" open>' in board
    assert 'value="Power BI connector"' in _input(board, f"split-label-{p.id}")
    # Another name goes through.
    done = auth.post(f"/proposals/{p.id}/accept", {"label": "Power BI refresh", "back": str(broad.theme.id)})
    assert done.status_code == 302 and _themes(session) == before + 1


def test_renaming_to_a_taken_name_is_refused_in_the_readers_language_and_keeps_what_was_typed(auth, factory, session):
    taken = factory.theme("Power BI connector", items=1)
    taken.theme.label_fr = "Connecteur Power BI"
    other = factory.theme("Slow exports", items=1)
    session.commit()
    auth.login("product_owner")
    page = auth.post(f"/themes/{other.theme.id}/rename", {"label": "POWER BI connector"}, follow_redirects=True).text
    assert html.escape(TAKEN % ("Power BI connector", taken.theme.id), quote=False) in page
    assert 'value="POWER BI connector"' in _input(page, "rename-label")
    auth.post("/language", {"lang": "fr", "next": "/"})
    page = auth.post(f"/themes/{other.theme.id}/name", {"lang": "fr", "label": "connecteur power bi"},
                     follow_redirects=True).text
    assert html.escape(TAKEN_FR % ("Connecteur Power BI", taken.theme.id), quote=False) in page
    box = _input(page, "name-fr")
    assert 'value="connecteur power bi"' in box and 'aria-invalid="true"' in box
    session.expire_all()
    assert (session.get(Theme, other.theme.id).label, session.get(Theme, other.theme.id).label_fr) == (
        "Slow exports", None)


def test_accepting_a_rename_proposal_to_a_taken_name_is_refused(auth, factory, session):
    taken = factory.theme("Power BI connector", items=1)
    other = factory.theme("Dashboards", items=1)
    other.theme.proposed_label = "Power BI connector"
    p = ThemeProposal(kind="rename", theme_id=other.theme.id, payload={"label": "Power BI connector"})
    session.add(p)
    session.commit()
    auth.login("product_owner")
    page = auth.post(f"/proposals/{p.id}/accept", {"label": "Power BI connector", "back": str(other.theme.id)},
                     follow_redirects=True).text
    assert html.escape(TAKEN % ("Power BI connector", taken.theme.id), quote=False) in page
    assert 'value="Power BI connector"' in _input(page, f"rename-proposal-{p.id}")
    api = auth.api("POST", f"/api/v1/proposals/{p.id}/accept", {"label": "Power BI connector"})
    assert api.status_code == 400 and api.get_json()["error"]["message"] == TAKEN % (
        "Power BI connector", taken.theme.id)
    session.expire_all()
    assert session.get(Theme, other.theme.id).label == "Dashboards"


def test_creating_a_theme_under_a_taken_name_is_refused_and_the_form_keeps_what_was_typed(auth, factory, session):
    taken = factory.theme("Power BI connector", items=1)
    loose = factory.quote("The Power BI connector drops rows")
    session.commit()
    before = _themes(session)
    auth.login("product_owner")
    made = auth.post("/themes/new", {"label": "Power BI Connector", "lang": "en", "examples": "Power BI is slow"})
    assert made.status_code == 400
    assert html.escape("A theme is already called “Power BI connector” (#%d): pick another name, or add your "
                       "sentences to that theme." % taken.theme.id, quote=False) in made.text
    assert 'value="Power BI Connector"' in _input(made.text, "nt-label") and "Power BI is slow" in made.text
    found = auth.post("/evidence/make-theme", {"q": "power", "label": "power bi connector", "lang": "en",
                                               "segment_id": [str(loose.id)]})
    assert found.status_code == 400 and html.escape(
        "A theme is already called “Power BI connector” (#%d): pick another name, or file the quotes under that "
        "theme." % taken.theme.id, quote=False) in found.text
    assert 'value="power bi connector"' in found.text
    api = auth.api("POST", "/api/v1/themes", {"label": "Power BI connector", "lang": "en",
                                              "examples": ["Power BI is slow"]})
    assert api.status_code == 400 and f"(#{taken.theme.id})" in api.get_json()["error"]["message"]
    renamed = auth.api("POST", f"/api/v1/themes/{taken.theme.id}/rename", {"label": "power bi connector"})
    assert renamed.status_code == 200  # its own name, in other letters
    assert _themes(session) == before


def test_two_active_themes_of_one_name_are_numbered_in_the_lists_a_person_picks_from(auth, factory, session):
    # Names the theme pass gave may collide; a person must still tell the two apart.
    one, two = factory.theme("Power BI connector", items=1), factory.theme("power bi connector", items=1)
    here = factory.theme("Reporting", items=2)
    session.commit()
    a, b = one.theme.id, two.theme.id
    auth.login("product_owner")
    page = auth.client.get(f"/themes/{here.theme.id}").text
    assert f'<option value="{a}">Power BI connector (#{a})</option>' in page  # the merge select
    assert f'<option value="{b}">power bi connector (#{b})</option>' in page
    assert f'<option value="Power BI connector (#{a})"></option>' in page  # the move box's list
    assert f'<option value="{here.theme.id}">' not in page and "Reporting (#" not in page  # a unique name as it is
    typed = auth.client.get(f"/themes/{here.theme.id}/targets?target=power").text
    assert f'value="Power BI connector (#{a})"' in typed and f'value="power bi connector (#{b})"' in typed
    picked = auth.client.get(f"/themes/{here.theme.id}/targets?target=Power BI connector (%23{a})").text
    assert f'value="power bi connector (#{b})"' in picked  # picking one fires the search again: both stay offered
    search = auth.client.get("/evidence/search?q=hurts").text
    assert f"Power BI connector (#{a})</option>" in search and "Reporting (#" not in search
    # The name picked, number and all, is the theme moved to.
    moved = auth.post(f"/themes/{here.theme.id}/evidence/{here.evidence[0].id}/move",
                      {"target": f"power bi connector (#{b})"}, follow_redirects=True)
    assert "Quote moved to “power bi connector”." in html.unescape(moved.text)
    session.expire_all()
    assert session.get(ThemeEvidence, here.evidence[0].id).theme_id == b


def test_merging_two_themes_of_one_name_says_their_numbers(auth, factory, session):
    one, two = factory.theme("Power BI connector", items=1), factory.theme("Power BI connector", items=1)
    session.commit()
    auth.login("product_owner")
    page = auth.post(f"/themes/{two.theme.id}/merge", {"target_id": str(one.theme.id)}, follow_redirects=True).text
    assert (f"“Power BI connector” (#{two.theme.id}) is part of “Power BI connector” (#{one.theme.id}) now."
            in html.unescape(page))


def test_a_refused_name_kept_for_its_box_fits_in_the_session_cookie(auth, factory, session):
    """A script may send any length; the name kept rides in the session cookie, which a browser drops past 4 KB."""
    made = factory.theme("Slow exports", items=1)
    session.commit()
    auth.login("product_owner")
    page = auth.post(f"/themes/{made.theme.id}/rename", {"label": "x" * 5000}, follow_redirects=True).text
    assert "A theme&#39;s name fits in 200 characters." in page or "A theme's name fits in 200 characters." in page
    assert 'value="%s"' % ("x" * 500) in _input(page, "rename-label")
