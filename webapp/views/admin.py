"""Administration: accounts, and the global push pause (product owners may pause too)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from retour.models import AppUser, SetAside
from retour.switches import is_push_paused
from webapp import actions, security
from webapp.db import get_session
from webapp.users import ROLES, UserError, create_or_reset_user, find_user

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
    except UserError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.index"))
    session.commit()
    flash(_("Account created."))
    return redirect(url_for("admin.index"))


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


def pause_state() -> bool:
    return is_push_paused(get_session())
