"""Clause segmentation and the no-feedback filter: pure, no database."""

from __future__ import annotations

import pytest

from jobs.segment import classify, is_feedback, segment_text, split_clauses


def test_note_with_several_subjects_splits_on_sentences_connectives_and_bullets():
    text = ("Call with Anna. They need SAML SSO for 400 users; also the price per seat is too high.\n"
            "- reporting is too basic\n- rappeler mardi")
    clauses = split_clauses(text)
    assert "They need SAML SSO for 400 users" in clauses
    assert "also the price per seat is too high" in clauses
    assert "reporting is too basic" in clauses
    assert clauses[-1] == "rappeler mardi"


def test_french_mais_and_aussi_start_new_clauses():
    clauses = split_clauses("Le client aime l'outil mais le prix par fiche de paie est trop élevé, il veut aussi une appli mobile")
    assert clauses[0] == "Le client aime l'outil"
    assert clauses[1].startswith("mais le prix")
    assert clauses[2].startswith("aussi une appli")


def test_short_fragments_are_glued_to_a_neighbour_so_no_content_is_lost():
    text = "But. The export to Cegid fails every month"
    clauses = split_clauses(text)
    assert len(clauses) == 1
    assert "Cegid" in clauses[0] and clauses[0].startswith("But")


def test_a_list_of_items_separated_by_slashes_splits_but_alternatives_stay_together():
    note = "Sent the security questionnaire back / they need SAML SSO for every site / call back on Monday"
    assert split_clauses(note) == ["Sent the security questionnaire back", "they need SAML SSO for every site",
                                   "call back on Monday"]
    assert split_clauses("No mobile clock-in / shift approval for frontline staff") == [
        "No mobile clock-in / shift approval for frontline staff"]
    assert split_clauses("Pas de connecteur BI (Power BI / Qlik) ni d'export planifié / relance en mars") == [
        "Pas de connecteur BI (Power BI / Qlik) ni d'export planifié / relance en mars"]


def test_loss_reason_prefix_is_dropped():
    assert split_clauses("Motif : pas de connecteur Salesforce natif") == ["pas de connecteur Salesforce natif"]


@pytest.mark.parametrize("text", [
    "rappeler mardi", "sent proposal v2", "Called, left voicemail", "RDV calé jeudi 10h", "Relance par mail",
    "Bonjour Marc, merci", "Jean Dupont 12/03", "Next step: demo booked for Friday", "Thanks, talk soon",
    "Ticket d'entrée à 40k€, ils trouvent ça cohérent",
    "To-do: add their IT manager as a security contact", "Plan d'action : vérifier le problème de SSO avec la DSI",
    # Who an e-mail goes to (the Cc field) is a next step, whoever is named.
    "Mettre Julie en copie des prochains mails", "Ajouter la DAF en copie", "Keep Priya cc'd on the next emails",
])
def test_pure_logistics_is_not_feedback(text):
    assert not any(s.is_feedback for s in segment_text(text)), classify(text)


@pytest.mark.parametrize("text", [
    "pas de SSO Azure AD", "they need SAML login", "prix trop élevé", "too expensive vs competitor",
    "Export file rejected by Cegid at import", "No native Salesforce integration",
    "l'application mobile ne fonctionne pas hors ligne",
])
def test_product_feedback_is_kept(text):
    assert is_feedback(text), classify(text)


def test_positive_small_talk_is_not_feedback_but_a_complaint_next_to_it_is():
    segs = segment_text("Friendly as always, told me about his new dog. But go-live moved twice and tickets sit unanswered.")
    assert [s.is_feedback for s in segs] == [False, True]


def test_empty_and_hostile_text_does_not_break_segmentation():
    assert segment_text("") == []
    assert segment_text("   \n\n ") == []
    segs = segment_text("<script>alert('x')</script>; DROP TABLE theme; --")
    assert all(isinstance(s.text, str) for s in segs)


def test_loss_reason_picklist_value_gives_way_to_its_free_text():
    segs = segment_text("Reason: Missing Feature — No mobile clock-in for frontline staff.", "loss_reason")
    assert [(s.text, s.is_feedback) for s in segs] == [
        ("Missing Feature", False), ("No mobile clock-in for frontline staff", True)]


def test_a_short_header_before_a_full_stop_is_a_line_of_its_own():
    # The connector stores a loss reason as "<picklist value>. <free text>" and a case as "<subject>. <description>".
    # Glued to the free text as a short stub, the header lent it its words: a budget cue made a silent prospect
    # feedback, and the picklist rule never saw the value as a clause of its own. A value whose free text tells
    # another story (logistics: the prospect went silent) is as bare as the value alone.
    segs = segment_text("Budget Cut. No response for 2 months, closing", "loss_reason")
    assert [(s.text, s.is_feedback) for s in segs] == [("Budget Cut", False), ("No response for 2 months, closing", False)]
    # Free text that only names (a competitor) tells no other story: the value stays the reason.
    assert [s.is_feedback for s in segment_text("Competitor. Acme Suite.", "loss_reason")] == [True, False]
    segs = segment_text("No Decision. main objection: onboarding took far too long", "loss_reason")
    assert [(s.text, s.is_feedback) for s in segs] == [
        ("No Decision", False), ("main objection: onboarding took far too long", True)]
    segs = segment_text("Billing question. Exports to their ledger fail every month", "case")
    assert [(s.text, s.is_feedback) for s in segs] == [
        ("Billing question", False), ("Exports to their ledger fail every month", True)]
    # A case subject that states the problem is kept when the description says nothing more.
    assert [(s.text, s.is_feedback) for s in segment_text("Login problem. Waiting on customer", "case")] == [
        ("Login problem", True), ("Waiting on customer", False)]
    # Notes have no header; a longer first sentence is not one.
    assert len(segment_text("Too slow. Users complain about the planning screen", "note")) == 1
    assert segment_text("The export fails. Users complain about the planning screen", "case")[0].text.startswith(
        "The export fails")


