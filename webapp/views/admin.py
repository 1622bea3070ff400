"""Administration: accounts, and the global push pause (product owners may pause too)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from flask import Blueprint, abort, flash, redirect, render_template, request, session as cookie, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from retour.models import AppSetting, AppUser, SetAside
from retour.switches import PUSH_PAUSE, is_push_paused
from webapp import actions, security
from webapp.db import get_session
from webapp.templating import ROLE
from webapp.users import (ROLES, LastAdminError, UserError, create_or_reset_user, find_user, set_active,
                          set_role)

bp = Blueprint("admin", __name__, url_prefix="/admin")
SET_ASIDE_SHOWN = 50  # the newest records the sync set aside, on the admin page


@bp.route("/")
def index():
    """List accounts; add one; show the push switch and the records the sync had to set aside."""
    session = get_session()
    users = session.scalars(select(AppUser).order_by(AppUser.email)).all()
    aside = session.scalars(select(SetAside).order_by(SetAside.last_seen_at.desc()).limit(SET_ASIDE_SHOWN)).all()
    aside_total = session.scalar(select(func.count()).select_from(SetAside)) or 0
    return render_template("admin.html", users=users, roles=ROLES, aside=aside, aside_total=aside_total)


@bp.route("/users", methods=["POST"])
def add_user():
    """Create an account (an existing e-mail is refused here: use `retour user add` to reset)."""
    session = get_session()
    email = request.form.get("email", "")
    if find_user(session, email) is not None:
        flash(_("An account with this e-mail exists already."), "error")
        return redirect(url_for("admin.index"))
    try:
        create_or_reset_user(session, email, request.form.get("password", ""), role=request.form.get("role", ""))
    except UserError:
        session.rollback()
        flash(_new_account_refusal(email, request.form.get("role", "")), "error")
        return redirect(url_for("admin.index"))
    session.commit()
    flash(_("Account created."))
    return redirect(url_for("admin.index"))


def _new_account_refusal(email: str, role: str) -> str:
    """Why webapp.users refused a new account, in the reader's language (its own messages are the CLI's)."""
    from webapp.users import MIN_PASSWORD, normalise_email
    address = normalise_email(email)
    if "@" not in address or len(address) > 255:
        return _("Write the person's e-mail address.")
    if role not in ROLES:
        return _("Choose one of the roles offered.")
    return _("A password has at least %(n)s characters.", n=MIN_PASSWORD)


def _account(user_id: int) -> AppUser:
    user = get_session().get(AppUser, user_id)
    if user is None:
        abort(404)
    return user


def _changed(user: AppUser, done: str):
    """Commit an account change. The change ended the account's sessions; when it is the admin's own account and
    still active, their session starts afresh (on the new epoch) instead of dropping them mid-task."""
    get_session().commit()
    me = security.signed_in()
    if me is not None and me.id == user.id:
        if not user.is_active:
            return redirect(url_for("auth.login"))
        lang = cookie.get("lang")
        security.login(user)  # clears the cookie session: the message is flashed after it
        if lang:
            cookie["lang"] = lang
        flash(done)
        return redirect(url_for("admin.index" if user.role == "admin" else "board.index"))
    flash(done)
    return redirect(url_for("admin.index"))


def _refused(user: AppUser, exc: UserError):
    if isinstance(exc, LastAdminError):
        message = _("%(email)s is the last active administrator: make another account administrator first.",
                    email=user.email)
    else:
        message = _("Choose one of the roles offered.")
    get_session().rollback()
    flash(message, "error")
    return redirect(url_for("admin.index"))


@bp.route("/users/<int:user_id>/role", methods=["POST"])
def set_user_role(user_id: int):
    """Change an account's role; its open sessions end, so the new role holds from its next request."""
    user = _account(user_id)
    role = request.form.get("role", "")
    try:
        changed = set_role(get_session(), user, role)
    except UserError as exc:
        return _refused(user, exc)
    if not changed:
        flash(_("%(email)s is already %(role)s.", email=user.email, role=ROLE[role]))
        return redirect(url_for("admin.index"))
    return _changed(user, _("%(email)s is now %(role)s; their open sessions have ended.", email=user.email,
                            role=ROLE[role]))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def set_user_active(user_id: int):
    """Deactivate or reactivate an account; deactivation ends its open sessions at once and refuses its logins."""
    user = _account(user_id)
    active = request.form.get("active") == "true"
    try:
        changed = set_active(get_session(), user, active)
    except UserError as exc:
        return _refused(user, exc)
    if not changed:
        return redirect(url_for("admin.index"))
    return _changed(user, _("%(email)s can sign in again.", email=user.email) if active else
                    _("%(email)s is deactivated; their open sessions have ended.", email=user.email))


@bp.route("/pause", methods=["POST"])
def pause():
    """Pause or resume every push at once."""
    session = get_session()
    paused = request.form.get("paused") == "true"
    actions.set_pause(session, paused, security.current_user(), request.form.get("reason", ""))
    session.commit()
    flash(_("Every push is paused.") if paused else _("Pushes resumed."))
    from webapp.views.auth import safe_next
    return redirect(safe_next(request.form.get("next")))


class PauseInfo(NamedTuple):
    """Who paused every push, when and why, for the banner every page shows while pushes are paused."""

    by: str | None  # the e-mail of the account that paused (None: paused from the server, or the account is gone)
    at: dt.datetime | None
    reason: str


def pause_state() -> PauseInfo | None:
    """The pause as the banner says it, or None while pushes run (so templates test it like a flag). One read of
    the switch's row by primary key, and one more for the e-mail only while paused."""
    session = get_session()
    if not is_push_paused(session):
        return None
    row = session.get(AppSetting, PUSH_PAUSE)
    value = row.value if row is not None else {}
    try:
        at = dt.datetime.fromisoformat(value["at"]) if value.get("at") else None
    except (TypeError, ValueError):
        at = None
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    by = session.scalar(select(AppUser.email).where(AppUser.id == row.updated_by_id)) if row.updated_by_id else None
    return PauseInfo(by, at, str(value.get("reason") or "").strip())
