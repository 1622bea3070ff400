"""Undoing a merge on the desk and through the API: offered where the merge is said, refused in plain words."""

from __future__ import annotations

import re

from retour.models import Theme, ThemeEvidence, ThemeProposal

HX = {"HX-Request": "true"}


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _under(session, theme_id: int) -> set[int]:
    session.expire_all()
    return {e.segment_id for e in session.query(ThemeEvidence).filter_by(theme_id=theme_id, state="active")}


def test_the_notice_of_a_merge_offers_to_undo_it_and_the_form_post_takes_it_back(auth, factory, session):
    big, small = factory.theme("Slow exports", items=3), factory.theme("Export timeouts", items=2)
    session.commit()
    theirs = {e.segment_id for e in small.evidence}
    auth.login("product_owner")
    merged = auth.post(f"/themes/{small.theme.id}/merge", {"target_id": str(big.theme.id)})
    assert merged.headers["Location"] == f"/themes/{big.theme.id}"
    page = auth.client.get(merged.headers["Location"]).text
    assert "Themes merged." in page and f'action="/themes/{small.theme.id}/unmerge"' in page
    assert "Themes merged. “Export timeouts” is part of “Slow exports” now." in _text(page)  # which into which
    assert "Undo the merge" in page
    assert "Undo the merge" not in auth.client.get(f"/themes/{big.theme.id}").text  # said once, like any notice

    undone = auth.post(f"/themes/{small.theme.id}/unmerge")
    assert undone.status_code == 302 and undone.headers["Location"] == f"/themes/{small.theme.id}"
    page = _text(auth.client.get(undone.headers["Location"]).text)
    assert "Merge undone: “Export timeouts” is a theme of its own again, with its quotes." in page
    assert "undid the merge of this theme into “Slow exports”: its quotes came back" in page
    session.expire_all()
    assert session.get(Theme, small.theme.id).status == "emerging" and _under(session, small.theme.id) == theirs
    assert "undid the merge of “Export timeouts” into this theme: its quotes went back" in \
        _text(auth.client.get(f"/themes/{big.theme.id}").text)


def test_a_merged_themes_page_says_where_it_went_and_offers_the_undo_to_product_owners_only(auth, factory, session):
    big, small = factory.theme("Slow exports", items=3), factory.theme("Export timeouts", items=1)
    session.commit()
    auth.login("product_owner")
    auth.post(f"/themes/{small.theme.id}/merge", {"target_id": str(big.theme.id)})
    page = auth.client.get(f"/themes/{small.theme.id}")
    assert page.status_code == 200
    assert re.search(rf'Merged into <a href="/themes/{big.theme.id}">Slow exports</a>', page.text)
    assert f'action="/themes/{small.theme.id}/unmerge"' in page.text
    french = auth.client.get(f"/themes/{small.theme.id}", headers={"Accept-Language": "fr"})
    auth.client.post("/logout", data={"csrf_token": auth.csrf})
    auth.login("viewer")
    page = auth.client.get(f"/themes/{small.theme.id}").text
    assert "Merged into" in page and "/unmerge" not in page
    assert auth.post(f"/themes/{small.theme.id}/unmerge").status_code == 403
    said = _text(french.text)
    assert "Fusionné dans Slow exports : ses citations s’y trouvent désormais." in said and "Annuler la fusion" in said
    # Its activity says it too, in the reader's language (the merge used to be logged on the target alone).
    assert "a fusionné ce thème dans « Slow exports » : ses citations s’y trouvent désormais" in said
    assert "merged this theme into “Slow exports”: its quotes are there now" in _text(page)


