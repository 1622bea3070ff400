"""The theme board: order, figures, filters computed on the subset, bookmarkable URLs, no N+1."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from webapp import queries


def _labels(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/themes/\d+(?:\?[^"]*)?">([^<]+)</a>', html)


def test_board_lists_active_themes_by_score_recent_feedback_first(auth, factory, session):
    factory.theme("Old feedback", items=4, days_ago=200)  # more items, but long ago: half as much every 45 days
    factory.theme("Fresh feedback", items=3, days_ago=1)
    factory.theme("Older feedback", items=3, days_ago=60)
    factory.theme("Gone", items=9, days_ago=1, status="merged")
    session.commit()
    auth.login("viewer")
    html = auth.client.get("/").text
    assert _labels(html) == ["Fresh feedback", "Older feedback", "Old feedback"]
    assert "<svg class=\"spark\"" in html and "<polyline" in html
    assert "How these figures are counted" in html and "half as much every 45 days" in html


def test_status_filter_keeps_only_that_status_as_judged_now(auth, factory, session):
    factory.theme("Critical one", items=5, amount=30_000)  # 5 accounts, 150k lost: the org's floors
    factory.theme("Emerging one", items=2)
    session.commit()
    auth.login("viewer")
    assert _labels(auth.client.get("/?status=emerging").text) == ["Emerging one"]
    assert _labels(auth.client.get("/?status=critical").text) == ["Critical one"]


def test_filtered_figures_count_only_matching_feedback(auth, factory, session):
    emea = factory.rep("Ana", team="EMEA Enterprise")
    amer = factory.rep("Bob", team="AMER Mid-Market")
    factory.theme("Pricing", items=3, region="EMEA", amount=1000, rep=emea)
    other = factory.theme("Pricing US", items=2, region="AMER", amount=5000, rep=amer)
    session.commit()
    auth.login("viewer")
    data = auth.client.get("/api/v1/themes?region=AMER").get_json()
    assert data["filtered"] is True
    assert [(t["label"], t["accounts"], t["items"], t["revenue_at_stake"]) for t in data["themes"]] == [
        ("Pricing US", 2, 2, 10000.0)]
    assert [t["label"] for t in auth.client.get("/api/v1/themes?team=EMEA+Enterprise").get_json()["themes"]] == ["Pricing"]
    assert other.theme.id == data["themes"][0]["id"]


def test_won_deals_add_no_revenue_at_stake(auth, factory, session):
    factory.theme("Won anyway", items=2, amount=7000, won=True, region="NORDICS")
    session.commit()
    auth.login("viewer")
    row = auth.client.get("/api/v1/themes?region=NORDICS").get_json()["themes"][0]
    assert row["items"] == 2 and row["revenue_at_stake"] == 0


def test_source_language_window_and_mapped_field_filters(auth, factory, session):
    factory.theme("French cases", channel="case", lang="fr", days_ago=10)
    factory.theme("Old loss reasons", channel="loss_reason", lang="en", days_ago=200)
    factory.theme("Basque speakers", basque=True)
    session.commit()
    auth.login("viewer")

    def labels(qs: str) -> set[str]:
        return {t["label"] for t in auth.client.get(f"/api/v1/themes?{qs}").get_json()["themes"]}

    assert labels("source=case") == {"French cases"}
    assert labels("lang=fr") == {"French cases"}
    assert "Old loss reasons" not in labels("window=90")
    assert labels("attr.speaks_basque=true") == {"Basque speakers"}
    assert "Basque speakers" not in labels("attr.speaks_basque=false")


def test_free_text_search_over_evidence_treats_wildcards_literally(auth, factory, session):
    factory.theme("Exports", texts=["CSV export times out after 100% of rows"])
    factory.theme("Logins", texts=["SSO login loops"])
    session.commit()
    auth.login("viewer")
    assert _labels(auth.client.get("/?q=export+times").text) == ["Exports"]
    assert _labels(auth.client.get("/?q=100%25").text) == ["Exports"]
    assert _labels(auth.client.get("/?q=%25").text) == ["Exports"]  # "%" is a character, not a wildcard
    assert _labels(auth.client.get("/?q=_").text) == []


def test_filters_are_bookmarkable_and_shown_as_selected(auth, factory, session):
    factory.theme("Bookmarked", region="EMEA", channel="note")
    session.commit()
    auth.login("viewer")
    html = auth.client.get("/?region=EMEA&source=note&window=90&q=hurts").text
    assert _labels(html) == ["Bookmarked"]
    assert '<option value="EMEA" selected>' in html and '<option value="note" selected>' in html
    assert 'value="hurts"' in html and "Last 90 days, the filtered feedback only" in html


def test_unknown_filter_value_is_a_clear_400(auth):
    auth.login("viewer")
    resp = auth.client.get("/?window=7")
    assert resp.status_code == 400 and "window=&#39;7&#39;" in resp.text and "30, 90, 180, 365" in resp.text
    assert auth.client.get("/api/v1/themes?source=email").status_code == 400


def test_query_string_round_trips_through_filters(web_settings):
    args = {"status": "critical", "window": "90", "source": "note", "lang": "fr", "team": "EMEA",
            "region": "EMEA", "segment": "SMB", "attr.speaks_basque": "true", "q": "lent", "page": "2"}
    f = queries.BoardFilters.from_args(args, web_settings)
    assert f.params() == args


def test_board_query_count_is_constant_as_themes_grow(auth, factory, session, count_queries):
    for i in range(10):
        factory.theme(f"Theme {i:02d}", items=2, days_ago=i)
    session.commit()
    auth.login("viewer")
    for qs in ("", "?region=EMEA&q=hurts"):
        auth.client.get("/" + qs)  # warm-up: mapper configuration, first-use queries
        with count_queries() as small:
            assert auth.client.get("/" + qs).status_code == 200
        for i in range(10, 50):
            factory.theme(f"Theme {i:02d}-{qs}", items=3, days_ago=i)
        session.commit()
        with count_queries() as large:
            html = auth.client.get("/" + qs).text
        assert len(_labels(html)) >= 50 if not qs else len(_labels(html)) > 10
        assert len(large) == len(small), f"board {qs!r}: {len(small)} queries for 10 themes, {len(large)} for 50"
        # Without the figure cache (RETOUR_CACHE_SECONDS=0): two statements measure a scope, two the org's volume,
        # the judge reads statuses and decisions, one statement fingerprints every theme's evidence, one reads what the
        # sync kept of Opportunity's describe (the mapped fields' labels and the picklist values' together).
        assert len(small) <= 21


def test_aggregate_cache_expires_and_follows_theme_versions():
    from webapp.cache import TTLCache
    now = [0.0]
    calls = []
    cache = TTLCache(60, max_entries=2, clock=lambda: now[0])

    def compute(v):
        return lambda: calls.append(v) or v

    assert cache.get_or_compute(("k", 1), compute("a")) == "a"
    assert cache.get_or_compute(("k", 1), compute("b")) == "a"  # cached
    assert cache.get_or_compute(("k", 2), compute("c")) == "c"  # a new theme version is a new key
    now[0] = 61
    assert cache.get_or_compute(("k", 1), compute("d")) == "d"  # expired
    cache.get_or_compute(("x",), compute("e"))
    assert len(cache._data) == 2  # bounded
    assert cache.get_or_compute(("k", 1), compute("f"), ttl=0) == "f"  # disabled
    assert calls == ["a", "c", "d", "e", "f"]


def test_cached_board_shows_a_curated_theme_at_once(auth, factory, session, app):
    app.config["RETOUR_CACHE_SECONDS"] = 60
    a = factory.theme("Cached A", items=2, days_ago=1)
    b = factory.theme("Cached B", items=2, days_ago=30)
    session.commit()
    auth.login("product_owner")
    assert _labels(auth.client.get("/").text) == ["Cached A", "Cached B"]
    assert _labels(auth.client.get("/?region=EMEA").text) == ["Cached A", "Cached B"]
    assert auth.client.get(f"/themes/{a.theme.id}").text.count('class="quote') == 2
    auth.post(f"/themes/{b.theme.id}/merge", {"target_id": str(a.theme.id)})
    auth.post(f"/themes/{a.theme.id}/rename", {"label": "Cached A and B"})
    assert _labels(auth.client.get("/").text) == ["Cached A and B"]
    assert _labels(auth.client.get("/?region=EMEA").text) == ["Cached A and B"]
    detail = auth.client.get(f"/themes/{a.theme.id}").text
    assert detail.count('class="quote') == 4 and 'class="quote pinned"' not in detail
    auth.post(f"/themes/{a.theme.id}/evidence/{a.evidence[0].id}/pin", {"pinned": "true"})
    assert 'class="quote pinned"' in auth.client.get(f"/themes/{a.theme.id}").text


def test_filtered_board_total_counts_every_matching_theme_on_any_page(auth, factory, session):
    for i in range(queries.PAGE_SIZE + 3):
        factory.theme(f"Filtered {i:02d}", items=1, region="EMEA" if i % 2 == 0 else "AMER", days_ago=i)
    session.commit()
    auth.login("viewer")
    matching = (queries.PAGE_SIZE + 3 + 1) // 2  # the even ones
    first = auth.client.get("/?region=EMEA").text
    assert f'id="board-summary">{matching} themes' in first and len(_labels(first)) == matching
    past_the_end = auth.client.get("/?region=EMEA&page=3", follow_redirects=True).text  # the last page instead
    assert f'id="board-summary">{matching} themes' in past_the_end and _labels(past_the_end) == _labels(first)


def test_a_page_past_the_last_leads_to_the_last_page_not_to_no_theme_matches(auth, factory, session):
    """A bookmark of page 3 after merges left two pages said "No theme matches these filters." under "54 themes"."""
    for i in range(queries.PAGE_SIZE + 4):
        factory.theme(f"Paged {i:02d}", items=1, days_ago=i, region="EMEA")
    session.commit()
    auth.login("viewer")
    past = auth.client.get("/?region=EMEA&window=365&page=7")
    assert past.status_code == 302 and past.headers["Location"] == "/?window=365&region=EMEA&page=2"
    last = auth.client.get(past.headers["Location"]).text
    assert len(_labels(last)) == 4 and "Page 2 of 2" in last and "No theme matches these filters." not in last
    nothing = auth.client.get("/?region=AMER&page=3")  # no theme at all: page 1 says so
    assert nothing.headers["Location"] == "/?region=AMER"
    assert "No theme matches these filters." in auth.client.get(nothing.headers["Location"]).text
    api = auth.client.get("/api/v1/themes?page=7").get_json()  # a script paging until empty still ends
    assert (api["page"], api["pages"], api["themes"]) == (7, 2, [])


def test_a_mapped_field_is_called_by_its_salesforce_label_or_the_configured_one(auth, factory, session, app,
                                                                                 make_settings, session_factory):
    """Not a name made up from the API name ("Speaks basque"): the org's label, kept by the sync, else the API name."""
    from retour.models import SyncState
    from webapp import create_app
    from .conftest import Auth

    factory.theme("Basque speakers", basque=True)
    session.commit()
    auth.login("viewer")
    label = re.compile(r'<label for="f-attr-speaks_basque">([^<]*)</label>')
    assert label.search(auth.client.get("/").text).group(1) == "Speaks_Basque__c"
    session.add(SyncState(object_name="Opportunity", details={"labels": {"Speaks_Basque__c": "Parle basque"}}))
    session.commit()
    assert label.search(auth.client.get("/").text).group(1) == "Parle basque"
    configured = create_app(make_settings({
        "web": {"secret_key": "test-secret-key-not-for-production"},
        "mapping": {"extra": {"speaks_basque": {"field": "Speaks_Basque__c", "kind": "boolean",
                                                "label": "Euskara speakers"}}}}), session_factory=session_factory)
    configured.config.update(TESTING=True, RETOUR_CACHE_SECONDS=0)
    other = Auth(configured.test_client())
    other.login("viewer")
    assert label.search(other.client.get("/").text).group(1) == "Euskara speakers"


