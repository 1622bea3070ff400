"""A name a person gives a theme is refused when another active theme already has it, in either language.

The review accepted a split proposal under the name of an existing theme ("Power BI connector") and got a second
theme of that name, which every list then offered twice. One rule, in jobs.curation, for every path that sets a
person's name: creating, renaming, naming in one language, splitting, answering a split or rename proposal.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jobs import curation
from jobs import proposals as jp
from retour.models import FeedbackSegment, Theme, ThemeEvidence, ThemeProposal
from tests.jobs.factories import MOBILE, split_proposal, three_themes


@pytest.fixture
def settings(make_settings):
    return make_settings({"themes": {"backend": "tfidf"}})


@pytest.fixture
def themes(session, settings):
    made = three_themes(session, settings)
    made["mobile"].label, made["mobile"].label_en, made["mobile"].label_fr = (
        "Power BI connector", "Power BI connector", "Connecteur Power BI")
    session.flush()
    return made


def _themes(session) -> int:
    return session.scalar(select(func.count()).select_from(Theme))


def _refused(call) -> curation.CurationError:
    with pytest.raises(curation.CurationError) as caught:
        call()
    assert caught.value.code == "name_taken"
    return caught.value


def test_accepting_a_split_under_the_name_of_an_active_theme_is_refused_and_creates_nothing(
        session, settings, themes):
    price, sso, mobile = themes["price"], themes["sso"], themes["mobile"]
    curation.merge(session, sso, price, user=None)  # a theme drawn too broad: the pass proposes to split it
    p = split_proposal(session, settings, price)
    before = _themes(session)
    refusal = _refused(lambda: jp.accept_proposal(session, p, user=None, label="  power bi CONNECTOR "))
    assert isinstance(refusal, jp.ProposalError) and refusal.params["theme_id"] == mobile.id
    # The refusal quotes the other theme's own name; the typing is kept beside it.
    assert refusal.params["name"] == mobile.label and refusal.params["typed"] == "power bi CONNECTOR"
    assert refusal.params["act"] == "split"
    assert str(refusal) == ("A theme is already called “%s” (#%d): pick another name, or move the quotes of this "
                            "part to that theme." % (mobile.label, mobile.id))
    session.flush()
    assert p.status == "open" and _themes(session) == before
    # Its French name is taken as much as its English one; another name goes through.
    _refused(lambda: jp.accept_proposal(session, p, user=None, label="Connecteur Power BI", lang="fr"))
    assert jp.accept_proposal(session, p, user=None, label="Single sign-on").label == "Single sign-on"


def test_a_split_by_hand_under_a_taken_name_is_refused(session, themes):
    price = themes["price"]
    ids = list(session.scalars(select(ThemeEvidence.id).where(ThemeEvidence.theme_id == price.id,
                                                               ThemeEvidence.state == "active").limit(2)))
    _refused(lambda: curation.split(session, price, ids, "Connecteur power BI", user=None))


def test_renaming_a_theme_to_another_active_themes_name_in_either_language_is_refused(session, themes):
    sso, mobile = themes["sso"], themes["mobile"]
    assert _refused(lambda: curation.rename(session, sso, "POWER BI CONNECTOR", None)).params["theme_id"] == mobile.id
    _refused(lambda: curation.rename(session, sso, "connecteur  Power BI", None, lang="fr"))
    _refused(lambda: curation.name_in(session, sso, "fr", "Connecteur Power BI", None))
    _refused(lambda: curation.name_in(session, sso, "en", "Power BI connector", None))
    assert sso.label != "POWER BI CONNECTOR" and sso.label_fr != "Connecteur Power BI"


def test_a_theme_may_take_its_own_names_and_the_names_of_merged_themes(session, themes):
    sso, price, mobile = themes["sso"], themes["price"], themes["mobile"]
    assert curation.rename(session, mobile, "power bi connector", None).label == "power bi connector"
    assert curation.name_in(session, mobile, "en", "Connecteur Power BI", None).label_en == "Connecteur Power BI"
    curation.merge(session, mobile, price, user=None)  # no longer active: its names are free
    assert curation.rename(session, sso, "Power BI connector", None).label == "Power BI connector"


def test_creating_a_theme_under_a_taken_name_is_refused_whether_from_sentences_or_quotes(session, themes):
    mobile = themes["mobile"]
    before = _themes(session)
    made = _refused(lambda: curation.create_theme(session, "Connecteur Power BI", None,
                                                  examples=["The Power BI connector times out"], lang="fr"))
    assert made.params == {"name": "Connecteur Power BI", "typed": "Connecteur Power BI", "theme_id": mobile.id,
                           "act": "create"}
    segment = session.scalar(select(FeedbackSegment.id).where(FeedbackSegment.text == MOBILE[0]))
    filed = _refused(lambda: curation.create_theme(session, "Power BI Connector", None, segment_ids=[segment]))
    assert filed.params["act"] == "file" and "file the quotes under that theme" in str(filed)
    assert _themes(session) == before


def test_accepting_a_rename_proposal_to_a_taken_name_is_refused(session, themes):
    sso = themes["sso"]
    p = ThemeProposal(kind="rename", theme_id=sso.id, payload={"label": "Power BI connector"})
    sso.proposed_label = "Power BI connector"
    session.add(p)
    session.flush()
    _refused(lambda: jp.accept_proposal(session, p, user=None))
    assert p.status == "open" and sso.label != "Power BI connector"


def test_a_name_typed_without_its_accents_is_the_same_name(session, themes):
    sso, mobile = themes["sso"], themes["mobile"]
    mobile.label_fr = "Sécurité des accès"
    session.flush()
    refusal = _refused(lambda: curation.rename(session, sso, "SECURITE des acces", user=None))
    assert refusal.params["name"] == "Sécurité des accès" and refusal.params["theme_id"] == mobile.id
    assert curation.name_owner(session, "securite  des accès") == mobile.id
    assert curation.name_owner(session, "Sécurité des données") is None
