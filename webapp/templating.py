"""Jinja helpers: translated labels for stored codes, theme names, money and dates in the user's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from babel.numbers import format_compact_currency, format_percent
from flask import Flask, current_app, flash, g, get_flashed_messages, has_request_context, request
from flask_babel import (
    format_date, format_decimal, format_time, get_locale, get_translations, lazy_gettext as _l, to_user_timezone,
)
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from connector import push_efficacy
from connector.push_efficacy import LoopFigures
from jobs import critical_mass
from jobs.embed import detect_lang
from retour.dates import spelled_pattern
from retour.models import SyncState, Theme
from webapp.cache import cached
from webapp.db import get_session, settings
from webapp.queries import data_version

STATUS = {"emerging": _l("emerging"), "critical": _l("critical"), "decided": _l("decided"), "merged": _l("merged"),
          "dismissed": _l("dismissed")}
SOURCE = {"loss_reason": _l("loss reason"), "note": _l("note"), "case": _l("case")}
LANG = {"fr": _l("French"), "en": _l("English"), "other": _l("other")}
ROLE = {"admin": _l("administrator"), "product_owner": _l("product owner"), "viewer": _l("viewer")}
DECISION_STATUS = {"investigating": _l("investigating"), "planned": _l("planned"), "shipped": _l("shipped"),
                   "wont_do": _l("won't do")}
STATE = {"draft": _l("draft, awaiting approval"), "approved": _l("approved"), "cancelled": _l("cancelled"),
         "withdrawn": _l("withdrawn")}
ACTION = {"rename": _l("renamed the theme"), "merge": _l("merged themes"), "merged": _l("merged themes"),
          "move_evidence": _l("moved a quote"), "reject_evidence": _l("rejected a quote"),
          "pin_evidence": _l("pinned a quote"), "unpin_evidence": _l("unpinned a quote"),
          "split": _l("split the theme"), "decline_merge": _l("kept two proposed themes apart"),
          "decline_split": _l("kept the theme whole against a proposed split"),
          "decline_rename": _l("kept the theme's name against a proposed one"),
          "name_in": _l("named the theme in one language"), "create_theme": _l("created the theme"),
          "add_examples": _l("wrote example sentences"), "add_evidence": _l("filed quotes under the theme"),
          "confirm": _l("confirmed the theme"), "unmerge": _l("undid a merge"),
          "not_feedback": _l("said a quote is not feedback"), "accept_suggestion": _l("accepted a suggested quote"),
          "decline_suggestion": _l("declined a suggested quote")}


def _label(table: dict[str, Any]):
    return lambda code: str(table.get(code, code or ""))


def reader_lang() -> str:
    """The language a theme's own name is looked up in: the page's ("en" or "fr")."""
    return "fr" if str(get_locale() or "en").startswith("fr") else "en"


def name_for(label: str, label_en: str | None, label_fr: str | None, lang: str) -> str:
    """The one rule for a theme's name on the desk: the name a person wrote in the reader's language, else
    ``label`` (there is no machine translation; a missing name is asked of a person on the theme page)."""
    own = label_fr if lang == "fr" else label_en if lang == "en" else None
    return own or label


TYPED_KEPT = 500  # characters of a refused name kept for its box


def refuse_keeping(message: str, field: str, value: str | None) -> None:
    """Say a refusal on the page the form redirects to, with what the person typed in the form's ``field`` (the id
    of its input) still there to correct: a redirect emptied it, and a refused name had to be typed again."""
    # Capped: the session cookie carries it, and a form's box holds 200 characters (a script may send more).
    flash({"text": message, "typed": {field: (value or "")[:TYPED_KEPT]}}, "error")


def typed_value(field: str) -> str | None:
    """What the person typed in ``field`` before the refusal this page says (``refuse_keeping``), else None."""
    for category, message in get_flashed_messages(with_categories=True):
        if category == "error" and isinstance(message, dict) and field in message.get("typed", {}):
            return message["typed"][field]
    return None


def own_name(theme: Any) -> str | None:
    """The theme's name in the reader's language, or None when no person has written one yet."""
    return getattr(theme, f"label_{reader_lang()}", None)


def theme_name(theme: Any) -> str:
    """A theme's name for this reader; ``theme`` is anything with ``label``, ``label_en``, ``label_fr`` (a Theme,
    a board row, a query's ThemeRef)."""
    return name_for(theme.label, getattr(theme, "label_en", None), getattr(theme, "label_fr", None), reader_lang())


