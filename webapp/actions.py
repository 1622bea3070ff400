"""What a product owner can do, shared by the HTML views and the JSON API.

Each function validates its input, looks up rows (404 when missing), and delegates the real work to its
owner: curation to ``jobs.curation``, the push outbox to ``connector.push``. The caller commits.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from retour.config import Settings
from retour.models import AppUser, Decision, Theme, ThemeEvidence

log = logging.getLogger("retour.web")
_DIGITS = re.compile(r"-?[0-9]{1,19}")
DECISION_STATUSES = ("investigating", "planned", "shipped", "wont_do")
MAX_INSIGHT = 2000
MAX_TARGET = 80
MAX_TITLE = 80  # Retour_Insight__c.Name's length: the title reps read is never cut


class ActionError(ValueError):
    """The request cannot be done as asked; the message says why (shown to the user, HTTP 400/409)."""


def _state(code: str) -> str:
    """A decision's state as the pages name it ("draft, awaiting approval")."""
    from webapp.templating import STATE
    return str(STATE.get(code, code))


def get_theme(session: Session, theme_id: int) -> Theme:
    theme = session.get(Theme, theme_id)
    if theme is None:
        abort(404)
    return theme


def get_evidence(session: Session, theme: Theme, evidence_id: int) -> ThemeEvidence:
    ev = session.get(ThemeEvidence, evidence_id)
    if ev is None or ev.theme_id != theme.id:
        abort(404)
    return ev


def get_decision(session: Session, decision_id: int) -> Decision:
    decision = session.get(Decision, decision_id)
    if decision is None:
        abort(404)
    return decision


# jobs.curation refuses with a code and its figures (jobs never import Flask); each code in the reader's language.
# A test keeps this table covering jobs.curation.CODES, so a refusal added there cannot reach a page in English.
CURATION_REFUSALS: dict[str, Callable[[dict[str, Any]], str]] = {
    "inactive": lambda p: _("This theme is no longer active; work on the theme it was merged into."),
    "label_empty": lambda p: _("Give the theme a name."),
    "label_too_long": lambda p: _("A theme's name fits in %(n)s characters.", n=p["max"]),
    "lang_unknown": lambda p: _("Say whether the name is written in English or in French."),
    "name_taken": lambda p: (
        _("A theme is already called “%(name)s” (#%(id)s): pick another name, or add your sentences to that theme.",
          name=p["name"], id=p["theme_id"]) if p.get("act") == "create" else
        _("A theme is already called “%(name)s” (#%(id)s): pick another name, or file the quotes under that theme.",
          name=p["name"], id=p["theme_id"]) if p.get("act") == "file" else
        _("A theme is already called “%(name)s” (#%(id)s): pick another name, or move the quotes of this part to "
          "that theme.", name=p["name"], id=p["theme_id"]) if p.get("act") == "split" else
        _("A theme is already called “%(name)s” (#%(id)s): pick another name, or merge into that theme.",
          name=p["name"], id=p["theme_id"])),
    "merge_into_itself": lambda p: _("A theme cannot be merged into itself."),
    "already_there": lambda p: _("The quote is already under that theme."),
    "pin_rejected": lambda p: _("A rejected quote cannot be pinned; move it to the right theme first."),
    "evidence_missing": lambda p: _("Some of the chosen quotes no longer exist; search again."),
    "segment_missing": lambda p: _("Some of the chosen quotes no longer exist; search again."),
    "evidence_elsewhere": lambda p: _("Every chosen quote must belong to this theme."),
    "split_empties": lambda p: _("A split must leave some quotes in the original theme; rename it instead."),
    "none_chosen": lambda p: _("Tick at least one quote."),
    "examples_empty": lambda p: _("Write at least one example sentence, one per line."),
    "examples_too_many": lambda p: _("Write at most %(n)s example sentences at once.", n=p["max"]),
    "example_too_long": lambda p: _("An example sentence fits in %(n)s characters.", n=p["max"]),
    "new_theme_empty": lambda p: _("A new theme needs example sentences or quotes chosen from the evidence."),
    "not_a_suggestion": lambda p: _("This quote is no longer a suggestion: someone already answered it."),
    "not_merged": lambda p: _("This theme is not merged: there is no merge to undo."),
    "merge_not_recorded": lambda p: _("This theme was merged before merges could be undone: choose its quotes in "
                                      "the search and make a theme of them instead."),
    "merge_target_inactive": lambda p: (
        _("The theme it was merged into was itself merged since: undo that merge first, then this one.")
        if p.get("status") == "merged" else
        _("The theme it was merged into was not found again when the themes were rebuilt: choose its quotes in "
          "the search and make a theme of them instead.")),
    # jobs.proposals.ProposalError, a CurationError: answering the theme pass's proposals
    "proposal_answered": lambda p: (_("Someone already accepted this proposal.") if p.get("act") == "accepted"
                                    else _("Someone already declined this proposal.")),
    "proposal_gone": lambda p: _("A theme of this proposal no longer exists: decline it."),
    "proposal_moved": lambda p: _("The quotes this split would move have since been moved or rejected: decline it."),
    "proposal_kind_unknown": lambda p: _("This kind of proposal cannot be answered here."),
    "merge_outside_proposal": lambda p: _("Merge into one of the two themes of the proposal."),
    "split_nothing_chosen": lambda p: _("Tick at least one quote to move to the new theme."),
    "split_into_itself": lambda p: _("Choose another theme than the one the quotes leave."),
    "split_target_missing": lambda p: _("That theme no longer exists: choose another one."),
    "split_choice_gone": lambda p: ngettext(
        "%(num)s of the ticked quotes is no longer in this theme: the list below is as it stands now.",
        "%(num)s of the ticked quotes are no longer in this theme: the list below is as it stands now.",
        int(p.get("gone", 0))),
}


