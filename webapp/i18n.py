"""English and French UI with Flask-Babel: the user's preference, then the language switch, then Accept-Language.

The French catalogue is kept as ``translations/fr/LC_MESSAGES/messages.po`` and its compiled ``.mo`` is
committed beside it, so a clean clone shows French with no build step; a test recompiles the ``.po`` and
fails if the committed ``.mo`` is stale (``python -m webapp.i18n`` rewrites it).
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, session
from flask_babel import Babel, get_locale

LANGUAGES = ("en", "fr")
TRANSLATIONS = Path(__file__).with_name("translations")


def select_locale() -> str:
    user = g.get("signed_in")
    if user is not None and user.locale in LANGUAGES:
        return user.locale
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def compile_catalogue(po_path: Path) -> bytes:
    """The .mo bytes for a .po file (what is committed as messages.mo)."""
    with po_path.open("rb") as fh:
        catalog = read_po(fh)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)


if __name__ == "__main__":  # pragma: no cover - maintenance helper
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        po.with_suffix(".mo").write_bytes(compile_catalogue(po))
        print(f"compiled {po.with_suffix('.mo')}")