def choice_names(themes: Iterable[Any], beside: Iterable[Any] = ()) -> dict[int, str]:
    """What a list a person picks a theme from shows for each of ``themes`` (anything with ``id`` and the names):
    its name for this reader, followed by its number ("Power BI connector (#15)") when another theme of the list,
    or one ``beside`` it (the page's own theme), has that name too. The move form resolves the name typed; two alike
    were refused with "type the number", which the list did not show (``webapp.views.themes.resolve_target`` reads
    the number back). Read from the list itself: a page asking every active theme's names once per list issued two
    statements more than its bound."""
    from retour.folding import wording

    themes = list(themes)
    owners: dict[str, set[int]] = {}
    for t in [*themes, *beside]:
        for name in (t.label, getattr(t, "label_en", None), getattr(t, "label_fr", None)):
            if name:
                owners.setdefault(wording(name), set()).add(t.id)
    out = {}
    for t in themes:
        name = theme_name(t)
        out[t.id] = f"{name} (#{t.id})" if owners.get(wording(name), set()) - {t.id} else name
    return out


def theme_names(ids: Iterable[int | None]) -> dict[int, str]:
    """Names for this reader of the themes ``ids``, in one query (pages that know themes by id only, such as
    the proposals)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    lang = reader_lang()
    rows = get_session().execute(select(Theme.id, Theme.label, Theme.label_en, Theme.label_fr)
                                 .where(Theme.id.in_(wanted)))
    return {r.id: name_for(r.label, r.label_en, r.label_fr, lang) for r in rows}


def money(value: Any, currency: str | None = None) -> str:
    """An amount, compact in the reader's language and always with its currency ("€17.2M", "17,2 M €", "£30K",
    "30 k £GB"): Babel says the currency the way the reader's locale does. No currency (a single-currency org) is
    the reporting currency, which is then the org's own. A currency Babel has no symbol for keeps its code, set
    apart from the number ("XYZ 12K")."""
    if value is None:
        return "—"
    code = currency or settings().critical_mass.currency
    text = format_compact_currency(float(value), code, locale=get_locale(), fraction_digits=1)
    if text.startswith(code) and text[len(code):len(code) + 1].isdigit():
        text = f"{code}\u00a0{text[len(code):]}"
    return text


def date(value: dt.datetime | dt.date | None, width: str = "medium") -> str:
    """A date in the reader's language ("Aug 1, 2026", "1er août 2026"): French writes the first of the month as an
    ordinal, which Babel's patterns do not (they give "1 août 2026"). Only the formats that spell the month out;
    the short one is all digits ("01/08/2026")."""
    if not value:
        return "—"
    # The day the reader sees: format_date shows a datetime in the reader's time zone.
    day = to_user_timezone(value) if isinstance(value, dt.datetime) else value
    if day.day == 1 and width in ("medium", "long", "full") and reader_lang() == "fr":
        return format_date(day, spelled_pattern(day, str(get_locale()), width), rebase=False)
    return format_date(value, width)


def month(value: dt.date, *, year: bool = True) -> str:
    """A month with its year, as the reader's language abbreviates it ("Mar 2026", "mars 2026"); without it ("Mar",
    "mars") under a chart's bars, where a year on every month ran the French labels together."""
    return format_date(value, "MMM y" if year else "MMM")


