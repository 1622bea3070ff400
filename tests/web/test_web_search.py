"""The desk's search of the evidence reads words the way a French product owner types them: without accents, in any
case, on SQLite as on PostgreSQL (whose ILIKE, like SQLite's, folded no accent, and SQLite's no case beyond ASCII)."""

from __future__ import annotations

import re


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\xa0", " ")


def _labels(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/themes/\d+(?:\?[^"]*)?">([^<]+)</a>', html)


def _found(auth, q: str) -> list[str]:
    return sorted(r["text"] for r in auth.client.get("/api/v1/evidence/search", query_string={"q": q}).get_json()[
        "results"])


def test_a_search_without_accents_or_in_capitals_finds_the_accented_quote_shown_as_written(auth, factory, session):
    factory.quote("Sécurité renforcée exigée par la DSI")
    factory.quote("la sécurité du SSO les inquiète")
    factory.quote("L’équipe financière veut le support français")
    factory.quote("Le cœur de métier n'est pas couvert")
    factory.quote("Security review pending")
    session.commit()
    auth.login("viewer")
    both = ["Sécurité renforcée exigée par la DSI", "la sécurité du SSO les inquiète"]
    assert _found(auth, "securite") == _found(auth, "SÉCURITÉ") == _found(auth, "SECURITE") == both
    assert _found(auth, "Sécurité renforcée") == both[:1]
    assert _found(auth, "l'equipe financiere") == _found(auth, "francais") == [
        "L’équipe financière veut le support français"]
    assert _found(auth, "coeur de metier") == ["Le cœur de métier n'est pas couvert"]
    html = auth.client.get("/evidence/search?q=securite").text
    assert "2 quotes contain “securite”." in _text(html) and "Sécurité renforcée exigée par la DSI" in html


def test_wildcards_in_a_search_stay_characters_once_folded(auth, factory, session):
    factory.quote("Remise de 10% demandée")
    factory.quote("Ils sont 100 utilisateurs")
    factory.quote("champ compte_client vide")
    factory.quote("champ compteXclient vide")
    session.commit()
    auth.login("viewer")
    assert _found(auth, "10%") == ["Remise de 10% demandée"]  # not "100 utilisateurs": % is no wildcard
    assert _found(auth, "COMPTE_CLIENT") == ["champ compte_client vide"]
    assert _found(auth, "\u0301\u0301") == []  # marks alone fold to nothing: they are no word to look for


def test_the_board_scoped_by_a_search_without_accents_counts_the_accented_quotes(auth, factory, session):
    factory.theme("Sécurité", items=3, texts=["Sécurité renforcée exigée", "SÉCURITÉ du SSO", "exports lents"])
    factory.theme("Exports", items=2, texts=["Exports trop lents"])
    session.commit()
    auth.login("viewer")
    assert _labels(auth.client.get("/?q=securite").text) == ["Sécurité"]

    def items(q: str) -> dict[str, int]:
        themes = auth.client.get("/api/v1/themes", query_string={"q": q}).get_json()["themes"]
        return {t["label"]: t["items"] for t in themes}

    assert items("securite") == items("SÉCURITÉ") == {"Sécurité": 2}
    assert items("LENTS") == {"Sécurité": 1, "Exports": 2}


def test_a_search_says_how_many_matches_were_set_aside_as_not_feedback_and_shows_them_to_be_filed(
        auth, factory, session):
    target = factory.theme("Basque", items=1, texts=["No Basque version of the app"])
    factory.quote("They want the app in Basque for the town hall")
    aside = factory.quote("Basque lesson booked for the team on Monday", is_feedback=False)
    session.commit()
    auth.login("product_owner")
    html = auth.client.get("/evidence/search?q=basque").text
    assert "2 quotes contain “basque”." in _text(html) and "Basque lesson booked" not in html
    assert "1 more quote contains it but was set aside as not feedback. Show them too" in _text(html)
    assert 'href="/evidence/search?q=basque&amp;aside=1"' in html
    both = auth.client.get("/evidence/search?q=basque&aside=1").text
    assert "3 quotes contain “basque”." in _text(both) and "Basque lesson booked" in both
    assert _text(both).count("set aside as not feedback ·") == 1
    assert auth.client.get("/api/v1/evidence/search?q=basque").get_json()["set_aside"] == 1
    # Filed from that page, it is feedback under the theme, and the search stays as it was.
    resp = auth.post("/evidence/file", {"q": "basque", "page": "1", "aside": "1", "theme_id": str(target.theme.id),
                                        "segment_id": [str(aside.id)]})
    assert resp.headers["Location"] == "/evidence/search?q=basque&page=1&aside=1"
    session.expire_all()
    assert aside.person_verdict is True
    assert "set aside" not in _text(auth.client.get("/evidence/search?q=basque").text)