def test_a_mapped_fields_label_is_the_readers_language_first_then_the_orgs_then_its_api_name(session):
    """Configured in the reader's language, Salesforce's translation into it, the configured label, the org's label,
    the API name: a French reader of an org that wrote only an English label still reads Salesforce's French one."""
    from retour.config import FieldMap
    from retour.models import SyncState
    from webapp.templating import field_labels

    def labels(lang: str, **configured: str) -> list[str]:
        fields = [FieldMap("speaks_basque", "Speaks_Basque__c", "boolean", **configured),
                  FieldMap("tier", "Tier__c", "picklist"), FieldMap("unknown", "Unknown__c")]
        return list(field_labels(session, fields, lang).values())

    assert labels("fr") == ["Speaks_Basque__c", "Tier__c", "Unknown__c"]  # nothing synced yet
    session.add(SyncState(object_name="Opportunity", details={
        "labels": {"Speaks_Basque__c": "Speaks Basque", "Tier__c": "Tier"},
        "labels_by_language": {"fr": {"Speaks_Basque__c": "Parle basque"}}}))
    session.flush()
    assert labels("fr") == ["Parle basque", "Tier", "Unknown__c"]
    assert labels("en") == ["Speaks Basque", "Tier", "Unknown__c"]
    assert labels("fr", label="Basque speaker") == ["Parle basque", "Tier", "Unknown__c"]
    assert labels("en", label="Basque speaker")[0] == "Basque speaker"
    assert labels("fr", label_fr="Bascophone")[0] == "Bascophone"
    assert labels("en", label_fr="Bascophone")[0] == "Speaks Basque"


