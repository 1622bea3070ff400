"""Push planning: which Salesforce records a decision writes, with what text, and what it skips and why.

Pure functions over plain rows (no database, no network), so the rules that decide what lands in a rep's
records are tested on their own. :mod:`connector.push` gathers the rows and stores the plan as PushItems.

What lands where (defaults):

- a ``Retour_Insight__c`` on each Opportunity and each Account that raised the theme (its active
  evidence), upserted by the deterministic external key ``d<decision>-opp-<id>`` / ``d<decision>-acc-<id>``;
- a follow-up Task for the owner of each Closed Lost opportunity, when the decision is planned or shipped:
  ``d<decision>-task-<opp id>``, so there is at most one task per opportunity per decision by construction;
- optionally (``[push] chatter``) a Chatter post on each opportunity.

Each record is in the language of the rep who reads it (the language their own notes are mostly written in),
else of its evidence, when that insight is written; its Name, and a task's subject, carry the title a person wrote
for reps in that same language — never the theme's label. Each record also carries the quote that put it there
(``quote``: its most typical evidence), for the preview: a person approving sees why each record is written.

Skipped, with a reason a product owner can read: won deals, records deleted in Salesforce (gone from the
mirror), records whose owner is inactive, records whose language has no title (a draft from before titles), and
records every quote of which a pending split proposal would move out of the theme (the theme mixes two subjects
there: the record waits until a person answers the proposal).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from retour.dates import spelled
from retour.folding import wording

TASK_STATUSES = ("planned", "shipped")
SUBJECT_MAX = 255
NAME_MAX = 80
TARGET_MAX = 80

# Kinds of pushes, and the Salesforce object each one writes.
INSIGHT, TASK, CHATTER = "insight", "task", "chatter"


@dataclass(frozen=True, kw_only=True)
class DecisionRow:
    """What planning reads of a decision. Built by name: fields were added and removed over time.

    There is deliberately no theme label here: reps read the titles a person wrote, never a machine's label.
    """
    id: int
    theme_id: int
    status: str  # investigating | planned | shipped | wont_do
    target: str | None = None
    insight_en: str | None = None
    insight_fr: str | None = None
    title_en: str | None = None
    title_fr: str | None = None


@dataclass(frozen=True)
class EvidenceRow:
    """One active evidence segment of the theme, reduced to where it came from."""
    opportunity_id: str | None
    account_id: str | None
    lang: str = "other"
    occurred_at: dt.datetime | None = None
    channel: str = ""  # the item's source: "loss_reason" when the deal's loss reason itself says it
    quote: str = ""  # the clause itself (CRM text: pages escape it)
    similarity: float = 0.0  # to the theme's centre when it joined: the most typical quote is shown
    split_pending: bool = False  # an open split proposal of the theme would move it to another theme


@dataclass(frozen=True)
class OpportunityRow:
    id: str
    name: str
    account_id: str | None
    owner_id: str | None
    stage: str = ""
    is_closed: bool = False
    is_won: bool = False
    close_date: dt.date | None = None


@dataclass(frozen=True)
class AccountRow:
    id: str
    name: str
    owner_id: str | None


@dataclass(frozen=True)
class OwnerRow:
    id: str
    name: str
    is_active: bool = True
    lang: str | None = None  # the language the rep mostly writes in (from their own notes), if known


@dataclass(frozen=True)
class PlanOptions:
    """The settings planning needs, as plain values (built from ``Settings`` by :func:`options_from`)."""
    base_url: str = ""
    task_due_days: int = 5
    quiet_dates: tuple[dt.date, ...] = ()
    quiet_weekends: bool = True
    chatter: bool = False
    insight_object: str = "Retour_Insight__c"
    insight_key_field: str = "Retour_Key__c"
    task_key_field: str = "Retour_Key__c"


@dataclass
class Intended:
    """One record Retour intends to write (or a skip, with its reason)."""
    kind: str
    sobject: str
    key: str
    target_id: str
    owner_id: str | None
    record: dict[str, Any]  # exactly the Salesforce fields sent (without ``attributes``)
    text: str  # what the rep reads
    record_name: str = ""
    rep_name: str = ""
    lang: str = "en"
    skip_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        return self.skip_reason is not None

    def payload(self) -> dict[str, Any]:
        """The PushItem payload: the record as sent plus what the preview shows."""
        return {"record": dict(self.record), "text": self.text, "record_name": self.record_name,
                "rep_name": self.rep_name, "lang": self.lang, **self.extra}


def options_from(settings: Any) -> PlanOptions:
    push, web = settings.push, settings.web
    return PlanOptions(base_url=web.base_url, task_due_days=push.task_due_days, quiet_dates=tuple(push.quiet_dates),
                       quiet_weekends=push.quiet_weekends, chatter=push.chatter, insight_object=push.insight_object,
                       insight_key_field=push.insight_key_field, task_key_field=push.task_key_field)


# ------------------------------------------------------------------------------------------ calendar
def is_quiet(day: dt.date, quiet_dates: tuple[dt.date, ...] | list[dt.date], quiet_weekends: bool) -> bool:
    """Nothing is sent on a quiet date (holidays, days the company chooses) nor, by default, at weekends."""
    return day in set(quiet_dates) or (quiet_weekends and day.weekday() >= 5)


def add_business_days(start: dt.date, days: int, quiet_dates: tuple[dt.date, ...] = ()) -> dt.date:
    """``days`` working days after ``start``: weekends and quiet dates don't count (a task is never due on one)."""
    quiet = set(quiet_dates)

    def working(day: dt.date) -> bool:
        return day.weekday() < 5 and day not in quiet

    day, left = start, max(0, days)
    for _ in range(left * 10 + 400):  # bounded: even a calendar full of quiet dates ends
        if left == 0 and working(day):
            return day
        day += dt.timedelta(days=1)
        if left > 0 and working(day):
            left -= 1
    return day


