"""Undoing a merge on a real database: what the merge moved goes back, what people and passes did since stays."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from jobs import curation
from jobs import proposals as jp
from jobs.themes import propose_merges
from retour.models import CurationEvent, FeedbackSegment, ThemeEvidence, ThemeProposal
from tests.jobs.factories import MOBILE, PRICE, SSO, item, texts_of, theme_of, three_themes


@pytest.fixture
def settings(make_settings):
    return make_settings({"themes": {"backend": "tfidf"}})


@pytest.fixture
def themes(session, settings):
    return three_themes(session, settings)


def _row(session, text) -> ThemeEvidence:
    return session.scalar(select(ThemeEvidence).join(FeedbackSegment).where(FeedbackSegment.text == text,
                                                                            ThemeEvidence.state == "active"))


def _members(session, theme) -> int:
    return session.scalar(select(func.count()).select_from(ThemeEvidence).where(
        ThemeEvidence.theme_id == theme.id, ThemeEvidence.state == "active"))


def test_undoing_a_merge_gives_back_the_evidence_status_threshold_and_members(session, themes):
    sso, price = themes["sso"], themes["price"]
    sso.status, sso.reason = "critical", "12 accounts in 90 days"
    before = (texts_of(session, sso), texts_of(session, price), price.threshold_offset)
    curation.merge(session, sso, price, user=None)
    assert texts_of(session, price) == before[0] | before[1] and price.threshold_offset < before[2]

    assert curation.unmerge(session, sso, user=None) is sso
    assert (texts_of(session, sso), texts_of(session, price), price.threshold_offset) == \
        (before[0], before[1], pytest.approx(before[2]))
    assert sso.status == "critical" and sso.merged_into_id is None and sso.reason == "12 accounts in 90 days"
    assert sso.metrics["members"] == _members(session, sso) == len(SSO)
    assert price.metrics["members"] == _members(session, price) == len(PRICE)
    assert sso.centroid and price.centroid
    assert not session.scalar(select(func.count()).select_from(ThemeEvidence).where(
        ThemeEvidence.merged_from_id.is_not(None)))
    logged = session.execute(select(CurationEvent.theme_id, CurationEvent.details).where(
        CurationEvent.action == "unmerge")).all()
    assert {t for t, _d in logged} == {sso.id, price.id}
    assert all(d["moved"] == len(SSO) for _t, d in logged)


def test_a_quote_a_person_moved_or_pinned_after_the_merge_stays_where_they_put_it(session, themes):
    sso, price, mobile = themes["sso"], themes["price"], themes["mobile"]
    curation.merge(session, sso, price, user=None)
    curation.move_evidence(session, _row(session, SSO[0]), mobile, user=None)
    curation.pin_evidence(session, _row(session, SSO[1]), True, user=None)  # "this one is typical of Pricing"
    curation.unmerge(session, sso, user=None)
    assert theme_of(session, SSO[0]).id == mobile.id
    assert theme_of(session, SSO[1]).id == price.id
    assert texts_of(session, sso) == set(SSO[2:])


def test_evidence_a_later_pass_gave_the_merged_theme_stays_with_it(session, themes):
    sso, price = themes["sso"], themes["price"]
    curation.merge(session, sso, price, user=None)
    later = item("Price per seat too high, the competitor is much cheaper", days_ago=0.5)
    session.add(later)
    session.flush()
    segment = FeedbackSegment(item_id=later.id, position=0, text=later.text, lang="en")
    session.add(segment)
    session.flush()
    # What a pass files: an automatic row, no merge behind it.
    session.add(ThemeEvidence(theme_id=price.id, segment_id=segment.id, similarity=0.6, state="active", origin="auto"))
    session.flush()
    curation.unmerge(session, sso, user=None)
    assert theme_of(session, later.text).id == price.id
    assert texts_of(session, sso) == set(SSO) and price.metrics["members"] == len(PRICE) + 1


def test_a_quote_both_themes_held_is_under_both_again(session, themes):
    sso, price = themes["sso"], themes["price"]
    shared = _row(session, SSO[2])
    shared.pinned = True
    session.add(ThemeEvidence(theme_id=price.id, segment_id=shared.segment_id, similarity=0.4, state="suggested"))
    session.flush()
    curation.merge(session, sso, price, user=None)  # a segment stands once per theme: the merge drops sso's row
    assert session.scalar(select(func.count()).select_from(ThemeEvidence).where(
        ThemeEvidence.segment_id == shared.segment_id)) == 1
    curation.unmerge(session, sso, user=None)
    rows = {r.theme_id: r for r in session.scalars(select(ThemeEvidence).where(
        ThemeEvidence.segment_id == shared.segment_id))}
    assert set(rows) == {sso.id, price.id}
    assert (rows[sso.id].state, rows[sso.id].pinned) == ("active", True) and rows[price.id].state == "suggested"
    assert texts_of(session, sso) == set(SSO)


def test_an_undone_merge_is_never_proposed_again(session, themes):
    sso, price = themes["sso"], themes["price"]
    curation.merge(session, sso, price, user=None)
    curation.unmerge(session, sso, user=None)
    assert propose_merges(session, -1.0) >= 1  # every other pair is close at this threshold...
    pairs = [{p.theme_id, p.other_theme_id} for p in session.scalars(select(ThemeProposal).where(
        ThemeProposal.kind == "merge", ThemeProposal.status == "open"))]
    assert {sso.id, price.id} not in pairs  # ...but the pair a person took apart is not


def test_undoing_an_accepted_merge_proposal_keeps_the_pair_apart(session, themes):
    sso, price = themes["sso"], themes["price"]
    p = ThemeProposal(kind="merge", theme_id=sso.id, other_theme_id=price.id, payload={})
    session.add(p)
    session.flush()
    jp.accept_proposal(session, p, user=None, into=price.id)
    curation.unmerge(session, sso, user=None)
    assert texts_of(session, sso) == set(SSO)
    propose_merges(session, -1.0)
    assert session.scalar(select(func.count()).select_from(ThemeProposal).where(
        ThemeProposal.kind == "merge", ThemeProposal.theme_id.in_([sso.id, price.id]),
        ThemeProposal.other_theme_id.in_([sso.id, price.id]))) == 1


def test_merges_in_a_chain_are_undone_last_first(session, themes):
    sso, price, mobile = themes["sso"], themes["price"], themes["mobile"]
    curation.merge(session, sso, price, user=None)
    curation.merge(session, price, mobile, user=None)
    with pytest.raises(curation.CurationError) as refused:
        curation.unmerge(session, sso, user=None)
    assert refused.value.code == "merge_target_inactive"
    assert refused.value.params == {"theme_id": sso.id, "target_id": price.id, "status": "merged", "into_id": mobile.id}
    assert "undo the merge of theme" in str(refused.value)
    curation.unmerge(session, price, user=None)
    assert texts_of(session, price) == set(SSO) | set(PRICE) and texts_of(session, mobile) == set(MOBILE)
    curation.unmerge(session, sso, user=None)
    assert (texts_of(session, sso), texts_of(session, price)) == (set(SSO), set(PRICE))
    assert price.threshold_offset == pytest.approx(0.0) and mobile.threshold_offset == pytest.approx(0.0)


def test_only_a_merged_theme_with_a_recorded_merge_into_an_active_theme_can_be_unmerged(session, themes):
    sso, price = themes["sso"], themes["price"]
    with pytest.raises(curation.CurationError, match="not merged") as refused:
        curation.unmerge(session, sso, user=None)
    assert refused.value.code == "not_merged"

    curation.merge(session, sso, price, user=None)
    price.status = "dismissed"  # not found again by a rebuild since
    with pytest.raises(curation.CurationError, match="dismissed") as refused:
        curation.unmerge(session, sso, user=None)
    assert refused.value.code == "merge_target_inactive" and refused.value.params["into_id"] is None
    assert sso.status == "merged" and texts_of(session, sso) == set()

    event = session.scalar(select(CurationEvent).where(CurationEvent.action == "merge"))
    event.details = {k: v for k, v in event.details.items() if k != "undo"}  # a merge made before undo existed
    price.status = "emerging"
    with pytest.raises(curation.CurationError) as refused:
        curation.unmerge(session, sso, user=None)
    assert refused.value.code == "merge_not_recorded"


def test_the_threshold_step_given_back_is_the_one_the_merge_took(session, themes):
    sso, price = themes["sso"], themes["price"]
    price.threshold_offset = -0.2  # already as broad as a merge makes it: the merge took nothing
    curation.merge(session, sso, price, user=None)
    assert price.threshold_offset == pytest.approx(-0.2)
    curation.unmerge(session, sso, user=None)
    assert price.threshold_offset == pytest.approx(-0.2)


def test_a_member_the_pass_only_suggested_for_the_target_is_a_member_after_the_merge_and_a_suggestion_after_undo(
        session, themes):
    sso, price = themes["sso"], themes["price"]
    quote = _row(session, SSO[0])
    session.add(ThemeEvidence(theme_id=price.id, segment_id=quote.segment_id, similarity=0.3, state="suggested",
                              origin="auto"))
    session.flush()
    members = price.metrics["members"]
    curation.merge(session, sso, price, None)
    assert SSO[0] in texts_of(session, price)  # was dropped from both themes
    assert price.metrics["members"] == members + len(SSO)
    curation.unmerge(session, sso, None)
    assert texts_of(session, sso) == set(SSO) and SSO[0] not in texts_of(session, price)
    back = session.scalar(select(ThemeEvidence).where(ThemeEvidence.theme_id == price.id,
                                                      ThemeEvidence.segment_id == quote.segment_id))
    assert (back.state, back.origin) == ("suggested", "auto")


def test_a_merge_made_before_merges_were_recorded_is_not_offered_for_undoing(session, themes):
    sso, price = themes["sso"], themes["price"]
    curation.merge(session, sso, price, None)
    assert curation.merge_undoable(session, sso) and not curation.merge_undoable(session, price)
    event = session.scalar(select(CurationEvent).where(CurationEvent.action == "merge"))
    event.details = {k: v for k, v in event.details.items() if k != "undo"}
    session.flush()
    assert not curation.merge_undoable(session, sso)


def _origins(session, theme) -> dict[str, str]:
    return dict(session.execute(select(FeedbackSegment.text, ThemeEvidence.origin).join(ThemeEvidence).where(
        ThemeEvidence.theme_id == theme.id, ThemeEvidence.state == "active")).all())


def test_undoing_a_merge_gives_the_pass_its_own_rows_back_so_they_do_not_become_a_persons_labels(session, themes):
    sso, price = themes["sso"], themes["price"]
    curation.pin_evidence(session, _row(session, SSO[1]), True, None)  # a person's word before the merge
    before = _origins(session, sso)
    assert before[SSO[1]] == "curator" and before[SSO[0]] == "auto"
    curation.merge(session, sso, price, None)
    assert set(_origins(session, price).values()) >= {"curator"}
    curation.unmerge(session, sso, None)
    assert _origins(session, sso) == before


def test_the_sources_other_proposals_closed_by_the_merge_are_open_again_after_the_undo(session, themes):
    sso, price, mobile = themes["sso"], themes["price"], themes["mobile"]
    other = ThemeProposal(kind="merge", theme_id=sso.id, other_theme_id=mobile.id, status="open", payload={})
    rename = ThemeProposal(kind="rename", theme_id=sso.id, status="open", payload={"label": "Single sign-on"})
    session.add_all([other, rename])
    session.flush()
    curation.merge(session, sso, price, None)
    assert (other.status, rename.status) == ("dismissed", "dismissed")
    curation.unmerge(session, sso, None)
    assert (other.status, rename.status) == ("open", "open")


def test_undoing_one_of_two_merges_that_shared_a_quote_keeps_it_in_the_theme_still_merged(session, themes):
    sso, price, mobile = themes["sso"], themes["price"], themes["mobile"]
    shared = _row(session, SSO[0])
    session.add(ThemeEvidence(theme_id=mobile.id, segment_id=shared.segment_id, similarity=0.3, state="active",
                              origin="auto"))
    session.flush()
    curation.merge(session, sso, price, None)
    curation.merge(session, mobile, price, None)  # its copy of the quote is dropped: price holds it already
    curation.unmerge(session, sso, None)
    assert SSO[0] in texts_of(session, sso) and SSO[0] in texts_of(session, price)
    curation.unmerge(session, mobile, None)
    assert SSO[0] in texts_of(session, mobile) and SSO[0] not in texts_of(session, price)
    assert texts_of(session, sso) == set(SSO) and texts_of(session, price) == set(PRICE)


def test_a_quote_a_person_filed_in_the_source_stays_theirs_in_the_merged_theme_and_as_before_after_undo(
        session, themes):
    sso, price = themes["sso"], themes["price"]
    quote = _row(session, SSO[0])
    theirs = ThemeEvidence(theme_id=price.id, segment_id=quote.segment_id, similarity=0.2, state="active",
                           origin="auto")
    session.add(theirs)
    session.flush()
    curation.pin_evidence(session, quote, True, None)
    curation.merge(session, sso, price, None)
    assert (theirs.state, theirs.origin, theirs.pinned) == ("active", "curator", True)
    curation.unmerge(session, sso, None)
    assert (theirs.state, theirs.origin, theirs.pinned) == ("active", "auto", False)
    assert _row(session, SSO[0]) is not None and SSO[0] in texts_of(session, sso)


def test_a_shared_quote_a_person_rejected_from_the_merged_theme_comes_back_rejected_in_the_source(session, themes):
    """The merged theme held the source's meaning too: "not this theme" said there is said of the source's copy."""
    sso, price = themes["sso"], themes["price"]
    shared, kept = _row(session, SSO[2]), _row(session, SSO[3])
    for row in (shared, kept):
        session.add(ThemeEvidence(theme_id=price.id, segment_id=row.segment_id, similarity=0.4, state="active"))
    session.flush()
    curation.merge(session, sso, price, user=None)
    theirs = session.scalar(select(ThemeEvidence).where(ThemeEvidence.theme_id == price.id,
                                                        ThemeEvidence.segment_id == shared.segment_id))
    curation.reject_evidence(session, theirs, user=None)
    curation.unmerge(session, sso, user=None)
    state = dict(session.execute(select(ThemeEvidence.segment_id, ThemeEvidence.state).where(
        ThemeEvidence.theme_id == sso.id, ThemeEvidence.segment_id.in_([shared.segment_id, kept.segment_id]))).all())
    assert state == {shared.segment_id: "rejected", kept.segment_id: "active"}


def test_a_shared_quote_the_target_had_rejected_before_the_merge_comes_back_as_the_source_held_it(session, themes):
    sso, price = themes["sso"], themes["price"]
    shared = _row(session, SSO[2])
    session.add(ThemeEvidence(theme_id=price.id, segment_id=shared.segment_id, similarity=0.4, state="rejected",
                              origin="curator"))
    session.flush()
    curation.merge(session, sso, price, user=None)
    curation.unmerge(session, sso, user=None)
    assert session.scalar(select(ThemeEvidence.state).where(ThemeEvidence.theme_id == sso.id,
                                                            ThemeEvidence.segment_id == shared.segment_id)) == "active"