def datetime(value: dt.datetime | None) -> str:
    """A moment as the page writes its dates, with the time ("Dec 7, 2026, 10:52 PM", "7 déc. 2026, 22:52"):
    Babel's short form ("12/7/26, 10:52 PM") sat in an activity log beside pages of spelled-out dates."""
    if not value:
        return "—"
    # Babel joins a date and a time with the locale's own pattern ("{1}, {0}"): the date is ``date``'s, so the
    # French first of the month reads "1er".
    return str(get_locale().datetime_formats["medium"]).format(format_time(value, "short"), date(value))


def details(value: dict[str, Any]) -> str:
    """What a curation event changed, in words: the names before and after, the language a name was written in.

    Ids, counts and thresholds stay in the log's data (and the API): they are codes, not words for people. The
    text is autoescaped by Jinja like any CRM-derived text.
    """
    translations = get_translations()
    quoted = lambda text: translations.gettext("“%(text)s”") % {"text": text}  # noqa: E731 (« » in French)
    parts = []
    old, new = value.get("old"), value.get("new")
    if new:
        parts.append(f"{quoted(old)} → {quoted(new)}" if old else quoted(new))
    if value.get("label") and not new:
        parts.append(quoted(value["label"]))
    if value.get("lang") in LANG:
        parts.append(str(LANG[value["lang"]]))
    return ", ".join(parts)[:300]


def activity_lines(log: Iterable[dict[str, Any]], theme_id: int | None = None) -> list[tuple[dict[str, Any], str]]:
    """Each curation event of a theme's activity as a sentence in the reader's language: what was done, to which
    theme and how many, never the log's ids ("moved a quote here from “Pricing”", "filed 3 quotes under the
    theme"). The themes named are read in one query for the whole list.

    ``theme_id`` is the theme whose activity this is: an event written under another theme (``queries.activity``)
    took a quote out of it, and says where the quote went ("moved a quote to “Pricing”"). One quote reads as one,
    with no figure ("said a quote is not feedback"): French elides before it ("qu’une citation"), which a number
    put in a sentence made for any count cannot do."""
    events = list(log)
    names = theme_names([e["details"].get(k) for e in events
                         for k in ("from_theme_id", "source_theme_id", "target_theme_id")
                         if isinstance(e.get("details"), dict)]
                        + [e.get("theme_id") for e in events if e.get("theme_id") != theme_id])
    tr = get_translations()
    out = []
    for e in events:
        d = e.get("details") or {}
        count = d.get("count") if isinstance(d.get("count"), int) else None
        other = names.get(d.get("from_theme_id") or d.get("source_theme_id") or -1)
        went = names.get(e.get("theme_id") or -1)  # where a quote that left this theme went
        if theme_id is not None and e.get("theme_id") != theme_id and e["action"] == "move_evidence":
            said = (tr.gettext("moved a quote to “%(theme)s”") % {"theme": went} if went
                    else tr.gettext("moved a quote to another theme"))
        elif theme_id is not None and e.get("theme_id") != theme_id and e["action"] == "accept_suggestion":
            said = (tr.gettext("accepted a quote of this theme as a suggestion for “%(theme)s”: it left here")
                    % {"theme": went} if went
                    else tr.gettext("accepted a quote of this theme as a suggestion for another theme: it left here"))
        elif e["action"] == "move_evidence" and other:
            said = tr.gettext("moved a quote here from “%(theme)s”") % {"theme": other}
        elif e["action"] == "accept_suggestion" and other:
            said = tr.gettext("accepted a suggested quote from “%(theme)s”") % {"theme": other}
        elif e["action"] == "merge" and other:
            said = tr.gettext("merged “%(theme)s” into this theme") % {"theme": other}
        elif e["action"] == "merged" and d.get("target_theme_id") in names:
            said = tr.gettext("merged this theme into “%(theme)s”: its quotes are there now") % {
                "theme": names[d["target_theme_id"]]}
        elif e["action"] == "unmerge" and other and d.get("source_theme_id"):
            said = tr.gettext("undid the merge of “%(theme)s” into this theme: its quotes went back") % {"theme": other}
        elif e["action"] == "unmerge" and d.get("target_theme_id") in names:
            said = tr.gettext("undid the merge of this theme into “%(theme)s”: its quotes came back") % {
                "theme": names[d["target_theme_id"]]}
        elif e["action"] == "split" and d.get("label"):
            said = tr.gettext("split “%(label)s” off the theme") % {"label": d["label"]}
        elif e["action"] in _ONE and count == 1:
            said = str(_ONE[e["action"]])
        elif e["action"] == "add_evidence" and count is not None:
            said = tr.ngettext("filed %(num)s quote under the theme", "filed %(num)s quotes under the theme",
                               count) % {"num": count}
        elif e["action"] == "add_examples" and count is not None:
            said = tr.ngettext("wrote %(num)s example sentence", "wrote %(num)s example sentences", count) % {
                "num": count}
        elif e["action"] == "confirm" and count is not None:
            said = tr.ngettext("confirmed the theme and %(num)s typical quote", "confirmed the theme and %(num)s "
                               "typical quotes", count) % {"num": count}
        elif e["action"] == "not_feedback" and count is not None:
            said = tr.ngettext("said %(num)s quote is not feedback", "said %(num)s quotes are not feedback",
                               count) % {"num": count}
        else:
            said = " ".join(filter(None, (str(ACTION.get(e["action"], e["action"])), details(d) if d else "")))
        who = e.get("email") or tr.gettext("the theme pass")
        out.append((e, tr.gettext("%(label)s: %(value)s") % {"label": who, "value": said}))
    return out


