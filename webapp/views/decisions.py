"""Decisions: record one, preview exactly what each rep will receive, then approve, edit, cancel or withdraw."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp import actions
from webapp.db import get_session, settings
from webapp.security import current_user

bp = Blueprint("decisions", __name__)


@bp.route("/themes/<int:theme_id>/decisions/new")
def new(theme_id: int):
    """Show the decision form for a theme; its titles for reps start as the theme's label, for a person to rewrite."""
    theme = actions.get_theme(get_session(), theme_id)
    return render_template("decision_form.html", theme=theme, decision=None,
                           form={"title_en": theme.label, "title_fr": theme.label}, statuses=actions.DECISION_STATUSES)


@bp.route("/themes/<int:theme_id>/decisions", methods=["POST"])
def create(theme_id: int):
    """Record the decision and prepare its push; show the preview."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        decision = actions.create_decision(session, theme, request.form.to_dict(), current_user(), settings())
    except actions.ActionError as exc:
        session.rollback()
        return render_template("decision_form.html", theme=theme, decision=None, form=request.form,
                               statuses=actions.DECISION_STATUSES, error=str(exc)), 400
    session.commit()
    flash(_("Decision saved. Check what each rep will receive, then approve."))
    return redirect(url_for("decisions.show", decision_id=decision.id))


@bp.route("/decisions/<int:decision_id>")
def show(decision_id: int):
    """Show a decision and the preview of its push."""
    session = get_session()
    decision = actions.get_decision(session, decision_id)
    missing = actions.missing_titles_message(decision) if decision.state == "draft" else None
    return render_template("decision.html", decision=decision, theme=decision.theme,
                           preview=actions.preview(session, decision), missing_titles=missing)


@bp.route("/decisions/<int:decision_id>/edit")
def edit(decision_id: int):
    """Show the decision form filled in, to change a draft (a draft from before titles gets the theme's label)."""
    decision = actions.get_decision(get_session(), decision_id)
    label = decision.theme.label if decision.theme else ""
    form = {"status": decision.status, "target": decision.target or "", "insight_en": decision.insight_en or "",
            "insight_fr": decision.insight_fr or "", "title_en": decision.title_en or label,
            "title_fr": decision.title_fr or label}
    return render_template("decision_form.html", theme=decision.theme, decision=decision, form=form,
                           statuses=actions.DECISION_STATUSES)


@bp.route("/decisions/<int:decision_id>/edit", methods=["POST"])
def update(decision_id: int):
    """Save the edited draft and prepare its push again."""
    session = get_session()
    decision = actions.get_decision(session, decision_id)
    try:
        actions.update_decision(session, decision, request.form.to_dict(), settings())
    except actions.ActionError as exc:
        session.rollback()
        return render_template("decision_form.html", theme=decision.theme, decision=decision, form=request.form,
                               statuses=actions.DECISION_STATUSES, error=str(exc)), 400
    session.commit()
    flash(_("Decision updated; the preview below is the new text."))
    return redirect(url_for("decisions.show", decision_id=decision.id))


def _act(decision_id: int, action: str, message: str):
    session = get_session()
    decision = actions.get_decision(session, decision_id)
    try:
        actions.decision_action(session, decision, action, current_user())
    except actions.ActionError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("decisions.show", decision_id=decision_id))
    session.commit()
    flash(message)
    return redirect(url_for("decisions.show", decision_id=decision_id))


@bp.route("/decisions/<int:decision_id>/approve", methods=["POST"])
def approve(decision_id: int):
    """Approve the planned push: it will be sent by the next push run (unless paused)."""
    return _act(decision_id, "approve", _("Push approved. It goes out with the next push run unless pushes are paused."))


@bp.route("/decisions/<int:decision_id>/cancel", methods=["POST"])
def cancel(decision_id: int):
    """Cancel a draft: nothing will be sent."""
    return _act(decision_id, "cancel", _("Decision cancelled; nothing will be sent."))


@bp.route("/decisions/<int:decision_id>/withdraw", methods=["POST"])
def withdraw(decision_id: int):
    """Withdraw an approved decision: insights already sent are marked withdrawn in Salesforce."""
    return _act(decision_id, "withdraw", _("Decision withdrawn."))
