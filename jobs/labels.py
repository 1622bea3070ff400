"""Readable theme labels and quotes, computed from members: pure functions.

A label is a short phrase (2-7 words) a person would write to name a theme's problem ("No SSO support",
"Prix par bulletin trop élevé"), one per language the theme's evidence is written in, built from the words the
members use: no machine translation exists offline, so a language without enough members gets no label and the
UI asks a person for it. ``theme_labels`` is the entry point.

How a label is found (``theme_labels``):
- Members' clauses are cut into chunks at punctuation and at the words that frame a CRM sentence rather than
  name its subject: speakers and roles ("the client", "DAF"), reporting verbs ("wants", "a dit"), meeting and deal
  words ("demo", "lost"), subordinators, figures and dates, and the org's people and accounts (``Forbidden``).
- Candidates are the spans of 2-7 words of a chunk that start and end on a content word (a negation or "too" may
  open one: "No SSO", "Trop cher"), never on a function word or a common verb.
- A candidate scores by its support among the members of its language (the exact phrase and, softer, all its
  content words), times how much more this theme uses it than the other themes passed along (a phrase every
  theme says is no theme's name). With ``embed`` and ``centroids``, the best candidates by that score are then
  ranked the KeyBERT way: nearness to the theme's centre minus nearness to the nearest other centre (maximal
  marginal relevance across themes), so the label says what sets this theme apart.
- The first candidate that is not a bare picklist value, not a logistics phrase by ``jobs.segment.classify``
  and not taken by another theme in the same call wins, in each language; with ``embed``, a theme's English and
  French labels are then held to name the same problem (``_agreeing``): each language reads only its own members,
  and a sub-group speaking one language ("Monthly pack" against "Bug planning Résolu après redémarrage") named
  another subject, so a reader switching language saw another theme. Never a translation: when no phrase of a
  language's members agrees, that language gets no label.

Measured (``bench/labels_quality.py``: items grouped by gold theme; the share of labels whose nearest gold theme
name by embedding is their own theme; short / narrative / CLINC150 / demo org at scale 0.25), December 2026:
keyphrase with embed .96 / .67 / .65 / .85; the most central clause shortened ("central") with embed .96 / .67 /
.67 / .81 but more themes left unnamed on CLINC150 (23 against 6); without an embedder .67 / .33 / .52 / .62 and
.79 / .38 / .58 / .77; the former c-TF-IDF pairs 1.00 / .50 / .70 / .77 (keyword pairs match keyword-like gold
names, and read as noise). No label held an org name or a bare picklist value on any set.

Labels are named once, when the theme is created; recomputed labels drift from night to night, so a later
difference becomes a rename proposal, never a silent change (``jobs.themes``).

``labels_for`` (c-TF-IDF keyword pairs, as BERTopic defines them) is the former labeller, kept for the callers that
still use it and as the benchmark's baseline (``bench/labels_quality.py``).

Title quote = the member nearest the centroid (the most typical sentence reads better than any keyword
list); representative quotes = near the centroid but different from each other (maximal marginal relevance).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from jobs.embed import unattributed
from jobs.segment import classify, split_clauses
from retour.folding import fold


# --------------------------------------------------------------------------------------------- word classes
def _words(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in text.split())


# Function words: never the first or last word of a label. Source: English and French determiners, pronouns,
# prepositions, conjunctions, auxiliaries and modals, and common adverbs of degree, time and hedging.
FUNCTION_WORDS = _words("""
a an the this that these those some any each every all both either neither no not nor and or but so yet if then
than as at by for from in into of off on onto out over per to toward towards up upon via with within without about
above across after against along among around before behind below beneath beside besides between beyond despite
during except inside like near outside past since through throughout till under unlike until vs versus
i me my mine myself you your yours yourself he him his himself she her hers herself it its itself we us our ours
ourselves they them their theirs themselves who whom whose which what where when why how
is are was were be been being am have has had having do does did doing done will would shall should can could
may might must ought cannot can't won't don't doesn't didn't isn't aren't wasn't weren't hasn't haven't hadn't
couldn't wouldn't shouldn't it's they're we're there's that's i'm
there here too very much many more most less least few fewer only just still even already also again really
quite rather almost enough such own same other another else ever never always often sometimes now etc
actually basically apparently obviously honestly clearly definitely probably maybe perhaps anyway please thanks
le la les l' un une des du de d' au aux ce cet cette ces ceci cela ça mon ma mes ton ta tes son sa ses notre nos
votre vos leur leurs je j' me m' moi tu te t' toi il elle on nous vous ils elles lui eux se s' y en qui que qu'
quoi dont où et ou mais donc ni car à dans par pour sur sous avec sans chez entre vers contre depuis pendant
avant après selon malgré comme est sont était étaient être été ai as avons avez ont avait avaient avoir eu
ne n' pas plus moins très trop aussi encore déjà toujours jamais bien tout tous toute toutes même autre autres
peu beaucoup tellement si quand lorsque puis alors ainsi assez vraiment juste franchement clairement
apparemment visiblement sûrement peut-être c' ceux celles celui celle svp merci
""")
# May open a label although they are function words: "No SSO", "Pas de connecteur", "Too slow", "More exports".
LEADS = _words("no not non pas sans without aucun aucune too trop more less plus moins never jamais")
# Common verbs, inflected: a label never starts or ends on one ("requires SAML", "tickets sit"). Source: the most
# frequent English and French verbs besides auxiliaries and modals (have, make, take, give, say, want, need;
# faire, prendre, dire, vouloir, devoir, falloir ...) in the forms a note uses.
VERBS = _words("""
get gets got getting gotten go goes went gone going make makes making take takes took taken taking come comes
came coming give gives gave given keep keeps kept seem seems seemed become becomes became remain remains
remained stay stays stayed sit sits sat let lets try tries tried say says tell tells ask asks want wants need
needs think thinks thought know knows knew known feel feels felt find finds found see sees saw seen mean means
meant happen happens happened put puts like likes liked prefer prefers preferred expect expects hope hopes
wish wishes require requires consider considers considered decide decides decided choose chooses chose chosen
buy buys bought pay pays use uses provide provides offer offers allow allows
sera seront serait soit fait font faisait faire va vont allait aller irait peut peuvent pouvait pourrait
pourraient pouvoir doit doivent devait devrait devraient devoir veut veulent voulait voudrait voudraient vouloir
faut fallait faudrait falloir dit disent disait dire prend prennent prenait prendre reste restent restait
semble semblent semblait sait savent savait savoir voit voient voir met mettent mis mettre vient viennent
venait venir donne donnent donner trouve trouvent trouvait pense pensent pensait croit croient passe passent
attend attendent attendre aime aiment aimerait préfère préfèrent choisit choisissent choisi utilise utilisent
propose proposent permet permettent
""")
# Words that frame a CRM sentence instead of naming its subject: a label never contains one, so they cut the
# text into chunks. Source, as ``jobs.embed``'s frame: English and French subject pronouns, the buyer roles of a
# B2B sale, reporting and perception verbs, meeting and deal words, and the headers reps put before a reason (the
# ones that are never a subject: "Feedback:" and "Reason:" end at their colon, "peer feedback" is a subject).
FRAME_WORDS = _words("""
i he she we they il elle ils elles on nous je
customer customers client clients cliente clientes prospect prospects buyer buyers acheteur acheteurs
cfo ceo cio cto coo ciso cso dpo daf drh dsi rssi pdg
said tell tells told ask asks asked want wants wanted need needs needed mentioned mentions explained explains
raised flagged feels felt thinks insisted insists complain complained complains complaining confirmed confirms
claims claimed argued argues hopes wishes noticed heard learned learnt realised realized discovered admitted replied
answered added stressed warned reminded repeated
dit disent disait demande demandent demandé demandée demandait veut veulent voulait voudrait voudraient
souhaite souhaitent souhaitait aimerait aimeraient besoin signalé signale remonté remonte trouve trouvent
trouvait estime estiment pense pensent explique expliqué confirme confirmé insiste insisté regrette regrettent
reproche reprochent râle râlent râlé plaindre plaint plains plaignent plaignait plaignaient pester peste pestent pesté
remarqué appris compris admis ajouté souligné précisé indiqué avoué entendu répété
demo démo call calls called meeting meetings réunion rdv visio appel lost perdu perdue perdus deal deals
opportunity opportunité opp won gagné closed ok okay verbatim citation objection objections blocker blockers
""")
# Subordinators and relatives start another clause: a label does not run across one.
CLAUSE_WORDS = _words("""
because since unless whereas while although though however but so whether which who whom whose that what when
where why how then
parce car puisque donc mais cependant pourtant toutefois quand lorsque lorsqu si sinon qui que qu' dont où alors
puis comme sauf
""")
# Dates: no label names a day. Source: English and French month and weekday names and calendar nouns.
CALENDAR_WORDS = _words("""
january february march april may june july august september october november december jan feb mar apr jun jul
aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
morning afternoon evening tonight week weeks weekend month months year years quarter
janvier février mars avril mai juin juillet août septembre octobre novembre décembre lundi mardi mercredi jeudi
vendredi samedi dimanche aujourd'hui demain hier matin après-midi soir semaine semaines mois an ans année
années trimestre
""")
# Words that leave a label hanging at its end ("too high compared", "prix au-dessus"): they need what follows.
DANGLING = _words("""
compared due related according based linked able unable similar prior regarding including relative thanks instead
au-dessus au-dessous au-delà grâce lors auprès afin face faute près proche
""")
# What a verb follows: a subject pronoun, a relative, the French "ne", a modal. Source: English and French grammar.
BEFORE_VERB = _words("""
i you he she we they il elle ils elles on nous vous je tu who which qui ne n' can could will would shall should
must may might cannot peut peuvent pourrait pourraient doit doivent devrait devraient veut veulent faut va vont
""")
# Prepositions that bind two nouns into one phrase ("price per seat", "prix par bulletin").
LINKERS = _words("of per de d' du des par")
_CONTRACTED = FUNCTION_WORDS | FRAME_WORDS
_CHUNK_BREAK = FRAME_WORDS | CLAUSE_WORDS | CALENDAR_WORDS
# ``classify`` reasons that say a phrase is not a problem: logistics, courtesy, praise, a placeholder. A short
# phrase without any cue ("Reporting limitations": "too short to say anything") is not logistics.
NOT_A_PROBLEM = frozenset({"empty", "generic placeholder", "next steps", "short logistics line",
                           "logistics dominates", "logistics cue", "positive remark", "reassurance"})

MIN_WORDS, MAX_WORDS = 2, 7
LANGS = ("en", "fr")
LANG_MIN_MEMBERS = 2  # members a language needs for a label of its own ...
LANG_MIN_SHARE = 0.1  # ... and the share of the theme they must make
MEMBERS_READ = 300  # best members per theme read: enough words, bounded cost
EMBED_CANDIDATES = 16  # best candidates per theme and language embedded (the cost of ``embed``)
CONTRAST = 0.5  # weight of nearness to the nearest other theme's centre, against nearness to one's own
LEXICAL_FLOOR = 0.25  # of the best lexical score, that an embedded candidate must reach
AGREE = 0.5  # weight of the nearness of a theme's English and French labels, against their own scores
AGREE_MIN = 0.45  # a theme's two labels at least this alike name the same problem (cosine, centred space) ...
AGREE_GAP = 0.4  # ... and a pair of candidates this much more alike than the two best names the theme better
PAIR_CANDIDATES = 8  # acceptable candidates per language tried in pairs
ORDINARY_MIN_COUNT = 1000  # a name token this frequent in pyspellchecker's lists is also an ordinary word


# --------------------------------------------------------------------------------------------- public records
class Member(NamedTuple):
    """One piece of a theme's evidence: its text, language ("en" or "fr") and similarity to the theme's centre."""

    text: str
    lang: str
    similarity: float = 0.0


class ThemeLabel(NamedTuple):
    """A theme's label in each language; None where too few members speak it (a person writes that one)."""

    en: str | None
    fr: str | None