# An event about one quote or one sentence, said without a figure (activity_lines).
_ONE = {"add_evidence": _l("filed a quote under the theme"), "add_examples": _l("wrote an example sentence"),
        "confirm": _l("confirmed the theme and a typical quote"), "not_feedback": _l("said a quote is not feedback")}


def percent(x: float) -> str:
    """A share or a change as ``jobs.critical_mass.percent`` rounds it (whole percents, one decimal under 10%),
    with the reader's own spacing ("30 %")."""
    return format_percent(round(x, 2 if abs(x) >= 0.1 or x == 0 else 3), locale=get_locale(),
                          decimal_quantization=False)


def _opportunity_describe(session: Any) -> dict[str, Any]:
    """What the sync kept of Opportunity's describe (labels, translations, picklist value labels), read once a request:
    the board read it twice, once for the mapped fields' labels and once for the picklist values'."""
    if has_request_context() and "opportunity_describe" in g:
        return g.opportunity_describe
    state = session.get(SyncState, "Opportunity")
    details = dict(state.details or {}) if state else {}
    if has_request_context():
        g.opportunity_describe = details
    return details


def field_labels(session: Any, extra: Iterable[Any], lang: str) -> dict[str, str]:
    """What the pages call each mapped field (``[mapping.extra]``) for a reader of ``lang`` ("en" or "fr"):

    1. its configured label in that language (``label_fr`` for French readers, ``label`` for the others);
    2. its Salesforce translation into that language (``labels_by_language``, kept by the sync);
    3. its configured ``label`` (a French reader of an org that wrote only that one);
    4. its label in Salesforce, in English (``labels``: the sync asks the describe in en-US);
    5. its API name: never a name made up from it ("Speaks_Basque__c" is not "Speaks basque" in every org).
    """
    details = _opportunity_describe(session)
    org_labels = details.get("labels", {})
    translated = (details.get("labels_by_language") or {}).get(lang, {})
    return {m.name: (m.label_fr if lang == "fr" else m.label) or translated.get(m.field) or m.label
            or org_labels.get(m.field) or m.field for m in extra}


# The mirror's picklist columns the desk shows, and the Salesforce field each holds ([mapping] names the others).
PICKLIST_COLUMNS = ("stage", "loss_reason", "competitor", "region", "segment")


