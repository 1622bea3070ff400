"""Jinja helpers: translated labels for stored codes, money and dates in the user's language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.numbers import format_compact_currency, format_percent
from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_translations, lazy_gettext as _l

from jobs import critical_mass
from jobs.critical_mass import short_money
from webapp.db import settings

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
          "decline_rename": _l("kept the theme's name against a proposed one")}


def _label(table: dict[str, Any]):
    return lambda code: str(table.get(code, code or ""))


def money(value: Any, currency: str | None = None) -> str:
    if value is None:
        return "—"
    return short_money(float(value)) + (f" {currency}" if currency else "")


def date(value: dt.datetime | dt.date | None) -> str:
    return format_date(value, "medium") if value else "—"


def datetime(value: dt.datetime | None) -> str:
    return format_datetime(value, "short") if value else "—"


def details(value: dict[str, Any]) -> str:
    """Curation details as "key: value" text (autoescaped by Jinja like any CRM-derived text)."""
    return ", ".join(f"{k}: {v}" for k, v in value.items() if not isinstance(v, (dict, list)))[:300]


def reason_text(reason: str | None, verdict: dict[str, Any] | None) -> str:
    """Why a theme has its status, in the reader's language: the pass keeps the verdict's figures and
    ``jobs.critical_mass.sentence`` says them with this catalogue and Babel's money and percentages. A theme no
    pass has judged since (no verdict) shows the stored sentence."""
    if not verdict:
        return reason or ""
    locale = get_locale()
    translations = get_translations()
    currency = settings().critical_mass.currency
    wording = critical_mass.Wording(
        gettext=translations.gettext, ngettext=translations.ngettext,
        money=lambda x: format_compact_currency(x, currency, locale=locale, fraction_digits=1),
        # As critical_mass.percent: whole percents, one decimal under 10%; the locale's own spacing ("30 %").
        percent=lambda x: format_percent(round(x, 2 if abs(x) >= 0.1 or x == 0 else 3), locale=locale,
                                         decimal_quantization=False),
        date=lambda d: format_date(d, "medium"))
    return critical_mass.sentence(verdict, wording)


def init_app(app: Flask) -> None:
    from webapp.views.admin import pause_state

    app.jinja_env.globals.update(
        status_label=_label(STATUS), source_label=_label(SOURCE), lang_label=_label(LANG), role_label=_label(ROLE),
        decision_status_label=_label(DECISION_STATUS), state_label=_label(STATE), action_label=_label(ACTION),
        push_paused=pause_state, reason_text=reason_text)
    app.jinja_env.filters.update(money=money, date=date, datetime=datetime, details=details,
                                 number=lambda v: format_decimal(v))
