"""The JSON API: described by its OpenAPI document, same reads and curation as the pages, pause switch."""

from __future__ import annotations

import re

from retour.switches import is_push_paused


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_openapi_lists_exactly_the_api_routes(app, auth):
    auth.login("viewer")
    doc = auth.client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = {(_openapi_path(r.rule), m) for r in app.url_map.iter_rules() if r.rule.startswith("/api/")
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed, f"undocumented: {routed - documented}; stale: {documented - routed}"
    for path, ops in doc["paths"].items():
        for op in ops.values():
            assert {p["name"] for p in op["parameters"] if p["in"] == "path"} == set(re.findall(r"{(\w+)}", path))


def test_api_requires_login_with_a_json_401(client):
    resp = client.get("/api/v1/themes")
    assert resp.status_code == 401 and resp.get_json() == {"error": {"code": 401, "message": "Log in first."}}


def test_api_theme_detail_has_figures_deals_evidence_and_links(auth, factory, session):
    made = factory.theme("API theme", items=2, amount=3000, days_ago=400)  # older than the twelve months shown
    session.commit()
    auth.login("viewer")
    data = auth.client.get(f"/api/v1/themes/{made.theme.id}").get_json()
    assert data["theme"]["label"] == "API theme" and data["evidence_total"] == 2
    # All time: the twelve months, after one bar for everything before them, so the bars add up to the items.
    assert [m["month"] for m in data["months"]][:1] == ["earlier"] and len(data["months"]) == 13
    assert sum(m["items"] for m in data["months"]) == data["theme"]["figures"]["items"] == 2
    assert data["theme"]["figures"]["revenue_lost"] == 6000 and data["theme"]["figures"]["currency"] == "EUR"
    assert {d["id"] for d in data["deals"]} == {o.id for o in made.opportunities}
    assert all(e["url"].startswith("https://acme.my.salesforce.com/006") for e in data["evidence"])


def test_api_curation_rename_merge_pin_reject_move(auth, factory, session):
    a = factory.theme("A", items=3)
    b = factory.theme("B", items=1)
    c = factory.theme("C", items=1)
    session.commit()
    auth.login("product_owner")
    assert auth.api("POST", f"/api/v1/themes/{a.theme.id}/rename", {"label": "Alpha"}).get_json()["theme"]["label"] == "Alpha"
    pin = auth.api("POST", f"/api/v1/themes/{a.theme.id}/evidence/{a.evidence[0].id}/pin", {"pinned": True}).get_json()
    assert pin["evidence"]["pinned"] is True
    rej = auth.api("POST", f"/api/v1/themes/{a.theme.id}/evidence/{a.evidence[1].id}/reject").get_json()
    assert rej["evidence"]["state"] == "rejected"
    mv = auth.api("POST", f"/api/v1/themes/{a.theme.id}/evidence/{a.evidence[2].id}/move", {"target_id": c.theme.id})
    assert mv.get_json()["evidence"]["theme_id"] == c.theme.id
    merged = auth.api("POST", f"/api/v1/themes/{b.theme.id}/merge", {"target_id": a.theme.id})
    assert merged.status_code == 200 and merged.get_json()["theme"]["id"] == a.theme.id
    again = auth.api("POST", f"/api/v1/themes/{b.theme.id}/merge", {"target_id": a.theme.id})
    assert again.status_code == 400 and "merged" in again.get_json()["error"]["message"]
    log = auth.client.get(f"/api/v1/themes/{a.theme.id}").get_json()["activity"]
    assert {e["action"] for e in log} >= {"rename", "pin_evidence", "reject_evidence", "merge"}


def test_api_rejects_a_body_that_is_not_an_object(auth, factory, session):
    made = factory.theme("Body")
    session.commit()
    auth.login("product_owner")
    resp = auth.api("POST", f"/api/v1/themes/{made.theme.id}/rename", ["not", "an", "object"])
    assert resp.status_code == 400 and "JSON object" in resp.get_json()["error"]["message"]


def test_pause_switch_via_api_shows_a_banner_on_every_page(auth, factory, session):
    made = factory.theme("Paused")
    session.commit()
    auth.login("product_owner")
    assert auth.api("PUT", "/api/v1/pause", {"paused": True, "reason": "quarter close"}).get_json() == {"paused": True}
    assert is_push_paused(session)
    for url in ("/", f"/themes/{made.theme.id}"):
        assert 'id="pause-banner"' in auth.client.get(url).text
    assert auth.api("PUT", "/api/v1/pause", {"paused": "yes"}).status_code == 400
    auth.post("/admin/pause", {"paused": "false"})
    assert auth.client.get("/api/v1/pause").get_json() == {"paused": False}
    assert 'id="pause-banner"' not in auth.client.get("/").text
