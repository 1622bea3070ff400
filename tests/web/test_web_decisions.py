"""Decisions: saving prepares the push (connector.push), the preview shows records, reps and exact texts,
then approve / edit / cancel / withdraw; the pause switch is visible everywhere while on."""

from __future__ import annotations

import re

from retour.models import Decision, PushItem


def _decide(auth, theme_id: int, **form):
    data = {"status": "planned", "target": "2026.4", "insight_en": "Large exports are streamed from 2026.4.",
            "insight_fr": "Les gros exports sont diffusés en continu dès la 2026.4.", **form}
    return auth.post(f"/themes/{theme_id}/decisions", data)


def test_saving_a_decision_prepares_the_push_and_previews_exact_texts(auth, factory, session):
    rep = factory.rep("Camille Martin")
    made = factory.theme("Exports", items=2, rep=rep, opp_name="Acme renewal", won=False)
    session.commit()
    auth.login("product_owner")
    resp = _decide(auth, made.theme.id)
    assert resp.status_code == 302
    decision_id = int(re.search(r"/decisions/(\d+)$", resp.headers["Location"]).group(1))
    html = auth.client.get(resp.headers["Location"]).text
    assert "Decision saved." in html and "draft, awaiting approval" in html
    items = session.query(PushItem).filter_by(decision_id=decision_id).all()
    assert items, "prepare() planned no push item"
    for item in items:
        if item.state != "skipped":
            assert (item.payload or {}).get("text", "") in html.replace("&#39;", "'").replace("&#34;", '"')
        else:
            assert item.skip_reason in html
    assert "Camille Martin" in html
    api = auth.client.get(f"/api/v1/decisions/{decision_id}").get_json()
    assert api["decision"]["state"] == "draft" and len(api["preview"]) == len(items)


def test_a_decision_without_any_insight_is_refused_with_the_reasons(auth, factory, session):
    made = factory.theme("Nothing to say")
    session.commit()
    auth.login("product_owner")
    resp = _decide(auth, made.theme.id, status="maybe", insight_en="", insight_fr="")
    assert resp.status_code == 400
    assert "Status must be one of" in resp.text and "write the insight for reps" in resp.text
    assert session.query(Decision).count() == 0


def test_approve_then_withdraw_and_no_second_approval(auth, factory, session):
    made = factory.theme("Approve me", items=2)
    session.commit()
    auth.login("product_owner")
    location = _decide(auth, made.theme.id).headers["Location"]
    decision_id = int(location.rsplit("/", 1)[1])
    page = auth.post(f"/decisions/{decision_id}/approve", follow_redirects=True).text
    assert "Push approved." in page and '<strong id="decision-state">approved</strong>' in page
    assert session.get(Decision, decision_id).approved_at is not None
    again = auth.post(f"/decisions/{decision_id}/approve", follow_redirects=True).text
    assert "cannot be approved now" in again
    assert "Decision withdrawn." in auth.post(f"/decisions/{decision_id}/withdraw", follow_redirects=True).text
    session.expire_all()
    assert session.get(Decision, decision_id).state == "withdrawn"


def test_edit_reprepares_the_preview_and_cancel_sends_nothing(auth, factory, session):
    made = factory.theme("Edit me", items=1)
    session.commit()
    auth.login("product_owner")
    decision_id = int(_decide(auth, made.theme.id).headers["Location"].rsplit("/", 1)[1])
    form = auth.client.get(f"/decisions/{decision_id}/edit").text
    assert "Large exports are streamed from 2026.4." in form
    auth.post(f"/decisions/{decision_id}/edit", {"status": "shipped", "target": "2026.5",
                                                "insight_en": "Shipped: streaming exports.", "insight_fr": ""})
    page = auth.client.get(f"/decisions/{decision_id}").text
    assert "Shipped: streaming exports." in page and "2026.5" in page
    assert "Decision cancelled" in auth.post(f"/decisions/{decision_id}/cancel", follow_redirects=True).text
    session.expire_all()
    assert session.get(Decision, decision_id).state == "cancelled"
    assert not session.query(PushItem).filter(PushItem.decision_id == decision_id,
                                              PushItem.state.in_(["approved", "sent"])).count()


def test_api_decision_flow(auth, factory, session):
    made = factory.theme("API decision", items=2)
    session.commit()
    auth.login("product_owner")
    created = auth.api("POST", f"/api/v1/themes/{made.theme.id}/decisions",
                       {"status": "investigating", "insight_en": "We are looking at it."})
    assert created.status_code == 201
    did = created.get_json()["decision"]["id"]
    assert isinstance(created.get_json()["preview"], list)
    edited = auth.api("PUT", f"/api/v1/decisions/{did}", {"status": "planned", "insight_en": "Planned for Q3."})
    assert edited.get_json()["decision"]["status"] == "planned"
    assert auth.api("POST", f"/api/v1/decisions/{did}/approve").get_json()["decision"]["state"] == "approved"
    assert auth.api("PUT", f"/api/v1/decisions/{did}", {"status": "shipped", "insight_en": "x"}).status_code == 400


def test_viewer_reads_a_decision_but_cannot_approve_it(auth, factory, session, users):
    made = factory.theme("Read only decision")
    session.commit()
    auth.login("product_owner")
    did = int(_decide(auth, made.theme.id).headers["Location"].rsplit("/", 1)[1])
    auth.client.post("/logout", data={"csrf_token": auth.csrf})
    auth.login("viewer")
    page = auth.client.get(f"/decisions/{did}")
    assert page.status_code == 200 and "Approve the push" not in page.text
    assert auth.post(f"/decisions/{did}/approve").status_code == 403
