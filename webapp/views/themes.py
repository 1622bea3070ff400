"""Theme detail and curation: figures over time, deals, evidence, and the product owner's corrections.

Every correction is also a label the next theme pass learns from (``jobs.learn``): accepting or declining a
suggestion, "not feedback", example sentences, a theme a person creates. Each writes a curation event, which moves
the data version, so the next page load (cached or not) shows it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import astuple
from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, ngettext
from markupsafe import Markup

from retour.models import Theme, utcnow
from webapp import actions, queries
from jobs import figures
from retour.folding import wording
from webapp.cache import CSRF_SLOT, cached, cached_page, figure_cache
from webapp.charts import bar_chart
from webapp.display import csv_cell
from webapp.db import get_session, settings
from webapp.security import csrf_token, current_user, has_role
from webapp.templating import choice_names, month, reader_lang, refuse_keeping, theme_name, theme_names

bp = Blueprint("themes", __name__, url_prefix="/themes")


def evidence_html(theme, evidence: list, others: list, sf_url, detail_qs: str = "",
                  typed: tuple[int, str] | None = None, sync: Any = None) -> Markup:
    """The evidence list, rendered once per distinct content, language and role; the user's CSRF token is
    put in afterwards, so the cached fragment holds no secret. ``typed`` is (evidence id, text) of a move the
    server refused: that quote's box keeps what the person typed, focused, to correct it. ``sync``: the data
    version's sync part, which moves the stages' and loss reasons' labels (``templating.picklist_label``)."""
    can_curate = has_role("product_owner")
    choices = choice_names(others, [theme]) if can_curate else {}  # the move list's names, numbered where alike
    key = ("evidence_html", str(get_locale()), sync, can_curate, theme.id, theme.status, detail_qs,
           tuple(astuple(e) for e in evidence), tuple(choices.items()) or tuple(others),
           settings().salesforce.instance_url, typed)
    html = cached(key, lambda: render_template("_evidence_list.html", theme=theme, evidence=evidence, others=others,
                                               choices=choices, sf_url=sf_url, csrf_placeholder=CSRF_SLOT,
                                               detail_qs=detail_qs, typed=typed),
                  lasting=True)
    return Markup(html.replace(CSRF_SLOT, csrf_token()))


def page_filters() -> queries.BoardFilters:
    """The period and filters the theme is shown in (the board's, carried by its links); a value the board would
    refuse falls back to all feedback rather than failing the theme page."""
    try:
        return queries.BoardFilters.from_args(request.args, settings())
    except queries.FilterError:
        return queries.BoardFilters()