def _name_tokens(name: str) -> list[str]:
    return [t for t in re.findall(r"[^\W\d_]+", fold(name)) if len(t) >= 3]


# Legal forms after an account's name ("Transports Lemaire SAS", "Northern Freight Ltd"). Source: the company
# suffixes of France, the UK, Germany, the Benelux, Spain and the Nordics.
_LEGAL_FORMS = _words("sa sas sasu sarl eurl sci snc ltd plc llc inc corp gmbh ag kg co bv nv sl slu ab as oy")


@functools.lru_cache(maxsize=1)
def _frequencies() -> dict[str, dict[str, int]]:
    """Word counts of pyspellchecker's English and French lists (subtitles), folded like the text."""
    from spellchecker import SpellChecker

    out: dict[str, dict[str, int]] = {}
    for lang in LANGS:
        counts: dict[str, int] = {}
        for w, n in SpellChecker(language=lang, distance=1).word_frequency.items():
            f = fold(w)
            counts[f] = max(n, counts.get(f, 0))
        out[lang] = counts
    return out


def _ordinary_words() -> frozenset[str]:
    """Folded words frequent enough in pyspellchecker's English or French list to be ordinary words."""
    return frozenset(w for counts in _frequencies().values() for w, n in counts.items() if n >= ORDINARY_MIN_COUNT)


FOREIGN_RATIO = 100  # a word counted this many times more in the other language's list belongs to that language


def _speaks(label: str, lang: str, own: Collection[str] = (), others: Collection[str] = ()) -> bool:
    """False for a label with more words of the other language than of ``lang``: "Invoice error" cut from a note
    the language detector called French. Jargon and names ("SSO", "Okta") belong to neither; French notes borrow
    English words ("Dashboards pas assez custom"), hence a majority rather than all.

    A name is known by its writing, whatever the word lists say: an acronym ("BI") or a capital after the first
    word ("Power BI", "Microsoft Entra"). Read as English words, they refused "Connecteur Power BI" to a French
    theme whose members all say it, and its French label fell to a minority's phrase that named another problem.

    The word lists are not the whole language: a theme's own members say which words they use. ``own`` holds the
    words (keys) this theme's members in ``lang`` write and ``others`` those its members in the other language
    write; a word only the ``lang`` side writes is that side's, whatever the lists say. French reps write
    "synchro bidirectionnelle" where English ones write "two-way sync", and "synchro" is in the English list only
    (a rare English word), "bidirectionnelle" in neither: the French label of that theme went missing.
    """
    counts = _frequencies()
    other = "fr" if lang == "en" else "en"
    native = foreign = 0
    for n, raw in enumerate(re.findall(r"[^\W\d_]+", label)):
        if len(raw) > 1 and (raw.isupper() or (n and raw[:1].isupper())):
            continue
        w = fold(raw)
        mine, theirs = counts[lang].get(w, 0), counts[other].get(w, 0)
        if mine and theirs <= FOREIGN_RATIO * mine:
            native += 1
        elif others and _key(w) in own and _key(w) not in others:
            native += 1
        elif theirs:
            foreign += 1
    return native >= foreign


