"""Decisions: saving prepares the push (connector.push), the preview shows records, reps and exact texts,
then approve / edit / cancel / withdraw; the pause switch is visible everywhere while on."""

from __future__ import annotations

import re

from connector import push
from retour.models import Decision, PushItem
from webapp.db import settings as app_settings


def _decide(auth, theme_id: int, **form):
    data = {"status": "planned", "target": "2026.4", "title_en": "Exports of any size",
            "insight_en": "Large exports are streamed from 2026.4.", "title_fr": "Des exports de toute taille",
            "insight_fr": "Les gros exports sont diffusés en continu dès la 2026.4.", **form}
    return auth.post(f"/themes/{theme_id}/decisions", data)


def _draft_from_before_titles(app, session, theme_id: int) -> Decision:
    """A draft recorded (and its push prepared) before decisions had titles."""
    decision = Decision(theme_id=theme_id, status="planned", insight_en="Coming in May.",
                        insight_fr="Prévu en mai.", state="draft")
    session.add(decision)
    session.flush()
    with app.app_context():
        push.prepare(session, decision, app_settings())
    session.commit()
    return decision


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
    assert api["decision"]["title_en"] == "Exports of any size"
    assert api["decision"]["title_fr"] == "Des exports de toute taille"


def _title_value(form: str, lang: str) -> str:
    return re.search(rf'<input id="d-title-{lang}" name="title_{lang}"[^>]*value="([^"]*)"', form).group(1)


def test_the_new_decision_form_offers_each_title_from_the_theme_name_in_that_language(auth, factory, session):
    made = factory.theme("sap / erp")
    made.theme.label_en, made.theme.label_fr = "SAP connector", "Connecteur SAP"
    session.commit()
    auth.login("product_owner")
    form = auth.client.get(f"/themes/{made.theme.id}/decisions/new").text
    assert _title_value(form, "en") == "SAP connector" and _title_value(form, "fr") == "Connecteur SAP"
    assert "rewrite it for a rep" in form and 'id="d-title-en-missing"' not in form


def test_a_language_without_a_theme_name_gets_an_empty_title_and_a_hint_never_the_other_language(auth, factory,
                                                                                                 session):
    made = factory.theme("sap / erp")
    made.theme.label_fr = "Connecteur SAP"  # a person named it in French only
    session.commit()
    auth.login("product_owner")
    form = auth.client.get(f"/themes/{made.theme.id}/decisions/new").text
    assert _title_value(form, "en") == "" and _title_value(form, "fr") == "Connecteur SAP"
    assert "The theme has no English name yet: write the title English-speaking reps will read." in form
    assert 'id="d-title-fr-missing"' not in form and "sap / erp" not in re.sub(r"<a [^>]*>.*?</a>", "", form)
    french = auth.client.get(f"/themes/{made.theme.id}/decisions/new", headers={"Accept-Language": "fr"})
    assert _title_value(french.text, "en") == ""


def test_a_decision_is_refused_without_the_title_of_each_insight_written(auth, factory, session):
    made = factory.theme("Untitled")
    session.commit()
    auth.login("product_owner")
    resp = _decide(auth, made.theme.id, title_en="", title_fr="  ")
    assert resp.status_code == 400
    assert "Write the title reps will read with the English insight" in resp.text
    assert "write the title reps will read with the French insight" in resp.text
    resp = _decide(auth, made.theme.id, title_fr="", insight_fr="")  # an English-only decision needs no French title
    assert resp.status_code == 302
    resp = _decide(auth, made.theme.id, title_en="x" * 81)
    assert resp.status_code == 400 and "A title for reps must fit in 80 characters" in resp.text
    assert session.query(Decision).count() == 1


def test_the_pushed_name_and_task_subject_carry_the_title_not_the_theme_label(auth, factory, session):
    made = factory.theme("sap / erp", items=2, won=False, account_name="Fjordhandel Oy", opp_name="Fjordhandel renewal")
    session.commit()
    auth.login("product_owner")
    decision_id = int(_decide(auth, made.theme.id, status="shipped").headers["Location"].rsplit("/", 1)[1])
    items = session.query(PushItem).filter_by(decision_id=decision_id).all()
    kinds = {i.kind for i in items if i.state == "planned"}
    assert kinds == {"insight", "task"}
    for item in items:
        record = item.payload["record"]
        assert "sap / erp" not in str(record)
        if item.kind == "task":
            assert record["Subject"].startswith("Re-engage Fjordhandel Oy — Exports of any size: shipped in 2026.4")
        else:
            assert record["Name"] == "Exports of any size"
    page = auth.client.get(f"/decisions/{decision_id}").text
    assert '<strong class="push-name">Exports of any size</strong>' in page  # the preview shows the Name reps read
    pushed = re.sub(r'<span class="raised">.*?</span>', "", page.split("What will be pushed")[1], flags=re.S)
    # The theme's label is nowhere in what is pushed; the quote that brought each record is the CRM's own words.
    assert "Des exports de toute taille" in page and "sap / erp" not in pushed
    assert "sap / erp hurts us" in page  # (this fixture's quotes happen to repeat the label)