def detail_context(theme_id: int, page: int | None = None, filters: queries.BoardFilters | None = None,
                   typed: tuple[int, str] | None = None) -> dict:
    session = get_session()
    cfg = settings()
    theme = actions.get_theme(session, theme_id)
    f = filters or page_filters()
    page = page or f.page
    detail_qs = f.query_string(page=1, status="")
    v = queries.data_version(session)
    now = utcnow()
    keep = figure_cache()
    # The figures, status and why of this theme, read where the board reads them (jobs.figures, kept per evidence
    # fingerprint): a move, a reject, a merge or an approved decision shows on the next load.
    measured = queries.theme_figures(session, cfg, f.scope, now=now, sync=v.sync, cache=keep, theme_ids=[theme.id])
    figs = figures.figures_of(measured, theme.id, f.window, cfg.critical_mass.currency)
    judged = queries.judgements(session, cfg, now=now, sync=v.sync, cache=keep, theme_ids=[theme.id]).get(theme.id)
    # Per theme: its updated_at moves with every pass or curation that changes its evidence or figures (in the
    # same transaction), its latest curation event covers pins, the sync part covers texts, deals and deletions;
    # the period, the filters and the day say which of its feedback is shown.
    mine = (theme.id, theme.updated_at, queries.last_curation(session, theme.id), v.sync, f.scope, f.window,
            figures.Clock.at(now).end)
    evidence, total = cached(("evidence", page) + mine, lambda: queries.evidence(
        session, theme.id, page=page, scope=f.scope, window=f.window, now=now), lasting=True)
    last_page = max(1, -(-total // queries.EVIDENCE_PAGE))
    if page > last_page:  # the last quote of the last page was moved away, or an old link: the last page
        page = last_page
        evidence, total = cached(("evidence", page) + mine, lambda: queries.evidence(
            session, theme.id, page=page, scope=f.scope, window=f.window, now=now), lasting=True)
    # The evidence forms carry the page they are on: their answer shows that page again, not page 1.
    evidence_qs = f.query_string(page=page, status="")
    months = cached(("months",) + mine, lambda: figures.monthly(session, cfg, theme.id, f.scope, now=now,
                                                                 window_days=f.window), lasting=True)
    deals, deals_total = cached(("deals",) + mine, lambda: figures.deals(session, cfg, theme.id, f.scope, now=now,
                                                                          window_days=f.window), lasting=True)
    month_labels = [month_label(m) for m in months]
    chart = bar_chart(month_labels, [m.items for m in months], [m.accounts for m in months],
                      axis=axis_labels(months))
    others = cached(("others", theme.id, v.themes), lambda: queries.other_themes(session, theme.id))
    sf_url = lambda rid: queries.salesforce_url(settings(), rid)  # noqa: E731
    # Suggestions and examples are a few rows on indexed theme_id, read fresh: a pass adds suggestions without
    # always touching the theme row, and the page cache's data version covers what people do.
    waiting, written = queries.taught_counts(session, theme.id)
    suggested, suggested_total = queries.suggestions(session, theme.id, total=waiting)
    examples, examples_total = queries.examples(session, theme.id, total=written)
    status = judged.status if judged is not None else theme.status
    evidence_held = theme.id in queries.evidence_fingerprints(session, keep, [theme.id])
    # No quote at all yet (a theme a person just created, or one whose quotes were all moved away): it is not
    # "emerging" and has nothing over time; it waits for the next theme pass to gather its evidence.
    gathering = total == 0 and not f.filters_evidence and theme.status not in queries.HIDDEN_STATUSES
    return {"gathering": gathering, "suggestions": suggested, "suggestions_total": suggested_total,
            "examples": examples, "examples_total": examples_total, "theme": theme, "evidence": evidence, "evidence_total": total,
            "page": page, "filters": f, "detail_qs": detail_qs, "figures": figs, "judged": judged, "status": status,
            "evidence_held": evidence_held,
            "evidence_html": evidence_html(theme, evidence, others, sf_url, evidence_qs, typed, v.sync),
            # fragments keyed by their content: never stale
            "chart_html": cached(("chart_html", str(get_locale()), tuple(months), tuple(month_labels)),
                                 lambda: Markup(render_template("_chart.html", chart=chart, months=months,
                                                                labels=month_labels, figures=figs)), lasting=True),
            "deals_html": cached(("deals_html", str(get_locale()), v.sync, settings().salesforce.instance_url,
                                  tuple(deals), deals_total, detail_qs),
                                 lambda: Markup(render_template("_deals.html", deals=deals, deals_total=deals_total,
                                                                sf_url=sf_url, csv_url=url_for(
                                                                    "themes.deals_csv", theme_id=theme.id,
                                                                    **f.params(page=1, status="")))), lasting=True),
            "pages": last_page, "deals": deals, "deals_total": deals_total,
            "months": months, "chart": chart, "log": queries.activity(session, theme.id),
            "decisions": queries.decisions_for(session, theme.id), "others": others, "sf_url": sf_url,
            "windows": queries.WINDOWS, "rule_days": cfg.critical_mass.window_days,
            "currency": cfg.critical_mass.currency, "half_life": cfg.critical_mass.half_life_days}


def month_label(m: figures.Month) -> str:
    """A chart bar's name in the reader's language, with its year ("Mar 2026", "mars 2026")."""
    if m.start is None:
        return _("Earlier")
    return month(m.start)


def axis_labels(months: list[figures.Month]) -> list[str]:
    """What is written under the chart's bars: the year only where it starts (the first month shown, each January),
    so twelve French months fit side by side ("janv. 2026", "févr.", "mars" rather than "janv. 2026févr. 2026")."""
    out, dated = [], False
    for m in months:
        if m.start is None:
            out.append(month_label(m))
            continue
        out.append(month(m.start, year=not dated or m.start.month == 1))
        dated = True
    return out


@bp.route("/<int:theme_id>")
def detail(theme_id: int):
    """Show a theme: its figures for the board's period and filters, chart, deals, evidence, decisions, activity."""
    return cached_page(lambda: _detail_page(theme_id))


@bp.route("/<int:theme_id>/deals.csv")
def deals_csv(theme_id: int):
    """Every deal behind the theme's revenue figures in the page's period and filters, as a spreadsheet: the page
    lists the 30 largest, and a review could not check a figure made of 392 deals (``jobs.figures.deals``, the rows
    the lost and open figures add up from). Amounts are plain numbers; CRM text cannot run as a formula."""
    session = get_session()
    cfg = settings()
    theme = actions.get_theme(session, theme_id)
    f = page_filters()
    rows, _total = figures.deals(session, cfg, theme.id, f.scope, now=utcnow(), window_days=f.window, limit=None)
    currency = cfg.critical_mass.currency
    counts_as = {"lost": _("lost"), "open": _("open pipeline"), "won": _("won (not at stake)")}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Account"), _("Opportunity"), _("Opportunity ID"), _("Stage"), _("Counts as"),
                     _("Written on this deal"), _("Amount"), _("Currency"), _("Value in %(currency)s",
                                                                                  currency=currency), _("Items")])
    for d in rows:
        writer.writerow([csv_cell(v) for v in (
            d.account_name or "", d.name, d.id, d.stage, counts_as[d.at_stake], _("yes") if d.cited else _("no"),
            d.amount if d.amount is not None else "", d.amount_currency or "", d.value if d.value is not None else "",
            d.items)])
    response = make_response("\ufeff" + out.getvalue())  # the byte-order mark: Excel then reads UTF-8
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="theme-{theme.id}-deals.csv"'
    return response