@dataclass(frozen=True)
class Forbidden:
    """What a label may never say: the org's people and accounts, and its picklist values.

    ``name_tokens`` are names whatever their case ("Lemaire", "Camille": rare as words); ``word_names`` are also
    ordinary words ("Grace", "Green", "Services") and count as names where the members write them capitalised
    mid-sentence. All folded (lower case, no accents).
    """

    full_names: frozenset[str] = frozenset()
    name_tokens: frozenset[str] = frozenset()
    word_names: frozenset[str] = frozenset()
    picklist: frozenset[str] = frozenset()
    picklist_words: frozenset[str] = frozenset()

    @classmethod
    def from_org(cls, *, users: Iterable[str] = (), accounts: Iterable[str] = (), contacts: Iterable[str] = (),
                 picklist: Iterable[str] = ()) -> Forbidden:
        """Build from the org's user, account and contact names and its picklist values (e.g. loss reasons)."""
        ordinary = _ordinary_words()
        full: set[str] = set()
        tokens: set[str] = set()
        for name in [*users, *accounts, *contacts]:
            parts = [t for t in _name_tokens(name) if t not in _LEGAL_FORMS]
            if len(parts) > 1:
                full.add(" ".join(parts))
            tokens.update(t for t in parts if t not in FUNCTION_WORDS)
        values = {" ".join(re.findall(r"[^\W_]+", fold(v))) for v in picklist}
        values.discard("")
        return cls(full_names=frozenset(full), name_tokens=frozenset(t for t in tokens if t not in ordinary),
                   word_names=frozenset(t for t in tokens if t in ordinary), picklist=frozenset(values),
                   picklist_words=frozenset(w for v in values for w in v.split()))

    def is_name(self, folded: str, named: Collection[str] = ()) -> bool:
        """``folded`` token is a name: always, or (a word too) where the members capitalise it mid-sentence."""
        return folded in self.name_tokens or (folded in self.word_names and folded in named)

    def is_picklist(self, label: str) -> bool:
        """A bare picklist value: the value itself, or only its words and function words ("Missing feature")."""
        words = re.findall(r"[^\W_]+(?:'[^\W_]+)?", fold(label))
        if not words:
            return False
        if " ".join(words) in self.picklist:
            return True
        return all(w in self.picklist_words or w in FUNCTION_WORDS for w in words)

    def names_in(self, label: str, named: Collection[str] = ()) -> list[str]:
        """The org names a label contains (for checks and benchmarks)."""
        words = re.findall(r"[^\W\d_]+", fold(label))
        found = [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1)
                 if " ".join(words[i:j]) in self.full_names]
        return found + [t for t in words if self.is_name(t, named)]


def names_capitalised_mid_sentence(texts: Iterable[str], forbidden: Forbidden) -> frozenset[str]:
    """The ``word_names`` the texts write capitalised mid-sentence: there they are names ("ask Grace", "chez Sage")."""
    if not forbidden.word_names:
        return frozenset()
    return _named([_clauses(text) for text in texts], forbidden)


def _named(clauses_of_texts: Iterable[Sequence[_Clause]], forbidden: Forbidden) -> frozenset[str]:
    return frozenset(tok.fold for clauses in clauses_of_texts for clause in clauses for tok in clause.toks
                     if tok.capitalised and tok.fold in forbidden.word_names)


# --------------------------------------------------------------------------------------------- tokens and chunks
_TOKEN_RE = re.compile(r"\d+(?:\.\d+)+(?![\w.])|[^\W_]+(?:[-'’][^\W_]+)*|[^\w\s]")
_ELISION = re.compile(r"^(l|d|j|qu|n|s|c|m|t|jusqu|lorsqu|puisqu)['’](?=[^\W_])", re.IGNORECASE)
_SENTENCE_OPENERS = frozenset(".!?:;«\"“(['")
# A figure, a date, a version or a quarter ("40k", "18%", "x2", "v2", "Q3", "10h"); "W2" and "B2B" are names of
# things and may stay.
_FIGURE = re.compile(r"^(?:\d.*|[xvq]\d+|.*\d+(?:k|m|h|j|e|er|eme|st|nd|rd|th))$")
SHOUT_SHARE = 0.7


class _Tok(NamedTuple):
    surface: str
    fold: str  # lower case, no accents
    key: str  # fold, plural "s" dropped: what two spellings of one word share
    word: bool  # False for punctuation
    capitalised: bool  # Capitalised although not the first word of a sentence: a proper noun


def _key(folded: str) -> str:
    if len(folded) > 3 and folded.endswith("s") and not folded.endswith(("ss", "us", "is")):
        return folded[:-1]
    return folded