def test_a_draft_from_before_titles_cannot_be_approved_and_says_to_edit_it(app, auth, factory, session):
    made = factory.theme("sap / erp", items=2)
    session.commit()
    decision = _draft_from_before_titles(app, session, made.theme.id)
    auth.login("product_owner")
    page = auth.client.get(f"/decisions/{decision.id}").text
    assert 'id="missing-titles"' in page and "edit the decision to write a title in English and in French" in page
    page = auth.post(f"/decisions/{decision.id}/approve", follow_redirects=True).text
    assert "edit the decision to write a title in English and in French, then approve" in page
    api = auth.api("POST", f"/api/v1/decisions/{decision.id}/approve")
    assert api.status_code == 400 and "edit the decision" in api.get_json()["error"]["message"]
    session.expire_all()
    assert session.get(Decision, decision.id).state == "draft"
    assert not session.query(PushItem).filter_by(decision_id=decision.id, state="approved").count()
    form = auth.client.get(f"/decisions/{decision.id}/edit").text
    # The theme has no name a person wrote: empty titles with a hint, never the machine's label "sap / erp".
    assert _title_value(form, "en") == "" and _title_value(form, "fr") == ""
    assert 'id="d-title-en-missing"' in form and 'id="d-title-fr-missing"' in form
    auth.post(f"/decisions/{decision.id}/edit", {"status": "planned", "title_en": "Connect to SAP",
                                                "insight_en": "Coming in May.", "title_fr": "Connexion à SAP",
                                                "insight_fr": "Prévu en mai."})
    assert "Push approved." in auth.post(f"/decisions/{decision.id}/approve", follow_redirects=True).text
    session.expire_all()
    names = {i.payload["record"].get("Name") for i in session.query(PushItem).filter_by(decision_id=decision.id)
             if i.kind == "insight" and i.state == "approved"}
    assert names and names <= {"Connect to SAP", "Connexion à SAP"}


def test_title_errors_are_in_french_for_a_french_reader(auth, factory, session):
    made = factory.theme("Sans titre")
    session.commit()
    auth.login("product_owner")
    auth.post("/language", {"lang": "fr", "next": "/"})
    resp = _decide(auth, made.theme.id, title_fr="")
    assert resp.status_code == 400
    assert "Écrivez le titre que les commerciaux liront avec le message en français" in resp.text
    assert "Titre pour les commerciaux, en anglais" in resp.text


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
    assert "cannot be approved now" in again or "Only a draft can be approved" in again  # the refusal's wording moves
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
    assert 'value="Exports of any size"' in form and 'value="Des exports de toute taille"' in form
    auth.post(f"/decisions/{decision_id}/edit", {"status": "shipped", "target": "2026.5", "title_en": "Streaming exports",
                                                "insight_en": "Shipped: streaming exports.", "insight_fr": ""})
    page = auth.client.get(f"/decisions/{decision_id}").text
    assert "Shipped: streaming exports." in page and "2026.5" in page and "Streaming exports" in page
    assert "Decision cancelled" in auth.post(f"/decisions/{decision_id}/cancel", follow_redirects=True).text
    session.expire_all()
    assert session.get(Decision, decision_id).state == "cancelled"
    assert not session.query(PushItem).filter(PushItem.decision_id == decision_id,
                                              PushItem.state.in_(["approved", "sent"])).count()


def test_api_decision_flow(auth, factory, session):
    made = factory.theme("API decision", items=2)
    session.commit()
    auth.login("product_owner")
    untitled = auth.api("POST", f"/api/v1/themes/{made.theme.id}/decisions",
                        {"status": "investigating", "insight_en": "We are looking at it."})
    assert untitled.status_code == 400
    assert "title reps will read with the English insight" in untitled.get_json()["error"]["message"]
    created = auth.api("POST", f"/api/v1/themes/{made.theme.id}/decisions",
                       {"status": "investigating", "title_en": "Faster decisions", "insight_en": "We are looking at it."})
    assert created.status_code == 201
    did = created.get_json()["decision"]["id"]
    assert created.get_json()["decision"]["title_en"] == "Faster decisions"
    assert created.get_json()["decision"]["title_fr"] is None
    assert isinstance(created.get_json()["preview"], list)
    edited = auth.api("PUT", f"/api/v1/decisions/{did}", {"status": "planned", "title_en": "Faster decisions",
                                                         "insight_en": "Planned for Q3."})
    assert edited.get_json()["decision"]["status"] == "planned"
    assert auth.api("POST", f"/api/v1/decisions/{did}/approve").get_json()["decision"]["state"] == "approved"
    assert auth.api("PUT", f"/api/v1/decisions/{did}", {"status": "shipped", "title_en": "x",
                                                       "insight_en": "x"}).status_code == 400


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