def _detail_page(theme_id: int):
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    if theme.status == "merged":
        # Says where its quotes went, and lets a product owner take the merge back.
        target = session.get(Theme, theme.merged_into_id) if theme.merged_into_id else None
        return render_template("theme_merged.html", theme=theme, target=target, filters=page_filters(),
                               log=queries.activity(session, theme.id), undoable=actions.merge_undoable(session, theme))
    return render_template("theme.html", **detail_context(theme_id))


def _done(theme_id: int, message: str, error: actions.ActionError | None = None, *, anchor: str | None = None):
    """Back to the theme page in its period and filters, saying the refusal or the message. With ``anchor`` (an act
    on one quote of a list), on the page of quotes it was done on, scrolled to that list; else on page 1."""
    if error is not None:
        flash(str(error), "error")
    else:
        flash(message)
    params = page_filters().params() if anchor else page_filters().params(page=1)
    return redirect(url_for("themes.detail", theme_id=theme_id, _anchor=anchor, **params))


def _refused_name(theme_id: int, error: actions.ActionError, field: str):
    """A refused name said on the theme's page, the name typed still in its box (``field``) to correct."""
    refuse_keeping(str(error), field, request.form.get("label"))
    return redirect(url_for("themes.detail", theme_id=theme_id, **page_filters().params(page=1)))


def _refused(theme_id: int, error: actions.ActionError):
    """A refusal said beside the button when htmx sent the form, else on the theme's page."""
    if request.headers.get("HX-Request") == "true":
        return render_template("_flash_inline.html", message=str(error), category="error")
    return _done(theme_id, "", error)


def _to_theme(theme_id: int):
    """To a theme's page (page 1, in its period and filters) after an act that changed which page shows it: by an
    htmx redirect when htmx sent the form (a swap in place would show the page the theme left), else plainly."""
    url = url_for("themes.detail", theme_id=theme_id, **page_filters().params(page=1))
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