def curation_refusal(exc: Any) -> str:
    """A ``jobs.curation.CurationError`` said in the reader's language, from its code and parameters (never its
    English text: a code this table lacks says that the change could not be made, in the reader's language)."""
    say = CURATION_REFUSALS.get(getattr(exc, "code", ""))
    if say is None:
        log.warning("web=curation_refusal code=%s untranslated", getattr(exc, "code", None))
        return _("This change cannot be made as asked.")
    return say(getattr(exc, "params", {}))


def _curation(fn_name: str, *args: Any, **kwargs: Any) -> Any:
    from jobs import curation
    try:
        return getattr(curation, fn_name)(*args, **kwargs)
    except curation.CurationError as exc:
        raise ActionError(curation_refusal(exc)) from exc


def confirm(session: Session, theme: Theme, user: AppUser) -> Theme:
    """The product owner confirms the theme as shown: its names and typical quotes become theirs (``jobs.curation``)."""
    return _curation("confirm", session, theme, user)


def rename(session: Session, theme: Theme, label: str, user: AppUser, lang: str | None = None) -> Theme:
    """Rename the theme; with ``lang`` ("en" / "fr") the name is also the theme's name in that language (the desk
    passes its reader's: a name typed on an English page must not become what French readers see)."""
    label = (label or "").strip()
    if not label:
        raise ActionError(_("Give the theme a name."))
    return _curation("rename", session, theme, label, user, lang=lang)


def merge(session: Session, source: Theme, target_id: int | None, user: AppUser) -> Theme:
    if target_id is None:
        raise ActionError(_("Choose the theme to merge into."))
    if target_id == source.id:
        raise ActionError(_("A theme cannot be merged into itself."))
    return _curation("merge", session, source, get_theme(session, target_id), user)


def merged_notice(session: Session, source: Theme) -> dict[str, Any]:
    """The notice flashed after a merge: it says which theme went into which, by their names for this reader, and
    offers to undo it (base.html draws the button for ``undo_merge``, with the CSRF token of the page that shows it,
    for product owners only)."""
    from retour.folding import wording
    from webapp.templating import theme_name

    target = session.get(Theme, source.merged_into_id) if source.merged_into_id is not None else None
    text = _("Themes merged.")
    if target is not None and wording(theme_name(source)) == wording(theme_name(target)):
        # Two themes of one name: their numbers tell them apart (it read "“X” is part of “X” now").
        text += " " + _("“%(source)s” (#%(source_id)s) is part of “%(target)s” (#%(target_id)s) now.",
                        source=theme_name(source), source_id=source.id, target=theme_name(target),
                        target_id=target.id)
    elif target is not None:
        text += " " + _("“%(source)s” is part of “%(target)s” now.", source=theme_name(source),
                        target=theme_name(target))
    return {"text": text, "undo_merge": source.id}


