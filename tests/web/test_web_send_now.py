"""The decision page's Send now: admins send an approved decision at once, through connector.push.send_now.

Salesforce is `responses` at the wire (sObject Collections shaped as Salesforce answers them). The pause and each
rep's daily cap hold; quiet days (today is one here) apply to scheduled runs only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from html import unescape

import pytest
import responses
from flask import Flask

from connector import push
from retour.switches import set_push_paused
from tests.conftest_push import BASE, INSTANCE, NOW, TODAY, CollectionsWire, build_world, sf_rows
from webapp import create_app

COLLECTIONS = re.compile(re.escape(f"{BASE}/composite/sobjects") + r".*")
CAP = 1


@pytest.fixture
def app(make_settings, session_factory) -> Flask:
    """The desk connected to an org by session id, with a small cap and today a quiet date."""
    today = dt.datetime.now(dt.timezone.utc).date()
    settings = make_settings({
        "salesforce": {"auth": "session", "session_id": "00Dxx!SESSIONSECRET", "instance_url": INSTANCE},
        "web": {"secret_key": "test-secret-key-not-for-production", "base_url": "https://retour.example.com"},
        "push": {"per_rep_daily_cap": CAP, "quiet_dates": [today.isoformat()]},
    })
    app = create_app(settings, session_factory=session_factory)
    app.config["TESTING"] = True
    app.config["RETOUR_CACHE_SECONDS"] = 0
    return app


@pytest.fixture
def wire():
    fake = CollectionsWire()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for method in (responses.PATCH, responses.POST):
            rsps.add_callback(method, COLLECTIONS, callback=fake)
        fake.rsps = rsps  # a test adds what else the org answers (a describe)
        yield fake


@pytest.fixture
def approved(app, session, users):
    _theme, decision, user = build_world(session, sf_rows(8, won_every=0))
    push.prepare(session, decision, app.extensions["retour.settings"], today=TODAY)
    push.approve(session, decision, user.id, now=NOW)
    session.commit()
    return decision


def _flashes(html: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(r'class="flash[^"]*"[^>]*>(.*?)</', html, re.S)]


def test_an_admin_sends_an_approved_decision_now_on_a_quiet_day_within_each_reps_cap(auth, approved, session, wire):
    per_rep = Counter(i.owner_id for i in push.waiting(session, approved.id))
    goes = sum(min(n, CAP) for n in per_rep.values())
    auth.login("admin")
    page = auth.client.get(f"/decisions/{approved.id}")
    assert 'id="send-now"' in page.text

    sent = auth.post(f"/decisions/{approved.id}/send")

    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/decisions/{approved.id}")
    messages = _flashes(auth.client.get(f"/decisions/{approved.id}").text)
    assert f"{goes} records sent to Salesforce." in messages
    assert any(m.startswith(f"{sum(per_rep.values()) - goes} records wait: each rep receives at most {CAP} a day; "
                            "all will have gone by ") for m in messages), messages
    assert sum(n for _m, _p, n in wire.calls) == goes
    session.expire_all()
    assert Counter(i.state for i in push.waiting(session, approved.id)) == {"approved": sum(per_rep.values()) - goes}


def test_send_now_speaks_french_to_a_french_admin(auth, approved, wire):
    auth.login("admin")
    auth.client.post(f"/decisions/{approved.id}/send", data={"csrf_token": auth.csrf},
                     headers={"Accept-Language": "fr"})
    messages = _flashes(auth.client.get(f"/decisions/{approved.id}", headers={"Accept-Language": "fr"}).text)
    assert any(m.endswith("enregistrements envoyés à Salesforce.") for m in messages), messages
    assert any("chaque commercial en reçoit au plus 1 par jour" in m for m in messages), messages


def test_send_now_while_paused_sends_nothing_and_says_so(auth, approved, session, users, wire):
    set_push_paused(session, True, user_id=users["admin"], reason="quarter close")
    session.commit()
    auth.login("admin")
    auth.post(f"/decisions/{approved.id}/send")
    messages = _flashes(auth.client.get(f"/decisions/{approved.id}").text)
    assert "Pushes are paused: nothing was sent. Resume them, then send again." in messages
    assert wire.calls == []


@pytest.mark.parametrize("role", ["product_owner", "viewer"])
def test_send_now_is_refused_to_anyone_but_an_admin_and_not_offered(auth, approved, wire, role):
    auth.login(role)
    assert 'id="send-now"' not in auth.client.get(f"/decisions/{approved.id}").text
    assert auth.post(f"/decisions/{approved.id}/send").status_code == 403
    assert wire.calls == []


def _old_metadata(wire) -> None:
    """An org still on older metadata: every Retour_Insight__c record refused with INVALID_FIELD, and its describe
    without the bilingual fields."""
    wire.record_error = lambda sobject, record: {"statusCode": "INVALID_FIELD", "message": "No such column "
                                                 "'Insight_En__c' on sobject of type Retour_Insight__c",
                                                 "fields": []} if sobject == "Retour_Insight__c" else None
    described = {"name": "Retour_Insight__c", "fields": [{"name": n, "createable": True, "updateable": True} for n in (
        "Id", "Name", "Retour_Key__c", "Insight__c", "Account__c", "Opportunity__c", "OwnerId", "Theme__c",
        "Decision_Status__c", "Status__c", "Target_Release__c", "Theme_Url__c")]}
    wire.rsps.add(responses.GET, f"{BASE}/sobjects/Retour_Insight__c/describe", json=described, status=200)


STOPS = {
    "metadata": (_old_metadata, "Envoi interrompu : il manque à l’org Salesforce des champs qu’écrit Retour. "
                                "Les enregistrements attendent ; déployez les métadonnées Salesforce de Retour "
                                "(deploy/salesforce), puis envoyez de nouveau.", "Retour_Insight__c lacks "),
    "budget": (lambda wire: wire.call_faults.append(
        (403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}])),
        "Envoi interrompu : le budget d’appels à l’API Salesforce de l’org est épuisé pour aujourd’hui. Les "
        "enregistrements attendent le prochain passage.", "REQUEST_LIMIT_EXCEEDED"),
    "auth": (lambda wire: wire.call_faults.append(
        (401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}])),
        "Envoi interrompu : Salesforce a refusé la connexion de Retour. Les enregistrements attendent ; vérifiez "
        "les réglages de connexion à Salesforce, puis envoyez de nouveau.", "session id expired"),
}


@pytest.mark.parametrize("stop", sorted(STOPS))
def test_a_stopped_send_says_why_in_french_with_the_connectors_line_as_the_detail(auth, approved, session, wire, stop):
    """The org lacks fields Retour writes (connector.push stopped="metadata"), the API budget is spent, the login is
    refused: the French page says the stop in French; the connector's English line follows only as the detail
    (it was 'Envoi interrompu : Retour_Insight__c lacks …', the sentence itself in English)."""
    arrange, sentence, detail = STOPS[stop]
    arrange(wire)
    waiting = len(push.waiting(session, approved.id))
    auth.login("admin")
    auth.client.post(f"/decisions/{approved.id}/send", data={"csrf_token": auth.csrf},
                     headers={"Accept-Language": "fr"})
    messages = _flashes(auth.client.get(f"/decisions/{approved.id}", headers={"Accept-Language": "fr"}).text)
    said = [m for m in messages if m.startswith("Envoi interrompu")]
    assert len(said) == 1 and said[0].startswith(sentence + " Détail (en anglais) : "), messages
    assert detail in said[0].split(" Détail (en anglais) : ", 1)[1], said
    session.expire_all()
    assert len(push.waiting(session, approved.id)) == waiting  # nothing failed: every record waits


def test_a_stopped_send_in_english_says_the_sentence_then_the_detail(auth, approved, wire):
    _old_metadata(wire)
    auth.login("admin")
    auth.post(f"/decisions/{approved.id}/send")
    messages = _flashes(auth.client.get(f"/decisions/{approved.id}").text)
    said = [m for m in messages if m.startswith("Sending stopped")]
    assert said and said[0].startswith(
        "Sending stopped: the Salesforce org lacks fields Retour writes. The records wait; deploy Retour’s Salesforce "
        "metadata (deploy/salesforce), then send again. Detail: Retour_Insight__c lacks Insight_En__c, Insight_Fr__c, "
        "Title_En__c, Title_Fr__c: deploy the SFDX project"), messages