@bp.route("/<int:theme_id>/rename", methods=["POST"])
def rename(theme_id: int):
    """Give the theme the name the product owner chose, as its name in the language of the page it was typed on
    (left to jobs.curation, a name typed on an English page replaced the French name when the theme's main label
    was the French one, and the English reader saw no change)."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        actions.rename(session, theme, request.form.get("label", ""), current_user(), lang=reader_lang())
    except actions.ActionError as exc:
        session.rollback()
        return _refused_name(theme_id, exc, "rename-label")
    session.commit()
    return _done(theme_id, _("Theme renamed."))


@bp.route("/<int:theme_id>/confirm", methods=["POST"])
def confirm(theme_id: int):
    """The product owner says the theme is right as shown: a curation act the next pass learns from."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        actions.confirm(session, theme, current_user())
    except actions.ActionError as exc:
        return _done(theme_id, "", exc)
    session.commit()
    return _done(theme_id, _("Theme confirmed: the next theme pass learns it from its typical quotes."))


@bp.route("/<int:theme_id>/merge", methods=["POST"])
def merge(theme_id: int):
    """Fold this theme into another one. A refusal (no theme chosen, a theme gone since the page was shown) is
    said beside the form when htmx sent it, else as the page's message; never a bare 404 page."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    target_id = actions.parse_int(request.form.get("target_id"))
    try:
        if target_id is None:
            raise actions.ActionError(_("Choose the theme to merge this one into."))
        if target_id != theme.id and _active_theme(target_id) is None:
            raise actions.ActionError(_("That theme no longer exists or was merged: choose another one."))
        target = actions.merge(session, theme, target_id, current_user())
    except actions.ActionError as exc:
        session.rollback()
        return _refused(theme_id, exc)
    session.commit()
    flash(actions.merged_notice(session, theme))
    return _to_theme(target.id)


@bp.route("/<int:theme_id>/unmerge", methods=["POST"])
def unmerge(theme_id: int):
    """Undo the merge of this theme: its quotes, status and name come back, and the pair is kept apart. A refusal
    is said beside the button when htmx sent it, else on the merged theme's page (which says where it went)."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        actions.unmerge(session, theme, current_user())
    except actions.ActionError as exc:
        session.rollback()
        return _refused(theme_id, exc)
    session.commit()
    message = _("Merge undone: “%(label)s” is a theme of its own again, with its quotes. The theme pass will not "
                "propose merging these two again.", label=theme_name(theme))
    flash(message)
    return _to_theme(theme_id)


# --------------------------------------------------------------------------------------------- move targets
TARGETS_SHOWN = 20  # names offered as one types: enough to pick from, few enough to read


def _active_theme(theme_id: int) -> Theme | None:
    theme = get_session().get(Theme, theme_id)
    return theme if theme is not None and theme.status in queries.BOARD_STATUSES else None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBERED = re.compile(r"(?P<name>.+?) \(#(?P<id>[0-9]{1,18})\)")


def _clean_name(text: str | None) -> str:
    """What a person typed as a theme's name, spacing collapsed; control characters (a NUL, which PostgreSQL refuses
    in any string) count as spaces."""
    return " ".join(_CONTROL.sub(" ", text or "").split())[:200]


