"""The theme board: themes by critical-mass score, filterable, bookmarkable (all filters are GET parameters)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from webapp import queries
from webapp.cache import cached
from webapp.charts import sparkline
from webapp.db import get_session, settings

bp = Blueprint("board", __name__)


@bp.route("/")
def index():
    """List themes by critical-mass score, with figures for the filtered subset."""
    cfg = settings()
    try:
        filters = queries.BoardFilters.from_args(request.args, cfg)
    except queries.FilterError as exc:
        return render_template("error.html", code=400, message=str(exc)), 400
    session = get_session()
    if filters.filters_evidence:  # aggregates over all matching evidence: cached per data version
        key = ("board", filters.query_string(), queries.data_version(session))
        result = cached(key, lambda: queries.board(session, filters))
    else:
        result = queries.board(session, filters, memo=cached)
    facets = cached(("facets",), lambda: queries.facets(session, cfg))
    return render_template("board.html", board=result, filters=filters, facets=facets,
                           extra=cfg.mapping.extra, sparks={r.id: sparkline(r.spark) for r in result.rows},
                           statuses=queries.BOARD_STATUSES, sources=queries.SOURCES, langs=queries.FEEDBACK_LANGS,
                           windows=queries.WINDOWS)