def unmerge(session: Session, theme: Theme, user: AppUser) -> Theme:
    """Undo the merge of ``theme`` (a merged theme): its quotes and status come back (``jobs.curation.unmerge``)."""
    return _curation("unmerge", session, theme, user)


def merge_undoable(session: Session, theme: Theme) -> bool:
    """Whether the merge of ``theme`` can be undone (merges made before they were recorded cannot)."""
    from jobs import curation
    return curation.merge_undoable(session, theme)


def move_evidence(session: Session, theme: Theme, evidence_id: int, target_id: int | None, user: AppUser):
    if target_id is None:
        raise ActionError(_("Choose the theme this quote belongs to."))
    ev = get_evidence(session, theme, evidence_id)
    return _curation("move_evidence", session, ev, get_theme(session, target_id), user)


def reject_evidence(session: Session, theme: Theme, evidence_id: int, user: AppUser):
    return _curation("reject_evidence", session, get_evidence(session, theme, evidence_id), user)


def pin_evidence(session: Session, theme: Theme, evidence_id: int, pinned: bool, user: AppUser):
    return _curation("pin_evidence", session, get_evidence(session, theme, evidence_id), pinned, user)


# --------------------------------------------------------------------------------------------- learning
# Every act below is a label the next theme pass learns from (jobs.learn). The common refusals are said here in
# the reader's language; jobs.curation's own checks stay as the last word (their codes, said by CURATION_REFUSALS).
THEME_LANGS = ("en", "fr")
MAX_CHOSEN = 500  # quotes filed at once: more than a search shows, fewer than a request could carry


def get_suggestion(session: Session, theme: Theme, evidence_id: int) -> ThemeEvidence:
    ev = get_evidence(session, theme, evidence_id)
    if ev.state != "suggested":
        raise ActionError(_("This quote is no longer a suggestion: someone already answered it."))
    return ev


def accept_suggestion(session: Session, theme: Theme, evidence_id: int, user: AppUser) -> ThemeEvidence:
    ev = get_suggestion(session, theme, evidence_id)
    _must_be_active(theme)
    return _curation("accept_suggestion", session, ev, user)


def decline_suggestion(session: Session, theme: Theme, evidence_id: int, user: AppUser) -> ThemeEvidence:
    return _curation("decline_suggestion", session, get_suggestion(session, theme, evidence_id), user)


def not_feedback(session: Session, theme: Theme, evidence_id: int, user: AppUser) -> ThemeEvidence:
    """Say the quote (evidence or suggestion of ``theme``) is not feedback at all: it leaves every theme."""
    ev = get_evidence(session, theme, evidence_id)
    if ev.state == "rejected":
        raise ActionError(_("This quote was already taken out of the theme."))
    _curation("mark_not_feedback", session, [ev.segment_id], user)
    return ev


def parse_ids(values: Any) -> list[int]:
    """Ids from a form's repeated field or a JSON list; anything that is not a whole number is refused."""
    if values is None:
        return []
    if isinstance(values, (str, int)):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise ActionError(_("Send the quotes as a list of numbers."))
    ids = [parse_int(v) for v in values]
    if any(i is None or i <= 0 for i in ids):
        raise ActionError(_("Send the quotes as a list of numbers."))
    return sorted(set(i for i in ids if i is not None))