# ------------------------------------------------------------------------------------------ keys and texts
def insight_key(decision_id: int, kind: str, record_id: str) -> str:
    return f"d{decision_id}-{kind}-{record_id}"


def theme_url(base_url: str, theme_id: int) -> str | None:
    return f"{base_url.rstrip('/')}/themes/{theme_id}" if base_url else None


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def majority_lang(langs: list[str]) -> str | None:
    counts = Counter(lang for lang in langs if lang in ("fr", "en"))
    if not counts:
        return None
    (top, n), *rest = counts.most_common()
    return "fr" if rest and rest[0][1] == n and "fr" in counts else top  # a tie goes to French: it is rarer


def pick_lang(decision: DecisionRow, *candidates: str | None) -> str:
    """French when the first known of ``candidates`` (the rep's language, then the evidence's) is French and a
    French insight exists.

    The rep first: the rep reads the task and the record. The review found a rep who writes every note in French
    given "Re-engage Maintenance Montgolfier — …" in English because the customer's quote was English."""
    preferred = next((c for c in candidates if c in ("fr", "en")), "en")
    if preferred == "fr" and decision.insight_fr:
        return "fr"
    return "en" if decision.insight_en else ("fr" if decision.insight_fr else "en")


def insight_text(decision: DecisionRow, lang: str) -> str:
    text = decision.insight_fr if lang == "fr" else decision.insight_en
    return (text or decision.insight_en or decision.insight_fr or "").strip()


def title(decision: DecisionRow, lang: str) -> str:
    """The title written for ``lang``, with no fallback: another language's title would not match the text."""
    return ((decision.title_fr if lang == "fr" else decision.title_en) or "").strip()


