"""One error handler: roll back on 500, answer JSON under /api/ and a page otherwise, never leak details."""

from __future__ import annotations

import logging

from flask import Flask, flash, g, jsonify, make_response, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.security import is_api
from webapp.templating import language_next

log = logging.getLogger("retour.web")

MESSAGES = {
    400: "The request was not understood.",
    401: "Log in first.",
    403: "Your role does not allow this.",
    404: "Nothing here.",
    405: "This method is not allowed here.",
    409: "This conflicts with the current state.",
    413: "The request is too large.",
}


# The same, for a person reading a page, in their language (the API's messages above stay as they are).
PAGE_MESSAGES = {
    400: _l("The request was not understood."),
    401: _l("Log in first."),
    403: _l("Your role does not allow this."),
    404: _l("Nothing here."),
    405: _l("This method is not allowed here."),
    409: _l("This conflicts with the current state."),
    413: _l("The request is too large."),
}
# A theme pass (or another person) changed a row between this request's read and its write (Theme.version; an
# evidence row a rebuild removed): nothing was written.
CHANGED = ("This changed while you acted (a theme pass ran, or someone else acted). Nothing was changed: read it "
           "again and do it again if it still applies.")
PAGE_CHANGED = _l("This changed while you acted (a theme pass ran, or someone else acted). Nothing was changed: the "
                  "page shows how it stands now; do it again if it still applies.")
PAGE_FAILURE = _l("Something went wrong on our side; it has been logged.")
PAGE_CSRF = _l("The form expired or did not come from Retour (missing CSRF token). Reload the page and try again.")


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _respond(code: int, description: str | None):
    message = MESSAGES.get(code, "Something went wrong on our side; it has been logged.")
    if code == 400 and description == "csrf":
        message = "The form expired or did not come from Retour (missing CSRF token). Reload the page and try again."
    elif code in (400, 409) and description and not description.startswith("The browser (or proxy)"):
        message = description
    if is_api():
        return jsonify({"error": {"code": code, "message": message}}), code
    if message is not description:
        message = str(PAGE_CSRF if code == 400 and description == "csrf" else PAGE_MESSAGES.get(code, PAGE_FAILURE))
    return render_template("error.html", code=code, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code >= 500:
            _rollback()
        if exc.code in (301, 302, 303, 307, 308) or exc.code is None:
            return exc
        return _respond(exc.code, exc.description)

    @app.errorhandler(StaleDataError)
    def changed_meanwhile(exc: StaleDataError):
        # Not a failure: two writers met, and the later one loses nothing by doing it again on what it now sees. A
        # person is taken back to the page they acted on, which now shows the other writer's result, with the
        # notice: an error page would offer "reload", which sends the form again, and htmx shows no 4xx answer.
        _rollback()
        log.info("web=conflict path=%s reason=changed-meanwhile detail=%s", request.path, exc)
        if is_api():
            return _respond(409, CHANGED)
        flash(str(PAGE_CHANGED), "error")
        if request.headers.get("HX-Request") == "true":
            response = make_response("", 204)
            response.headers["HX-Refresh"] = "true"
            return response
        # Browsers send no Referer (Referrer-Policy: no-referrer): the page above the form's address, as the language
        # switch finds it (/themes/3/rename -> /themes/3).
        return redirect(language_next(), 303)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        _rollback()
        log.exception("web=error path=%s exc=%s", request.path, exc.__class__.__name__)
        return _respond(InternalServerError.code, None)