def find_targets(exclude: int, text: str, limit: int = TARGETS_SHOWN) -> list[queries.ThemeRef]:
    """Active themes other than ``exclude`` whose name in any language holds ``text`` (case, accents and spacing
    aside, as rename and create compare names), those whose name starts with it first, then by score: the
    server-side search behind the move form's list, which reaches every theme however many there are (the page
    itself offers only the first few hundred by score).

    The names are compared in Python (``retour.folding.wording``): SQLite's ``lower()`` folds ASCII only and
    neither database drops accents portably, so "depart" or "DÉPART" found nothing for "Départ du champion".
    Active themes are a few thousand at most: one statement reads their names, by score."""
    text = _clean_name(text)
    numbered = _NUMBERED.fullmatch(text)
    if numbered:  # a name picked from the list, its number after it: the themes of that name stay offered
        text = numbered["name"]
    key = wording(text)
    if not key:
        return queries.other_themes(get_session(), exclude, limit=limit)
    starting, holding = [], []
    for ref in queries.active_themes(get_session(), exclude=exclude, limit=None):
        names = [wording(n) for n in (ref.label, ref.label_en, ref.label_fr) if n]
        if any(n.startswith(key) for n in names):
            starting.append(ref)
        elif any(key in n for n in names):
            holding.append(ref)
    return (starting + holding)[:limit]


def resolve_target(theme: Theme, text: str | None) -> Theme:
    """The active theme a person named in the move form: its name in any language (case, accents and spacing aside,
    as :func:`find_targets` finds it), or its number. Anything else is refused with a sentence that says what to
    type, so a typo never ends on a 404 page."""
    wanted = _clean_name(text)
    if not wanted:
        raise actions.ActionError(_("Type the name of the theme this quote belongs to."))
    number = actions.parse_int(wanted.removeprefix("#"))
    if number is not None:
        target = _active_theme(number)
        if target is None:
            raise actions.ActionError(_("There is no active theme no. %(id)s: type the theme's name.", id=number))
        return target
    key = wording(wanted)
    found = find_targets(-1, wanted, limit=200)
    exact = [t for t in found if key in {wording(n) for n in (t.label, t.label_en, t.label_fr)}]
    numbered = _NUMBERED.fullmatch(wanted)
    if not exact and numbered:
        # "Power BI connector (#15)": the list numbers two themes of one name (templating.choice_names).
        target = _active_theme(int(numbered["id"]))
        names = {wording(n) for n in (target.label, target.label_en, target.label_fr)} if target else set()
        if wording(numbered["name"]) in names:
            if target.id == theme.id:
                raise actions.ActionError(_("The quote is already under “%(name)s”.", name=wanted))
            return target
    if len(exact) > 1:
        raise actions.ActionError(_("Several themes are called “%(name)s”: type the number of the one you mean "
                                    "(%(ids)s).", name=wanted, ids=", ".join(f"#{t.id}" for t in exact)))
    if exact:
        if exact[0].id == theme.id:
            raise actions.ActionError(_("The quote is already under “%(name)s”.", name=wanted))
        return get_session().get(Theme, exact[0].id)
    close = [theme_name(t) for t in found if t.id != theme.id][:3]
    if close:
        raise actions.ActionError(_("No theme is called “%(name)s”. Did you mean %(names)s?", name=wanted,
                                    names=", ".join(_("“%(text)s”", text=n) for n in close)))
    raise actions.ActionError(_("No theme is called “%(name)s”: pick one from the list as you type.", name=wanted))


@bp.route("/<int:theme_id>/targets")
def targets(theme_id: int):
    """The themes whose name holds what the person typed in a move form, as the options of its list (htmx)."""
    actions.get_theme(get_session(), theme_id)
    found = find_targets(theme_id, request.args.get("target", ""))
    return render_template("_theme_targets.html", targets=found)


def _evidence_done(theme_id: int, message: str, error: actions.ActionError | None = None,
                   typed: tuple[int, str] | None = None):
    """htmx asks for the refreshed evidence list; a plain form gets a redirect. ``typed``: see evidence_html."""
    if request.headers.get("HX-Request") == "true":
        ctx = detail_context(theme_id, typed=typed if error is not None else None)
        if error is not None:
            # The list as it is now, with the refusal over it: htmx swaps no 4xx answer, so a 409 said nothing.
            return render_template("_evidence.html", notice=str(error), notice_class="error", **ctx)
        # The theme's figures and status swap in too: a quote moved or rejected changes them at once.
        return (render_template("_evidence.html", notice=message, **ctx)
                + render_template("_theme_head.html", oob=True, **ctx))
    return _done(theme_id, message, error, anchor="evidence")


