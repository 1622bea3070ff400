"""The theme board: themes by score, filterable, bookmarkable (all filters are GET parameters)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from markupsafe import Markup

from webapp import queries
from webapp.cache import cached, cached_page, figure_cache
from webapp.charts import sparkline
from webapp.db import get_session, settings
from webapp.loops import theme_loops
from webapp.templating import field_labels, reader_lang

bp = Blueprint("board", __name__)


def rows_html(result: queries.Board, filters: queries.BoardFilters, sync: Any = None) -> Markup:
    """The table rows, rendered once per distinct content and language (the key is the data itself); ``sync``, the
    data version's sync part, moves the field and value labels a scoped rule's "why" is said with."""
    detail_qs = filters.query_string(page=1, status="")
    # A decided theme's row says what came back since its push (webapp.loops).
    loops = theme_loops(get_session(), [r.id for r in result.rows if r.status == "decided"],
                        settings().critical_mass.currency)
    key = ("rows_html", str(get_locale()), sync, detail_qs,
           tuple((r.id, r.label, r.label_en, r.label_fr, r.suggestions, r.status, r.figures, r.reason, tuple(r.spark),
                  loops.get(r.id)) for r in result.rows))
    return cached(key, lambda: Markup(render_template(
        "_board_rows.html", rows=result.rows, sparks={r.id: sparkline(r.spark) for r in result.rows},
        detail_qs=detail_qs, loops=loops)), lasting=True)


@bp.route("/")
def index():
    """List themes by score, with figures for the chosen period and filters."""
    cfg = settings()
    try:
        filters = queries.BoardFilters.from_args(request.args, cfg)
    except queries.FilterError as exc:
        # The parameter's own text stays as the address wrote it; the sentence around it is the reader's.
        return render_template("error.html", code=400, message=_("This address holds a filter the board does not "
                                                                  "know (%(detail)s). Choose the filters on the "
                                                                  "board again.", detail=exc.said())), 400
    return cached_page(lambda: _board_page(filters))


def _board_page(filters: queries.BoardFilters) -> str:
    cfg = settings()
    session = get_session()
    version = queries.data_version(session)
    result = queries.board(session, cfg, filters, sync=version.sync, cache=figure_cache())
    if filters.page > result.pages:
        # A page past the last (a bookmark from before merges): to the last page. It said "No theme matches these
        # filters." under "54 themes", with no link to the themes. (The API keeps answering the page asked.)
        return redirect(url_for("board.index", **filters.params(page=result.pages)))
    facets = cached(("facets", version.sync), lambda: queries.facets(session, cfg), lasting=True)  # mirrored rows only
    lang = reader_lang()
    labels = cached(("field_labels", version.sync, lang), lambda: field_labels(session, cfg.mapping.extra, lang),
                    lasting=True)
    return render_template("board.html", board=result, filters=filters, facets=facets,
                           rows_html=rows_html(result, filters, version.sync), extra=cfg.mapping.extra,
                           field_labels=labels,
                           statuses=queries.BOARD_STATUSES, sources=queries.SOURCES, langs=queries.FEEDBACK_LANGS,
                           windows=queries.WINDOWS, rule_days=cfg.critical_mass.window_days,
                           currency=cfg.critical_mass.currency, half_life=cfg.critical_mass.half_life_days)
