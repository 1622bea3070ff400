"""The theme board: themes by critical-mass score, filterable, bookmarkable (all filters are GET parameters)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

from webapp import queries
from webapp.cache import cached, cached_page
from webapp.charts import sparkline
from webapp.db import get_session, settings

bp = Blueprint("board", __name__)


def rows_html(result: queries.Board) -> Markup:
    """The table rows, rendered once per distinct content and language (the key is the data itself)."""
    key = ("rows_html", str(get_locale()),
           tuple((r.id, r.label, r.label_en, r.label_fr, r.suggestions, r.status, r.accounts, r.items, r.revenue,
                  r.reason, tuple(r.spark)) for r in result.rows))
    return cached(key, lambda: Markup(render_template(
        "_board_rows.html", rows=result.rows, sparks={r.id: sparkline(r.spark) for r in result.rows})), lasting=True)


@bp.route("/")
def index():
    """List themes by critical-mass score, with figures for the filtered subset."""
    cfg = settings()
    try:
        filters = queries.BoardFilters.from_args(request.args, cfg)
    except queries.FilterError as exc:
        return render_template("error.html", code=400, message=str(exc)), 400
    return cached_page(lambda: _board_page(filters))


def _board_page(filters: queries.BoardFilters) -> str:
    cfg = settings()
    session = get_session()
    version = queries.data_version(session)
    if filters.filters_evidence:  # aggregates over all matching evidence: cached per data version
        result = cached(("board", filters.query_string(), version), lambda: queries.board(session, filters))
    else:
        result = queries.board(session, filters, memo=lambda k, c: cached(k, c, lasting=True), sync=version.sync)
    facets = cached(("facets", version.sync), lambda: queries.facets(session, cfg), lasting=True)  # mirrored rows only
    return render_template("board.html", board=result, filters=filters, facets=facets, rows_html=rows_html(result),
                           extra=cfg.mapping.extra,
                           statuses=queries.BOARD_STATUSES, sources=queries.SOURCES, langs=queries.FEEDBACK_LANGS,
                           windows=queries.WINDOWS)
