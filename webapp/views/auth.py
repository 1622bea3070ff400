"""Log in and out, the language switch, and the site icon."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import (Blueprint, Response, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_babel import force_locale, gettext as _

from webapp import security
from webapp.db import get_session
from webapp.i18n import LANGUAGES
from webapp.users import AccountDeactivated, authenticate, end_sessions, normalise_email

bp = Blueprint("auth", __name__)
log = logging.getLogger("retour.web")


# Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so "/\t/evil.com" and "/\\evil.com"
# both reach another site as "//evil.com"; a CR or LF cannot even go into a Location header.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next(target: str | None) -> str:
    """Only a path on this site: a login or language link must not send people anywhere else; anything else goes home."""
    if target and target.startswith("/") and not target.startswith("//") and not _UNSAFE.search(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("board.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; check the password and open a fresh session."""
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    email = normalise_email(request.form.get("email", ""))[:255]
    password = request.form.get("password", "")
    ip = security.client_ip()
    limiter = security.login_limiter()
    if limiter.blocked(ip, email):
        log.warning("web=login state=rate_limited ip=%s", ip)
        return render_template("login.html", next=request.form.get("next", ""), email=email,
                               error=_("Too many attempts. Wait a minute and try again.")), 429
    try:
        user = authenticate(get_session(), email, password)
    except AccountDeactivated:
        log.info("web=login state=deactivated ip=%s", ip)
        return render_template("login.html", next=request.form.get("next", ""), email=email,
                               error=_("This account is deactivated. Ask an administrator to reactivate it.")), 403
    if user is None:
        limiter.failed(ip, email)
        log.info("web=login state=failed ip=%s", ip)
        return render_template("login.html", next=request.form.get("next", ""), email=email,
                               error=_("Wrong e-mail or password.")), 401
    limiter.succeeded(ip, email)
    lang = session.get("lang")
    security.login(user)
    if lang and not user.locale:
        session["lang"] = lang
    log.info("web=login state=ok user_id=%s", user.id)
    return redirect(safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session, and every other open session of the account: a copied cookie must not outlive a logout."""
    user = security.current_user()
    if user is not None:
        end_sessions(user)
        get_session().commit()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on every site whatever the page links: answer with the SVG icon (every browser
    Retour supports reads it) rather than a 404 in every log, cached for a day."""
    # The bytes themselves (half a kilobyte), not a file stream: nothing is left open if the client goes away.
    icon = Path(current_app.static_folder or "", "favicon.svg").read_bytes()
    return Response(icon, mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the UI language; remembered on the account when logged in."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
        user = security.current_user()
        if user is not None:
            user.locale = lang
            get_session().commit()
        with force_locale(lang):  # said in the language chosen (this request's pages were still in the old one)
            flash(_("Language changed."))
    return redirect(safe_next(request.form.get("next")))
