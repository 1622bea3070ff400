"""Decisions: record one, preview exactly what each rep will receive, then approve, edit, cancel or withdraw."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp import actions, templating
from webapp.db import get_session, settings
from webapp.security import current_user

bp = Blueprint("decisions", __name__)


@bp.route("/themes/<int:theme_id>/decisions/new")
def new(theme_id: int):
    """Show the decision form for a theme; each title for reps starts as the theme's name a person wrote in THAT
    language (never another language's: a French name in the English field would reach English reps)."""
    theme = actions.get_theme(get_session(), theme_id)
    return render_template("decision_form.html", theme=theme, decision=None,
                           form={"title_en": theme.label_en or "", "title_fr": theme.label_fr or ""},
                           statuses=actions.DECISION_STATUSES)


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


# What a preview row's state and a skip reason say, per code (connector.push_preview, connector.push_plan.skip_code).
SHOWN = {"planned": _l("planned"), "waiting": _l("waiting for the next push run"),
         "deferred": _l("deferred by the rep's daily cap"), "retry": _l("to try again"), "written": _l("written"),
         "failed": _l("failed"), "skipped": _l("skipped"), "withdrawing": _l("being withdrawn"),
         "withdrawn": _l("withdrawn"), "cancelled": _l("cancelled")}
# The English is connector.push_plan's stored reason, word for word (the API and the logs give that one).
SKIPS = {"won": _l("won deal: nothing to give back"),
         "opportunity_deleted": _l("opportunity deleted in Salesforce (no longer mirrored)"),
         "account_deleted": _l("account deleted in Salesforce (no longer mirrored)"),
         "owner_unknown": _l("owner unknown to Retour (not synced yet, or no owner): nobody to give it to"),
         "owner_inactive": _l("owner inactive in Salesforce"),
         "no_title_en": _l("no title for reps in English: edit the decision to write one"),
         "no_title_fr": _l("no title for reps in French: edit the decision to write one"),
         "split_pending": _l("held: a split proposal of this theme would move every quote it raised to another "
                             "theme; accept or decline the proposal, then save the draft again"),
         "no_longer_raised": _l("no longer raised: every quote that brought it left the theme before it was sent")}
OBJECTS = {"Retour_Insight__c": (_l("insight"), _l("insights")), "Task": (_l("follow-up task"), _l("follow-up tasks")),
           "FeedItem": (_l("Chatter post"), _l("Chatter posts"))}
MAX_PAGE_DIGITS = 6


def page_arg(raw: str | None) -> int | None:
    """``?page=`` as a page number, or None when it is not one: ASCII digits only (``int()`` would take "١٢" and
    fail on "²"), at most six of them (no 10,000-digit number to parse), from 1."""
    raw = (raw or "1").strip() or "1"
    page = actions.parse_int(raw) if len(raw) <= MAX_PAGE_DIGITS else None  # the one parser of numbers in a request
    return page if page is not None and page >= 1 else None


@bp.route("/decisions/<int:decision_id>")
def show(decision_id: int):
    """Show a decision: what to do first, a summary of its push, then its records a page at a time."""
    from connector.push_preview import pages_of, preview_page
    from webapp.loops import SHOWN_STATES, loops_of

    session = get_session()
    decision = actions.get_decision(session, decision_id)
    page = page_arg(request.args.get("page"))
    if page is None:
        message = _("page=%(page)s is not a page number: give a whole number from 1 to %(pages)s.",
                    page=(request.args.get("page") or "")[:20], pages=pages_of(session, decision))
        return render_template("error.html", code=400, message=message), 400
    missing = actions.missing_titles_message(decision) if decision.state == "draft" else None
    cfg = settings()
    preview = preview_page(session, decision, cfg, page=page)
    loop = (loops_of(session, [decision], cfg.critical_mass.currency)[decision.id]
            if decision.state in SHOWN_STATES else None)
    return render_template("decision.html", decision=decision, theme=decision.theme, preview=preview,
                           missing_titles=missing, loop_figures=loop, shown_labels=SHOWN, skip_labels=SKIPS,
                           object_labels=OBJECTS, salesforce_url=_record_url)


def _record_url(record_id: str | None) -> str | None:
    from webapp.queries import salesforce_url
    return salesforce_url(settings(), record_id)


@bp.route("/decisions/<int:decision_id>/edit")
def edit(decision_id: int):
    """Show the decision form filled in, to change a draft (a draft from before titles gets the theme's name a
    person wrote in each language, if any)."""
    decision = actions.get_decision(get_session(), decision_id)
    theme = decision.theme
    form = {"status": decision.status, "target": decision.target or "", "insight_en": decision.insight_en or "",
            "insight_fr": decision.insight_fr or "",
            "title_en": decision.title_en or (theme.label_en if theme else None) or "",
            "title_fr": decision.title_fr or (theme.label_fr if theme else None) or ""}
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


@bp.route("/decisions/<int:decision_id>/send", methods=["POST"])
def send_now(decision_id: int):
    """Send this decision's approved records now (admins): the pause and each rep's daily cap hold, quiet days do not."""
    from connector import push
    from connector.errors import RetourSalesforceError

    session = get_session()
    decision = actions.get_decision(session, decision_id)
    back = redirect(url_for("decisions.show", decision_id=decision_id))
    if decision.state != "approved":
        flash(_("Only an approved decision can be sent."), "error")
        return back
    try:
        result = push.send_now(session, settings(), decision_id=decision.id)
    except RetourSalesforceError as exc:
        session.rollback()
        flash(_("Nothing was sent: %(reason)s", reason=exc.message), "error")
        return back
    session.commit()
    for message, category in _sent_messages(result, decision.id):
        flash(message, category)
    return back


def _sent_messages(result: dict[str, Any], decision_id: int) -> list[tuple[str, str]]:
    """connector.push.send_now's figures in the reader's words: what went, what waits and until when, what failed."""
    if result["paused"]:
        return [(_("Pushes are paused: nothing was sent. Resume them, then send again."), "error")]
    if not result["waiting_before"]:
        return [(_("Nothing of this decision is waiting to be sent."), "message")]
    figures = next((d for d in result["decisions"] if d["id"] == decision_id), None) or {"deferred": {}}
    out = [(ngettext("%(num)s record sent to Salesforce.", "%(num)s records sent to Salesforce.", result["sent"]),
            "message")]
    held = figures["deferred"].get("per_rep_daily_cap", 0)
    if held:
        until = figures.get("cap_until")
        out.append((ngettext("%(num)s record waits: each rep receives at most %(cap)s a day; all will have gone by "
                             "%(date)s.",
                             "%(num)s records wait: each rep receives at most %(cap)s a day; all will have gone by "
                             "%(date)s.", held, cap=result["per_rep_daily_cap"],
                             date=templating.date(dt.date.fromisoformat(until)) if until else "—"), "message"))
    if result["failed"]:
        out.append((ngettext("%(num)s record failed: its row below says why.",
                             "%(num)s records failed: their rows below say why.", result["failed"]), "error"))
    if figures["deferred"].get("retry"):
        out.append((_("Salesforce failed for a moment on some records: the next push run tries them again."), "error"))
    if result["stopped"] == "paused":
        out.append((_("Pushes were paused while sending: the rest waits until they resume."), "error"))
    elif result["stopped"]:
        out.append((_stopped_message(result["stopped"], result["error"]), "error"))
    return out


# Why connector.push stopped a run (PushReport.stopped, besides "paused"), in the reader's language. The connector's
# own line (English: it is the CLI's and the log's) follows as the detail, never as the sentence itself.
STOPPED = {
    "metadata": _l("Sending stopped: the Salesforce org lacks fields Retour writes. The records wait; deploy "
                   "Retour’s Salesforce metadata (deploy/salesforce), then send again."),
    "budget": _l("Sending stopped: the org’s Salesforce API budget for today is spent. The records wait for the "
                 "next push run."),
    "auth": _l("Sending stopped: Salesforce refused Retour’s login. The records wait; check the Salesforce "
               "connection settings, then send again."),
}


def _stopped_message(stopped: str, detail: str | None) -> str:
    """The sentence for a stopped run, then the connector's detail; a reason this table lacks still gets a
    sentence in the reader's language (and its code as the detail when the connector gave none)."""
    sentence = STOPPED.get(stopped) or _l("Sending stopped: the records not sent wait for the next push run.")
    detail = detail or ("" if stopped in STOPPED else stopped)
    return _("%(sentence)s Detail: %(detail)s", sentence=sentence, detail=detail) if detail else str(sentence)
