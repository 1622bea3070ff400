"""The theme pass's merge, split and rename proposals on the desk: shown in plain words, answered in one click.

Pages list them (``proposals_waiting`` in templates: the board lists them all, a theme page those naming it);
the forms here accept or decline one and send the person back where they clicked. The work is
``jobs.proposals``'; both write a curation event, which moves the data version, so the next page load (cached
or not, in any worker) shows the result.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from jobs import proposals as jp
from retour.models import Theme, ThemeProposal
from webapp import actions, queries
from webapp.db import get_session, settings
from webapp.security import current_user
from webapp.templating import reader_lang, refuse_keeping, theme_name

bp = Blueprint("proposals", __name__, url_prefix="/proposals")


@bp.app_template_global("proposals_waiting")
def proposals_waiting(theme_id: int | None = None) -> list[jp.Shown]:
    """Open proposals in plain words: every one (the board) or those naming ``theme_id`` (a theme page)."""
    session = get_session()
    return jp.describe(session, jp.open_proposals(session, theme_id), lang=reader_lang())


def get_proposal(session: Session, proposal_id: int) -> ThemeProposal:
    proposal = session.get(ThemeProposal, proposal_id)
    if proposal is None:
        abort(404)
    return proposal


def error_message(exc: jp.ProposalError) -> str:
    """The person's language for a refusal of jobs.proposals: a typed curation refusal (its own codes, or
    curation's passed on), said from its code like every curation page, never from its English text."""
    return actions.curation_refusal(exc)


def accept(session: Session, proposal: ThemeProposal, label: str | None, into: int | None,
           moving: Sequence[int] | None = None) -> Theme:
    """Accept through jobs.proposals; a refusal becomes an ActionError in the person's language. ``moving``: the
    evidence ids a person ticked on a split's review page, instead of the pass's cut."""
    try:
        theme = jp.accept_proposal(session, proposal, current_user(), label=(label or "").strip() or None, into=into,
                                   lang=reader_lang(), moving=moving)
    except jp.ProposalError as exc:
        raise actions.ActionError(error_message(exc)) from exc
    _replan_after(session, proposal)
    return theme


def decline(session: Session, proposal: ThemeProposal) -> ThemeProposal:
    try:
        answered = jp.decline_proposal(session, proposal, current_user())
    except jp.ProposalError as exc:
        raise actions.ActionError(error_message(exc)) from exc
    _replan_after(session, proposal)
    return answered


def _replan_after(session: Session, proposal: ThemeProposal) -> None:
    """A split answered either way changes which records a draft on its theme holds (or writes): plan them again."""
    if proposal.kind == "split":
        actions.replan_drafts(session, proposal.theme_id, settings())


def _back(theme_id: int, proposal: ThemeProposal | None = None):
    """Back to the board when the person answered there, else to the theme to look at: after a decline or a
    refusal, the theme page they answered on (``back`` holds its id; a merge is listed on both themes' pages)."""
    back = request.form.get("back")
    if back == "board":
        return redirect(url_for("board.index"))
    page = actions.parse_int(back)
    if proposal is not None and page is not None and page in (proposal.theme_id, proposal.other_theme_id):
        theme_id = page
    return redirect(url_for("themes.detail", theme_id=theme_id))


@bp.route("/<int:proposal_id>/review", endpoint="review")
def review(proposal_id: int):
    """A split's two parts in full, quote by quote, before any quote moves: the desk shows three of each part, and
    a review found a split that would have moved 156 quotes, the theme's own subject among them, judged from three.
    A product owner ticks what moves (the pass's cut comes ticked), names the new theme, and splits or declines."""
    session = get_session()
    proposal = get_proposal(session, proposal_id)
    if proposal.kind != "split" or proposal.status != "open":
        return redirect(url_for("themes.detail", theme_id=proposal.theme_id))
    return _review_page(session, proposal)


def _review_page(session: Session, proposal: ThemeProposal, *, ticked: Collection[int] | None = None,
                 label: str | None = None, into: int | None = None, error: str | None = None, status: int = 200):
    """The review page; after a refusal, with the person's own ticks, name or theme chosen, and the reason."""
    shown = next(iter(jp.describe(session, [proposal], lang=reader_lang())), None)
    if shown is None:
        abort(404)
    stays, moves = jp.split_sides(session, proposal, doubtful_first=True)
    rows = queries.evidence_rows(session, [q.evidence_id for q in (*stays, *moves)])
    sides = [[rows[q.evidence_id] for q in side if q.evidence_id in rows] for side in (moves, stays)]
    if ticked is None:
        ticked = {q.evidence_id for q in moves}
    # The part may be another theme's subject: its quotes can go there instead of to a new theme.
    others = queries.other_themes(session, proposal.theme_id)
    return render_template("proposal_split.html", p=shown, moves=sides[0], stays=sides[1], ticked=set(ticked),
                           label=shown.label if label is None else label, into=into, others=others,
                           error=error), status


def _ticked() -> list[int] | None:
    """The evidence ids ticked on a split's review page (None when the form did not come from it)."""
    if request.form.get("reviewed") != "1":
        return None
    return [i for i in (actions.parse_int(v) for v in request.form.getlist("move")) if i is not None]


@bp.route("/<int:proposal_id>/accept", methods=["POST"], endpoint="accept")
def accept_form(proposal_id: int):
    """Carry out a merge, split or rename the theme pass proposed."""
    session = get_session()
    proposal = get_proposal(session, proposal_id)
    kind, theme_id = proposal.kind, proposal.theme_id
    moving = _ticked() if kind == "split" else None
    try:
        theme = accept(session, proposal, request.form.get("label"), actions.parse_int(request.form.get("into")),
                       moving)
    except actions.ActionError as exc:
        session.rollback()
        if moving is not None and proposal.status == "open":
            # Back on the review page as the person left it: their ticks and their name, and the reason.
            return _review_page(session, proposal, ticked=moving, label=request.form.get("label"),
                                into=actions.parse_int(request.form.get("into")), error=str(exc), status=422)
        if kind in ("split", "rename") and "label" in request.form:
            # The name typed stays in the proposal's box to correct (the ids of _proposals.html's inputs).
            field = f"{'split-label' if kind == 'split' else 'rename-proposal'}-{proposal_id}"
            refuse_keeping(str(exc), field, request.form.get("label"))
        else:
            flash(str(exc), "error")
        return _back(theme_id, proposal)
    session.commit()
    if kind == "merge":  # the notice offers to undo it, as after a merge made on the theme page
        source_id = proposal.other_theme_id if theme.id == proposal.theme_id else proposal.theme_id
        flash(actions.merged_notice(session, session.get(Theme, source_id)))
    elif kind == "split" and theme.id != proposal.theme_id and request.form.get("into"):
        flash(_("Theme split: its ticked quotes are now in “%(label)s”.", label=theme_name(theme)))
    else:
        flash({"split": _("Theme split: the new theme is “%(label)s”.", label=theme.label),
               "rename": _("Theme renamed.")}[kind])
    return _back(theme.id)


@bp.route("/<int:proposal_id>/decline", methods=["POST"], endpoint="decline")
def decline_form(proposal_id: int):
    """Say no to a proposal; the theme pass will not make it again."""
    session = get_session()
    proposal = get_proposal(session, proposal_id)
    try:
        decline(session, proposal)
    except actions.ActionError as exc:
        session.rollback()
        flash(str(exc), "error")
        return _back(proposal.theme_id, proposal)
    session.commit()
    flash(_("Proposal declined: it will not be made again."))
    return _back(proposal.theme_id, proposal)