def picklist_labels(session: Any, lang: str) -> dict[str, dict[str, str]]:
    """``{API field: {value: label}}``: what a reader of ``lang`` reads for the picklist values the sync kept
    labels of (``values_by_language``, ``connector.sync._localized_labels``): the French label for French
    readers, else the English one. A value missing here is read as itself."""
    kept = _opportunity_describe(session).get("values_by_language") or {}
    out = {field: dict(said) for field, said in (kept.get("en") or {}).items()}
    if lang != "en":
        for field, said in (kept.get(lang) or {}).items():
            out.setdefault(field, {}).update(said)
    return out


def picklist_label(column: str, value: Any) -> str:
    """A picklist value of the mirror's ``column`` ("stage", "loss_reason"..., "attr.<extra name>") as the reader's
    Salesforce shows it: its French label for a French reader ("Fermée/Perdue" for "Closed Lost"), else its English
    label, else the value itself. Only what is shown: links, filters and forms keep the value. Kept per language
    and sync version, as the board keeps ``field_labels``; the theme page's cached fragments name the sync
    version too."""
    if value in (None, ""):
        return ""
    mapping = settings().mapping
    if column == "stage":
        field = "StageName"
    elif column in PICKLIST_COLUMNS:
        field = getattr(mapping, column, None)
    else:  # "attr.tier": a [mapping.extra] field
        field = next((m.field for m in mapping.extra if f"attr.{m.name}" == column), None)
    if not field:
        return str(value)
    lang = reader_lang()
    read = g.setdefault("picklist_labels", {})  # once a request: a page shows 50 quotes' stages
    if lang not in read:
        session = get_session()
        version = g.get("data_version") or data_version(session)
        read[lang] = cached(("picklist_labels", version.sync, lang), lambda: picklist_labels(session, lang),
                            lasting=True)
    return read[lang].get(field, {}).get(str(value), str(value))


def quote_text(e: Any) -> str:
    """An evidence row's text as shown: a loss reason's text starts with its deal's picklist value, put there by
    ``connector.feedback`` ("Missing Feature. We needed offline mode"), which the reader's Salesforce shows as its
    label ("Fonctionnalité manquante. We needed offline mode"); the rest is the rep's own words, untouched."""
    text, value = e.text or "", getattr(e, "loss_reason", None)
    if e.channel != "loss_reason" or not value or not text.startswith(value):
        return text
    rest = text[len(value):]
    if rest and not rest.startswith((" ", ".", ":")):  # "Price" is not the start of "Pricey"
        return text
    return picklist_label("loss_reason", value) + rest


SCOPE_FIELD = {"region": _l("region"), "segment": _l("segment"), "channel": _l("source")}


def scope_words(name: str) -> str:
    """A scoped rule's name (``[critical_mass] scopes``: "region=EMEA channel=case attr.speaks_basque=true") in
    the reader's words: "region EMEA, source case, Speaks Basque yes". A mapped field is called by its configured
    label in the reader's language, else its Salesforce one (``field_labels``)."""
    extra = {m.name: m for m in settings().mapping.extra}
    labels = field_labels(get_session(), extra.values(), reader_lang()) if "attr." in name else {}
    words = []
    for token in name.split():
        key, _eq, value = token.partition("=")
        if key.startswith("attr.") and key[5:] in extra:
            m = extra[key[5:]]
            field = labels[m.name]
            if m.kind == "boolean" and value in ("true", "false"):
                value = str(_l("yes") if value == "true" else _l("no"))
            else:
                value = picklist_label(key, value)
        else:
            field = str(SCOPE_FIELD.get(key, key))
            if key == "channel":
                value = str(SOURCE.get(value, value))
            elif key in ("region", "segment"):
                value = picklist_label(key, value)
        words.append(get_translations().gettext("%(field)s %(value)s") % {"field": field, "value": value})
    return ", ".join(words) or name