def _unshout(text: str) -> str:
    """Text typed in capitals, lower-cased: "SUPPORT TAKES TOO LONG" would give a shouted label."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) >= SHOUT_SHARE * len(letters):
        return text.lower()
    return text


def _tokenise(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    opening = True
    for m in _TOKEN_RE.finditer(unicodedata.normalize("NFC", text)):
        raw = m.group(0)
        if not (raw[0].isalnum()):
            out.append(_Tok(raw, raw, raw, False, False))
            opening = opening or raw in _SENTENCE_OPENERS
            continue
        pieces = [raw]
        if e := _ELISION.match(raw):
            pieces = [raw[:e.end()], raw[e.end():]]
        for piece in pieces:
            folded = fold(piece).replace("’", "'")
            # "what's", "doesn't", "they'll" read as their first word: a function or frame word.
            if "'" in folded and folded.split("'", 1)[0] in _CONTRACTED:
                folded = folded.split("'", 1)[0]
            cap = (not opening and piece[:1].isupper() and not piece.isupper() and not piece.endswith(("'", "’")))
            out.append(_Tok(piece, folded, _key(folded), True, cap))
            opening = False
    return out


class _Clause(NamedTuple):
    toks: list[_Tok]
    problem: bool  # False for logistics and courtesy: never cut into labels, still read for names


def _clauses(text: str) -> list[_Clause]:
    """The text's clauses, each a sentence at most. Segmentation glues a stub shorter than three words to the next
    sentence without its full stop (a case's subject before its description: "Bug planning" + "Résolu après
    redémarrage"), which a label would then run across; a label never crosses a sentence end, so stubs stay apart.
    Who is quoted ("Retour de Tom :", "Selon Émilie,") is read as the embedding reads it: not there. A theme of the
    scale corpus was named "Retour de Marc" where no org names its people (``jobs.embed.unattributed``)."""
    return [_Clause(_tokenise(c), classify(c).reason not in NOT_A_PROBLEM)
            for c in split_clauses(_unshout(unattributed(text)), min_words=1)]


class _Chunk(NamedTuple):
    toks: tuple[_Tok, ...]
    before: _Tok | None  # the clause's token just before the chunk, if any
    after: _Tok | None  # and just after it


def _chunks(clauses: Sequence[_Clause], forbidden: Forbidden, named: Collection[str]) -> list[_Chunk]:
    """Runs of words a label may be cut from: problem clauses split at punctuation, frame words, figures, dates
    and names."""
    out: list[_Chunk] = []
    for clause in clauses:
        if not clause.problem:
            continue
        toks = clause.toks
        start = 0
        for k, tok in enumerate([*toks, None]):
            if tok is None or (not tok.word or tok.fold in _CHUNK_BREAK
                               or (_FIGURE.match(tok.fold) and not _version_of(toks, k))
                               or (len(tok.fold) == 1 and tok.fold not in FUNCTION_WORDS)
                               or forbidden.is_name(tok.fold, named)
                               # "... country Legal wants": a capital mid-sentence on a function word is
                               # a sentence whose full stop was never typed.
                               or (tok.capitalised and tok.fold in FUNCTION_WORDS)):
                if k > start:
                    out.append(_Chunk(tuple(toks[start:k]), toks[start - 1] if start else None, tok))
                start = k + 1
    return out


_VERSION = re.compile(r"^\d{1,2}(?:\.\d{1,2})*$")


def _version_of(toks: Sequence[_Tok], k: int) -> bool:
    """Token ``k`` is the version of the name before it ("WCAG 2.1", "iOS 17", "Android 4.4"): a short number right
    after an acronym or a camel-case name, or a dotted one after a capitalised word, is part of the name, not a
    figure. "App is not WCAG" was a demo label cut before the standard's version, its "compliant" lost; "Genève 80
    pers" stays a figure (a head count)."""
    prev = toks[k - 1] if k else None
    if prev is None or not prev.word or not _VERSION.match(toks[k].fold):
        return False
    named = (prev.surface.isupper() and len(prev.surface) > 1) or \
        (prev.surface[:1].islower() and any(c.isupper() for c in prev.surface[1:]))
    return named or (prev.capitalised and "." in toks[k].fold)


def _elided(tok: _Tok) -> bool:
    return tok.surface.endswith(("'", "’"))


def _verb_like(tok: _Tok) -> bool:
    return tok.fold in VERBS or tok.fold in FRAME_WORDS or (len(tok.fold) > 4 and tok.fold.endswith("ed"))


def _negated_verb(tok: _Tok) -> bool:
    # A French infinitive in -er after "pas" ("pas intégrer"); "pas cher" is short enough to stay an adjective.
    return tok.fold in VERBS or (len(tok.fold) > 4 and tok.fold.endswith("er") and not tok.surface[:1].isupper())


def _phrase_inside(tok: _Tok | None) -> bool:
    """A noun or adjective (or a date word): a span that stops next to one cuts a phrase in two ("Finance froze
    all new | subscriptions", "price per | seat too high"). Verbs are where a subject or object ends."""
    if tok is None or not tok.word or _FIGURE.match(tok.fold):
        return False
    if tok.fold in CALENDAR_WORDS:
        return True
    return not (tok.fold in FUNCTION_WORDS or tok.fold in LEADS or tok.fold in CLAUSE_WORDS or _verb_like(tok)
                or _elided(tok))


def _french_infinitive(tok: _Tok) -> bool:
    """"Tourner", "intégrer": -er, a French word and not an English one ("dossier", "manager", "leader" are not)."""
    f = tok.fold
    if len(f) <= 4 or not f.endswith("er") or f.endswith("ier"):
        return False
    counts = _frequencies()
    return f in counts["fr"] and f not in counts["en"]


def _can_start(chunk: _Chunk, i: int) -> bool:
    tok = chunk.toks[i]
    f = tok.fold
    if not (f in LEADS or not (f in FUNCTION_WORDS or f in VERBS or _elided(tok) or _french_infinitive(tok))):
        return False
    if f in LEADS:
        after = [t for t in chunk.toks[i + 1:i + 3] if t.fold not in ("de", "d'")][:1]
        if after and _negated_verb(after[0]):
            return False  # "not see the value", "pas d'analyser": a negated verb, not a missing thing
    prev = chunk.toks[i - 1] if i else chunk.before
    if _phrase_inside(prev) or (prev is not None and prev.fold in LEADS):
        return False  # "too | high compared": the degree word belongs to the phrase
    if prev is not None and prev.fold in BEFORE_VERB:
        return False  # "ils | sortent d'un projet", "elle ne | relance pas": a verb, whatever its ending
    # "price per | seat": a linking preposition between two nouns binds them.
    before_prev = chunk.toks[i - 2] if i >= 2 else (chunk.before if i == 1 else None)
    return not (prev is not None and prev.fold in LINKERS and _phrase_inside(before_prev))


def _can_end(chunk: _Chunk, j: int) -> bool:
    tok = chunk.toks[j]
    f = tok.fold
    if f in FUNCTION_WORDS or f in VERBS or f in LEADS or f in DANGLING or _elided(tok):
        return False
    return not _phrase_inside(chunk.toks[j + 1] if j + 1 < len(chunk.toks) else chunk.after)


def _content(tok: _Tok) -> bool:
    return tok.fold not in FUNCTION_WORDS and tok.fold not in LEADS and not _elided(tok)


# French negation is two words: "ne" opens it and one of these closes it ("ne correspondent pas", "n'a jamais").
# A span holding the first without the second says the opposite or nothing ("Indicateurs standards ne
# correspondent"). Source: French grammar (the negative particles).
FRENCH_NEGATION_CLOSERS = _words("pas plus jamais rien aucun aucune guère point personne nulle nullement que qu'")


def _spans(chunk: _Chunk) -> Iterable[tuple[int, int]]:
    """(start, end) of every span of ``MIN_WORDS``-``MAX_WORDS`` words starting and ending where a label may."""
    toks = chunk.toks
    for i in range(len(toks)):
        if not _can_start(chunk, i):
            continue
        words = 0
        open_negation = False
        for j in range(i, len(toks)):
            if not _elided(toks[j]):
                words += 1
            if words > MAX_WORDS:
                break
            if toks[j].fold in ("ne", "n'"):
                open_negation = True
            elif toks[j].fold in FRENCH_NEGATION_CLOSERS:
                open_negation = False
            if words >= MIN_WORDS and not open_negation and _can_end(chunk, j):
                yield i, j + 1


def _surface(toks: Sequence[_Tok]) -> str:
    text = ""
    for tok in toks:
        text += tok.surface if (not text or text.endswith(("'", "’"))) else " " + tok.surface
    return text


def _sentence_case(text: str, proper: Collection[str]) -> str:
    """First letter up; the first word otherwise as the members write it mid-sentence ("Okta", "SSO", "prix")."""
    if not text:
        return text
    first = text.split(" ", 1)[0]
    if not first.isupper() and fold(first) not in proper:
        text = first.lower() + text[len(first):]
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------------------------- pools
@dataclass
class _Pool:
    """The phrases and words of one theme in one language: which members use which."""

    n: int
    phrases: dict[tuple[str, ...], set[int]]  # phrase key -> members using it
    surfaces: dict[tuple[str, ...], Counter]  # phrase key -> how the members write it
    content: dict[tuple[str, ...], frozenset[str]]  # phrase key -> its content word keys
    words: dict[str, set[int]]  # content word key -> members using it
    by_member: list[list[tuple[str, ...]]]  # each member's phrases, members best first
    proper: frozenset[str]  # folded words the members capitalise mid-sentence more often than not

    def soft(self, content: Collection[str]) -> int:
        """Members that use every one of these content words, in any order."""
        sets = sorted((self.words.get(w, set()) for w in content), key=len)
        if not sets:
            return 0
        found = set(sets[0])
        for s in sets[1:]:
            found &= s
            if not found:
                break
        return len(found)


def _as_written(tok: _Tok) -> str:
    """A sentence's capital taken off an ordinary word ("Security team" -> "security"), names and acronyms kept."""
    s = tok.surface
    if not tok.capitalised and len(s) > 1 and s[0].isupper() and s[1:].islower():
        return s.lower()
    return s


def _pool(members: Sequence[Sequence[_Clause]], forbidden: Forbidden, named: Collection[str]) -> _Pool:
    phrases: dict[tuple[str, ...], set[int]] = defaultdict(set)
    surfaces: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    content: dict[tuple[str, ...], frozenset[str]] = {}
    words: dict[str, set[int]] = defaultdict(set)
    by_member: list[list[tuple[str, ...]]] = []
    case: Counter = Counter()
    for m, clauses in enumerate(members):
        mine: list[tuple[str, ...]] = []
        for chunk in _chunks(clauses, forbidden, named):
            for tok in chunk.toks:
                if _content(tok):
                    words[tok.key].add(m)
                if tok.capitalised:
                    case[tok.fold] += 1
                elif tok.surface.islower():
                    case[tok.fold] -= 1
            for i, j in _spans(chunk):
                toks = chunk.toks[i:j]
                key = tuple(t.key for t in toks)
                if key not in content:
                    content[key] = frozenset(t.key for t in toks if _content(t))
                phrases[key].add(m)
                surfaces[key][_surface([t._replace(surface=_as_written(t)) for t in toks])] += 1
                mine.append(key)
        by_member.append(mine)
    return _Pool(len(members), dict(phrases), dict(surfaces), content, dict(words), by_member,
                 frozenset(w for w, c in case.items() if c > 0))


class _Contrast:
    """The other themes' pools of one language, indexed by word: how often does another theme use a phrase?"""

    def __init__(self, pools: Mapping[int, _Pool]) -> None:
        self.pools = pools
        self.themes_of: dict[str, set[int]] = defaultdict(set)
        for tid, pool in pools.items():
            for w in pool.words:
                self.themes_of[w].add(tid)

    def most_elsewhere(self, tid: int, content: Collection[str]) -> float:
        """The highest share of members of another theme that use all these content words."""
        sets = sorted((self.themes_of.get(w, set()) for w in content), key=len)
        if not sets:
            return 0.0
        themes = set(sets[0]).intersection(*sets[1:]) - {tid}
        return max((self.pools[t].soft(content) / self.pools[t].n for t in themes), default=0.0)


# --------------------------------------------------------------------------------------------- scoring
STRATEGIES = ("keyphrase", "central", "combined")
SINGLE_USE = 0.5  # a phrase one member says is more that member's than the theme's
CORE_COST = 0.1  # a word of the central clause must be this shared (support x distinctiveness) to stay in its core
CENTRAL_MEMBERS = 5  # members whose clauses "central" may shorten, most central first
RANKED_KEPT = 200  # candidates per theme and language written out: the first acceptable one is far above


def _distinct(share: float, elsewhere: float) -> float:
    return share / (share + elsewhere) if share else 0.0


def _keyphrase_score(pool: _Pool, key: tuple[str, ...], tid: int, contrast: _Contrast) -> float:
    """Support among the members (exact phrase and all its content words) x distinctiveness^2 x length."""
    content = pool.content[key]
    if not content:
        return 0.0
    exact = len(pool.phrases[key]) / pool.n
    soft = pool.soft(content) / pool.n
    distinct = _distinct(soft, contrast.most_elsewhere(tid, content))
    alone = SINGLE_USE if len(pool.phrases[key]) < 2 <= pool.n else 1.0
    return alone * (exact + soft) / 2 * distinct ** 2 * (1 + 0.5 * (len(content) - 1))


def _core_score(pool: _Pool, key: tuple[str, ...], tid: int, contrast: _Contrast) -> float:
    """How much of the theme a span of one clause carries: each content word's support x distinctiveness, less
    ``CORE_COST`` so that a word few members use shortens the span rather than lengthening it."""
    total = 0.0
    for w in pool.content[key]:
        share = len(pool.words.get(w, ())) / pool.n
        total += share * _distinct(share, contrast.most_elsewhere(tid, (w,))) - CORE_COST
    return total


def _candidates(pool: _Pool, strategy: str) -> list[tuple[str, ...]]:
    if strategy == "central":
        # The most central member's spans are the ways to shorten it; the next members' follow, for when none of
        # them is acceptable.
        return list(dict.fromkeys(k for spans in pool.by_member[:CENTRAL_MEMBERS] for k in spans))
    if strategy == "combined":
        top = max(3, math.ceil(pool.n / 5))
        return list(dict.fromkeys(k for spans in pool.by_member[:top] for k in spans))
    return list(pool.phrases)


def _ranked(pool: _Pool, tid: int, contrast: _Contrast, strategy: str) -> list[tuple[float, tuple[str, ...]]]:
    score = _core_score if strategy == "central" else _keyphrase_score
    first = {k: i for i, spans in reversed(list(enumerate(pool.by_member))) for k in spans}
    scored = [(score(pool, k, tid, contrast), k) for k in _candidates(pool, strategy)]
    # Ties: the longer phrase (more said), then the one a more central member used, then the text (deterministic).
    scored.sort(key=lambda sk: (-sk[0], -len(sk[1]), first[sk[1]], sk[1]))
    if strategy == "central":  # the most central member first, whatever the scores of the next ones
        scored.sort(key=lambda sk: first[sk[1]])
    return scored


def _text(pool: _Pool, key: tuple[str, ...]) -> str:
    surface = pool.surfaces[key].most_common(1)[0][0]
    words = [w[:1].upper() + w[1:] if fold(w) in pool.proper and w.islower() else w for w in surface.split(" ")]
    return _sentence_case(" ".join(words), pool.proper)


def _folded_label(label: str) -> str:
    return " ".join(_key(w) for w in re.findall(r"[^\W_]+", fold(label)))


# --------------------------------------------------------------------------------------------- entry point
def languages_named(members: Sequence[Member]) -> list[str]:
    """The languages a theme with these members is named in: those with enough of its members."""
    return list(_lang_members(members))


def _lang_members(members: Sequence[Member]) -> dict[str, list[str]]:
    """Texts per language, best first, for the languages with enough members to be named in."""
    by_lang: dict[str, list[str]] = {lang: [] for lang in LANGS}
    for m in members[:MEMBERS_READ]:
        if m.lang in by_lang and m.text and m.text.strip():
            by_lang[m.lang].append(m.text)
    total = sum(len(v) for v in by_lang.values())
    return {lang: texts for lang, texts in by_lang.items()
            if len(texts) >= LANG_MIN_MEMBERS and len(texts) >= LANG_MIN_SHARE * total}


Embed = Callable[[Sequence[str], Sequence[str]], np.ndarray]


def centred_embedder(embedder, means: Mapping[str, np.ndarray]) -> Embed:
    """``embed`` for ``theme_labels``: candidates read like segments (``embedding_view``) and centred with the
    stored per-language means, in the space of the themes' centroids. ``embedder`` is a ``jobs.embed.Embedder``."""
    from jobs.embed import centre, embedding_view, group_key

    def embed(texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        return centre(embedder.encode([embedding_view(t) for t in texts]), [group_key(lg) for lg in langs], means)

    return embed


def theme_labels(members: Mapping[int, Sequence[Member]], *, forbidden: Forbidden = Forbidden(),
                 embed: Embed | None = None, centroids: Mapping[int, np.ndarray] | None = None,
                 only: Collection[int] | None = None, avoid: Collection[str] = (),
                 strategy: str = "keyphrase") -> dict[int, ThemeLabel]:
    """A label per theme and language, from each theme's members (best first); themes are contrasted with each other.

    ``only``: the themes to label (default all); the others passed serve as contrast only.
    ``avoid``: labels already in use (another theme's): not given again.
    ``embed(texts, langs)``: L2-normalised vectors in the space of ``centroids`` (centred like them); with both,
    the best candidates are ranked by nearness to their theme's centre less nearness to the nearest other centre.
    ``strategy``: "keyphrase" (phrases of every member, the default: the best measured, see
    ``bench/labels_quality.py``), "central" (the most central clause shortened to its core; the next clauses when
    none of its cuts is acceptable) or "combined" (phrases of the most central fifth, scored as keyphrases).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is unknown; use one of {', '.join(STRATEGIES)}.")
    targets = [tid for tid in members if only is None or tid in only]
    texts = {tid: _lang_members(rows) for tid, rows in members.items()}
    parsed = {tid: {lang: [_clauses(t) for t in ts] for lang, ts in by_lang.items()} for tid, by_lang in texts.items()}
    named = _named((cl for by_lang in parsed.values() for rows in by_lang.values() for cl in rows), forbidden)
    pools = {lang: {tid: _pool(by_lang[lang], forbidden, named) for tid, by_lang in parsed.items() if lang in by_lang}
             for lang in LANGS}
    ranked: dict[tuple[int, str], list[tuple[float, str]]] = {}
    for lang in LANGS:
        contrast = _Contrast(pools[lang])
        for tid in targets:
            if tid in pools[lang]:
                pool = pools[lang][tid]
                ranked[(tid, lang)] = [(s, _text(pool, k))
                                       for s, k in _ranked(pool, tid, contrast, strategy)[:RANKED_KEPT]]
    vectors: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    if embed is not None and centroids:
        ranked, vectors = _by_centre(ranked, embed, centroids)
    taken = {lang: {_folded_label(a) for a in avoid} for lang in LANGS}

    def usage(tid: int, lang: str) -> tuple[Collection[str], Collection[str]]:
        other = pools["fr" if lang == "en" else "en"].get(tid)
        return pools[lang][tid].words, other.words if other is not None else ()

    def usable(tid: int, lang: str) -> Iterator[tuple[float, str]]:
        for score, label in ranked[(tid, lang)]:
            if (_folded_label(label) not in taken[lang] and _speaks(label, lang, *usage(tid, lang))
                    and _acceptable(label, forbidden, named) and not typos(label, pools[lang][tid])):
                yield score, label

    def best(key: tuple[int, str]) -> float:
        return ranked[key][0][0] if ranked.get(key) else 0.0

    centre_ids = sorted(centroids or {}) if vectors else []
    centres = (centre_ids, np.stack([np.asarray((centroids or {})[t], dtype=np.float32) for t in centre_ids])
               if centre_ids else np.zeros((0, 0), dtype=np.float32))
    chosen: dict[tuple[int, str], str] = {}
    # Themes in the order of their best candidate: the clearest theme takes a phrase two themes want.
    for tid in sorted({tid for tid, _lang in ranked}, key=lambda t: (-max(best((t, lg)) for lg in LANGS), t)):
        langs = [lang for lang in LANGS if (tid, lang) in ranked]
        if embed is not None and len(langs) == 2 and ((tid, "en") in vectors or (tid, "fr") in vectors):
            options = {lang: _pair_options(usable(tid, lang), vectors.get((tid, lang), {})) for lang in langs}
            picked = _agreeing(options, vectors, tid, embed, centres)
        else:
            picked = {lang: next((label for _s, label in usable(tid, lang)), None) for lang in langs}
        for lang, label in picked.items():
            if label is not None:
                taken[lang].add(_folded_label(label))
                chosen[(tid, lang)] = label
    return {tid: ThemeLabel(chosen.get((tid, "en")), _with_article(chosen.get((tid, "fr")), members[tid]))
            for tid in targets}


# A French label that is a sentence: its subject takes an article ("L'interface est trop compliquée"), where an English
# headline drops it. Source: French grammar (être, avoir and the negation "ne" make a clause).
_FRENCH_CLAUSE = re.compile(r"\s(?:est|sont|a|ont|ne|n['’])(?=[\s\w])", re.IGNORECASE)
_FRENCH_ARTICLE = re.compile(r"(?<![\w'’])(l['’]|le\s|la\s|les\s)?(\w[\w-]*)", re.IGNORECASE)
ARTICLE_SHARE = 0.5  # of the members' uses of the label's first word that must follow one article for it to take it


def _with_article(label: str | None, members: Sequence[Member]) -> str | None:
    """A French sentence label with the definite article the members write before its subject: "Interface est trop
    compliquée" read as a telegram to a French product owner; the members write "l'interface est trop compliquée".

    Only when the label is a clause (``_FRENCH_CLAUSE``, or a common verb of ``VERBS`` after its first word: "Le
    support met trop de temps à répondre") and most of the French members' uses of its first word
    follow one definite article; a possessive ("leur API") or no article leaves it as it is. The article is
    written as the members write it, so the label is still their words.
    """
    if not label or len(label.split()) >= MAX_WORDS:
        return label
    if not (_FRENCH_CLAUSE.search(label) or any(fold(w) in VERBS for w in label.split()[1:])):
        return label
    first = label.split(" ", 1)[0]
    if not first[:1].isalpha():
        return label
    uses: Counter = Counter()
    for m in members:
        if m.lang != "fr":
            continue
        for found in _FRENCH_ARTICLE.finditer(m.text):
            if fold(found.group(2)) == fold(first):
                uses[(found.group(1) or "").lower().replace("’", "'").strip()] += 1
    total = sum(uses.values())
    article, n = max(((a, c) for a, c in uses.items() if a), key=lambda ac: ac[1], default=("", 0))
    if not total or n < ARTICLE_SHARE * total:
        return label
    body = first if first.isupper() or first[1:] != first[1:].lower() else first[:1].lower() + first[1:]
    rest = label[len(first):]
    return (article.capitalize() + ("" if article == "l'" else " ") + body + rest)


class _Options(NamedTuple):
    """A language's acceptable candidates for a theme: those its centre ranked (embedded), and the next ones."""

    heads: list[tuple[float, str]]
    below: Callable[[], list[tuple[float, str]]]  # read only when needed: each costs a ``classify``


def _pair_options(usable: Iterator[tuple[float, str]], embedded: Collection[str]) -> _Options:
    """At most ``PAIR_CANDIDATES`` of each kind; the centre-ranked heads come first in ``usable``'s order."""
    heads: list[tuple[float, str]] = []
    first_below: list[tuple[float, str]] = []
    for score, label in usable:
        if label not in embedded:
            first_below.append((score, label))
            break
        heads.append((score, label))
        if len(heads) == PAIR_CANDIDATES:
            break

    @functools.cache
    def below() -> list[tuple[float, str]]:
        rest = list(first_below)
        for score, label in usable:
            if len(rest) >= PAIR_CANDIDATES:
                break
            if label not in embedded:
                rest.append((score, label))
        return rest

    return _Options(heads, below)


def _agreeing(options: Mapping[str, _Options], vectors: Mapping[tuple[int, str], Mapping[str, np.ndarray]], tid: int,
              embed: Embed, centres: tuple[list[int], np.ndarray]) -> dict[str, str | None]:
    """A theme's English and French labels, chosen together so that they name the same problem.

    Each language's candidates come from its own members, so a sub-group of the theme speaking one language (the
    French cases of a reporting theme) can name its own subject, and a reader switching language would see
    another theme's name. The encoder is multilingual ("No SSO" and "Pas de SSO" land close), so each language's
    best label (``options``) stays unless:
    - the two are less than ``AGREE_MIN`` alike while a pair of candidates at least ``AGREE_GAP`` more alike
      exists: the best of those pairs (scores plus ``AGREE`` times their nearness) names the theme in both
      languages ("Reporting is too rigid" and "Reporting est trop rigide", not "Impossible d'exporter les
      rapports vers Excel"). An absolute bar alone would not do: French and English phrasings of one subject in
      long notes are often less alike than that (0.2-0.4) with nothing nearer to offer;
    - or no pair is that alike and one label lies nearer another theme's centre than its own: it names another
      problem. The label of the other language stays; this one is its candidate most like the one kept, at least
      ``AGREE_MIN`` alike, looking below the centre-ranked heads too, or none: a person names it (``ThemeLabel``),
      rather than read another theme's name. Only this language descends below the heads: two poor candidates
      that agree must not outbid a good label.
    """
    heads = {lang: options[lang].heads for lang in LANGS}
    firsts = {lang: (heads[lang] or options[lang].below())[:1] for lang in LANGS}
    if not firsts["en"] or not firsts["fr"]:
        return {lang: firsts[lang][0][1] if firsts[lang] else None for lang in LANGS}
    vec = {lang: dict(vectors.get((tid, lang), {})) for lang in LANGS}

    def vectors_of(lang: str, cands: Sequence[tuple[float, str]]) -> np.ndarray:
        missing = [label for _s, label in cands if label not in vec[lang]]
        if missing:
            got = np.asarray(embed(missing, [lang] * len(missing)), dtype=np.float32)
            vec[lang].update(zip(missing, got))
        return np.stack([vec[lang][label] for _s, label in cands])

    chosen = {lang: firsts[lang][0][1] for lang in LANGS}
    first = {lang: vectors_of(lang, firsts[lang])[0] for lang in LANGS}
    together = float(first["en"] @ first["fr"])
    if together >= AGREE_MIN:
        return dict(chosen)
    if heads["en"] and heads["fr"]:
        alike = vectors_of("en", heads["en"]) @ vectors_of("fr", heads["fr"]).T
        if alike.max() >= together + AGREE_GAP:
            score = np.add.outer([s for s, _l in heads["en"]], [s for s, _l in heads["fr"]]) + AGREE * alike
            score[alike < together + AGREE_GAP] = -np.inf
            i, j = np.unravel_index(int(np.argmax(score)), score.shape)
            return {"en": heads["en"][i][1], "fr": heads["fr"][j][1]}
    tids, C = centres
    own = tids.index(tid)
    sims = {lang: first[lang] @ C.T for lang in LANGS}
    elsewhere = {lang: bool((sims[lang] > sims[lang][own]).any()) for lang in LANGS}
    if not any(elsewhere.values()):
        return dict(chosen)  # two facets of this theme, both nearest its centre
    if all(elsewhere.values()):
        keep = "en" if sims["en"][own] >= sims["fr"][own] else "fr"
    else:
        keep = "fr" if elsewhere["en"] else "en"
    other = "fr" if keep == "en" else "en"
    cands = heads[other] + options[other].below()
    alike_kept = vectors_of(other, cands) @ first[keep]
    j = int(np.argmax(np.round(alike_kept, 6)))
    chosen[other] = cands[j][1] if alike_kept[j] >= AGREE_MIN else None
    return dict(chosen)


def _acceptable(label: str, forbidden: Forbidden, named: Collection[str]) -> bool:
    """Not a bare picklist value, no org name, not a logistics or courtesy phrase, no shorthand."""
    return (not forbidden.is_picklist(label) and not forbidden.names_in(label, named)
            and classify(label).reason not in NOT_A_PROBLEM and not misspelt(label))


KNOWN_MIN_COUNT = 100  # in pyspellchecker's lists: under it a token is not taken for a word


def misspelt(label: str) -> list[str]:
    """The tokens of a label that are a rep's shorthand for a function word: "pr" (par / pour), "ds" (dans),
    "ac" (avec) — two lower-case letters, unknown to the English and French word lists, one letter from a
    function word. Reps type fast; a label is read by people who did not, so it keeps a phrase written out.

    Longer typos ("heay", "insteda") are not judged here: by spelling alone they cannot be told from product
    jargon ("admin", "backend", "webhook"), and refusing jargon would cost more labels than typos do.
    """
    counts = _frequencies()
    out = []
    for tok in re.findall(r"(?<![\w'’])[^\W\d_]{2}(?![\w'’])", label):
        if tok != tok.lower() or any(counts[lg].get(fold(tok), 0) >= KNOWN_MIN_COUNT for lg in LANGS):
            continue
        if {tok[:1] + c + tok[1:] for c in "abcdefghijklmnopqrstuvwxyz"} & FUNCTION_WORDS \
                or {tok[:1] + c + d + tok[1:] for c in "aeiou" for d in "aeiou"} & FUNCTION_WORDS:
            out.append(tok)
    return out


TYPO_RATIO = 3  # a spelling the theme's members write this many times more often, one edit away, is the word


def _one_edit(word: str) -> set[str]:
    """Every string one deletion, transposition, replacement or insertion away (Damerau-Levenshtein 1)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b[1:] for a, b in splits if b for c in letters}
            | {a + c + b for a, b in splits for c in letters}) - {word}


def typos(label: str, pool: _Pool) -> list[str]:
    """The words of a label that the theme's own members mostly spell otherwise: "Déploiemnt" where the members
    write "déploiement", "Microsoft Etnra" where they write "Entra".

    Spelling alone cannot tell a typo from jargon ("webhook", "backend" are in no word list; see ``misspelt``), but
    the members can: a word unknown to both word lists whose one-edit neighbour is used by ``TYPO_RATIO`` times as
    many members is a slip of the few. A label is read by people who did not type it fast; it keeps the members'
    usual spelling, which is another candidate.
    """
    counts = _frequencies()
    out = []
    for tok in _tokenise(label):
        # The word's own length, not its key's: "usrs" (key "usr", plural dropped) named a demo split "Non-technical
        # usrs" where the members write "users" four times as often.
        if not tok.word or len(tok.fold) < 4 or any(counts[lg].get(tok.fold, 0) >= KNOWN_MIN_COUNT for lg in LANGS):
            continue
        mine = max(1, len(pool.words.get(tok.key, ())))
        if any(len(pool.words.get(n, ())) >= TYPO_RATIO * mine for n in _one_edit(tok.key)):
            out.append(tok.surface)
    return out


def _by_centre(ranked: dict[tuple[int, str], list[tuple[float, str]]], embed: Embed,
               centroids: Mapping[int, np.ndarray]
               ) -> tuple[dict[tuple[int, str], list[tuple[float, str]]], dict[tuple[int, str], dict[str, np.ndarray]]]:
    """The best candidates of each theme re-ranked by nearness to its centre less nearness to the nearest other
    centre (maximal marginal relevance across themes); the rest follow in their lexical order. Also each embedded
    candidate's vector, for choosing a theme's two languages' labels together (``_agreeing``)."""
    heads: dict[tuple[int, str], list[str]] = {}
    for (tid, lang), options in ranked.items():
        if tid in centroids and options:
            floor = LEXICAL_FLOOR * options[0][0] if options[0][0] > 0 else -math.inf
            heads[(tid, lang)] = [label for s, label in options[:EMBED_CANDIDATES] if s >= floor]
    if not heads:
        return ranked, {}
    texts = [label for labels_ in heads.values() for label in labels_]
    langs = [lang for (_tid, lang), labels_ in heads.items() for _ in labels_]
    vecs = np.asarray(embed(texts, langs), dtype=np.float32)
    tids = sorted(centroids)
    C = np.stack([np.asarray(centroids[t], dtype=np.float32) for t in tids])
    row = {t: i for i, t in enumerate(tids)}
    out = dict(ranked)
    vectors: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    start = 0
    for (tid, lang), labels_ in heads.items():
        vectors[(tid, lang)] = dict(zip(labels_, vecs[start:start + len(labels_)]))
        sims = vecs[start:start + len(labels_)] @ C.T
        start += len(labels_)
        own = sims[:, row[tid]]
        others = np.delete(sims, row[tid], axis=1)
        nearest_other = others.max(axis=1) if others.shape[1] else np.zeros(len(labels_), dtype=np.float32)
        final = own - CONTRAST * np.maximum(nearest_other, 0.0)
        order = sorted(range(len(labels_)), key=lambda i: (-round(float(final[i]), 6), i))
        rest = [(s, label) for s, label in ranked[(tid, lang)] if label not in set(labels_)]
        out[(tid, lang)] = [(float(final[i]), labels_[i]) for i in order] + [(-1.0 + s, label) for s, label in rest]
    return out, vectors


# --------------------------------------------------------------------------------------------- former labeller (c-TF-IDF)
_TOKEN = re.compile(r"[a-zà-öø-ÿ0-9][a-zà-öø-ÿ0-9'’-]*[a-zà-öø-ÿ0-9]|[a-zà-öø-ÿ]{2,}", re.IGNORECASE)
STOP_WORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
for from further get got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more
most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own same
shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves
then there there's these they they'd they'll they're they've this those through to too under until up very was
wasn't we we'd we'll we're we've were weren't what what's when when's where where's which while who who's whom
why why's with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves us one two
still even already really much many every want wants wanted need needs needed said says told asked ask asks
customer customers client clients they'd lost deal deals
au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les leur leurs lui ma mais me
même mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une
vos votre vous c d j l à m n s t y été étée étées étés étant suis es est sommes êtes sont serai sera seront
serais serait étais était étions étiez étaient fus fut ai as avons avez ont aurai aura auront avais avait
avions aviez avaient eu ceci cela ça celui celle ceux celles plus très trop tout tous toute toutes aussi bien
encore déjà comme car donc alors si sans sous chez entre vers après avant depuis pendant leur fait faire
veut veulent besoin demande client clients perdu nous notre nos
""".split())
NEAR_DUPLICATE = 0.92  # representative quotes more similar than this to one already chosen are skipped
UNTITLED = "untitled theme"


def tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.lower()).replace("’", "'")
    out = []
    for tok in _TOKEN.findall(text):
        tok = re.sub(r"^(?:l|d|j|qu|n|s|c|m|t)'", "", tok)
        if len(tok) > 1 and tok not in STOP_WORDS and not tok.isdigit():
            out.append(tok)
    return out


def terms(text: str) -> list[str]:
    """Unigrams and adjacent bigrams of content words."""
    toks = tokens(text)
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]


def class_term_counts(texts: Sequence[str]) -> Counter:
    counts: Counter = Counter()
    for t in texts:
        counts.update(terms(t))
    return counts


def ctfidf(theme_counts: Mapping[int, Counter]) -> dict[int, list[tuple[str, float]]]:
    """c-TF-IDF term weights per theme, best first."""
    if not theme_counts:
        return {}
    total: Counter = Counter()
    for c in theme_counts.values():
        total.update(c)
    avg_len = sum(sum(c.values()) for c in theme_counts.values()) / len(theme_counts)
    out: dict[int, list[tuple[str, float]]] = {}
    for tid, counts in theme_counts.items():
        size = sum(counts.values()) or 1
        weights = []
        for term, n in counts.items():
            if n < 2 and size > 6:
                continue  # a word said once in a big theme is noise, not its name
            w = (n / size) * math.log(1 + avg_len / total[term])
            if " " in term:
                w *= 1.15  # a bigram that survives is usually the readable name ("data residency")
            weights.append((term, w))
        weights.sort(key=lambda tw: (-tw[1], tw[0]))
        out[tid] = weights
    return out


def _pick(weighted: Sequence[tuple[str, float]], avoid: set[str]) -> str | None:
    for term, _w in weighted:
        words = set(term.split())
        if words & avoid:
            continue
        return term
    return None


def make_label(weighted_by_lang: Mapping[str, Sequence[tuple[str, float]]], max_len: int = 60) -> str:
    """A short label: "english term / terme français" when both languages speak, else the two best terms."""
    en = weighted_by_lang.get("en") or ()
    fr = weighted_by_lang.get("fr") or ()
    parts: list[str] = []
    used: set[str] = set()
    first_lang, second = (en, fr) if (en[:1] and (not fr[:1] or en[0][1] >= fr[0][1])) else (fr, en)
    for source in (first_lang, second):
        term = _pick(source, used)
        if term:
            parts.append(term)
            used.update(term.split())
    if len(parts) < 2:
        merged = sorted([*en, *fr], key=lambda tw: -tw[1])
        term = _pick(merged, used)
        if term:
            parts.append(term)
    label = " / ".join(parts) if parts else UNTITLED
    return label[:max_len].rstrip(" /")


def labels_for(members: Mapping[int, Sequence[tuple[str, str]]]) -> dict[int, str]:
    """Label every theme from its members' (text, lang); themes are contrasted with each other."""
    by_lang: dict[str, dict[int, Counter]] = {"en": {}, "fr": {}}
    for tid, rows in members.items():
        for lang in by_lang:
            by_lang[lang][tid] = class_term_counts([t for t, lg in rows if lg == lang])
    weights = {lang: ctfidf(counts) for lang, counts in by_lang.items()}
    return {tid: make_label({lang: weights[lang].get(tid, ()) for lang in by_lang}) for tid in members}


def quote_label(quote: str, max_words: int = 6, max_len: int = 60) -> str:
    """When no term stands out, the opening words of the title quote name the theme better than nothing: without who
    is quoted ("Retour de Tom : l'engagement de 3 ans bloque" gives "L'engagement de 3 ans bloque")."""
    said = re.sub(r"\s+", " ", re.sub(r"[«»\"“”]", " ", unattributed(quote))).strip(" ,;:-") or quote
    words = (said[:1].upper() + said[1:]).split()
    label = " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")
    return label[:max_len]


def nearest(vectors: np.ndarray, centroid: np.ndarray) -> int:
    return int(np.argmax(vectors @ centroid))


def representatives(vectors: np.ndarray, centroid: np.ndarray, k: int = 3, diversity: float = 0.4,
                    texts: Sequence[str] | None = None) -> list[int]:
    """Indexes of ``k`` members near the centroid and unlike each other (maximal marginal relevance)."""
    n = len(vectors)
    if n == 0:
        return []
    rel = vectors @ centroid
    chosen = [int(np.argmax(rel))]
    seen_text = {texts[chosen[0]].strip().lower()} if texts is not None else set()
    while len(chosen) < min(k, n):
        sim_to_chosen = (vectors @ vectors[chosen].T).max(axis=1)
        score = (1 - diversity) * rel - diversity * sim_to_chosen
        score[chosen] = -np.inf
        score[sim_to_chosen > NEAR_DUPLICATE] = -np.inf
        if texts is not None:
            for i in range(n):
                if texts[i].strip().lower() in seen_text:
                    score[i] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        chosen.append(best)
        if texts is not None:
            seen_text.add(texts[best].strip().lower())
    return chosen
