"""JSON API under /api/v1/: the same reads and actions as the pages.

Authentication is the browser session (log in through /login); every write must carry the session's CSRF
token in the ``X-CSRF-Token`` header (``GET /api/v1/me`` returns it). Roles are the pages' roles. Errors
are ``{"error": {"code", "message"}}``. The document at ``/api/v1/openapi.json`` describes every route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from flask import Blueprint, abort, jsonify, request
from sqlalchemy.orm import Session

from connector.push_efficacy import LoopFigures, loop_figures_by_decision
from connector.push_preview import PreviewPage, pages_of, preview_page
from jobs import figures
from jobs import proposals as jp
from retour.models import Decision, Theme, utcnow
from retour.switches import is_push_paused
from webapp import actions, queries
from webapp.db import get_session, settings
from webapp.cache import figure_cache
from webapp.openapi import document
from webapp.security import csrf_token, current_user
from webapp.templating import loop_sentence
from webapp.views import proposals as desk

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        abort(400, description="The body must be a JSON object.")
    return data


def _fail(exc: actions.ActionError):
    get_session().rollback()
    return jsonify({"error": {"code": 400, "message": str(exc)}}), 400


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def figures_json(f: figures.Figures) -> dict[str, Any]:
    """A theme's figures for one period, as ``jobs.figures`` counts them for every page."""
    return f.as_json()


def theme_json(t: Theme, f: queries.BoardFilters | None = None) -> dict[str, Any]:
    """A theme with its status and why as every page shows them now (``jobs.figures.judge``: a curation or an
    approved decision shows at once) and its figures for the period and filters asked (all time by default)."""
    f = f or queries.BoardFilters()
    session, cfg = get_session(), settings()
    sync, keep, now = queries.data_version(session).sync, figure_cache(), utcnow()
    judged = queries.judgements(session, cfg, now=now, sync=sync, cache=keep, theme_ids=[t.id]).get(t.id)
    measured = queries.theme_figures(session, cfg, f.scope, now=now, sync=sync, cache=keep, theme_ids=[t.id])
    shown = figures.figures_of(measured, t.id, f.window, cfg.critical_mass.currency)
    return {"id": t.id, "label": t.label, "label_en": t.label_en, "label_fr": t.label_fr, "origin": t.origin,
            "status": judged.status if judged else t.status, "score": shown.score,
            "reason": judged.reason if judged else t.reason, "verdict": judged.verdict if judged else None,
            "figures": figures_json(shown), "merged_into_id": t.merged_into_id,
            "critical_since": _iso(judged.critical_since if judged else t.critical_since),
            "decided_at": _iso(judged.decided_at if judged else t.decided_at)}


def loop_json(figures: LoopFigures) -> dict[str, Any]:
    """A decision's loop figures (``connector.push_efficacy.LoopFigures``) and the sentence the pages show."""
    return {**figures.as_dict(), "sentence": loop_sentence(figures)}


def decision_json(d: Decision, loop: LoopFigures | None = None) -> dict[str, Any]:
    """A decision; ``loop``: what came back from Salesforce since its push (read with :func:`_loops`)."""
    return {"id": d.id, "theme_id": d.theme_id, "status": d.status, "target": d.target,
            "title_en": d.title_en, "title_fr": d.title_fr, "insight_en": d.insight_en, "insight_fr": d.insight_fr,
            "state": d.state,
            "created_at": _iso(d.created_at), "approved_at": _iso(d.approved_at),
            "withdrawn_at": _iso(d.withdrawn_at), "loop": loop_json(loop or LoopFigures())}


def _loops(decisions: list[Decision]) -> dict[int, LoopFigures]:
    """The loop figures of these decisions in a handful of queries, amounts in the org's currency when a deal has
    none."""
    return loop_figures_by_decision(get_session(), [d.id for d in decisions],
                                    default_currency=settings().critical_mass.currency) if decisions else {}