def both_languages(decision: DecisionRow) -> dict[str, str | None]:
    """Each language's insight and title in its own fields, so the reps' card shows the rep's language.

    ``Insight__c`` and ``Theme__c`` hold the record's one language (the evidence's, for the related list); the
    card reads the rep's (``@salesforce/i18n/lang``) from these, else the other's. None clears a language a
    decision no longer has when the record is written again.
    """
    return {f"{kind}_{lang.capitalize()}__c": (_clip(text, 255) if kind == "Title" else text) or None
            for lang in ("en", "fr")
            for kind, text in (("Insight", (getattr(decision, f"insight_{lang}") or "").strip()),
                               ("Title", title(decision, lang)))}


def missing_titles(decision: Any) -> list[str]:
    """The languages ("en", "fr") whose insight is written but has no title (a draft from before titles).

    Any language with an insight may be the one a record gets (:func:`pick_lang`), so each needs its title.
    Takes anything with ``insight_*`` and ``title_*`` attributes: a DecisionRow or a Decision.
    """
    def written(field: str) -> bool:
        return bool((getattr(decision, field) or "").strip())

    return [lang for lang in ("en", "fr") if written(f"insight_{lang}") and not written(f"title_{lang}")]


def _no_title(lang: str) -> str:
    return f"{NO_TITLE_PREFIX[lang]}: edit the decision to write one"


# Why a record is skipped, as a code a page can say in the reader's language and a summary can count. The stored
# skip_reason (English, for the API and the logs) starts with the code's prefix; :func:`skip_code` reads it back.
NO_TITLE_PREFIX = {"en": "no title for reps in English", "fr": "no title for reps in French"}
OWNER_UNKNOWN = "owner unknown to Retour (not synced yet, or no owner): nobody to give it to"
WON = "won deal: nothing to give back"
OPP_DELETED = "opportunity deleted in Salesforce (no longer mirrored)"
ACC_DELETED = "account deleted in Salesforce (no longer mirrored)"
SPLIT_PENDING = ("held: a split proposal of this theme would move every quote it raised to another theme; accept or "
                 "decline the proposal, then save the draft again")
NO_LONGER_RAISED = "no longer raised: every quote that brought it left the theme before it was sent"
SKIP_PREFIXES = (("won", WON), ("opportunity_deleted", OPP_DELETED), ("account_deleted", ACC_DELETED),
                 ("owner_unknown", OWNER_UNKNOWN), ("no_title_en", NO_TITLE_PREFIX["en"]),
                 ("no_title_fr", NO_TITLE_PREFIX["fr"]), ("split_pending", SPLIT_PENDING),
                 ("no_longer_raised", NO_LONGER_RAISED))


def skip_code(reason: str | None) -> str | None:
    """The code of a stored skip reason (None when not skipped; "other" for a reason this version does not know)."""
    if not reason:
        return None
    if reason.startswith("owner ") and reason.endswith(" is inactive in Salesforce"):
        return "owner_inactive"
    return next((code for code, prefix in SKIP_PREFIXES if reason.startswith(prefix)), "other")


# ------------------------------------------------------------------------------------------ when each record goes
@dataclass(frozen=True)
class Waiting:
    """One record waiting to be sent, in sending order: what the per-rep daily cap needs to know of it."""
    key: Any  # the PushItem id
    owner_id: str | None
    withdrawal: bool = False


def sending_days(after: dt.date, quiet_dates: tuple[dt.date, ...] | list[dt.date], quiet_weekends: bool
                 ) -> Iterator[dt.date]:
    """The days after ``after`` on which scheduled runs send (quiet dates and, if set, weekends skipped)."""
    quiet = tuple(quiet_dates)
    day = after
    for _ in range(3660):  # ten years of quiet days would be a configuration mistake, not a schedule
        day += dt.timedelta(days=1)
        if not is_quiet(day, quiet, quiet_weekends):
            yield day


