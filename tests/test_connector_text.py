"""Text cleaning and language detection on the kind of text reps really log (French and English)."""

from __future__ import annotations

import random

import pytest

from connector.text import _HTML_HINT, _parse_html, clean_text, detect_language, html_to_text


def test_rich_text_html_becomes_plain_text_without_running_anything():
    raw = ('<p>Le client trouve l&#39;outil <b>trop cher</b>.</p><script>alert("x")</script>'
           '<style>p{color:red}</style><ul><li>Pas d&#39;export SAP</li></ul><img src=x onerror=alert(1)>')
    text = clean_text(raw)
    assert text == "Le client trouve l'outil trop cher.\n\nPas d'export SAP"
    assert "alert" not in text and "<" not in text


def test_english_reply_loses_quoted_history_and_signature():
    raw = ("They went with Globex because our SSO setup took too long.\n\n"
           "Best regards,\nJohn Smith\nAccount Executive | Acme\n\n"
           "On Mon, Jun 3, 2024 at 10:02 AM Jane Doe <jane@customer.com> wrote:\n> Hi John,\n> We decided to pause.")
    assert clean_text(raw) == "They went with Globex because our SSO setup took too long."


def test_french_reply_loses_quoted_history_headers_and_signature():
    raw = ("Ils trouvent l'intégration Sage trop limitée.\n"
           "Cordialement,\nJean Dupont\n"
           "Envoyé de mon iPhone\n\n"
           "Le 3 juin 2024 à 10:02, Marie Martin <marie@client.fr> a écrit :\n"
           "> Bonjour Jean,\n> nous arrêtons l'essai.")
    assert clean_text(raw) == "Ils trouvent l'intégration Sage trop limitée."


def test_outlook_original_message_and_logged_email_headers_are_removed():
    raw = ("To: buyer@customer.com\nCC:\nBCC:\nSubject: Re: pricing\nBody:\n"
           "Price is the blocker, 30% above budget.\n"
           "Logged via Salesforce Inbox\n"
           "-----Original Message-----\nFrom: buyer@customer.com\nSent: Monday\nWe need a discount.")
    assert clean_text(raw) == "Price is the blocker, 30% above budget."


def test_french_outlook_header_block_cuts_the_history():
    raw = ("Relancer en septembre, budget gelé.\n\nDe : Paul Durand <paul@client.fr>\nEnvoyé : lundi 3 juin 2024 10:02\n"
           "À : Jean\nObjet : Budget\nNous gelons les achats.")
    assert clean_text(raw) == "Relancer en septembre, budget gelé."


def test_signature_delimiter_cuts_the_rest_and_long_text_after_a_closing_is_kept():
    assert clean_text("Need Salesforce CPQ integration.\n-- \nJohn\n+33 1 23 45 67 89") == "Need Salesforce CPQ integration."
    body = "Thanks\n" + "\n".join(f"point {i} about the rollout" for i in range(10))
    assert clean_text(body).startswith("Thanks\npoint 0")  # not a signature: too much follows


def test_empty_and_whitespace_only_text_is_empty():
    assert clean_text(None) == "" and clean_text("  \n<p> </p>") == ""


_HTML_ATOMS = ["<p>", "</p>", "<br>", "<br/>", "<br />", "<b>", "</b>", "<li>", "</li>", "<ul>", "<div class='a>b'>",
               '<a href="x>y">', "</a>", '<span style="color:red">', "</span>", "&amp;", "&lt;", "&eacute;", "&#233;",
               "&nbsp;", " < ", " > ", "a<b", "prix trop élevé", " ", "\n", "<P>", "</DIV>", "<h1>", "<hr>", "<td>",
               "<tr>", "<img src='a.png'/>", "<1>", "< p>", "</ p>", "<p\n>", "<foo:bar>", "&", "&#x41;", "<>", "</>",
               "<a", "b>", "&am", "p;", "&eacute", "<SCRIPT>x</SCRIPT>", "<!-- c -->", "<style>p{}</style>", "<br\n/>",
               '<p a=1 b="2">', "<?xml ?>", "<!DOCTYPE html>", "&#", "<o:p>", "</o:p>", "<table border=0>"]


def test_rich_text_fast_path_reads_markup_exactly_as_the_html_parser_does():
    rnd = random.Random(20261123)
    checked = 0
    for _ in range(20_000):
        markup = "".join(rnd.choice(_HTML_ATOMS) for _ in range(rnd.randint(1, 12)))
        if _HTML_HINT.search(markup):  # what is not markup at all is only entity-decoded (angle brackets kept)
            assert html_to_text(markup) == _parse_html(markup), markup
            checked += 1
    assert checked > 15_000


def test_entities_are_decoded_between_tags_not_across_them():
    assert html_to_text("<p>&am<b>p;</b></p>") == "\n&amp;\n"


def test_plain_text_with_angle_brackets_is_not_mangled():
    assert html_to_text("price < 10k and seats > 50") == "price < 10k and seats > 50"


@pytest.mark.parametrize("text, lang", [
    ("Le client a choisi un concurrent moins cher, l'intégration avec SAP manquait.", "fr"),
    ("They chose a cheaper competitor because the SAP integration was missing.", "en"),
    ("Trop cher", "fr"),
    ("Too expensive", "en"),
    ("prix", "fr"),
    ("Demasiado caro para nosotros, elegimos otra solución con mejor soporte.", "other"),
    ("Der Kunde hat sich für einen günstigeren Wettbewerber entschieden.", "other"),
    ("12345 !!!", "other"),
])
def test_language_is_french_english_or_other(text, lang):
    assert detect_language(text) == lang


def test_batched_language_detection_gives_py3langid_results_text_by_text():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from connector.text import LANGUAGES, _classify_many, detect_languages
    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    reference.set_languages(list(LANGUAGES))
    base = ["Le client trouve le produit trop cher et regarde Globex.", "They went with a cheaper competitor.",
            "Demasiado caro", "Preis zu hoch, Entscheidung vertagt", "OK", "", "12345", "RAPPELER LE CLIENT",
            "Integration SAP manquante – relance prévue la semaine prochaine " * 30, "é" * 700, "\U0001F600 merci"]
    texts = [f"{t} {i}" if i % 3 else t for i, t in enumerate(base * 5)]  # enough texts to walk in lockstep
    assert _classify_many(texts) == [reference.classify(t) for t in texts]
    assert detect_languages(texts) == [detect_language(t) for t in texts]


def test_a_note_body_already_read_from_html_is_not_read_as_markup_twice():
    from connector.feedback import render, specs_for

    row = {"id": "069xx0000000001", "body": "Seats < 50 & the <b> tag shows up as text; &amp;lt; stays",
           "created_date": None, "account_id": None, "opportunity_id": None, "owner_id": None}
    (spec,) = specs_for("ContentNote", row)
    text, _lang = render(spec)
    assert text == row["body"]
