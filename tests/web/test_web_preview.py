"""The push preview at scale: a summary first, Approve at the top, records grouped by rep and account 200 a page,
``?page=`` parsed safely, and each record's true state after a push (written, waiting, deferred by the rep's daily
cap with the day it should go, skipped with why, failed with Salesforce's error)."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from babel.dates import format_date
from sqlalchemy import insert, select

from connector import push
from connector.push_plan import NO_LONGER_RAISED, WON, skip_code
from retour.models import (
    Account,
    Decision,
    FeedbackItem,
    FeedbackSegment,
    Opportunity,
    PushItem,
    SalesforceUser,
    Theme,
    ThemeEvidence,
    ThemeProposal,
)
from tests.conftest_push import NOW, TODAY, build_world, sf_rows

from .browser import LiveServer
from .conftest import INSTANCE, PASSWORD, log_in, sf_id


def big_decision(session, n: int, *, reps: tuple[str, ...] = ("Zoé Zimmer", "Ana Alves", "Bruno Berg"),
                 state: str = "draft", item_state: str = "planned", per_account: int = 3) -> Decision:
    """A decision whose push writes ``n`` insights, spread over ``reps`` and their accounts, inserted in bulk
    (shaped as connector.push.prepare stores them)."""
    theme = Theme(label="Exports", status="critical")
    session.add(theme)
    session.flush()
    decision = Decision(theme_id=theme.id, status="planned", insight_en="Exports ship in Q3.", title_en="Exports",
                        state=state)
    session.add(decision)
    session.flush()
    rep_ids = [sf_id("005") for _ in reps]
    session.execute(insert(SalesforceUser), [{"id": i, "name": name} for i, name in zip(rep_ids, reps)])
    accounts = [{"id": sf_id("001"), "name": f"Account {a:05d}", "owner_id": rep_ids[a % len(reps)]}
                for a in range(max(1, n // per_account))]
    session.execute(insert(Account), accounts)
    rows = []
    for k in range(n):
        acc = accounts[k % len(accounts)]
        opp_id = sf_id("006")
        session.execute(insert(Opportunity), [{"id": opp_id, "name": f"Deal {k:05d}", "account_id": acc["id"],
                                               "owner_id": acc["owner_id"], "stage": "Closed Lost", "is_closed": True}])
        rows.append({"decision_id": decision.id, "kind": "insight", "sobject": "Retour_Insight__c",
                     "external_key": f"d{decision.id}-opp-{opp_id}", "target_id": opp_id, "owner_id": acc["owner_id"],
                     "state": item_state,
                     "payload": {"record": {"Name": "Exports", "Insight__c": "Exports ship in Q3."},
                                 "text": "Exports ship in Q3.", "record_name": f"Deal {k:05d}", "lang": "en"}})
    session.execute(insert(PushItem), rows)
    session.commit()
    return decision


def _rows(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr class="[a-z]+" data-n="(\d+)"', html)]


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_a_big_push_opens_on_its_summary_and_approve_then_200_records_a_page_grouped_by_rep(auth, session):
    decision = big_decision(session, 450)
    auth.login("product_owner")

    html = auth.client.get(f"/decisions/{decision.id}").text

    assert _rows(html) == list(range(1, 201))
    assert html.index('id="approve"') < html.index('id="preview-summary"') < html.index('data-n="1"')
    text = _text(html)
    assert "To write: 450 insights" in text and "3 reps reached" in text and "Records 1–200 of 450" in text
    reps = re.findall(r'<tr class="group rep"><th[^>]*>Rep: ([^<]+)</th>', html)
    assert reps == ["Ana Alves", "Bruno Berg"]  # by name: Ana's 150 records, then the first 50 of Bruno's
    accounts = re.findall(r'<tr class="group account"><th[^>]*>Account: ([^<]+)</th>', html)
    assert len(accounts) == len(set(accounts)) == 50 + 17  # each account once, its 3 records together
    assert accounts[:50] == sorted(accounts[:50])
    assert 'href="?page=2"' in html and 'href="?page=3"' in html
    last = auth.client.get(f"/decisions/{decision.id}?page=3").text
    assert _rows(last) == list(range(401, 451)) and "Rep: Zoé Zimmer" in last and 'href="?page=2"' in last


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "1.5", "١٢", "²", "9" * 400, "1e9", " "])
def test_a_page_that_is_not_a_page_number_answers_400_with_a_line_saying_what_to_give(auth, session, raw):
    decision = big_decision(session, 5)
    auth.login("viewer")
    response = auth.client.get(f"/decisions/{decision.id}", query_string={"page": raw})
    if raw.strip() == "":
        assert response.status_code == 200 and _rows(response.text) == [1, 2, 3, 4, 5]
        return
    assert response.status_code == 400
    assert "is not a page number: give a whole number from 1 to 1." in _text(response.text)


def test_a_page_past_the_last_shows_the_last(auth, session):
    decision = big_decision(session, 210)
    auth.login("viewer")
    response = auth.client.get(f"/decisions/{decision.id}?page=999999")
    assert response.status_code == 200 and _rows(response.text) == list(range(201, 211))


@pytest.fixture
def web_settings(make_settings):
    """Every day a sending day here, so the cap's arithmetic does not depend on the day the test runs."""
    return make_settings({"salesforce": {"instance_url": INSTANCE},
                          "web": {"secret_key": "test-secret-key-not-for-production"},
                          "push": {"per_rep_daily_cap": 5, "quiet_weekends": False}})


