"""Find quotes by their words across all feedback, then make a theme of the ones ticked or file them under one.

A product owner who knows a subject the theme pass has not drawn ("SAML", "facture") finds its quotes here; both
acts are labels the next pass learns from. Reading is a viewer's right; ticking and filing a product owner's.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext

from webapp import actions, queries
from webapp.db import get_session, settings
from webapp.security import current_user
from webapp.templating import reader_lang, theme_name

bp = Blueprint("evidence", __name__, url_prefix="/evidence")


def _page() -> int:
    return max(1, min(actions.parse_int(request.values.get("page")) or 1, 100))


@bp.route("/search")
def search():
    """Quotes whose words contain the search, newest first, with the theme each one is filed under."""
    return _search_page(request.args.get("q", ""))


def _search_page(q: str, error: str | None = None):
    """The search page; after a refusal (``error``) the quotes ticked, the name and the theme chosen are kept."""
    session = get_session()
    result = queries.search_segments(session, q, _page(), set_aside=_set_aside())
    themes = sorted(queries.active_themes(session, limit=1000), key=lambda t: theme_name(t).casefold())
    sf_url = lambda rid: queries.salesforce_url(settings(), rid)  # noqa: E731
    kept = request.form if error is not None else {}
    lang = kept.get("lang") if kept.get("lang") in actions.THEME_LANGS else reader_lang()
    html = render_template("search.html", result=result, themes=themes, sf_url=sf_url, lang=lang, error=error,
                           ticked=set(kept.getlist("segment_id")) if kept else set(),
                           label=kept.get("label", ""), theme_id=kept.get("theme_id", ""),
                           too_short=bool(q.strip()) and len(result.q) < queries.SEARCH_MIN_CHARS)
    return (html, 400) if error is not None else html


def _set_aside() -> bool:
    """Whether the search shows the quotes set aside as not feedback too (``aside=1``, in the URL or the form)."""
    return (request.form.get("aside") or request.args.get("aside")) == "1"


def _back_to_search(exc: actions.ActionError):
    """The search again with the refusal over it and what the person ticked, named and chose still there (a
    redirect lost the ticks: they had to find and tick every quote again)."""
    return _search_page(request.form.get("q", ""), error=str(exc))


@bp.route("/make-theme", methods=["POST"])
def make_theme():
    """Make a theme of the ticked quotes, named by the person."""
    session = get_session()
    try:
        theme = actions.create_theme(session, request.form.get("label"), request.form.get("lang"), current_user(),
                                     segment_ids=request.form.getlist("segment_id"))
    except actions.ActionError as exc:
        session.rollback()
        return _back_to_search(exc)
    session.commit()
    count = len(request.form.getlist("segment_id"))
    flash(ngettext("Theme created from %(num)s quote. The next theme pass gathers more like it.",
                   "Theme created from %(num)s quotes. The next theme pass gathers more like them.", count))
    return redirect(url_for("themes.detail", theme_id=theme.id))


@bp.route("/file", methods=["POST"])
def file_under():
    """File the ticked quotes under the theme chosen (moving them from where they were)."""
    session = get_session()
    theme_id = actions.parse_int(request.form.get("theme_id"))
    try:
        if theme_id is None:
            raise actions.ActionError(_("Choose the theme to file the quotes under."))
        theme = actions.get_theme(session, theme_id)
        added = actions.add_evidence(session, theme, request.form.getlist("segment_id"), current_user())
    except actions.ActionError as exc:
        session.rollback()
        return _back_to_search(exc)
    session.commit()
    # Counted as filed only what was not already there: a review read "25 quotes filed" for 18 new and 7 held.
    ticked = len(set(request.form.getlist("segment_id")))
    said = ngettext("%(num)s quote filed under “%(theme)s”.", "%(num)s quotes filed under “%(theme)s”.", added,
                    theme=theme_name(theme))
    if ticked > added:
        said += " " + ngettext("%(num)s was already there.", "%(num)s were already there.", ticked - added)
    flash(said)
    return redirect(url_for("evidence.search", q=request.form.get("q", ""), page=_page(),
                            **({"aside": "1"} if _set_aside() else {})))