def lines(value: Any) -> list[str]:
    """Example sentences from a textarea (one per line) or a JSON list; blank lines are dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ActionError(_("Send the example sentences as text, one per line, or as a list of texts."))
    return [" ".join(v.split()) for v in value if v and v.strip()]


def _clean_name(label: Any) -> str:
    from jobs.curation import MAX_LABEL
    label = " ".join(str(label or "").split())
    if not label:
        raise ActionError(_("Give the theme a name."))
    if len(label) > MAX_LABEL:
        raise ActionError(_("A theme's name fits in %(n)s characters.", n=MAX_LABEL))
    return label


def _clean_lang(lang: Any) -> str:
    lang = str(lang or "").strip()
    if lang not in THEME_LANGS:
        raise ActionError(_("Say whether the name is written in English or in French."))
    return lang


def _clean_examples(texts: list[str], required: bool) -> list[str]:
    from jobs.curation import MAX_EXAMPLE, MAX_EXAMPLES
    if required and not texts:
        raise ActionError(_("Write at least one example sentence, one per line."))
    if len(texts) > MAX_EXAMPLES:
        raise ActionError(_("Write at most %(n)s example sentences at once.", n=MAX_EXAMPLES))
    if any(len(t) > MAX_EXAMPLE for t in texts):
        raise ActionError(_("An example sentence fits in %(n)s characters.", n=MAX_EXAMPLE))
    return texts


def _must_be_active(theme: Theme) -> None:
    if theme.status in ("merged", "dismissed"):
        raise ActionError(_("This theme is no longer active; work on the theme it was merged into."))


def create_theme(session: Session, label: Any, lang: Any, user: AppUser, *, examples: Any = None,
                 segment_ids: Any = None) -> Theme:
    """A theme a person names, from example sentences they wrote and/or quotes they chose."""
    label, lang = _clean_name(label), _clean_lang(lang)
    texts = _clean_examples(lines(examples), required=False)
    ids = parse_ids(segment_ids)
    if not texts and not ids:
        raise ActionError(_("A new theme needs example sentences or quotes chosen from the evidence."))
    if ids:
        _existing_segments(session, ids)
    return _curation("create_theme", session, label, user, segment_ids=ids, examples=texts, lang=lang)


def add_examples(session: Session, theme: Theme, examples: Any, user: AppUser) -> list:
    _must_be_active(theme)
    return _curation("add_examples", session, theme, _clean_examples(lines(examples), required=True), user)


def name_in(session: Session, theme: Theme, lang: Any, label: Any, user: AppUser) -> Theme:
    return _curation("name_in", session, theme, _clean_lang(lang), _clean_name(label), user)


def add_evidence(session: Session, theme: Theme, segment_ids: Any, user: AppUser) -> int:
    """File the chosen quotes under ``theme`` (from whatever theme they were in)."""
    _must_be_active(theme)
    ids = parse_ids(segment_ids)
    if not ids:
        raise ActionError(_("Tick at least one quote."))
    _existing_segments(session, ids)
    return _curation("add_evidence", session, theme, ids, user)


def _existing_segments(session: Session, ids: list[int]) -> None:
    from sqlalchemy import func, select

    from retour.models import FeedbackSegment
    if len(ids) > MAX_CHOSEN:
        raise ActionError(_("Choose at most %(n)s quotes at once.", n=MAX_CHOSEN))
    found = session.scalar(select(func.count()).select_from(FeedbackSegment).where(FeedbackSegment.id.in_(ids)))
    if found != len(ids):
        raise ActionError(_("Some of the chosen quotes no longer exist; search again."))


def parse_int(value: Any) -> int | None:
    """A row id or page number typed as ASCII digits, within a signed 64-bit integer; anything else is None.

    ``int()`` alone takes "²"-like digits in some forms and ids no column can hold (an overflow in the driver)."""
    from webapp import MAX_ROW_ID

    text = str(value).strip() if value is not None else ""
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= MAX_ROW_ID else None


# --------------------------------------------------------------------------------------------- decisions
def clean_decision(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a decision form/JSON body; every problem is reported, nothing is silently cut.

    Each insight needs the title reps will read with it (the insight's name, the task's subject), written by a
    person: the theme's label is a clustering's name for it, not words for a rep.
    """
    status = str(data.get("status") or "").strip()
    target = str(data.get("target") or "").strip()
    insight_en = str(data.get("insight_en") or "").strip()
    insight_fr = str(data.get("insight_fr") or "").strip()
    title_en = " ".join(str(data.get("title_en") or "").split())
    title_fr = " ".join(str(data.get("title_fr") or "").split())
    problems = []
    if status not in DECISION_STATUSES:
        from webapp.templating import DECISION_STATUS
        problems.append(_("status must be one of %(statuses)s",
                          statuses=", ".join(str(DECISION_STATUS[s]) for s in DECISION_STATUSES)))
    if len(target) > MAX_TARGET:
        problems.append(_("the target release or date must fit in %(n)s characters", n=MAX_TARGET))
    if not insight_en and not insight_fr:
        problems.append(_("write the insight for reps in English, French or both"))
    if len(insight_en) > MAX_INSIGHT or len(insight_fr) > MAX_INSIGHT:
        problems.append(_("an insight must fit in %(n)s characters", n=MAX_INSIGHT))
    if insight_en and not title_en:
        problems.append(_("write the title reps will read with the English insight"))
    if insight_fr and not title_fr:
        problems.append(_("write the title reps will read with the French insight"))
    if len(title_en) > MAX_TITLE or len(title_fr) > MAX_TITLE:
        problems.append(_("a title for reps must fit in %(n)s characters", n=MAX_TITLE))
    if problems:
        text = functools.reduce(lambda first, then: _("%(first)s; %(then)s", first=first, then=then), problems)
        raise ActionError(text[:1].upper() + text[1:] + ".")  # not capitalize(): it lowercases "English"
    return {"status": status, "target": target or None, "insight_en": insight_en or None,
            "insight_fr": insight_fr or None, "title_en": title_en or None, "title_fr": title_fr or None}