def test_after_a_push_each_record_says_what_happened_to_it_and_the_summary_counts_them(auth, session):
    """Ana: 2 records written today, 1 failed, 1 skipped, 4 approved: under a cap of 5, 3 more go today and 1 waits
    until tomorrow. The header no longer says there are records "to write"."""
    decision = big_decision(session, 8, reps=("Ana <b>Alves</b>",), state="approved", item_state="approved")
    items = session.query(PushItem).filter_by(decision_id=decision.id).order_by(PushItem.id).all()
    now = dt.datetime.now(dt.timezone.utc)
    for item in items[:2]:
        item.state, item.sent_at, item.sf_id = "sent", now, "a0B000000000001AAA"
    items[2].state, items[2].error_code = "failed", "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    items[2].error_message = "Insight <i>must</i> name a product"
    items[3].state, items[3].skip_reason = "skipped", WON
    session.commit()
    tomorrow = format_date(now.date() + dt.timedelta(days=1), "medium", locale="en")
    auth.login("product_owner")

    html = auth.client.get(f"/decisions/{decision.id}").text
    text = _text(html)

    assert "To write:" not in text and "Records of this push: 7 insights" in text
    assert "written: 2" in text and "waiting for the next push run: 3" in text and "failed: 1" in text
    assert "deferred by the rep's daily cap: 1" in text
    assert f"Deferred by each rep's daily cap of 5 records: 1. 1 record expected on {tomorrow}" in text
    shown = re.findall(r'data-n="\d+">.*?<span class="state ([a-z]+)">', html, re.S)
    assert sorted(shown) == ["deferred", "failed", "skipped", "waiting", "waiting", "waiting", "written", "written"]
    assert f"Ana &lt;b&gt;Alves&lt;/b&gt; already receives 5 records a day; expected on {tomorrow}." in html
    assert ("Salesforce said FIELD_CUSTOM_VALIDATION_EXCEPTION: Insight &lt;i&gt;must&lt;/i&gt; name a product"
            in html)
    assert "won deal: nothing to give back" in text and "<b>Alves</b>" not in html


def test_the_preview_speaks_french_to_a_french_reader(auth, session):
    decision = big_decision(session, 3, state="approved", item_state="approved")
    item = session.query(PushItem).filter_by(decision_id=decision.id).first()
    item.state, item.skip_reason = "skipped", WON
    session.commit()
    auth.login("viewer")
    html = auth.client.get(f"/decisions/{decision.id}", headers={"Accept-Language": "fr"}).text
    text = _text(html)
    assert "affaire gagnée : rien à rendre" in text and "1 commercial touché" in text
    assert "won deal" not in text and "Records" not in text
    # Each record by what it is in the reader's words, never Salesforce's API name.
    assert "information " in text and "Retour_Insight__c" not in text
    # A state and its detail with the French colon: a space before it.
    assert "ignoré</span> : affaire gagnée" in html and "</span>: affaire gagnée" not in html