def test_loss_reason_made_of_a_picklist_value_only_is_kept():
    assert [s.is_feedback for s in segment_text("Motif : Prix trop élevé", "loss_reason")] == [True]


def test_short_contrast_completes_the_clause_it_qualifies():
    assert split_clauses("We can simulate per employee, but not a budget scenario.") == [
        "We can simulate per employee, but not a budget scenario"]
    # A long contrast is a subject of its own.
    assert len(split_clauses("Friendly call with the team, but the export to their ledger fails every single month")) == 2


def test_misspelt_logistics_cues_still_read_as_logistics():
    # Each reads as feedback if its misspelt logistics cue is not recognised (the negation or "until" remains).
    for typo in ("Oliver out of offce until 25/04", "no answwer, left a voicemial",
                 "porposal not sent yet, will folow up tuesday"):
        assert not classify(typo).is_feedback, typo
    assert classify("Pas joignable, message laissé").reason == "logistics cue"
    assert classify("the app crahses on login").is_feedback


def test_real_words_next_to_a_cue_are_not_rewritten_into_it():
    # "contact" is one letter from "contract", "appli" from "appel" (a call), "please" from "pleased".
    from jobs.segment import _SPELLER

    for word in ("contact", "please", "since", "appli", "notes"):
        assert _SPELLER.word(word) == word
    assert _SPELLER.text("messae laisse, budgget gele") == "message laisse, budget gele"


@pytest.mark.parametrize("text", [
    "Export issue resolved after the patch", "no showstoppers for the rollout",
    "problème réglé par le correctif, rien à signaler", "le module fonctionne comme prévu",
])
def test_a_problem_reported_fixed_or_absent_is_a_reassurance(text):
    assert classify(text).reason == "reassurance", classify(text)


def test_a_real_problem_beside_a_reassurance_is_still_feedback():
    assert is_feedback("Issue resolved on the import, but the totals are wrong")
    assert is_feedback("Ils veulent un export sans erreur vers Cegid")


def test_record_keeping_is_not_feedback_but_a_duplicated_invoice_is():
    for text in ("Case closed after the customer confirmed", "Duplicate opportunity, see the other one",
                 "Lead en double, fusionné avec la fiche existante"):
        assert classify(text).reason == "logistics cue", text
    assert is_feedback("Les factures arrivent en double chaque mois")


@pytest.mark.parametrize("clause", ["Lancer le POC la sem. du 13/01", "kick off the pilot the week of 07/09",
                                    "Atelier de cadrage la semaine du 12"])
def test_a_clause_that_only_schedules_something_for_a_date_is_a_plan_not_feedback(clause):
    assert classify(clause).is_feedback is False


def test_a_dated_clause_that_states_a_problem_stays_feedback():
    assert classify("Since the 12/03 release the export file is rejected by their payroll").is_feedback is True


@pytest.mark.parametrize("clause", ["Escalated to tier 2", "Ticket transmis au niveau 2", "Waiting on customer"])
def test_where_a_case_was_routed_is_not_what_the_case_is_about(clause):
    assert classify(clause).is_feedback is False


@pytest.mark.parametrize("clause", ["Workaround provided", "Asked for a screenshot", "Contournement proposé",
                                    "Capture d'écran demandée", "Requested logs from their IT"])
def test_what_the_support_agent_did_on_a_case_is_not_feedback(clause):
    # "workaround" and "asked for" alone are feedback cues: they were read as the customer's words.
    assert classify(clause).reason == "logistics cue"


@pytest.mark.parametrize("clause", ["They need a workaround for the export", "Customer asked for a workaround",
                                    "We provided a workaround but it is painful for them",
                                    "Il leur faut un contournement pour l'export"])
def test_a_customer_who_needs_a_workaround_is_still_feedback(clause):
    assert classify(clause).is_feedback is True


def test_a_case_worked_without_a_description_keeps_its_subject_as_the_problem():
    # The subject says what is wrong; the agent's work log under it does not (it used to be the case's only quote).
    segs = segment_text("Login problem\nWorkaround provided\nAsked for a screenshot", "case")
    assert [(s.text, s.is_feedback) for s in segs] == [
        ("Login problem", True), ("Workaround provided", False), ("Asked for a screenshot", False)]
    assert not any(s.is_feedback for s in segment_text("Workaround provided\nWorkaround provided", "case"))


def test_a_huge_note_is_read_in_bounded_pieces_and_never_makes_a_giant_segment():
    from jobs.segment import MAX_SEGMENT_CHARS, MAX_TEXT_READ

    wall = ("they need single sign on with their identity provider " * 30_000)  # ~1.6 MB, no punctuation
    segs = segment_text(wall, "note")
    assert segs and all(len(s.text) <= MAX_SEGMENT_CHARS for s in segs)
    assert sum(len(s.text) for s in segs) <= MAX_TEXT_READ
    word_cut = [s.text for s in segs if not s.text.endswith(("provider", "need", "single", "sign", "on", "with",
                                                                "their", "identity", "they"))]
    assert not word_cut, "pieces are cut at spaces, never inside a word"