@pytest.mark.demo_org
def test_synced_from_the_demo_org_the_french_board_says_parle_basque_and_the_english_board_speaks_basque(
        committed, tmp_path, database_url):
    """End to end: the sync reads the field's French label from the org's describe (Accept-Language), the board
    shows each reader theirs, with the page caches on (the labels are cached per language)."""
    from connector.client import connect
    from connector.demo_org.testing import seeded_org
    from connector.sync import run_sync
    from retour.config import load_settings
    from webapp import create_app
    from webapp.users import create_or_reset_user
    from .conftest import PASSWORD, Auth

    with seeded_org(tmp_path / "org", scale=0.02) as org:
        settings = load_settings({"data_dir": str(tmp_path / "data"), "database_url": database_url,
                                  "web": {"secret_key": "test-secret-key-not-for-production"}}, environ=org.env())
        report = run_sync(committed, settings, connect(settings), objects=["User", "Account", "Opportunity"])
    assert report["status"] == "ok", report["error"]
    with committed() as s:
        create_or_reset_user(s, "viewer@example.com", PASSWORD, role="viewer")
        s.commit()
    app = create_app(settings, session_factory=committed)
    app.config["TESTING"] = True
    auth = Auth(app.test_client())
    auth.login("viewer")
    label = re.compile(r'<label for="f-attr-speaks_basque">([^<]*)</label>')
    assert label.search(auth.client.get("/", headers={"Accept-Language": "en"}).text).group(1) == "Speaks Basque"
    french = auth.client.get("/", headers={"Accept-Language": "fr"}).text
    assert '<html lang="fr">' in french and label.search(french).group(1) == "Parle basque"