def missing_titles_message(decision: Decision) -> str | None:
    """Why a draft from before titles cannot be approved yet, in the reader's language (None when it can)."""
    from connector.push_plan import missing_titles
    missing = missing_titles(decision)
    if not missing:
        return None
    if missing == ["en", "fr"]:
        return _("Reps would read no title with this decision's insights: edit the decision to write a title "
                 "in English and in French, then approve.")
    if missing == ["fr"]:
        return _("Reps would read no title with the French insight: edit the decision to write one, then approve.")
    return _("Reps would read no title with the English insight: edit the decision to write one, then approve.")


def create_decision(session: Session, theme: Theme, data: dict[str, Any], user: AppUser, settings: Settings) -> Decision:
    """Record the decision and prepare its push (planned items, nothing sent until approved)."""
    from connector import push
    if theme.status in ("merged", "dismissed"):
        raise ActionError(_("This theme is no longer active; decide on the theme it was merged into."))
    decision = Decision(theme_id=theme.id, created_by_id=user.id, state="draft", **clean_decision(data))
    session.add(decision)
    session.flush()
    _push(push.prepare, session, decision, settings)
    return decision


def _push(fn: Any, *args: Any) -> Any:
    """Call a connector.push function; a refused state change becomes a message for the user."""
    from connector import push
    try:
        return fn(*args)
    except push.PushStateError as exc:
        raise ActionError(str(exc)) from exc


def update_decision(session: Session, decision: Decision, data: dict[str, Any], settings: Settings) -> Decision:
    """Edit a draft decision and re-prepare its push so the preview shows the new text."""
    from connector import push
    if decision.state != "draft":
        raise ActionError(_("Only a draft can be edited; this decision is %(state)s.", state=_state(decision.state)))
    for key, value in clean_decision(data).items():
        setattr(decision, key, value)
    session.flush()
    _push(push.prepare, session, decision, settings)
    return decision


def replan_drafts(session: Session, theme_id: int, settings: Settings) -> int:
    """Prepare again the push of every draft decision on the theme, after its quotes changed under it.

    Why: records a pending split held (``connector.push_plan.SPLIT_PENDING``) stayed held once the proposal was
    answered, until someone saved the draft again, and approving then left them out without a word (the second
    review). Returns how many drafts were planned again.
    """
    from connector import push
    drafts = list(session.scalars(select(Decision).where(Decision.theme_id == theme_id, Decision.state == "draft")))
    for decision in drafts:
        _push(push.prepare, session, decision, settings)
    return len(drafts)


def decision_action(session: Session, decision: Decision, action: str, user: AppUser) -> Decision:
    """approve | cancel | withdraw, through connector.push (which owns the outbox states)."""
    from connector import push
    allowed = {"approve": ("draft",), "cancel": ("draft",), "withdraw": ("approved",)}
    if decision.state not in allowed[action]:
        refusal = {"approve": _("Only a draft can be approved; this decision is %(state)s."),
                   "cancel": _("Only a draft can be cancelled; this decision is %(state)s."),
                   "withdraw": _("Only an approved decision can be withdrawn; this decision is %(state)s.")}[action]
        raise ActionError(refusal % {"state": _state(decision.state)})
    if action == "approve" and (missing := missing_titles_message(decision)):
        raise ActionError(missing)
    _push(getattr(push, action), session, decision, user.id)
    session.flush()
    return decision


def set_pause(session: Session, paused: bool, user: AppUser, reason: str = "") -> None:
    from retour.switches import set_push_paused
    set_push_paused(session, paused, user_id=user.id, reason=reason[:200])
