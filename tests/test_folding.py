"""retour.folding.fold: the one rule by which the evidence search compares what people type with what reps wrote."""

from __future__ import annotations

import pytest

from retour.folding import fold


@pytest.mark.parametrize(("typed", "written"), [
    ("securite", "Sécurité"), ("SECURITE", "sécurité"), ("equipe", "Équipe"), ("francais", "Français"),
    ("strasse", "Straße"), ("coeur", "cœur"), ("OEUVRE", "Œuvre"), ("ex aequo", "ex æquo"), ("lodz", "Łódź"),
    ("l'equipe", "l’équipe"), ("fin", "ﬁn"), ("100 %", "100\u202f%"), ("istanbul", "İstanbul"),
])
def test_what_people_type_folds_like_what_reps_wrote(typed, written):
    assert fold(typed) == fold(written)


def test_folding_keeps_every_other_character_in_place_wildcards_included():
    assert fold("Remise de 10% sur compte_client") == "remise de 10% sur compte_client"
    assert fold("") == ""
