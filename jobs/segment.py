"""Split feedback text into clauses, and tell product feedback from logistics.

Why clauses: a real CRM note carries several subjects among names and next steps ("Friendly call. But the
go-live moved twice and tickets sit unanswered. Call back Tuesday."). Clustering whole notes mixes them;
clustering clauses lets one note feed several themes and keeps "call back Tuesday" out.

Everything here is pure (text in, plain data out) and language-light: French and English punctuation,
connectives and cue lexicons. The no-feedback classifier is deliberately general — cue words for
logistics, courtesy and positive small talk against cue words for problems, needs and comparisons, plus
structure (length, share of names/dates/numbers) — rather than tuned to one corpus.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from jobs.spelling import Speller
from retour.folding import fold

# --------------------------------------------------------------------------------------------- splitting
_BULLET = re.compile(r"(?m)^\s*(?:[-*•·▪‣◦–]|\d{1,2}[.)])\s+")
_HARD_BREAK = re.compile(r"\n+|;|\s[–—]\s|\s-\s(?=[A-ZÀ-ÖØ-Ý])")
# Sentence end: . ! ? … followed by space and a capital/digit/quote (keeps "v2.1", "e.g. x", "M. Dupont" mostly intact).
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[\"'«(\[]?[A-ZÀ-ÖØ-Ý0-9])")
# Contrast/addition connectives that usually start a new subject. Source: English and French grammar (the common
# coordinating and contrastive connectives).
_CONNECTIVE = re.compile(
    r",?\s+(?=(?:but|however|although|though|also|and also|on top of that|besides|"
    r"mais|cependant|toutefois|pourtant|par contre|en revanche|aussi|également|en plus|de plus|et aussi)\b)",
    re.IGNORECASE)
# Field labels and headers a pasted text starts with. Source: Salesforce's Loss Reason field and "Closed Lost" stage,
# e-mail subject prefixes (Re, Fw, Fwd; TR in French mail clients), note headers (CR = compte rendu).
_LABEL_PREFIX = re.compile(
    r"^\s*(?:loss reason|reason|lost reason|motif(?: de perte)?|raison|closed lost|lost|perdu|perte|"
    r"objet|subject|sujet|re|tr|fw|fwd|note|notes|cr|compte[- ]rendu)\s*:\s*", re.IGNORECASE)
_WORD = re.compile(r"[\wÀ-ÖØ-öø-ÿ'’]+", re.UNICODE)

_CONTRAST = re.compile(r"(?:but|however|although|though|mais|cependant|toutefois|pourtant|par contre|en revanche)\b",
                       re.IGNORECASE)
CONTRAST_MIN_WORDS = 8  # a shorter contrast clause is glued back to the clause it qualifies
MIN_WORDS = 3  # shorter pieces are glued to a neighbour: "But he's frustrated:" is not a subject on its own


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def split_clauses(text: str, *, min_words: int = MIN_WORDS) -> list[str]:
    """Cut ``text`` into clause-sized pieces, in order, without losing any content word.

    Within a line, pieces shorter than ``min_words`` are merged into the following piece (or the previous
    one at the end), so a connective stub never stands alone; a short line of its own stays apart.
    """
    return [c for c, _shift in _split(text, min_words)]


# The same connectives and topic changers ("another", "autre point", "par ailleurs"): English and French grammar.
_SHIFT_START = re.compile(
    r"^(?:but|however|although|though|also|and also|on top of that|besides|plus|another|other than that|"
    r"mais|cependant|toutefois|pourtant|par contre|en revanche|aussi|également|en plus|de plus|et aussi|"
    r"autre point|autre sujet|par ailleurs)\b", re.IGNORECASE)


_SLASH = re.compile(r"\s/\s(?![^()]*\))")  # not inside parentheses: "(Power BI / Qlik)"
SLASH_LIST_MIN_WORDS = 3  # a list "a / b / c": each item of at least this many words stands apart
SLASH_PAIR_MIN_WORDS = 6  # a single slash separates two clauses only when both are this long


def _slash_split(block: str) -> list[str]:
    """Reps separate the items of a note with slashes ("Sent v2 / Call back Tuesday / they need SAML"), and also
    join alternatives with one ("SSO / SAML", "No mobile clock-in / shift approval"). Two or more slashes make
    a list whose items of ``SLASH_LIST_MIN_WORDS`` words stand apart; a single slash separates only two full
    clauses. A side too short to stand apart stays joined to its neighbour."""
    parts = _SLASH.split(block)
    if len(parts) == 1:
        return parts
    least = SLASH_LIST_MIN_WORDS if len(parts) > 2 else SLASH_PAIR_MIN_WORDS
    out: list[str] = []
    for part in parts:
        if out and (len(_words(out[-1])) < least or len(_words(part)) < least):
            out[-1] = f"{out[-1]} / {part}"
        else:
            out.append(part)
    return out


def _split(text: str, min_words: int = MIN_WORDS) -> list[tuple[str, bool]]:
    """Clauses with a flag: does this clause open a new subject (new line, bullet, "but", "also", "mais")?"""
    if not text or not text.strip():
        return []
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _BULLET.sub("\n", text)
    merged: list[tuple[str, bool]] = []
    for block in (b for hard in _HARD_BREAK.split(text) for b in _slash_split(hard)):
        # Glue short stubs within a block only: a line or bullet of its own ("rappeler mardi") stays apart.
        pieces = []
        for sentence in _SENTENCE.split(block):
            first = len(pieces)
            for clause in _CONNECTIVE.split(sentence):
                clause = _LABEL_PREFIX.sub("", clause.strip(" \t,:.-–—")).strip(" \t,:-–—")
                if not clause:
                    continue
                # "We can simulate per employee, but not a budget scenario": a short contrast completes the
                # clause before it; alone it would say nothing ("but not a budget scenario").
                if len(pieces) > first and _CONTRAST.match(clause) and len(_words(clause)) < CONTRAST_MIN_WORDS:
                    pieces[-1] = f"{pieces[-1]}, {clause}"
                else:
                    pieces.append(clause)
        block_out: list[str] = []
        carry = ""
        for piece in pieces:
            piece = f"{carry} {piece}".strip() if carry else piece
            if len(_words(piece)) < min_words:
                carry = piece
                continue
            carry = ""
            block_out.append(piece)
        if carry:
            if block_out:
                block_out[-1] = f"{block_out[-1]} {carry}"
            else:
                block_out.append(carry)
        for i, piece in enumerate(block_out):
            merged.append((piece, i == 0 or bool(_SHIFT_START.match(piece))))
    return merged


# --------------------------------------------------------------------------------------------- feedback or not
_CUE_WORDS: set[str] = set()  # every word of every cue lexicon below: what a typo is repaired towards


def _lexicon(*phrases: str) -> re.Pattern[str]:
    alts = sorted({fold(p) for p in phrases}, key=len, reverse=True)
    _CUE_WORDS.update(w for a in alts for w in re.findall(r"[a-z0-9'-]+", a) if len(w) > 1)
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in alts) + r")(?![\w])")


# None of the cue phrases below may come from an evaluation file's sentences (tests/test_jobs_cue_provenance.py):
# each list says where its words come from, and a stock phrase that the eval texts also happen to use is listed
# in that test with the general source that justifies it.
#
# Problems, needs, comparisons, refusals: what makes a clause product feedback. Source: general English and French
# vocabulary of negation, need and request, cost, difficulty, defects, dissatisfaction, delay, risk and manual work,
# and the verbs of choosing or switching to another vendor.
FEEDBACK_PHRASES = (
    # English
    "no", "not", "never", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "won't", "can't", "cannot",
    "couldn't", "without", "lack", "lacks", "lacking", "missing", "miss", "need", "needs", "needed", "require",
    "requires", "required", "requirement", "want", "wants", "wanted", "wish", "expect", "expected", "asked for",
    "asks for", "request", "requested", "demand", "demands", "must", "should", "too", "expensive", "cost",
    "costs", "price", "pricing", "budget", "cheaper", "slow", "slowly", "complex", "complicated", "difficult",
    "hard", "painful", "problem", "problems", "issue", "issues", "bug", "bugs", "broken", "error", "errors",
    "fails", "failed", "failing", "crash", "crashes", "complain", "complained", "complaint", "frustrated",
    "frustration", "unhappy", "disappointed", "annoyed", "angry", "churn", "lost", "lose", "losing", "chose",
    "picked", "went with", "switched", "moved to", "competitor", "instead", "vs", "versus", "better", "worse",
    "only", "blocked", "blocker", "blocking", "limitation", "limited", "gap", "unable", "impossible",
    "unanswered", "delay", "delayed", "late", "compliance", "security", "concern", "concerns", "risk",
    "manual", "manually", "workaround", "escalate", "doesnt", "dont", "cant", "wont", "migrate to",
    "migrating to", "moving to", "switching to", "replace", "replacing", "wrong", "incorrect", "incorrectly",
    # French
    "pas", "ne", "n'", "jamais", "aucun", "aucune", "sans", "manque", "manquant", "manquante", "manquent",
    "besoin", "exige", "exigent", "exigence", "veut", "veulent", "voudrait", "voudraient", "souhaite",
    "souhaitent", "aimerait", "demande", "demandent", "attend", "attendent", "faut", "doit", "doivent", "trop",
    "cher", "chère", "chers", "coût", "coûte", "prix", "tarif", "tarifs", "tarification", "budget", "lent",
    "lente", "lenteur", "lenteurs", "complexe", "compliqué", "difficile", "problème", "problèmes", "souci",
    "soucis", "bug", "bugs", "bogue", "erreur", "erreurs", "plantage", "plante", "rejeté", "bloqué", "bloquant",
    "bloque", "frein", "plainte", "se plaint", "mécontent", "mécontents", "déçu", "déçus", "frustré", "agacé",
    "perdu", "perdue", "perdus", "choisi", "retenu", "concurrent", "concurrence", "plutôt", "au lieu",
    "moins", "mieux", "pire", "seulement", "limité", "limite", "limites", "impossible", "incapable",
    "retard", "retards", "sans réponse", "conformité", "sécurité", "risque", "inquiet", "inquiète",
    "manuel", "manuellement", "contournement", "escalade", "escalader", "regrette", "reproche", "migrer vers",
    "incorrecte", "incorrects", "erroné", "erronée", "erronés", "erronées",
    "passer chez", "passe chez", "remplacer", "à la main",
)
FEEDBACK_CUES = _lexicon(*FEEDBACK_PHRASES)
# Next steps, scheduling, courtesy: what pure logistics is made of. Source: the activities behind Salesforce's
# default Task subjects (Call, Email, Send Letter, Send Quote) and their outcomes (voicemail, no answer, sent,
# followed up); calendar words (weekdays, today, next week); e-mail greetings and sign-offs; sales-process steps
# ("next steps", proposal, quote, contract sent for signature); common CRM note abbreviations (fyi, eod, asap, ooo,
# rdv, cr, pj, v1/v2); who an e-mail is copied to (the Cc field: "cc'd", "en copie").
LOGISTICS_PHRASES = (
    # English
    "call back", "called", "call", "calls", "left voicemail", "voicemail", "left a message", "no answer",
    "sent", "send", "sending", "will send", "to send", "resent", "emailed", "email", "emails", "mail", "cc'd", "in cc",
    "copied in", "follow up",
    "follow-up", "followup", "followed up", "chase", "chased", "ping", "pinged", "reminder", "remind",
    "schedule", "scheduled", "reschedule", "rescheduled", "booked", "book", "meeting", "meeting set",
    "invite", "invitation", "calendar", "agenda", "next step", "next steps", "todo", "to do", "proposal",
    "quote", "contract sent", "signature", "demo booked", "intro", "introduced", "thanks", "thank you",
    "regards", "best regards", "hello", "hi", "dear", "cheers", "checked in", "check-in", "catch up",
    "catch-up", "touch base", "touched base", "recap", "minutes", "attached", "see attached", "fyi",
    "ooo", "out of office", "unreachable", "not reachable", "could not reach", "couldn't reach",
    "on holiday", "on vacation", "tomorrow", "today", "next week", "this week",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "morning", "afternoon",
    "am", "pm", "eod", "asap", "updated", "update", "logged", "noted", "v1", "v2", "v3",
    # Record keeping. Source: a support case or ticket is closed through its status (Salesforce Case Status
    # "Closed"); CRM duplicate management names duplicate leads, contacts, accounts and opportunities.
    "close the ticket", "close this ticket", "ticket closed", "close the case", "close this case", "case closed",
    "duplicate opportunity", "duplicate opp", "duplicate deal", "duplicate record", "duplicate lead",
    "duplicate contact", "duplicate account",
    # Routing a case. Source: tiered support (level 1 / level 2, "tier 2") and Salesforce case escalation; the
    # case's subject and description say what the problem is, the routing line only where the case went.
    "escalated to tier", "escalated to level", "escalated to l2", "escalated to engineering",
    "passed to tier", "passed to level", "transferred to tier", "transferred to level",
    "waiting on customer", "awaiting customer",
    # Working a case. Source: a helpdesk agent's work log (ITIL incident handling: a workaround is provided while the
    # fix waits; screenshots, logs and steps to reproduce are requested to diagnose). What the agent did, not what the
    # customer lacks: "workaround" and "asked for" alone are feedback cues ("they need a workaround").
    "workaround provided", "workaround given", "workaround applied", "workaround sent", "provided a workaround",
    "gave a workaround", "asked for a screenshot", "asked for screenshots", "asked for logs", "asked for the logs",
    "requested a screenshot", "requested screenshots", "requested logs", "requested the logs", "screenshot requested",
    "screenshots requested", "logs requested", "asked for steps to reproduce",
    # French
    "rappeler", "rappel", "rappelé", "pas joignable", "injoignable", "appel", "appelé", "messagerie",
    "laissé un message", "message laissé",
    "répondeur", "pas de réponse", "plus de réponse", "plus de nouvelles", "pas de nouvelles", "no reply",
    "no response", "ghosted", "silence radio", "envoyé", "envoyée", "envoyer", "renvoyé", "relance", "relancé",
    "relancer", "mail", "courriel", "en copie", "mettre en copie", "mis en copie", "rdv", "rendez-vous", "calé", "calée", "planifié", "planifier",
    "reporté", "invitation", "agenda", "prochaine étape", "prochaines étapes", "à faire", "proposition",
    "devis", "offre envoyée", "signature", "merci", "cordialement", "bonjour", "bonsoir", "salut",
    "bien à vous", "bonne journée", "point", "point d'étape", "compte rendu", "cr", "pj", "ci-joint",
    "demain", "aujourd'hui", "semaine prochaine", "cette semaine", "lundi", "mardi", "mercredi", "jeudi",
    "vendredi", "samedi", "dimanche", "matin", "après-midi", "mis à jour", "noté", "congés", "absent",
    "clôturer le ticket", "fermer le ticket", "ticket clôturé", "ticket fermé", "clôturer la requête",
    "requête clôturée", "opportunité en double", "opp en double", "lead en double", "contact en double",
    "transmis au niveau", "transféré au niveau", "escaladé au niveau", "remonté au niveau", "en attente client",
    "contournement proposé", "contournement fourni", "contournement appliqué", "solution de contournement proposée",
    "solution de contournement fournie", "proposé un contournement", "capture d'écran demandée",
    "captures d'écran demandées", "logs demandés", "demandé une capture d'écran", "demandé les logs",
)
LOGISTICS_CUES = _lexicon(*LOGISTICS_PHRASES)
# Positive small talk: "satisfied with payroll", "friendly as always" is not a request. Source: general English and
# French words of satisfaction and praise, a won or renewed deal, and a price found acceptable.
POSITIVE_PHRASES = (
    "happy", "satisfied", "pleased", "love", "loves", "great", "friendly", "good", "nice", "thrilled",
    "went well", "well received", "renewed", "signed", "won", "enthusiastic", "impressed", "praised",
    "satisfait", "satisfaits", "satisfaite", "content", "contents", "ravi", "ravis", "super", "très bien",
    "bien passé", "sympa", "enthousiaste", "impressionné", "signé", "renouvelé", "gagné", "apprécie",
    "apprécient", "reasonable", "fair price", "makes sense", "raisonnable", "cohérent", "cohérente", "correct",
)
POSITIVE_CUES = _lexicon(*POSITIVE_PHRASES)
# "No issue", "pas de souci": a negation that reports the absence of a problem, not a problem. Source: stock English
# and French formulas ("no problem", "pas de souci", "RAS" = rien à signaler); agreement ("fine with", "d'accord
# sur"); objection handling and blockers from sales methodology ("no objections", "not a blocker"); a support case
# reported fixed (helpdesk statuses Resolved / Solved); budget qualification (the B of BANT: budget approved).
REASSURANCE_PHRASES = (
    "no issue", "no issues", "no problem", "no problems", "no complaint", "no complaints", "nothing to report",
    "no concerns", "no blocker", "no blockers", "not a blocker", "not an issue", "no showstopper", "no showstoppers",
    "works fine", "working fine", "went fine", "fine with", "ok with", "okay with", "agreed",
    "no objection", "no objections",
    "issue resolved", "issue fixed", "problem solved", "problem resolved", "works as expected", "working as expected",
    "pas de souci", "pas de soucis", "pas de problème", "aucun problème", "aucun souci", "rien à signaler", "ras",
    "pas bloquant", "pas de point bloquant", "fonctionne bien", "marche bien", "ok sur", "d'accord sur",
    "aucune objection", "pas d'objection",
    "problème résolu", "problème réglé", "souci réglé", "fonctionne correctement", "fonctionne comme prévu",
    "budget approved", "budget confirmed", "budget ok", "budget validated", "budget validé", "budget confirmé",
    "budget débloqué",
)
REASSURANCE_CUES = _lexicon(*REASSURANCE_PHRASES)
# A clause that opens with a to-do header is the rep's plan, whatever it mentions ("Next step: proposal by the 20th").
# Source: the headers of sales-methodology and meeting-minutes templates (next steps, action items, action plan,
# to-do, follow-up) and their French forms; "ns" is the usual abbreviation of next steps.
TODO_HEADERS = (
    "next step", "next steps", *(f"{a} {b}" for a in ("prochaine", "prochaines") for b in ("étape", "étapes")),
    "to do", "todo", "to-do", "à faire", "action item", "action items", "action", "actions", "action plan",
    "plan d'action", "follow up", "follow-up", "followup", "suite", "ns",
)
_TODO_HEADER = re.compile(  # matched against the folded clause
    r"^\s*(?:" + "|".join(re.escape(fold(h)) for h in sorted(TODO_HEADERS, key=len, reverse=True)) + r")\s*[:=-]")
# Picklist placeholders that say nothing about why: "Lost - other", "Perdu : autre", "n/a". Source: the catch-all
# values of loss-reason picklists (Other, Unknown, N/A, TBD, No decision) and the function words around them.
GENERIC_WORDS = frozenset(fold(w) for w in (
    "lost", "closed", "other", "others", "misc", "unknown", "none", "n", "a", "na", "tbd", "no", "decision",
    "perdu", "perdue", "autre", "autres", "divers", "inconnu", "aucune", "aucun", "non", "renseigné", "reason",
    "motif", "raison", "deal", "opportunity", "opportunité", "pas", "de", "d", "la", "le", "the", "of", "yet",
    "encore", "for", "now", "pour", "l'instant", "instant"))
# Reps type fast ("messae laisssé", "out of offce", "porposal envoyé"): a misspelt cue word is read as the cue
# before the lexicons are matched, or a voicemail line reads as feedback (see jobs.spelling).
_SPELLER = Speller(_CUE_WORDS, fold=fold, extra=GENERIC_WORDS)
# A clause that sets a day to do something and states no problem is a plan: "Lancer le POC la sem. du 13/01",
# "kick-off the week of 07/09", "demo on 12/03". Source: how a date for an action is written in English and French
# notes ("week of", "semaine du", "on / by / le / pour le dd/mm"); "since the 12/03 release" is not a plan, and a
# clause with a problem cue is never caught by this (it is checked after the cues).
_DATED = re.compile(r"(?i)\b(?:week of|semaine du|sem\.\s*du|(?:on|by|for|before|le|du|au|pour le|avant le)\s+\d{1,2}/\d{1,2}(?:/\d{2,4})?(?![\w/]))")
_NUMBERISH = re.compile(r"^(?:\d+[\w/:.-]*|\d{1,2}h\d{0,2}|[ap]m|v\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    """Why a clause counts as feedback or not: kept for debugging and tests, never shown to reps."""

    is_feedback: bool
    reason: str


def classify(clause: str, *, narrative: bool = False) -> Verdict:
    """Decide whether a clause is product feedback (True) or logistics, courtesy, names and dates (False).

    Rules, in order: reassurances ("no issue", "pas de souci") do not count as problem cues; a
    problem/need/comparison cue makes it feedback unless the clause is only a short logistics line ("no
    answer, left voicemail"); logistics or courtesy cues without any feedback cue make it logistics;
    positive small talk or a reassurance ("problème résolu", "budget approved") without a feedback cue is not
    feedback; a clause made only of capitalised names, numbers and dates is not feedback. A clause without
    any cue is feedback when it stands alone (a one-line loss reason or case is its own point: "export file
    rejected by Cegid") but not inside a ``narrative`` note, where uncued clauses are the story around the
    feedback ("met at their HQ in Toulouse").
    """
    folded = _SPELLER.text(fold(clause))
    words = _words(folded)
    if not words:
        return Verdict(False, "empty")
    if all(w in GENERIC_WORDS for w in words):
        return Verdict(False, "generic placeholder")
    if _TODO_HEADER.match(fold(clause)):
        return Verdict(False, "next steps")
    # Cue words inside a logistics phrase ("pas de réponse", "no answer") or a reassurance ("no issue") are
    # not problems.
    reassurance_free, reassured = REASSURANCE_CUES.subn(" ", folded)
    logistics_free = LOGISTICS_CUES.sub(" ", reassurance_free)
    feedback = len(FEEDBACK_CUES.findall(logistics_free))
    logistics = len(LOGISTICS_CUES.findall(folded))
    positive = len(POSITIVE_CUES.findall(folded))
    raw_words = _words(clause)
    content = [w for i, w in enumerate(raw_words)
               if not _NUMBERISH.match(w) and not (i and w[:1].isupper() and len(w) > 1)]
    if feedback:
        if logistics >= 2 and len(words) <= 8 and feedback == 1 and not content[2:]:
            return Verdict(False, "short logistics line")
        if logistics > 2 * feedback + 1 and len(words) <= 12:
            return Verdict(False, "logistics dominates")
        return Verdict(True, "feedback cue")
    if logistics:
        return Verdict(False, "logistics cue")
    if positive:
        return Verdict(False, "positive remark")
    if reassured:
        return Verdict(False, "reassurance")
    if _DATED.search(clause):
        return Verdict(False, "dated next step")
    if len(content) < 2:
        return Verdict(False, "names, numbers or dates only")
    if len(words) < 4:
        return Verdict(False, "too short to say anything")
    if narrative:
        return Verdict(False, "story around the feedback")
    return Verdict(True, "plain statement")


def is_feedback(clause: str) -> bool:
    return classify(clause).is_feedback


PICKLIST_MAX_WORDS = 3


def is_picklist_value(clause: str) -> bool:
    """A loss-reason head short enough to be a picklist value ("Price", "Missing feature", "Autre")."""
    return 0 < len(_words(clause)) <= PICKLIST_MAX_WORDS


@dataclass(frozen=True)
class Segment:
    position: int
    text: str
    is_feedback: bool


NARRATIVE_CHANNELS = ("note",)


# What one text may cost. A pasted e-mail thread or a 1 MB note made a single 1,037,917-character segment and pushed
# a theme pass from 216 MB to 4.1 GB: feedback is said in the first pages of a note, so segmentation reads the first
# ``MAX_TEXT_READ`` characters (the stored text stays whole), and a clause longer than ``MAX_SEGMENT_CHARS`` (no
# punctuation for pages) is cut at a space into pieces of at most that length.
MAX_TEXT_READ = 20_000
MAX_SEGMENT_CHARS = 2_000


def _head(text: str) -> str:
    """The first ``MAX_TEXT_READ`` characters of a text, ending at a space rather than inside a word."""
    if len(text) <= MAX_TEXT_READ:
        return text
    cut = text.rfind(" ", 0, MAX_TEXT_READ)
    return text[:cut if cut > 0 else MAX_TEXT_READ]


def _bounded(clause: tuple[str, bool]) -> list[tuple[str, bool]]:
    """A clause of at most ``MAX_SEGMENT_CHARS``, or its pieces cut at spaces (each piece starts a new segment)."""
    text, shift = clause
    if len(text) <= MAX_SEGMENT_CHARS:
        return [clause]
    pieces: list[tuple[str, bool]] = []
    while text:
        cut = len(text) if len(text) <= MAX_SEGMENT_CHARS else (text.rfind(" ", 0, MAX_SEGMENT_CHARS) + 1
                                                                  or MAX_SEGMENT_CHARS)
        pieces.append((text[:cut].strip(), shift if not pieces else True))
        text = text[cut:].lstrip()
    return [p for p in pieces if p[0]]


# A loss reason or a case is stored as its header, a full stop, then the free text (``connector.feedback``: "Budget
# Cut. No response for 2 months", "Export failing. Sponsor very unhappy"): a picklist value or a case subject. A
# header of at most ``PICKLIST_MAX_WORDS`` words is a line of its own: read as the start of the first sentence, it
# was glued to it as a short stub ("Budget Cut No response for 2 months"), lent the free text its words (a budget
# cue made a silent prospect feedback) and hid from the picklist rule below, which reads it as the first clause.
HEADED_CHANNELS = ("loss_reason", "case")
TOLD_ELSE = frozenset({"logistics cue", "short logistics line", "logistics dominates", "next steps", "dated next step"})
_HEADER = re.compile(r"^[ \t]*([^\n.!?;:]*[^\W\d_][^\n.!?;:]*?)[.!?]+[ \t]+(?=\S)")


def _header_apart(text: str) -> str:
    """``text`` with a short header ("Budget Cut. …") on a line of its own."""
    m = _HEADER.match(text)
    if m is None or not 0 < len(_words(m.group(1))) <= PICKLIST_MAX_WORDS or len(m.group(1).strip()) < 2:
        return text
    return f"{m.group(1)}\n{text[m.end():]}"


def segment_text(text: str, channel: str = "note") -> list[Segment]:
    """The segments of one FeedbackItem's text, each marked feedback or not, positions from 0.

    Clauses are classified one by one; then consecutive feedback clauses of the same subject are joined
    into one segment ("go-live moved twice. The migration still has mismatches."), while a new line, a
    bullet or a subject shift ("but", "also", "mais", "aussi") starts a new one. One segment per subject
    gives the embedding the whole complaint rather than fragments, and keeps several subjects apart.

    A multi-clause note (``channel`` "note": call and meeting notes) is narrative: its uncued clauses are
    context. Loss reasons and cases are written to state a problem: their plain statements count.
    """
    text = _head(text or "")
    if channel in HEADED_CHANNELS:
        text = _header_apart(text)
    clauses = [piece for clause in _split(text) for piece in _bounded(clause)]
    narrative = channel in NARRATIVE_CHANNELS and len(clauses) > 2
    judged = [classify(clause, narrative=narrative) for clause, _shift in clauses]
    verdicts = [v.is_feedback for v in judged]
    if channel in HEADED_CHANNELS and len(clauses) > 1 and is_picklist_value(clauses[0][0]) and (
            any(verdicts[1:]) or (channel == "loss_reason" and any(v.reason in TOLD_ELSE for v in judged[1:]))):
        # "Reason: Missing feature — no clock-in on phones": the free text says why, the picklist value only
        # says which box was ticked (and is often the wrong box). A case's subject is its title: its description
        # says the problem in full. A loss reason whose free text tells another story ("Budget Cut. No response for
        # 2 months, closing": logistics, not a product reason) is as bare as its value alone: it joins no theme.
        verdicts[0] = False
    out: list[Segment] = []
    prev_feedback = False
    for (clause, shift), fb in zip(clauses, verdicts):
        if fb and prev_feedback and not shift:
            last = out[-1]
            out[-1] = Segment(last.position, f"{last.text} {clause}", True)
        else:
            out.append(Segment(len(out), clause, fb))
        prev_feedback = fb
    return out
