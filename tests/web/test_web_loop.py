"""What came back from Salesforce since a decision's push (connector.push_efficacy.LoopFigures): in the API's
decision parts, documented in OpenAPI, and said in plain words in English and French."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from babel.numbers import format_compact_currency

from connector.push_efficacy import LoopFigures, Money, loop_figures
from retour.models import Activity, Decision, PushItem, SyncState
from webapp.templating import loop_sentence

SENT = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.timezone.utc)


def _pushed_decision(session, factory) -> Decision:
    """Three lost deals pushed a follow-up each; one rep did theirs, one deal was re-opened (in GBP)."""
    made = factory.theme("Exports", items=3)
    decision = Decision(theme_id=made.theme.id, status="planned", target="Q3", insight_en="Exports ship in Q3.",
                        title_en="Exports", state="approved")
    session.add(decision)
    session.flush()
    for n, opp in enumerate(made.opportunities):
        for kind, sobject in (("task", "Task"), ("insight", "Retour_Insight__c")):
            session.add(PushItem(decision_id=decision.id, kind=kind, sobject=sobject,
                                 external_key=f"d{decision.id}-{kind if kind == 'task' else 'opp'}-{opp.id}",
                                 target_id=opp.id, owner_id=opp.owner_id, state="sent",
                                 sent_at=SENT + dt.timedelta(minutes=n), sf_id=f"00T{decision.id:03d}{n}{kind[0]}"))
    first, second = made.opportunities[0], made.opportunities[1]
    session.add(Activity(id="00T000000000DONEAA", kind="Task", retour_key=f"d{decision.id}-task-{first.id}",
                         status="Completed", is_closed=True))
    second.stage, second.is_closed, second.currency, second.amount = "Qualification", False, "GBP", 20_000
    session.commit()
    return decision


def _draft(session, factory) -> Decision:
    made = factory.theme("Offline mode", items=1)
    decision = Decision(theme_id=made.theme.id, status="planned", insight_en="Offline mode in May.",
                        title_en="Offline mode", state="draft")
    session.add(decision)
    session.commit()
    return decision


def test_decision_api_gives_what_came_back_since_the_push_with_each_amount_in_its_currency(auth, factory, session):
    decision = _pushed_decision(session, factory)
    auth.login("viewer")
    loop = auth.client.get(f"/api/v1/decisions/{decision.id}", headers={"Accept-Language": "en"}).get_json()[
        "decision"]["loop"]
    assert loop == {"since": SENT.isoformat(), "tasks_sent": 3, "tasks_completed": 1, "lost_deals_pushed": 3,
                    "lost_deals_reopened": 1, "deals_won": 0, "new_opportunities": 0,
                    "pipeline_recovered": [{"amount": 20_000.0, "currency": "GBP"}], "tasks_withdrawn": 0,
                    "sentence": "Since the push on Nov 18, 2026: 1 of 3 follow-up tasks done, "
                                "1 of 3 lost deals re-opened, £20K of pipeline recovered."}


def test_theme_api_lists_each_decision_with_the_same_loop_figures_as_the_decision_api(auth, factory, session):
    decision = _pushed_decision(session, factory)
    auth.login("viewer")
    on_theme = auth.client.get(f"/api/v1/themes/{decision.theme_id}").get_json()["decisions"]
    alone = auth.client.get(f"/api/v1/decisions/{decision.id}").get_json()["decision"]
    assert [d["loop"] for d in on_theme] == [alone["loop"]]
    assert {k: v for k, v in alone["loop"].items() if k != "sentence"} == loop_figures(session, decision.id).as_dict()


def test_french_reader_gets_the_loop_sentence_in_french_with_french_money_and_dates(auth, factory, session):
    decision = _pushed_decision(session, factory)
    auth.login("viewer")
    sentence = auth.client.get(f"/api/v1/decisions/{decision.id}", headers={"Accept-Language": "fr"}).get_json()[
        "decision"]["loop"]["sentence"]
    money = format_compact_currency(20_000, "GBP", locale="fr", fraction_digits=1)
    assert sentence == (f"Depuis l’envoi du 18 nov. 2026 : 1 sur 3 tâches de suivi faites, 1 sur 3 affaires perdues "
                        f"rouvertes, {money} de pipeline récupéré.")


def test_a_draft_says_nothing_reached_salesforce_in_either_language(auth, factory, session):
    decision = _draft(session, factory)
    auth.login("viewer")
    url = f"/api/v1/decisions/{decision.id}"
    en = auth.client.get(url, headers={"Accept-Language": "en"}).get_json()["decision"]["loop"]
    fr = auth.client.get(url, headers={"Accept-Language": "fr"}).get_json()["decision"]["loop"]
    assert en["since"] is None and en["tasks_sent"] == 0 and en["pipeline_recovered"] == []
    assert en["sentence"] == "Nothing has reached Salesforce yet."
    assert fr["sentence"] == "Rien n’est encore arrivé dans Salesforce."


@pytest.mark.parametrize("lang, expected", [
    ("en", "Since the push on Nov 18, 2026: 1 of 1 follow-up task done, 1 of 1 lost deal re-opened, 1 deal won since, "
           "2 new opportunities on the accounts reached, {money} of pipeline recovered."),
    ("fr", "Depuis l’envoi du 18 nov. 2026 : 1 sur 1 tâche de suivi faite, 1 sur 1 affaire perdue rouverte, "
           "1 affaire gagnée depuis, 2 nouvelles opportunités sur les comptes touchés, {money} de pipeline récupéré."),
])
def test_loop_sentence_agrees_in_number_in_both_languages(app, lang, expected):
    figures = LoopFigures(since=SENT, tasks_sent=1, tasks_completed=1, lost_deals_pushed=1, lost_deals_reopened=1,
                          deals_won=1, new_opportunities=2, pipeline_recovered=(Money(Decimal(1500), "EUR"),))
    with app.test_request_context(headers={"Accept-Language": lang}):
        money = format_compact_currency(1500, "EUR", locale=lang, fraction_digits=1)
        assert loop_sentence(figures) == expected.format(money=money)


def test_openapi_documents_every_loop_field_the_api_answers(auth):
    auth.login("viewer")
    doc = auth.client.get("/api/v1/openapi.json").get_json()
    documented = set(doc["components"]["schemas"]["LoopFigures"]["properties"])
    assert documented == set(LoopFigures().as_dict()) | {"sentence"}
    answer = doc["paths"]["/api/v1/decisions/{decision_id}"]["get"]["responses"]["200"]["content"]
    loop = answer["application/json"]["schema"]["properties"]["decision"]["properties"]["loop"]
    assert loop == {"$ref": "#/components/schemas/LoopFigures"}


# ------------------------------------------------------------------------------------------ on the pages
def _visible(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


EN_SENTENCE = ("Since the push on Nov 18, 2026: 1 of 3 follow-up tasks done, 1 of 3 lost deals re-opened, "
               "£20K of pipeline recovered.")


def test_the_decision_page_says_what_happened_since_the_push_in_english_and_in_french(auth, factory, session):
    decision = _pushed_decision(session, factory)
    auth.login("viewer")
    english = auth.client.get(f"/decisions/{decision.id}", headers={"Accept-Language": "en"}).text
    assert re.search(r'<h3 id="loop-h">Since the push</h3>\s*<p class="loop" id="loop">', english)
    assert EN_SENTENCE in _visible(english)
    french = _visible(auth.client.get(f"/decisions/{decision.id}", headers={"Accept-Language": "fr"}).text)
    money = format_compact_currency(20_000, "GBP", locale="fr", fraction_digits=1)
    assert "Depuis l’envoi " in french
    assert _visible(f"Depuis l’envoi du 18 nov. 2026 : 1 sur 3 tâches de suivi faites, 1 sur 3 affaires perdues "
                    f"rouvertes, {money} de pipeline récupéré.") in french


def test_a_draft_decision_page_has_no_since_the_push_block(auth, factory, session):
    decision = _draft(session, factory)
    auth.login("viewer")
    assert 'id="loop"' not in auth.client.get(f"/decisions/{decision.id}").text


def test_the_board_row_of_a_decided_theme_says_what_came_back_and_moves_when_a_rep_answers(app, auth, factory,
                                                                                         session):
    app.config["RETOUR_CACHE_SECONDS"] = 60  # pages and figures kept as in production: a sync must still show
    decision = _pushed_decision(session, factory)
    other = factory.theme("Dark mode", items=2)
    session.commit()
    auth.login("viewer")
    board = auth.client.get("/", headers={"Accept-Language": "en"}).text
    row = re.search(rf'<tr class="theme-row" data-theme="{decision.theme_id}">.*?</tr>', board, re.S).group(0)
    assert EN_SENTENCE in _visible(row)
    quiet = re.search(rf'<tr class="theme-row" data-theme="{other.theme.id}">.*?</tr>', board, re.S).group(0)
    assert 'class="loop"' not in quiet  # no decision, nothing to say

    # A sync brings a second completed follow-up task: the row says so at the next load.
    second = session.get(Decision, decision.id).push_items[0]
    task_key = next(i.external_key for i in session.get(Decision, decision.id).push_items
                    if i.kind == "task" and i.external_key != f"d{decision.id}-task-{second.target_id}")
    session.add(Activity(id="00T000000000DONEBB", kind="Task", retour_key=task_key, status="Completed", is_closed=True))
    session.add(SyncState(object_name="Task", last_run_at=SENT + dt.timedelta(days=2)))
    session.commit()
    again = auth.client.get("/", headers={"Accept-Language": "en"}).text
    row = re.search(rf'<tr class="theme-row" data-theme="{decision.theme_id}">.*?</tr>', again, re.S).group(0)
    assert "2 of 3 follow-up tasks done" in _visible(row)


@pytest.mark.browser
def test_in_chromium_the_board_and_the_decision_page_show_the_loop(browser, committed, make_settings):
    from webapp import create_app
    from webapp.users import create_or_reset_user

    from .browser import LiveServer
    from .conftest import INSTANCE, PASSWORD, Factory, log_in

    settings = make_settings({"salesforce": {"instance_url": INSTANCE},
                              "web": {"secret_key": "browser-test-secret-key-0123456789"}})
    server = context = None
    try:
        with committed() as s:
            create_or_reset_user(s, "viewer@example.com", PASSWORD, role="viewer")
            s.commit()
            decision = _pushed_decision(s, Factory(s))
            decision_id, theme_id = decision.id, decision.theme_id
        server = LiveServer(create_app(settings, session_factory=committed))
        context = browser.new_context(locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, server.url, "viewer@example.com")
        line = page.locator(f'tr[data-theme="{theme_id}"] p.loop')
        assert line.is_visible() and line.inner_text() == EN_SENTENCE
        page.goto(f"{server.url}/decisions/{decision_id}")
        assert page.locator("#loop-h").is_visible() and page.locator("#loop").inner_text() == EN_SENTENCE
    finally:
        if context is not None:
            context.close()
        if server is not None:
            server.stop()