@bp.route("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(document())


@bp.route("/me")
def me():
    """Who is logged in, their role, and the CSRF token writes must send."""
    user = current_user()
    return jsonify({"id": user.id, "email": user.email, "role": user.role, "locale": user.locale,
                    "csrf_token": csrf_token()})


@bp.route("/themes")
def board():
    """The theme board with the same filters as the page's query string."""
    try:
        filters = queries.BoardFilters.from_args(request.args, settings())
    except queries.FilterError as exc:
        abort(400, description=str(exc))
    session = get_session()
    result = queries.board(session, settings(), filters, sync=queries.data_version(session).sync,
                           cache=figure_cache())
    return jsonify({"total": result.total, "page": result.page, "pages": result.pages, "filtered": result.filtered,
                    "window_days": filters.window, "currency": settings().critical_mass.currency,
                    "themes": [{"id": r.id, "label": r.label, "label_en": r.label_en, "label_fr": r.label_fr,
                                "status": r.status, "score": r.score, "reason": r.reason, "verdict": r.verdict,
                                "accounts": r.accounts, "items": r.items, "revenue_at_stake": r.revenue,
                                "figures": figures_json(r.figures), "weekly_items": r.spark,
                                "suggestions": r.suggestions} for r in result.rows]})


@bp.route("/themes/<int:theme_id>")
def theme(theme_id: int):
    """A theme with its figures, months, deals and evidence for the board's period and filters (same query
    string), its status and why, decisions and activity log."""
    try:
        f = queries.BoardFilters.from_args(request.args, settings())
    except queries.FilterError as exc:
        abort(400, description=str(exc))
    session = get_session()
    t = actions.get_theme(session, theme_id)
    page, now, cfg = f.page, utcnow(), settings()
    evidence, total = queries.evidence(session, t.id, page=page, scope=f.scope, window=f.window, now=now)
    decisions = queries.decisions_for(session, t.id)
    loops = _loops(decisions)
    deals, deals_total = figures.deals(session, cfg, t.id, f.scope, now=now, window_days=f.window)
    return jsonify({
        "theme": theme_json(t, f), "window_days": f.window,
        "months": [{"month": m.label, "start": _iso(m.start), "items": m.items, "accounts": m.accounts}
                   for m in figures.monthly(session, cfg, t.id, f.scope, now=now, window_days=f.window)],
        "deals": [{**asdict(d), "url": queries.salesforce_url(cfg, d.id)} for d in deals], "deals_total": deals_total,
        "evidence_total": total, "page": page,
        "evidence": [{**{k: _iso(v) for k, v in vars(e).items()},
                      "url": queries.salesforce_url(cfg, e.opportunity_id or e.source_id)} for e in evidence],
        "decisions": [decision_json(d, loops.get(d.id)) for d in decisions],
        "activity": [{**a, "at": _iso(a["at"])} for a in queries.activity(session, t.id)],
    })


def _commit_theme(t: Theme):
    get_session().commit()
    return jsonify({"theme": theme_json(t)})


def _theme_act(theme_id: int, act: Callable[[Session, Theme, Any], Theme]):
    """An act on a theme (``act(session, theme, user)`` returns the theme to answer): committed and answered, or
    refused with its reason and nothing kept."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        answer = act(session, t, current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    return _commit_theme(answer)


@bp.route("/themes/<int:theme_id>/rename", methods=["POST"])
def rename(theme_id: int):
    """Rename a theme: {"label": "…"}."""
    return _theme_act(theme_id, lambda s, t, u: actions.rename(s, t, str(_body().get("label") or ""), u))


@bp.route("/themes/<int:theme_id>/confirm", methods=["POST"])
def confirm(theme_id: int):
    """Confirm a theme as it stands: its names and typical quotes become a person's (no body)."""
    return _theme_act(theme_id, actions.confirm)


@bp.route("/themes/<int:theme_id>/merge", methods=["POST"])
def merge(theme_id: int):
    """Merge this theme into another: {"target_id": 12}; answers the theme it was merged into."""
    return _theme_act(theme_id, lambda s, t, u: actions.merge(s, t, actions.parse_int(_body().get("target_id")), u))


@bp.route("/themes/<int:theme_id>/unmerge", methods=["POST"])
def unmerge(theme_id: int):
    """Undo the merge of this (merged) theme: its quotes and status come back; answers the theme (no body)."""
    return _theme_act(theme_id, actions.unmerge)


def _evidence_result(ev: Any):
    get_session().commit()
    return jsonify({"evidence": {"id": ev.id, "theme_id": ev.theme_id, "state": ev.state, "pinned": ev.pinned,
                                 "origin": ev.origin}})


@bp.route("/themes/<int:theme_id>/evidence/<int:evidence_id>/move", methods=["POST"])
def move_evidence(theme_id: int, evidence_id: int):
    """Move a quote to another theme: {"target_id": 12}."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        ev = actions.move_evidence(session, t, evidence_id, actions.parse_int(_body().get("target_id")), current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    return _evidence_result(ev)


@bp.route("/themes/<int:theme_id>/evidence/<int:evidence_id>/reject", methods=["POST"])
def reject_evidence(theme_id: int, evidence_id: int):
    """Reject a quote as not about this theme."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        ev = actions.reject_evidence(session, t, evidence_id, current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    return _evidence_result(ev)


@bp.route("/themes/<int:theme_id>/evidence/<int:evidence_id>/pin", methods=["POST"])
def pin_evidence(theme_id: int, evidence_id: int):
    """Pin or unpin a quote: {"pinned": true}."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        ev = actions.pin_evidence(session, t, evidence_id, bool(_body().get("pinned", True)), current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    return _evidence_result(ev)


def preview_json(page: PreviewPage) -> dict[str, Any]:
    """The push preview as the decision page shows it (``connector.push_preview``): the summary of the whole push,
    counted over every record, then one page of records grouped by rep and account."""
    s, cfg = page.summary, settings()
    summary = {"total": s.total, "per_object": s.per_object, "reps": s.reps, "shown": s.shown, "skipped": s.skipped,
               "failed": s.failed, "cap": s.cap, "first_day": _iso(s.first_day),
               "deferred": [{"date": _iso(day), "records": n} for day, n in s.deferred],
               "deferred_total": s.deferred_total, "last_deferred": _iso(s.last_deferred)}
    rows = []
    for r in page.rows:
        row = {k: _iso(v) for k, v in asdict(r).items()}
        row.update(record_label=f"{r.sobject} {r.record_name}".strip(), rep=r.rep_name or r.owner_id,
                   record_url=queries.salesforce_url(cfg, r.target_id), skipped=r.shown == "skipped")
        rows.append(row)
    return {"summary": summary, "page": page.page, "pages": page.pages, "per_page": page.per_page,
            "total": s.total, "first": page.first, "last": page.last, "rows": rows}


def _decision_payload(d: Decision, page: int = 1):
    """A decision, its loop figures and one page of its push preview: the summary first, at most
    ``push_preview.PER_PAGE`` records (a 10,000-record push is never read, nor sent, whole)."""
    shown = preview_json(preview_page(get_session(), d, settings(), page=page))
    return {"decision": decision_json(d, _loops([d]).get(d.id)), "summary": shown["summary"],
            "page": shown["page"], "pages": shown["pages"], "per_page": shown["per_page"], "total": shown["total"],
            "preview": shown["rows"]}


@bp.route("/themes/<int:theme_id>/decisions", methods=["POST"])
def create_decision(theme_id: int):
    """Record a decision and prepare its push; answers with the preview."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        d = actions.create_decision(session, t, _body(), current_user(), settings())
    except actions.ActionError as exc:
        return _fail(exc)
    session.commit()
    return jsonify(_decision_payload(d)), 201


@bp.route("/decisions/<int:decision_id>")
def decision(decision_id: int):
    """A decision with the summary of its push and one page of its records (``?page=``, 200 a page; a page past
    the last gives the last): reps, exact texts, each record's state, skipped with reasons."""
    d = actions.get_decision(get_session(), decision_id)
    raw = request.args.get("page")
    page = actions.parse_int(raw) if raw is not None else 1
    if page is None or page < 1:
        abort(400, description=f"page={raw[:20]!r} is not a page number: give a whole number from 1 to "
                               f"{pages_of(get_session(), d)}.")
    return jsonify(_decision_payload(d, page))


@bp.route("/decisions/<int:decision_id>", methods=["PUT"])
def update_decision(decision_id: int):
    """Edit a draft decision; its push is prepared again."""
    session = get_session()
    d = actions.get_decision(session, decision_id)
    try:
        actions.update_decision(session, d, _body(), settings())
    except actions.ActionError as exc:
        return _fail(exc)
    session.commit()
    return jsonify(_decision_payload(d))


def _act(decision_id: int, action: str):
    session = get_session()
    d = actions.get_decision(session, decision_id)
    try:
        actions.decision_action(session, d, action, current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    session.commit()
    return jsonify(_decision_payload(d))


@bp.route("/decisions/<int:decision_id>/approve", methods=["POST"])
def approve(decision_id: int):
    """Approve the planned push."""
    return _act(decision_id, "approve")


@bp.route("/decisions/<int:decision_id>/cancel", methods=["POST"])
def cancel(decision_id: int):
    """Cancel a draft decision."""
    return _act(decision_id, "cancel")


@bp.route("/decisions/<int:decision_id>/withdraw", methods=["POST"])
def withdraw(decision_id: int):
    """Withdraw an approved decision."""
    return _act(decision_id, "withdraw")


@bp.route("/pause")
def get_pause():
    """Whether every push is paused."""
    return jsonify({"paused": is_push_paused(get_session())})


@bp.route("/pause", methods=["PUT"])
def set_pause():
    """Pause or resume every push: {"paused": true, "reason": "…"}."""
    body = _body()
    if not isinstance(body.get("paused"), bool):
        abort(400, description='Send {"paused": true} or {"paused": false}.')
    session = get_session()
    actions.set_pause(session, body["paused"], current_user(), str(body.get("reason") or ""))
    session.commit()
    return jsonify({"paused": body["paused"]})


# --------------------------------------------------------------------------------------------- proposals
@bp.route("/proposals")
def proposals():
    """Open merge, split and rename proposals with the quotes that make each case; ?theme_id= for one theme's."""
    waiting = desk.proposals_waiting(actions.parse_int(request.args.get("theme_id")))
    return jsonify({"proposals": [asdict(p) for p in waiting]})


@bp.route("/proposals/<int:proposal_id>/quotes")
def split_quotes(proposal_id: int):
    """A split's two parts in full, each quote with its evidence id: what ``"move"`` on accept chooses from."""
    session = get_session()
    proposal = desk.get_proposal(session, proposal_id)
    if proposal.kind != "split":
        abort(400, description=f"proposal {proposal_id} is a {proposal.kind}: only a split has parts to choose from.")
    stays, moves = jp.split_sides(session, proposal)
    return jsonify({"proposal": {"id": proposal.id, "status": proposal.status, "theme_id": proposal.theme_id},
                    **{side: [{"evidence_id": q.evidence_id, "text": q.text} for q in quotes]
                       for side, quotes in (("stays", stays), ("moves", moves))}})


def _moving(body: dict[str, Any]) -> list[int] | None:
    """``"move"``: the evidence ids a split moves instead of the pass's cut (``/proposals/<id>/quotes``)."""
    if "move" not in body:
        return None
    raw = body["move"]
    if not isinstance(raw, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        abort(400, description='"move" must be a list of evidence ids (whole numbers) from the split\'s quotes.')
    return raw


@bp.route("/proposals/<int:proposal_id>/accept", methods=["POST"])
def accept_proposal(proposal_id: int):
    """Accept a proposal: {"label": "…"} names a split's new theme or a rename, {"into": 12} picks a merge's survivor
    or the existing theme a split's part goes to, {"move": [evidence ids]} the quotes a split moves (default: the
    pass's cut)."""
    session, body = get_session(), _body()
    proposal = desk.get_proposal(session, proposal_id)
    moving = _moving(body) if proposal.kind == "split" else None
    try:
        t = desk.accept(session, proposal, str(body.get("label") or ""), actions.parse_int(body.get("into")), moving)
    except actions.ActionError as exc:
        return _fail(exc)
    return _commit_theme(t)


@bp.route("/proposals/<int:proposal_id>/decline", methods=["POST"])
def decline_proposal(proposal_id: int):
    """Decline a proposal: the theme pass will not make it again."""
    session = get_session()
    proposal = desk.get_proposal(session, proposal_id)
    try:
        p = desk.decline(session, proposal)
    except actions.ActionError as exc:
        return _fail(exc)
    session.commit()
    return jsonify({"proposal": {"id": p.id, "kind": p.kind, "status": p.status}})


# --------------------------------------------------------------------------------------------- learning
def _evidence_json(e: queries.EvidenceRow) -> dict[str, Any]:
    return {**{k: _iso(v) for k, v in vars(e).items()},
            "now_in": e.now_in._asdict() if e.now_in else None,
            "url": queries.salesforce_url(settings(), e.opportunity_id or e.source_id)}


@bp.route("/themes/<int:theme_id>/suggestions")
def suggestions(theme_id: int):
    """Quotes the theme pass suggests for this theme but did not file, closest first (never counted in figures)."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    rows, total = queries.suggestions(session, t.id)
    return jsonify({"total": total, "suggestions": [_evidence_json(e) for e in rows]})


@bp.route("/themes/<int:theme_id>/suggestions/<int:evidence_id>/accept", methods=["POST"])
def accept_suggestion(theme_id: int, evidence_id: int):
    """Accept a suggested quote: it becomes the theme's evidence."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        ev = actions.accept_suggestion(session, t, evidence_id, current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    return _evidence_result(ev)


@bp.route("/themes/<int:theme_id>/suggestions/<int:evidence_id>/decline", methods=["POST"])
def decline_suggestion(theme_id: int, evidence_id: int):
    """Decline a suggested quote: it is not suggested for this theme again."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        ev = actions.decline_suggestion(session, t, evidence_id, current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    return _evidence_result(ev)


@bp.route("/themes/<int:theme_id>/evidence/<int:evidence_id>/not-feedback", methods=["POST"])
def not_feedback(theme_id: int, evidence_id: int):
    """Say a quote (evidence or suggestion) is not feedback: it leaves every theme."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        ev = actions.not_feedback(session, t, evidence_id, current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    return _evidence_result(ev)


@bp.route("/themes", methods=["POST"])
def create_theme():
    """Create a theme a person names: {"label", "lang": "en"|"fr", "examples": [...], "segment_ids": [...]}."""
    session, body = get_session(), _body()
    try:
        t = actions.create_theme(session, body.get("label"), body.get("lang"), current_user(),
                                 examples=body.get("examples"), segment_ids=body.get("segment_ids"))
    except actions.ActionError as exc:
        return _fail(exc)
    session.commit()
    return jsonify({"theme": theme_json(t)}), 201


@bp.route("/themes/<int:theme_id>/examples", methods=["POST"])
def add_examples(theme_id: int):
    """Add example sentences to a theme: {"examples": ["…", "…"]}; the next theme pass learns from them."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        added = actions.add_examples(session, t, _body().get("examples"), current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    session.commit()
    return jsonify({"theme": theme_json(t), "examples_added": len(added)})


@bp.route("/themes/<int:theme_id>/name", methods=["POST"])
def name_in(theme_id: int):
    """Name a theme in one language: {"lang": "en"|"fr", "label": "…"}."""
    session, body = get_session(), _body()
    t = actions.get_theme(session, theme_id)
    try:
        actions.name_in(session, t, body.get("lang"), body.get("label"), current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    return _commit_theme(t)


@bp.route("/themes/<int:theme_id>/evidence", methods=["POST"])
def add_evidence(theme_id: int):
    """File quotes under a theme, from wherever they were: {"segment_ids": [1, 2]}."""
    session = get_session()
    t = actions.get_theme(session, theme_id)
    try:
        added = actions.add_evidence(session, t, _body().get("segment_ids"), current_user())
    except actions.ActionError as exc:
        return _fail(exc)
    session.commit()
    return jsonify({"theme": theme_json(t), "added": added})


@bp.route("/evidence/search")
def search():
    """Feedback quotes containing ?q= (at least 2 characters), newest first, 25 a page, at most 100 in all; with
    ?aside=1 the quotes set aside as not feedback too (else ``set_aside`` counts them)."""
    session = get_session()
    page = max(1, min(actions.parse_int(request.args.get("page")) or 1, 100))
    result = queries.search_segments(session, request.args.get("q", ""), page,
                                     set_aside=request.args.get("aside") == "1")
    cfg = settings()
    return jsonify({"q": result.q, "page": result.page, "pages": result.pages, "total": result.total,
                    "more": result.more, "set_aside": result.aside, "results": [
                        {"segment_id": h.segment_id, "text": h.text, "lang": h.lang, "occurred_at": _iso(h.occurred_at),
                         "is_feedback": h.is_feedback,
                         "channel": h.channel, "account_name": h.account_name, "opportunity_name": h.opportunity_name,
                         "url": queries.salesforce_url(cfg, None if h.source_object == "import"
                                                       else (h.opportunity_id or h.source_id)),
                         "theme": h.theme._asdict() if h.theme else None} for h in result.hits]})