def test_each_record_shows_its_quote_escaped_and_a_split_pending_holds_what_only_the_carved_part_raised(
        app, auth, session, users):
    """The review approved a push to a deal whose only quote was a stray a split proposal offered to carve out.

    Each row now shows the quote that put it there (escaped), and records raised only by such quotes wait until a
    person answers the proposal; declining it and saving the draft again plans them.
    """
    theme, decision, user = build_world(session, sf_rows(3, won_every=0))
    segments = session.scalars(select(FeedbackSegment).join(ThemeEvidence).where(ThemeEvidence.theme_id == theme.id)
                               .order_by(FeedbackSegment.id)).all()
    segments[0].text = "<script>alert(1)</script> dashboards can't be filtered by site"
    proposal = ThemeProposal(kind="split", theme_id=theme.id,
                             payload={"groups": [[s.id for s in segments[1:]], [segments[0].id]], "examples": []})
    session.add(proposal)
    session.flush()
    held_item = session.get(FeedbackItem, segments[0].item_id)
    push.prepare(session, decision, app.extensions["retour.settings"], today=TODAY)
    session.commit()

    items = session.scalars(select(PushItem).where(PushItem.decision_id == decision.id)).all()
    held = [i for i in items if skip_code(i.skip_reason) == "split_pending"]
    # The deal (its insight, and its task: it was lost) and its account, which raised nothing else.
    assert {(i.kind, i.target_id) for i in held} == {("insight", held_item.opportunity_id),
                                                     ("task", held_item.opportunity_id),
                                                     ("insight", held_item.account_id)}
    assert not any(i.state == "skipped" for i in items if i not in held)

    auth.login("product_owner")
    html = auth.client.get(f"/decisions/{decision.id}").text
    going = [i for i in items if i not in held]
    reps = len({i.owner_id for i in going})
    assert re.search(rf'id="approve">Approve the push: {len(going)} records to {reps} reps?</button>', html)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert _text(html).count("Raised:") == len(items)  # every row says which quote brought it
    assert "a split proposal of this theme would move every quote it raised" in _text(html)
    french = _text(auth.client.get(f"/decisions/{decision.id}", headers={"Accept-Language": "fr"}).text)
    assert "Évoqué :" in french and "une proposition de scission de ce thème" in french

    # Declining the proposal on the desk plans the held records again at once: no second save of the draft.
    assert auth.post(f"/proposals/{proposal.id}/decline", {"back": "board"}).status_code == 302
    session.expire_all()
    assert not [i for i in session.scalars(select(PushItem).where(PushItem.decision_id == decision.id))
                if i.state == "skipped"]
    all_items = session.scalars(select(PushItem).where(PushItem.decision_id == decision.id)).all()
    assert len(all_items) == len(items)
    assert (f"Approve the push: {len(items)} records to {len({i.owner_id for i in items})} reps"
            in auth.client.get(f"/decisions/{decision.id}").text)

    # Approved, then the quote moves away before the push run: its records are cancelled, and the row says why.
    push.approve(session, decision, user.id, now=NOW)
    session.get(ThemeEvidence, session.scalars(select(ThemeEvidence.id).where(
        ThemeEvidence.segment_id == segments[0].id)).one()).state = "rejected"
    gone = push.no_longer_raised(session, push.waiting(session, decision.id))
    for item in gone:
        item.state, item.skip_reason = "cancelled", NO_LONGER_RAISED
    session.commit()
    assert {i.target_id for i in gone} == {held_item.opportunity_id, held_item.account_id}
    html = auth.client.get(f"/decisions/{decision.id}").text
    said = "cancelled</span>: no longer raised: every quote that brought it left the theme before it was sent"
    assert html.count(said) == 3


def test_a_deal_whose_owner_left_shows_in_the_preview_under_the_accounts_owner_saying_why(app, auth, session, users):
    rows = sf_rows(2, won_every=0, inactive_users=(0,))
    rows["User"].append({"Id": sf_id("005"), "Name": "Zoé Zimmer", "IsActive": True})
    rows["Account"][0]["OwnerId"] = rows["User"][-1]["Id"]  # the deal's owner (Rep 0) left; Zoé has the account
    theme, decision, _user = build_world(session, rows)
    push.prepare(session, decision, app.extensions["retour.settings"], today=TODAY)
    session.commit()
    task = session.scalars(select(PushItem).where(PushItem.decision_id == decision.id, PushItem.kind == "task")).one()
    assert task.state == "planned" and task.owner_id == rows["User"][-1]["Id"]
    auth.login("viewer")
    text = _text(auth.client.get(f"/decisions/{decision.id}").text)
    assert "Rep: Zoé Zimmer" in text
    assert "Given to the account’s owner: the deal’s owner, Rep 0, is inactive in Salesforce." in text
    french = _text(auth.client.get(f"/decisions/{decision.id}", headers={"Accept-Language": "fr"}).text)
    assert ("Confié au propriétaire du compte : le propriétaire de l’affaire, Rep 0, est inactif dans Salesforce."
            in french)