def test_undoing_with_htmx_redirects_to_the_theme_and_a_refusal_is_said_beside_the_button(auth, factory, session):
    a, b, c = factory.theme("Alpha", items=2), factory.theme("Beta", items=2), factory.theme("Gamma", items=1)
    session.commit()
    auth.login("product_owner")
    auth.post(f"/themes/{a.theme.id}/merge", {"target_id": str(b.theme.id)})
    auth.post(f"/themes/{b.theme.id}/merge", {"target_id": str(c.theme.id)})
    refused = auth.post(f"/themes/{a.theme.id}/unmerge", headers=HX)
    assert refused.status_code == 200 and 'class="flash error"' in refused.text
    assert "The theme it was merged into was itself merged since: undo that merge first, then this one." in refused.text
    plain = auth.post(f"/themes/{a.theme.id}/unmerge", follow_redirects=True, headers={"Accept-Language": "fr"})
    assert "annulez d’abord cette fusion-là, puis celle-ci." in plain.text
    ok = auth.post(f"/themes/{b.theme.id}/unmerge", headers=HX)
    assert ok.status_code == 204 and ok.headers["HX-Redirect"] == f"/themes/{b.theme.id}"
    assert auth.post(f"/themes/{a.theme.id}/unmerge", headers=HX).status_code == 204
    assert _under(session, a.theme.id) == {e.segment_id for e in a.evidence}
    again = auth.post(f"/themes/{a.theme.id}/unmerge", follow_redirects=True)
    assert "This theme is not merged: there is no merge to undo." in again.text


def test_accepting_a_merge_proposal_says_so_with_the_undo_and_the_pair_stays_apart(auth, factory, session):
    big, small = factory.theme("Slow exports", items=3), factory.theme("Export timeouts", items=1)
    p = ThemeProposal(kind="merge", theme_id=small.theme.id, other_theme_id=big.theme.id, payload={})
    session.add(p)
    session.commit()
    auth.login("product_owner")
    resp = auth.post(f"/proposals/{p.id}/accept", {"into": str(big.theme.id), "back": "board"})
    board = auth.client.get(resp.headers["Location"]).text
    assert "Themes merged." in board and f'action="/themes/{small.theme.id}/unmerge"' in board
    auth.post(f"/themes/{small.theme.id}/unmerge")
    session.expire_all()
    assert session.get(Theme, small.theme.id).status == "emerging"
    assert "look like one subject" not in auth.client.get("/").text  # the accepted proposal stays answered


def test_the_api_undoes_a_merge_and_refuses_like_the_other_curation_routes(auth, factory, session):
    big, small = factory.theme("Slow exports", items=3), factory.theme("Export timeouts", items=2)
    session.commit()
    auth.login("product_owner")
    refused = auth.api("POST", f"/api/v1/themes/{small.theme.id}/unmerge")
    assert refused.status_code == 400
    assert refused.get_json() == {"error": {"code": 400,
                                            "message": "This theme is not merged: there is no merge to undo."}}
    assert auth.api("POST", f"/api/v1/themes/{small.theme.id}/merge", {"target_id": big.theme.id}).status_code == 200
    body = auth.api("POST", f"/api/v1/themes/{small.theme.id}/unmerge").get_json()
    assert body["theme"]["id"] == small.theme.id and body["theme"]["merged_into_id"] is None
    assert _under(session, small.theme.id) == {e.segment_id for e in small.evidence}
    assert auth.api("POST", "/api/v1/themes/999999/unmerge").status_code == 404
    spec = auth.client.get("/api/v1/openapi.json").get_json()
    assert "Minimum role: product_owner." in spec["paths"]["/api/v1/themes/{theme_id}/unmerge"]["post"]["description"]
    auth.client.post("/logout", data={"csrf_token": auth.csrf})
    auth.login("viewer")
    assert auth.api("POST", f"/api/v1/themes/{small.theme.id}/unmerge").status_code == 403


def test_a_merge_made_before_merges_were_recorded_offers_no_undo_on_its_page(auth, factory, session):
    from retour.models import CurationEvent

    big, small = factory.theme("Slow exports", items=3), factory.theme("Export timeouts", items=1)
    session.commit()
    auth.login("product_owner")
    merged = auth.post(f"/themes/{small.theme.id}/merge", {"target_id": str(big.theme.id)})
    auth.client.get(merged.headers["Location"])  # where the notice is said (it offers the undo: this merge has it)
    session.expire_all()
    for event in session.query(CurationEvent).filter_by(action="merge"):
        event.details = {k: v for k, v in event.details.items() if k != "undo"}
    session.commit()
    page = auth.client.get(f"/themes/{small.theme.id}").text
    assert "Merged into" in page and "/unmerge" not in page