def reason_text(reason: str | None, verdict: dict[str, Any] | None, with_status: bool = True) -> str:
    """Why a theme has its status, in the reader's language: ``jobs.figures.judge`` gives the verdict's figures and
    ``jobs.critical_mass.sentence`` says them with this catalogue and Babel's money and percentages. Without a
    verdict (a merged or dismissed theme), the stored sentence. ``with_status=False`` beside a status badge: the
    status is said once."""
    if not verdict:
        return reason or ""
    translations = get_translations()
    wording = critical_mass.Wording(gettext=translations.gettext, ngettext=translations.ngettext, money=money,
                                    percent=percent, date=date, scope=scope_words)
    return critical_mass.sentence(verdict, wording, with_status=with_status)


def trend_text(trend: float | str | None) -> str:
    """A theme's trend (``jobs.figures.Figures.trend_90``) in words: "+60% in 90 days", "new in 90 days", "—"."""
    if trend is None:
        return "—"
    translations = get_translations()
    if trend == "new":
        return translations.gettext("new in 90 days")
    change = float(trend)
    # Signed as the "Why" sentence signs it (jobs.critical_mass.sentence), so both say the same change.
    return translations.gettext("%(change)s in 90 days") % {"change": ("+" if change > 0 else "") + percent(change)}


def one_decimal(value: Any) -> str:
    """A score as people read it: one decimal, the reader's separator ("59.0", "59,0")."""
    return format_decimal(round(float(value or 0), 1), format="#,##0.0")


def loop_sentence(figures: LoopFigures) -> str:
    """What came back from Salesforce since a decision's push, in the reader's language: the sentence is
    ``connector.push_efficacy.sentence`` (one wording for the page, the API and the command), said with this
    catalogue and Babel's money and dates for the reader's locale."""
    translations = get_translations()
    wording = push_efficacy.Wording(gettext=translations.gettext, ngettext=translations.ngettext, money=money,
                                    date=date)
    return push_efficacy.sentence(figures, wording)


def language_next() -> str:
    """Where the language switch comes back to: this page. A page answering a form (a refusal shown with what was
    typed) may have no address to GET again (a 405): then the nearest page above it (``/themes/3/decisions`` →
    ``/themes/3``), else home; a template may name a better one as ``language_back`` (base.html). Browsers send
    no Referer here (Referrer-Policy: no-referrer)."""
    if request.method == "GET":
        return request.full_path if request.query_string else request.path
    adapter = current_app.url_map.bind("localhost")
    path = request.path.rstrip("/")
    while path:
        try:
            adapter.match(path, method="GET")
            return path
        except HTTPException:
            path = path.rsplit("/", 1)[0]
    return "/"


def lang_of(text: str | None) -> str:
    """The language of a quote shown without its segment ("en" or "fr", as the theme pass detects it): a proposal's
    examples are plain text, and a quote's ``lang`` lets a screen reader read it in its own language."""
    return detect_lang(text or "") if (text or "").strip() else ""


def init_app(app: Flask) -> None:
    from webapp.views.admin import pause_state

    app.jinja_env.globals.update(
        status_label=_label(STATUS), source_label=_label(SOURCE), lang_label=_label(LANG), role_label=_label(ROLE),
        decision_status_label=_label(DECISION_STATUS), state_label=_label(STATE), action_label=_label(ACTION),
        push_paused=pause_state, reason_text=reason_text, theme_name=theme_name, theme_names=theme_names,
        choice_names=choice_names, typed_value=typed_value,
        own_name=own_name, reader_lang=reader_lang, activity_lines=activity_lines, loop_sentence=loop_sentence,
        picklist_label=picklist_label, quote_text=quote_text,
        trend_text=trend_text, language_next=language_next)
    app.jinja_env.filters.update(money=money, date=date, datetime=datetime, details=details,
                                 number=lambda v: format_decimal(v), one_decimal=one_decimal, lang_of=lang_of)
