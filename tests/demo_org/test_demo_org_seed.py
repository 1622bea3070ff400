"""The seeded CRM: deterministic, big enough, bilingual, and carrying themes with different sizes and trends."""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator

import pytest

from connector.demo_org import DemoOrg
from connector.demo_org.seed import ANCHOR, cache_path, checksum, ensure_seeded
from connector.demo_org.testing import SEEDED_DAY, Clock, salesforce, shared_cache_dir

pytestmark = pytest.mark.demo_org


def test_same_seed_gives_the_same_org_and_another_seed_a_different_one(tmp_path):
    first, _ = ensure_seeded(tmp_path / "a", 0.02, 7)
    second, _ = ensure_seeded(tmp_path / "b", 0.02, 7)
    other, _ = ensure_seeded(tmp_path / "c", 0.02, 8)
    assert checksum(first) == checksum(second)
    assert checksum(first) != checksum(other)


def test_seeded_file_is_cached_and_reused(tmp_path):
    path, seconds = ensure_seeded(tmp_path, 0.02, 7)
    assert seconds is not None and path == cache_path(tmp_path, 0.02, 7)
    again, seconds_again = ensure_seeded(tmp_path, 0.02, 7)
    assert again == path and seconds_again is None


def test_writes_to_an_org_never_touch_the_cached_seed(tmp_path, keys_dir):
    cache = tmp_path / "cache"
    with DemoOrg(tmp_path / "one", scale=0.02, cache_dir=cache, keys_dir=keys_dir) as org:
        before = checksum(cache_path(cache, 0.02, 7))
        org.create("Account", Name="Written by a test")
    assert checksum(cache_path(cache, 0.02, 7)) == before
    with DemoOrg(tmp_path / "two", scale=0.02, cache_dir=cache, keys_dir=keys_dir) as other:
        assert not [a for a in other.records("Account") if a["Name"] == "Written by a test"]


@pytest.fixture(scope="module")
def scale1(tmp_path_factory, keys_dir) -> Iterator[DemoOrg]:
    demo = DemoOrg(tmp_path_factory.mktemp("demo-org-scale1"), scale=1.0, cache_dir=shared_cache_dir(),
                   keys_dir=keys_dir, clock=Clock(SEEDED_DAY))
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


def _notes(org: DemoOrg) -> list[dict]:
    return [r for name in ("Task", "Event") for r in org.records(name) if r["Description"]]


def test_scale_one_meets_the_volume_minima_over_https(scale1):
    sf = salesforce(scale1)
    count = lambda q: sf.query(q)["totalSize"]  # noqa: E731
    assert count("SELECT COUNT() FROM Opportunity") >= 3000
    assert count("SELECT COUNT() FROM Account") >= 400
    assert count("SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Lost'") >= 800
    assert count("SELECT COUNT() FROM Opportunity WHERE StageName = 'Closed Lost' AND Loss_Reason__c != null") >= 800
    assert count("SELECT COUNT() FROM Case") >= 500
    assert count("SELECT COUNT() FROM ContentNote") >= 200
    assert len(_notes(scale1)) >= 10_000
    opps = scale1.records("Opportunity")
    assert len({o["OwnerId"] for o in opps}) >= 25
    users = {u["Id"]: u for u in scale1.records("User")}
    owners = [users[o["OwnerId"]] for o in opps]
    assert any(not u["IsActive"] for u in owners)
    assert len({u["Department"] for u in owners}) >= 5
    created = sorted(o["CreatedDate"] for o in opps)
    assert created[0] < "2025-06-01" and created[-1] >= "2026-10-01"  # 18 months ending at the anchor
    assert all(5_000 <= o["Amount"] <= 400_000 for o in opps)
    lost = [o for o in opps if o["StageName"] == "Closed Lost"]
    assert sum(1 for o in lost if o["Loss_Reason_Detail__c"]) >= 0.8 * len(lost)
    assert {"Pays Basque", "DACH", "UK", "France-Nord"} <= {o["Region__c"] for o in opps}
    assert any(o["Speaks_Basque__c"] for o in opps)
    assert scale1.records("Retour_Insight__c") == []


_FR = re.compile(r"\b(le|la|les|des|est|pas|pour|avec|ils|une|du|sur|leur|nous|sans|trop|au|à)\b", re.I)
_EN = re.compile(r"\b(the|and|to|is|for|with|they|no|of|their|too|on|at|without|we|can't|doesn't)\b", re.I)


def _lang(text: str) -> str:
    fr, en = len(_FR.findall(text)), len(_EN.findall(text))
    if fr and en and min(fr, en) >= 2:
        return "mixed"
    return "fr" if fr > en else ("en" if en > fr else "unknown")


def test_notes_are_about_half_french_half_english_with_some_mixed(scale1):
    langs = collections.Counter(_lang(n["Description"]) for n in _notes(scale1))
    decided = langs["fr"] + langs["en"]
    assert 0.38 <= langs["fr"] / decided <= 0.62
    assert langs["mixed"] >= 50


def _share(notes: list[dict], pattern: re.Pattern) -> float:
    return sum(1 for n in notes if pattern.search(n["Description"])) / max(len(notes), 1)