def test_money_reads_with_its_currency_in_the_readers_language(auth, factory, session, users):
    from retour.models import AppUser
    factory.theme("Exports", items=2, amount=8_600_000)
    factory.theme("Pounds", items=1, amount=30_000, currency="GBP")
    session.commit()
    auth.login("viewer")
    english = auth.client.get("/").text
    assert "€17.2M" in english and "EUR" not in re.sub(r"<[^>]+>", "", english).replace("EUR:", "")
    session.get(AppUser, users["viewer"]).locale = "fr"
    session.commit()
    french = auth.client.get("/").text
    assert "17,2\u00a0M\u00a0€" in french and "17.2" not in french


def test_the_suggestions_badge_opens_the_theme_in_the_boards_period_and_filters(auth, factory, session):
    """The badge led to the theme's figures for all feedback of all time, beside a row counting the filtered ones."""
    made = factory.theme("Slow sync", items=2, region="EMEA", days_ago=2)
    factory.suggest(made.theme, "Sync is so slow")
    session.commit()
    auth.login("viewer")
    html = auth.client.get("/?window=30&region=EMEA").text
    assert f'<a class="badge" href="/themes/{made.theme.id}?window=30&amp;region=EMEA#suggestions">1 suggestion</a>' \
        in html
    assert f'<a href="/themes/{made.theme.id}?window=30&amp;region=EMEA">Slow sync</a>' in html


def test_a_picklist_value_reads_in_french_else_in_english_else_as_itself(session):
    """An org whose values are codes ("PRICE") has English labels too: a French reader falls back to them."""
    from retour.models import SyncState
    from webapp.templating import picklist_labels

    assert picklist_labels(session, "fr") == {}  # nothing synced yet: every value reads as itself
    session.add(SyncState(object_name="Opportunity", details={"values_by_language": {
        "en": {"Loss_Reason__c": {"PRICE": "Price", "GAP": "Missing Feature"}},
        "fr": {"Loss_Reason__c": {"PRICE": "Prix"}, "StageName": {"Closed Lost": "Fermée/Perdue"}}}}))
    session.flush()
    assert picklist_labels(session, "fr") == {"Loss_Reason__c": {"PRICE": "Prix", "GAP": "Missing Feature"},
                                              "StageName": {"Closed Lost": "Fermée/Perdue"}}
    assert picklist_labels(session, "en") == {"Loss_Reason__c": {"PRICE": "Price", "GAP": "Missing Feature"}}


def test_the_region_filter_offers_its_values_by_their_french_labels_and_filters_by_the_value(
        make_settings, session_factory, factory, session, users):
    from retour.models import SyncState
    from webapp import create_app
    from .conftest import Auth

    app = create_app(make_settings({"web": {"secret_key": "test-secret-key-not-for-production"},
                                    "mapping": {"region": "Region__c"}}), session_factory=session_factory)
    app.config.update(TESTING=True)
    factory.theme("Lent", items=1, region="Pays Basque")
    session.add(SyncState(object_name="Opportunity", details={"values_by_language": {
        "fr": {"Region__c": {"Pays Basque": "Pays basque (Euskadi)"}}}}))
    session.commit()
    auth = Auth(app.test_client())
    auth.login("viewer")
    option = re.compile(r'<option value="Pays Basque" *>([^<]*)</option>')
    french = auth.client.get("/", headers={"Accept-Language": "fr"}).text
    assert option.search(french).group(1) == "Pays basque (Euskadi)"
    assert option.search(auth.client.get("/", headers={"Accept-Language": "en"}).text).group(1) == "Pays Basque"