@bp.route("/<int:theme_id>/evidence/<int:evidence_id>/move", methods=["POST"])
def move_evidence(theme_id: int, evidence_id: int):
    """Put a quote under the theme it belongs to."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        # The form names the theme (picked from a list as one types); an older form or script may still send its id.
        if "target" in request.form or "target_id" not in request.form:
            target = resolve_target(theme, request.form.get("target"))
        else:
            target_id = actions.parse_int(request.form.get("target_id"))
            target = _active_theme(target_id) if target_id is not None else None
            if target is None:
                raise actions.ActionError(_("Type the name of the theme this quote belongs to."))
        actions.move_evidence(session, theme, evidence_id, target.id, current_user())
    except actions.ActionError as exc:
        session.rollback()
        # The list comes back with the refusal: the quote's box keeps the name typed ("Did you mean …?").
        return _evidence_done(theme_id, "", exc, typed=(evidence_id, _clean_name(request.form.get("target"))))
    session.commit()
    return _evidence_done(theme_id, _("Quote moved to “%(name)s”.", name=theme_name(target)))


@bp.route("/<int:theme_id>/evidence/<int:evidence_id>/reject", methods=["POST"])
def reject_evidence(theme_id: int, evidence_id: int):
    """Say a quote is not about this theme."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        actions.reject_evidence(session, theme, evidence_id, current_user())
    except actions.ActionError as exc:
        return _evidence_done(theme_id, "", exc)
    session.commit()
    return _evidence_done(theme_id, _("Quote rejected."))


@bp.route("/<int:theme_id>/evidence/<int:evidence_id>/pin", methods=["POST"])
def pin_evidence(theme_id: int, evidence_id: int):
    """Pin (or unpin) a representative quote."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    pinned = request.form.get("pinned", "true") == "true"
    try:
        actions.pin_evidence(session, theme, evidence_id, pinned, current_user())
    except actions.ActionError as exc:
        return _evidence_done(theme_id, "", exc)
    session.commit()
    return _evidence_done(theme_id, _("Quote pinned.") if pinned else _("Quote unpinned."))


# --------------------------------------------------------------------------------------------- learning
def _fragments(theme_id: int, notice: str, error: actions.ActionError | None = None):
    """htmx gets the section it targeted (suggestions or evidence) with the notice, and the other one swapped
    out of band: accepting a suggestion moves a quote from one list to the other. A refusal (someone answered
    first) comes back the same way, as an error notice over the lists as they are now: htmx swaps no 4xx
    answer, so a 409 would leave the person clicking a button that can no longer work. A plain form is redirected."""
    if request.headers.get("HX-Request") != "true":
        return _done(theme_id, notice, error,
                     anchor="suggestions" if request.form.get("from") == "suggestions" else "evidence")
    ctx = detail_context(theme_id)
    on_suggestions = request.headers.get("HX-Target") == "suggestions"
    said = {"notice": str(error) if error is not None else notice, "notice_class": "error" if error else ""}
    none = {"notice": None, "notice_class": ""}
    return (render_template("_suggestions.html", oob=not on_suggestions, **(said if on_suggestions else none), **ctx)
            + render_template("_evidence.html", oob=on_suggestions, **(none if on_suggestions else said), **ctx)
            + render_template("_theme_head.html", oob=True, **ctx))


def _suggestion_act(theme_id: int, evidence_id: int, act, done: str | Callable[[Any], str]):
    """``done``: what the page says once it is done, or a function of the session giving it (read before commit)."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        act(session, theme, evidence_id, current_user())
    except actions.ActionError as exc:
        session.rollback()
        return _fragments(theme_id, "", exc)
    said = done if isinstance(done, str) else done(session)
    session.commit()
    return _fragments(theme_id, said)