def _by_period(org: DemoOrg):
    notes = _notes(org)
    early = [n for n in notes if n["ActivityDate"] < "2025-11-01"]  # first six months
    late = [n for n in notes if n["ActivityDate"] >= "2026-05-01"]   # last six months
    return early, late


def test_growing_theme_is_more_frequent_lately_and_fading_theme_less(scale1):
    early, late = _by_period(scale1)
    offline = re.compile(r"offline|hors (ligne|connexion)|zone blanche|sans r[ée]seau|no signal|out of coverage", re.I)
    sso = re.compile(r"\bSSO\b|SAML|Okta|Azure AD|Entra|SCIM", re.I)
    assert _share(late, offline) > 2 * _share(early, offline)
    assert _share(early, sso) > 2 * _share(late, sso)


def test_regional_and_basque_themes_are_concentrated(scale1):
    accounts = {a["Id"]: a for a in scale1.records("Account")}
    notes = [n for n in _notes(scale1) if n["AccountId"] in accounts]
    basque = re.compile(r"basque|euskara", re.I)
    speaks = [n for n in notes if accounts[n["AccountId"]]["Speaks_Basque__c"]]
    others = [n for n in notes if not accounts[n["AccountId"]]["Speaks_Basque__c"]]
    assert _share(speaks, basque) > 0.02 and _share(speaks, basque) > 10 * _share(others, basque)
    german = re.compile(r"Germany|Allemagne|German|allemand|C5|Frankfurt|Betriebsrat|works council", re.I)
    dach = [n for n in notes if accounts[n["AccountId"]]["Region__c"] == "DACH"]
    rest = [n for n in notes if accounts[n["AccountId"]]["Region__c"] != "DACH"]
    assert _share(dach, german) > 5 * _share(rest, german)


def test_themes_are_written_as_many_paraphrases_not_one_template(scale1):
    pricing = re.compile(r"si[èe]ge|seat|par (utilisateur|t[êe]te)|per (user|head)|licen", re.I)
    texts = [o["Loss_Reason_Detail__c"] for o in scale1.records("Opportunity")
             if o["Loss_Reason_Detail__c"] and pricing.search(o["Loss_Reason_Detail__c"])]
    assert len(texts) >= 80
    assert len(set(texts)) >= 0.9 * len(texts)
    openings = collections.Counter(t[:25].lower() for t in texts)
    assert openings.most_common(1)[0][1] <= 0.1 * len(texts)


def test_loss_reason_picklist_sometimes_disagrees_with_the_free_text(scale1):
    sso = re.compile(r"\bSSO\b|SAML|Okta|Azure AD|Entra|SCIM", re.I)
    reasons = collections.Counter(o["Loss_Reason__c"] for o in scale1.records("Opportunity")
                                  if o["Loss_Reason_Detail__c"] and sso.search(o["Loss_Reason_Detail__c"]))
    top, top_n = reasons.most_common(1)[0]
    assert top == "Security/Compliance"
    assert 0 < sum(reasons.values()) - top_n < top_n


def test_plenty_of_notes_are_pure_logistics(scale1):
    themes = re.compile(r"prix|price|seat|si[èe]ge|SSO|SAML|offline|hors ligne|SAP|ERP|report|export|basque|"
                        r"support|onboarding|API|webhook|RGAA|WCAG|Brumeo|multi|interface|ergonom|UX|clics|clicks|"
                        r"German|Allemagne|h[ée]bergement|hosting", re.I)
    notes = _notes(scale1)
    assert sum(1 for n in notes if not themes.search(n["Description"])) >= 0.4 * len(notes)


def test_cached_seed_is_anchored_on_a_fixed_date_and_an_org_on_that_day_serves_it_unmoved(scale1):
    """The cache is the same file whatever the day (checksums, sharing); an org whose clock says the anchor's
    day serves its dates as seeded (test_demo_org_history covers other days)."""
    latest = max(o["SystemModstamp"] for o in scale1.records("Opportunity"))
    assert ANCHOR.date() == SEEDED_DAY and latest < ANCHOR.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def test_ground_truth_labels_themes_of_different_sizes(scale1):
    truth = scale1.truth()
    sizes = collections.Counter(truth.values())
    assert len(sizes) >= 12
    assert max(sizes.values()) > 3 * min(sizes.values())  # themes of different sizes
    offline = re.compile(r"offline|hors (ligne|connexion)|zone blanche|r[ée]seau|network|signal|coverage|"
                         r"cache|d[ée]connect|4G", re.I)
    tasks = {t["Id"]: t["Description"] for t in scale1.records("Task")}
    labelled = [tasks[i] for i, theme in truth.items() if theme == "offline_mobile" and i in tasks]
    assert labelled and sum(1 for text in labelled if offline.search(text)) >= 0.6 * len(labelled)


def test_building_a_seed_drops_seeds_of_older_formats(tmp_path):
    stale = tmp_path / "org-1-7-v0.sqlite"
    stale.write_bytes(b"old")
    ensure_seeded(tmp_path, 0.02, 7)
    assert not stale.exists()