# ------------------------------------------------------------------------------------------ in a real browser
@pytest.mark.browser
def test_in_chromium_approve_is_above_the_first_record_and_page_2_shows_records_201_to_400(browser, committed,
                                                                                          make_settings):
    from webapp import create_app
    from webapp.users import create_or_reset_user

    settings = make_settings({"salesforce": {"instance_url": INSTANCE},
                              "web": {"secret_key": "browser-test-secret-key-0123456789"}})
    with committed() as s:
        create_or_reset_user(s, "product_owner@example.com", PASSWORD, role="product_owner")
        s.commit()
        decision_id = big_decision(s, 450).id
    server = LiveServer(create_app(settings, session_factory=committed))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, server.url, "product_owner@example.com")
        page.goto(f"{server.url}/decisions/{decision_id}")
        approve = page.locator("#approve").bounding_box()
        first_row = page.locator("table.preview tr[data-n]").first.bounding_box()
        assert approve is not None and first_row is not None
        assert approve["y"] + approve["height"] <= first_row["y"]
        assert approve["y"] < 900  # on the first screen, without scrolling

        page.locator("nav.preview-pages").first.get_by_role("link", name="2", exact=True).click()
        page.wait_for_url(re.compile(r".*\?page=2$"))
        numbers = page.locator("table.preview tr[data-n]").evaluate_all("rows => rows.map(r => +r.dataset.n)")
        assert numbers == list(range(201, 401))
        assert page.locator("#preview-range").inner_text() == "Records 201–400 of 450"
    finally:
        context.close()
        server.stop()


def test_a_draft_says_how_many_records_the_cap_would_hold_back_and_until_when(auth, session):
    """60 records for one rep under a cap of 5 a day: 5 go the day it is approved, the other 55 over 11 days."""
    decision = big_decision(session, 60, reps=("Ana Alves",))
    today = dt.datetime.now(dt.timezone.utc).date()
    day = lambda n: format_date(today + dt.timedelta(days=n), "medium", locale="en")  # noqa: E731
    auth.login("product_owner")

    text = _text(auth.client.get(f"/decisions/{decision.id}").text)

    assert "Each rep receives at most 5 records a day: once approved, 55 would wait." in text
    assert f"5 records expected on {day(1)}" in text and f"5 records expected on {day(6)}" in text
    assert f"and 25 more records, the last on {day(11)}" in text and f"expected on {day(7)}" not in text
    assert f"goes on {day(0)} once approved." in text and f"goes on {day(11)} once approved." in text
    assert f"goes on {day(12)} once approved." not in text


def test_the_api_gives_a_big_push_as_the_page_does_its_summary_then_200_records_a_page(auth, session):
    """GET /api/v1/decisions/<id> of a 450-record push: the whole push summed up, then records 1-200 grouped by
    rep; ?page=3 the last 50; a page that is not a page number is a JSON 400, one past the last gives the last."""
    decision = big_decision(session, 450)
    auth.login("viewer")

    first = auth.client.get(f"/api/v1/decisions/{decision.id}").get_json()

    assert (first["page"], first["pages"], first["per_page"], first["total"]) == (1, 3, 200, 450)
    assert first["summary"]["per_object"] == {"Retour_Insight__c": 450} and first["summary"]["reps"] == 3
    assert [r["n"] for r in first["preview"]] == list(range(1, 201))
    assert [r["rep"] for r in first["preview"][:150]] == ["Ana Alves"] * 150  # by rep name, as the page groups
    assert first["preview"][0]["record_url"].startswith(f"{INSTANCE}/006")
    last = auth.client.get(f"/api/v1/decisions/{decision.id}?page=3").get_json()
    assert [r["n"] for r in last["preview"]] == list(range(401, 451)) and last["page"] == 3
    assert {r["rep"] for r in last["preview"]} == {"Zoé Zimmer"}
    past = auth.client.get(f"/api/v1/decisions/{decision.id}?page=999999").get_json()
    assert past["page"] == 3 and len(past["preview"]) == 50
    for raw in ("0", "²", "abc", "9" * 30):
        bad = auth.client.get(f"/api/v1/decisions/{decision.id}", query_string={"page": raw})
        assert bad.status_code == 400, raw
        message = bad.get_json()["error"]["message"]
        assert "not a page number" in message and "from 1 to 3" in message


def test_the_api_preview_and_its_page_are_in_the_openapi_document(auth):
    auth.login("viewer")
    doc = auth.client.get("/api/v1/openapi.json").get_json()
    get = doc["paths"]["/api/v1/decisions/{decision_id}"]["get"]
    assert {"name": "page", "in": "query"}.items() <= next(p for p in get["parameters"] if p["name"] == "page").items()
    answer = get["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert {"summary", "page", "pages", "total", "preview"} <= set(answer) and answer["preview"]["maxItems"] == 200
    assert "deferred" in doc["components"]["schemas"]["PreviewSummary"]["properties"]