def send_dates(queue: Iterable[Waiting], sent_today: Mapping[str, int], cap: int, today: dt.date,
               quiet_dates: tuple[dt.date, ...] | list[dt.date] = (), quiet_weekends: bool = True
               ) -> dict[Any, dt.date | None]:
    """The day each waiting record should reach Salesforce, from the per-rep daily cap and the push schedule.

    The one estimate every view gives (the decision page's preview and summary, Send now, ``retour push``). It
    follows the rules of ``connector.push.split_by_cap``: records go in ``queue`` order; a withdrawal, or a record
    with no rep, is never held; a rep receives at most ``cap`` records a day, ``sent_today`` of them already sent
    today (withdrawn records not counted). Today counts only when scheduled runs send today (not a quiet day);
    the rest go on the following sending days, ``cap`` a day per rep. None: never, under a cap of 0. An estimate:
    what is approved later for the same rep competes for the same days.
    """
    open_today = not is_quiet(today, quiet_dates, quiet_weekends)
    days = sending_days(today, quiet_dates, quiet_weekends)
    calendar: list[dt.date] = []

    def sending_day(n: int) -> dt.date:
        while len(calendar) <= n:
            calendar.append(next(days))
        return calendar[n]

    first = today if open_today else sending_day(0)
    rank: Counter[str] = Counter()
    out: dict[Any, dt.date | None] = {}
    for w in queue:
        if w.withdrawal or not w.owner_id:
            out[w.key] = first
            continue
        if cap <= 0:
            out[w.key] = None
            continue
        k = rank[w.owner_id]
        rank[w.owner_id] += 1
        left_today = max(0, cap - sent_today.get(w.owner_id, 0)) if open_today else 0
        out[w.key] = today if k < left_today else sending_day((k - left_today) // cap)
    return out


# Said after the decision's title and a colon, so they agree with any title a person writes ("Missing a Power BI
# connector: planned for Q3"; "<title> is planned" read "Power BI connector planned is planned"), and in French with
# no gender to agree with ("L'authentification unique : au programme", not "est prévu").
_STATUS_WORDS = {
    "en": {"planned": "planned", "shipped": "shipped", "investigating": "under investigation",
           "wont_do": "will not be built"},
    "fr": {"planned": "au programme", "shipped": "disponible", "investigating": "à l'étude",
           "wont_do": "pas au programme"},
}
_TARGET_WORD = {"en": {"shipped": " in "}, "fr": {"shipped": " depuis "}}


def _says(text: str, words: str) -> bool:
    """Whether ``text`` holds ``words`` as whole words, case and accents aside."""
    return bool(re.search(rf"(?<!\w){re.escape(wording(words))}(?!\w)", wording(text)))


def task_subject(decision: DecisionRow, lang: str, who: str, lost_on: dt.date | None, *,
                 lost_over_it: bool = False) -> str:
    """"Re-engage ACME — SSO: planned for Q3; they lost over it on March 2, 2026" (or its French).

    "They lost over it" only when the deal's loss reason is among the theme's evidence (``lost_over_it``); a deal lost
    for another reason that raised the theme in a note or a case says so: the review found a task telling a rep a
    deal lost for "No Decision / budget moved" was lost over a Power BI connector.
    """
    fr = lang == "fr"
    status = _STATUS_WORDS["fr" if fr else "en"].get(decision.status, decision.status)
    target = (decision.target or "").strip()
    joiner = _TARGET_WORD["fr" if fr else "en"].get(decision.status, " pour " if fr else " for ")
    named = title(decision, lang)
    text = f"{'Relancer' if fr else 'Re-engage'} {who} — {named}"
    # A title a person wrote as "SSO planned for Q3" already says what and when: "SSO planned for Q3: planned for Q3"
    # read like a machine (a review). The status and the target are each added only when the title does not say
    # them already (as words, case and accents aside).
    said = [status if not _says(named, status) else "", f"{joiner.strip()} {target}" if target and not
            _says(named, target) else ""]
    if any(said):
        text += f"{' :' if fr else ':'} " + " ".join(p for p in said if p)
    if lost_on:
        when = spelled(lost_on, "fr" if fr else "en")  # "March 2, 2026", "1er mars 2026", as the desk says dates
        if fr:
            text += f" ; perdu pour cette raison le {when}" if lost_over_it else f" ; évoqué avant la perte du {when}"
        else:
            text += f"; they lost over it on {when}" if lost_over_it else f"; raised before the deal was lost on {when}"
    return _clip(text, SUBJECT_MAX)


def task_description(decision: DecisionRow, lang: str, url: str | None) -> str:
    body = insight_text(decision, lang)
    if url:
        body += ("\n\nLe thème dans Retour : " if lang == "fr" else "\n\nThe theme in Retour: ") + url
    return body


QUOTE_MAX = 300  # of the quote a preview row shows: enough to recognise the subject


def held(raised: list[EvidenceRow]) -> str | None:
    """``SPLIT_PENDING`` when every quote that put the record in the push would leave the theme with a pending split.

    Why: the review pushed "Offline mode planned for Q3" to a deal whose notes speak only of dashboards, because the
    offline theme held 60 dashboard quotes that a split proposal already offered to carve out. Until a person answers
    the proposal, those records wait; a record with any quote that stays goes as usual.
    """
    return SPLIT_PENDING if raised and all(ev.split_pending for ev in raised) else None


def because(raised: list[EvidenceRow]) -> dict[str, Any]:
    """The quote that put a record in the push, for the preview: its most typical one (nearest the theme's centre),
    among those no pending split would move when there are such."""
    staying = [ev for ev in raised if not ev.split_pending] or raised
    best = max(staying, key=lambda ev: ev.similarity, default=None)
    if best is None or not best.quote.strip():
        return {}
    return {"quote": _clip(best.quote, QUOTE_MAX), "quote_lang": best.lang if best.lang in ("en", "fr") else None}


def raised_records(evidence: list[EvidenceRow], opportunities: Mapping[str, OpportunityRow]
                   ) -> tuple[dict[str, list[EvidenceRow]], dict[str, list[EvidenceRow]]]:
    """The records the evidence raises, each with its quotes: the deals it is written on, and the accounts (the
    item's own, else its deal's). The one rule for where a quote lands: planning reads it, and so does the push run's
    check that an approved record is still raised (``connector.push.no_longer_raised``)."""
    opp_evidence: dict[str, list[EvidenceRow]] = {}
    acc_evidence: dict[str, list[EvidenceRow]] = {}
    for ev in evidence:
        if ev.opportunity_id:
            opp_evidence.setdefault(ev.opportunity_id, []).append(ev)
        account_id = ev.account_id
        if not account_id and ev.opportunity_id and ev.opportunity_id in opportunities:
            account_id = opportunities[ev.opportunity_id].account_id
        if account_id:
            acc_evidence.setdefault(account_id, []).append(ev)
    return opp_evidence, acc_evidence


# ------------------------------------------------------------------------------------------ the plan
def plan_pushes(decision: DecisionRow, evidence: list[EvidenceRow], opportunities: dict[str, OpportunityRow],
                accounts: dict[str, AccountRow], owners: dict[str, OwnerRow], options: PlanOptions,
                today: dt.date) -> list[Intended]:
    """Every record the decision would write, in a stable order, skips included (with their reasons)."""
    opp_evidence, acc_evidence = raised_records(evidence, opportunities)
    # Deals whose own loss reason is among the evidence (and stays there).
    lost_over = {ev.opportunity_id for ev in evidence
                 if ev.opportunity_id and ev.channel == "loss_reason" and not ev.split_pending}

    url = theme_url(options.base_url, decision.theme_id)
    due = add_business_days(today, options.task_due_days, options.quiet_dates)
    out: list[Intended] = []

    def owner_skip(owner_id: str | None) -> tuple[str, str | None]:
        owner = owners.get(owner_id or "")
        if owner is None:
            return owner_id or "", OWNER_UNKNOWN
        if not owner.is_active:
            return owner.name, f"owner {owner.name} is inactive in Salesforce"
        return owner.name, None

    def deal_rep(opp: OpportunityRow) -> tuple[str | None, str, str | None, dict[str, Any]]:
        """Who receives what is written on a deal (owner id, name, skip reason, what the preview says of a hand-over).

        Its owner; when the owner is inactive or unknown to Retour, the account's owner if active, since the account
        outlives the rep who left (the review found 18% of the demo's records dropped with no one to give them to);
        else the deal's owner, and the record is skipped with the reason.
        """
        rep, skip = owner_skip(opp.owner_id)
        if skip is None:
            return opp.owner_id, rep, None, {}
        account = accounts.get(opp.account_id or "")
        if account is not None and account.owner_id and account.owner_id != opp.owner_id:
            account_rep, account_skip = owner_skip(account.owner_id)
            if account_skip is None:
                why = "owner_unknown" if skip == OWNER_UNKNOWN else "owner_inactive"
                return account.owner_id, account_rep, None, {"handed_from": rep, "handed_why": why}
        return opp.owner_id, rep, skip, {}

    def lang_for(owner_id: str | None, raised: list[EvidenceRow]) -> str:
        owner = owners.get(owner_id or "")
        return pick_lang(decision, owner.lang if owner else None, majority_lang([ev.lang for ev in raised]))

    def insight(kind: str, record_id: str, lookup: str, record_name: str, owner_id: str | None,
                raised: list[EvidenceRow], skip: str | None, rep: str,
                handed: dict[str, Any] | None = None) -> Intended:
        lang = lang_for(owner_id, raised)
        text = insight_text(decision, lang)
        name = title(decision, lang)
        record = {
            options.insight_key_field: insight_key(decision.id, kind, record_id),
            "Name": _clip(name, NAME_MAX),
            "Theme__c": _clip(name, 255),
            "Decision_Status__c": decision.status,
            "Insight__c": text,
            **both_languages(decision),
            "Target_Release__c": _clip(decision.target, TARGET_MAX) if decision.target else None,
            "Theme_Url__c": url,
            lookup: record_id,
            "Status__c": "active",
        }
        return Intended(INSIGHT, options.insight_object, record[options.insight_key_field], record_id, owner_id,
                        record, text, record_name, rep, lang,
                        skip or held(raised) or (None if name else _no_title(lang)),
                        {**because(raised), **(handed or {})})

    for opp_id in sorted(opp_evidence):
        opp = opportunities.get(opp_id)
        if opp is None:
            out.append(Intended(INSIGHT, options.insight_object, insight_key(decision.id, "opp", opp_id), opp_id, None,
                                {}, "", opp_id, "", "en", OPP_DELETED))
            continue
        owner_id, rep, skip, handed = deal_rep(opp)
        if opp.is_won:
            skip, handed = WON, {}  # nothing goes: no hand-over to speak of
        raised = opp_evidence[opp_id]
        out.append(insight("opp", opp.id, "Opportunity__c", opp.name, owner_id, raised, skip, rep, handed))
        lost = opp.is_closed and not opp.is_won
        if lost and decision.status in TASK_STATUSES:
            account = accounts.get(opp.account_id or "")
            who = account.name if account else opp.name
            lang = lang_for(owner_id, raised)
            subject = task_subject(decision, lang, who, opp.close_date, lost_over_it=opp.id in lost_over)
            record = {
                options.task_key_field: insight_key(decision.id, "task", opp.id),
                "Subject": subject,
                "Description": task_description(decision, lang, url),
                "WhatId": opp.id,
                "OwnerId": owner_id,
                "ActivityDate": due.isoformat(),
                "Status": "Not Started",
                "Priority": "Normal",
            }
            out.append(Intended(TASK, "Task", record[options.task_key_field], opp.id, owner_id, record, subject,
                                opp.name, rep, lang,
                                skip or held(raised) or (None if title(decision, lang) else _no_title(lang)),
                                {**because(raised), **handed}))
        if options.chatter:
            lang = lang_for(owner_id, raised)
            body = insight_text(decision, lang) + (f"\n{url}" if url else "")
            record = {"ParentId": opp.id, "Body": _clip(body, 10000), "Type": "TextPost"}
            out.append(Intended(CHATTER, "FeedItem", insight_key(decision.id, "chatter", opp.id), opp.id, owner_id,
                                record, body, opp.name, rep, lang, skip or held(raised), {**because(raised), **handed}))

    for acc_id in sorted(acc_evidence):
        account = accounts.get(acc_id)
        if account is None:
            out.append(Intended(INSIGHT, options.insight_object, insight_key(decision.id, "acc", acc_id), acc_id, None,
                                {}, "", acc_id, "", "en", ACC_DELETED))
            continue
        rep, skip = owner_skip(account.owner_id)
        out.append(insight("acc", account.id, "Account__c", account.name, account.owner_id, acc_evidence[acc_id], skip,
                           rep))
    return out


def written_fields(options: PlanOptions) -> dict[str, list[str]]:
    """Per Salesforce object, every field a push writes, read off the records :func:`plan_pushes` builds.

    Derived by planning one decision that writes every kind of record (an insight on a lost deal and on its
    account, its follow-up task, a Chatter post when ``options.chatter``) and its withdrawal, so the list cannot
    drift from what is sent: ``retour check`` compares it with the org's describe before a push fails on a field
    the org lacks (an org still on older metadata of deploy/salesforce).
    """
    decision = DecisionRow(id=0, theme_id=0, status=TASK_STATUSES[0], target="-", insight_en="-", insight_fr="-",
                           title_en="-", title_fr="-")
    opp = OpportunityRow("006000000000000AAA", "-", "001000000000000AAA", "005000000000000AAA", "Closed Lost",
                         is_closed=True, close_date=dt.date(2000, 1, 3))
    accounts = {opp.account_id: AccountRow(opp.account_id, "-", opp.owner_id)}
    owners = {opp.owner_id: OwnerRow(opp.owner_id, "-")}
    plan = plan_pushes(decision, [EvidenceRow(opp.id, opp.account_id, "en", channel="loss_reason")], {opp.id: opp},
                       accounts, owners, options, dt.date(2000, 1, 3))
    fields: dict[str, set[str]] = {}
    for intended in plan:
        written = set(intended.record)
        if intended.kind in (INSIGHT, TASK):
            written |= set(withdrawal_fields(intended.kind, intended.record, "Completed"))
        fields.setdefault(intended.sobject, set()).update(written)
    return {sobject: sorted(names) for sobject, names in fields.items()}


def withdrawal_fields(kind: str, record: dict[str, Any], closed_task_status: str, lang: str = "en") -> dict[str, Any]:
    """What a withdrawal writes over a record Retour pushed: the insight is marked withdrawn, the task closed.

    A task is closed with ``closed_task_status`` (``[push] withdrawn_task_status``, "Completed" by default since
    it is the one closed status every org has) and its subject says it was withdrawn, so nobody mistakes it
    for a follow-up the rep did; efficacy figures leave withdrawn tasks out.
    """
    if kind == INSIGHT:
        # Its Name says so too: a related list shows the Name, and the review read "Offline mode planned for Q3" on a
        # withdrawn insight, with "withdrawn" only in a column further right.
        prefix = "Retiré : " if lang == "fr" else "Withdrawn: "
        name = str(record.get("Name", ""))
        return {**record, "Status__c": "withdrawn",
                **({"Name": _clip(prefix + name, NAME_MAX)} if name and not name.startswith(prefix) else {})}
    if kind == TASK:
        prefix = "Retiré par Retour — " if lang == "fr" else "Withdrawn by Retour — "
        return {**record, "Status": closed_task_status, "Subject": _clip(prefix + str(record.get("Subject", "")),
                                                                         SUBJECT_MAX)}
    raise ValueError(f"a {kind} push cannot be withdrawn by an update")
