"""Dates spelled out the way each language writes them, for the desk and for what Retour writes into Salesforce.

Why one place: French writes the first of the month as an ordinal ("1er août 2026") and Babel's patterns do not
("1 août 2026"); the desk's pages and the reps' task subjects both say dates, and must say them alike.
"""

from __future__ import annotations

import datetime as dt
import re

from babel.dates import format_date, get_date_format


def first_of_month(pattern: str) -> str:
    """``pattern`` with its day of the month ("d", outside quoted text) followed by a literal "er"."""
    parts = pattern.split("'")
    parts[::2] = [re.sub(r"(?<!d)d(?!d)", "d'er'", part) for part in parts[::2]]
    return "'".join(parts)


def spelled_pattern(day: dt.date, locale: str, width: str = "long") -> str:
    """Babel's ``width`` date pattern for ``locale``, with the French ordinal on the first of the month (only the
    widths that spell the month out: the short one is all digits)."""
    pattern = get_date_format(width, locale=locale).pattern
    if day.day == 1 and width in ("medium", "long", "full") and str(locale).split("_")[0] == "fr":
        return first_of_month(pattern)
    return pattern


def spelled(day: dt.date, locale: str, width: str = "long") -> str:
    """``day`` in ``locale``'s words: "March 2, 2026", "2 mars 2026", "1er mars 2026"."""
    return format_date(day, spelled_pattern(day, locale, width), locale=locale)