@bp.route("/<int:theme_id>/suggestions/<int:evidence_id>/accept", methods=["POST"])
def accept_suggestion(theme_id: int, evidence_id: int):
    """File a suggested quote under the theme: it becomes evidence and teaches the theme."""
    def said(session) -> str:
        # A quote that counted in another theme left it: the person must hear it, not only the receiving theme.
        source = queries.accepted_from(session, theme_id, getattr(current_user(), "id", None))
        name = theme_names([source]).get(source) if source is not None else None
        if name:
            return _("Suggestion accepted: the quote is now evidence here, and no longer in “%(name)s”.", name=name)
        return _("Suggestion accepted: the quote is now evidence.")
    return _suggestion_act(theme_id, evidence_id, actions.accept_suggestion, said)


@bp.route("/<int:theme_id>/suggestions/<int:evidence_id>/decline", methods=["POST"])
def decline_suggestion(theme_id: int, evidence_id: int):
    """Say a suggested quote is not about this theme; it is not suggested here again."""
    return _suggestion_act(theme_id, evidence_id, actions.decline_suggestion,
                           _("Suggestion declined: it will not be suggested for this theme again."))


@bp.route("/<int:theme_id>/evidence/<int:evidence_id>/not-feedback", methods=["POST"])
def not_feedback(theme_id: int, evidence_id: int):
    """Say a quote is not feedback at all: it leaves every theme, and the theme pass learns what is not feedback."""
    return _suggestion_act(theme_id, evidence_id, actions.not_feedback,
                           _("Marked as not feedback: it counts in no theme."))


@bp.route("/new")
def new():
    """The form for a theme a person names and describes with example sentences."""
    return render_template("theme_new.html", form={"lang": reader_lang()}, error=None)


@bp.route("/new", methods=["POST"], endpoint="create")
def create():
    """Create a theme from its name and example sentences; the next theme pass gathers its evidence."""
    session = get_session()
    try:
        theme = actions.create_theme(session, request.form.get("label"), request.form.get("lang"), current_user(),
                                     examples=request.form.get("examples", ""))
    except actions.ActionError as exc:
        session.rollback()
        return render_template("theme_new.html", form=request.form, error=str(exc)), 400
    session.commit()
    flash(_("Theme created. The next theme pass will gather its evidence from the sentences you wrote."))
    return redirect(url_for("themes.detail", theme_id=theme.id))


@bp.route("/<int:theme_id>/examples", methods=["POST"])
def add_examples(theme_id: int):
    """Add sentences that say what the theme is about; the next theme pass learns from them."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        added = actions.add_examples(session, theme, request.form.get("examples", ""), current_user())
    except actions.ActionError as exc:
        session.rollback()
        if theme.status in ("merged", "dismissed"):  # no form to show it beside: said on the page it leads to
            flash(str(exc), "error")
            return redirect(url_for("themes.detail", theme_id=theme_id, _anchor="examples"))
        # The page again with the refusal beside the form and the sentences still in it (a redirect emptied it).
        return render_template("theme.html", examples_error=str(exc), examples_typed=request.form.get("examples", ""),
                               **detail_context(theme_id)), 400
    session.commit()
    flash(ngettext("%(num)s example sentence added: the next theme pass learns from it.",
                   "%(num)s example sentences added: the next theme pass learns from them.", len(added)))
    return redirect(url_for("themes.detail", theme_id=theme_id, _anchor="examples", **page_filters().params(page=1)))


@bp.route("/<int:theme_id>/name", methods=["POST"])
def name_in(theme_id: int):
    """Give the theme its name in English or in French, as a person writes it (there is no machine translation)."""
    session = get_session()
    theme = actions.get_theme(session, theme_id)
    try:
        actions.name_in(session, theme, request.form.get("lang"), request.form.get("label"), current_user())
    except actions.ActionError as exc:
        session.rollback()
        # The form above the figures (the reader's language has no name yet) or the Curate section's, per language.
        lang = request.form.get("lang")
        field = "name-in-label" if request.form.get("field") == "name-in-label" else f"name-{lang}"
        return _refused_name(theme_id, exc, field if lang in actions.THEME_LANGS else "name-in-label")
    session.commit()
    return _done(theme_id, _("Name saved."))
