"""How a word people type is compared with the words reps wrote: case and accents aside, in every language.

A product owner types "securite", "equipe", "francais" or "SÉCURITÉ" and means "Sécurité", "équipe", "français".
SQL cannot do this portably: SQLite's ``lower()`` and ``ILIKE`` fold ASCII only, and PostgreSQL's ``unaccent`` is an
extension that cannot index nor be declared immutable. So the text is folded here, in Python, once: stored beside
the clause (``FeedbackSegment.search_text``) and applied to the query, then compared with a plain LIKE.
"""

from __future__ import annotations

import unicodedata

# Letters NFKD does not take apart, being letters of their own rather than a letter and a mark, written without
# them by people whose keyboard lacks them ("oeuvre", "Lodz", "Orsted"); and the typographic apostrophe that word
# processors put where people type a straight one ("l’équipe" for "l'equipe").
_PLAIN = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "’": "'", "‘": "'"})


def fold(text: str) -> str:
    """``text`` with case and accents folded away: "Sécurité renforcée" and "SECURITE RENFORCEE" both give
    "securite renforcee", "Straße" gives "strasse", "cœur" gives "coeur".

    NFKD takes accented letters apart (and compatibility forms: "ﬁ", a non-breaking space), the combining marks
    are dropped, and ``casefold`` is Unicode's caseless matching ("ß" is "ss"); NFKD runs again on what casefold
    gives, which may hold marks of its own ("İ" folds to "i" and a dot above). Every character that is not a mark
    stays where it was, so LIKE's wildcards in a query stay literal when escaped after folding.
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_PLAIN)


def wording(text: str | None) -> str:
    """What two people's words are compared as: folded (:func:`fold`) and with spacing aside. Two theme names, or a
    note and the quote a person filed, that give the same wording say the same thing ("L'interface est trop
    compliquée" typed as "l'interface est trop  compliquee")."""
    return " ".join(fold(text or "").split())
