"""Cleaning CRM text into what a rep actually said, and telling French from English, offline.

Reps paste e-mails into tasks, log them with plug-ins that add headers and footers, write rich text
with HTML. Themes must be built from the rep's or customer's own words only, so this module strips:
HTML (parsed with the standard library, never evaluated), quoted e-mail history, signatures and
logging boilerplate. All functions are pure.
"""

from __future__ import annotations

import hashlib
import html
import lzma
import re
import shutil
import tempfile
import zipfile
from array import array
from functools import lru_cache
from html.parser import HTMLParser
from itertools import chain, filterfalse
from typing import Any

import numpy as np

_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol",
               "table", "section", "article", "header", "footer", "hr"}
_SKIP_TAGS = {"script", "style", "head", "title", "template", "noscript"}
_HTML_HINT = re.compile(r"<\s*(/?\s*[a-zA-Z][a-zA-Z0-9]*\b[^>]*|!--|[!?][a-zA-Z][^>]*)>?")


class _TextExtractor(HTMLParser):
    """Collect text nodes; block elements become line breaks; script/style content is dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


# Rich text as Salesforce stores it (<p>, <br>, <b>, <ul><li>, attributes) is one regex pass; anything else that
# the parser treats specially (comments, declarations, processing instructions, script/style/head content, a
# tag left open at the end) goes through HTMLParser. tests/test_connector_text.py checks both agree.
_SPECIAL = re.compile(r"<\s*(?:[!?]|/?\s*(?:script|style|head|title|template|noscript)\b)|</(?![a-zA-Z])|<[^>]*$", re.I)
_TAG = re.compile(r"""<(/?)([a-zA-Z][^\s/>]*)(?:[\s/](?:"[^"]*"|'[^']*'|[^'">])*)?>""")


def _tag_break(match: re.Match) -> str:
    return "\n" if match.group(2).lower() in _BLOCK_TAGS else ""


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment; text without markup is only entity-decoded."""
    if not _HTML_HINT.search(markup):
        return html.unescape(markup)
    if not _SPECIAL.search(markup):
        if "&" not in markup:
            return _TAG.sub(_tag_break, markup)
        # Entities are decoded between tags, as the parser does: "&am<b>p;" is not "&".
        parts, pos = [], 0
        for tag in _TAG.finditer(markup):
            parts.append(html.unescape(markup[pos:tag.start()]))
            parts.append(_tag_break(tag))
            pos = tag.end()
        parts.append(html.unescape(markup[pos:]))
        return "".join(parts)
    return _parse_html(markup)


def _parse_html(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


# ------------------------------------------------------------------------------------------ e-mail debris
_QUOTE_STARTS = [
    re.compile(r"^\s*On\b.{0,200}\bwrote\s*:\s*$", re.I),
    re.compile(r"^\s*Le\b.{0,200}\ba\s+écrit\s*:\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*(Original Message|Message d'origine|Forwarded message|Message transféré)\s*-{2,}", re.I),
    re.compile(r"^\s*_{8,}\s*$"),
    re.compile(r"^\s*Begin forwarded message\s*:", re.I),
]
# One alternation per family: a single regex call per line instead of one per pattern (same matches).
_QUOTE_START = re.compile("|".join(f"(?:{p.pattern})" for p in _QUOTE_STARTS), re.I)
_SPLIT_ON = re.compile(r"^\s*(On|Le)\b", re.I)
_SPLIT_WROTE = re.compile(r"^\s*(wrote|a écrit)\s*:\s*$", re.I)
_HEADER_FROM = re.compile(r"^\s*\*?(From|De)\s*:\*?\s*\S", re.I)
_HEADER_NEXT = re.compile(r"^\s*\*?(Sent|Envoyé|Date|To|À|A|Subject|Objet|Cc)\s*:", re.I)
_SIGNATURE_DELIM = re.compile(r"^--\s*$")
_CLOSINGS = re.compile(
    r"^\s*(best regards|kind regards|warm regards|regards|best|many thanks|thanks|thank you|cheers|sincerely|"
    r"cordialement|bien cordialement|bien à vous|salutations|sincères salutations|merci|merci beaucoup|"
    r"bonne journée|à bientôt)\s*[,.!]?\s*$", re.I)
_DROP_LINES = [
    re.compile(r"^\s*(sent from my|envoyé de mon|get outlook for|télécharger outlook)\b.*$", re.I),
    re.compile(r"^\s*logged (via|with|by)\b.*$", re.I),
    re.compile(r"^\s*\[?ref:[_\w.!:-]+:ref\]?\s*$", re.I),
    re.compile(r"^\s*(this e-?mail|ce (courriel|message)) (and any attachments )?(is|est) (confidential|confidentiel).*$", re.I),
]
_DROP_LINE = re.compile("|".join(f"(?:{p.pattern})" for p in _DROP_LINES), re.I)
_LEADING_HEADER = re.compile(r"^\s*(e-?mail|to|cc|bcc|cci|from|de|à|sent|envoyé|date|subject|objet|attachment|"
                             r"pièces? jointes?|body|corps)\s*:.*$", re.I)
_MAX_SIGNATURE_LINES = 7


def _cut_quoted(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _QUOTE_START.match(line):
            return lines[:i]
        # "On Mon, 3 Jun 2024 at 10:02, Jane <jane@x.com>" + "wrote:" split over two lines by the mail client
        if i + 1 < len(lines) and _SPLIT_ON.match(line) and _SPLIT_WROTE.match(lines[i + 1]):
            return lines[:i]
        if _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1:i + 4]):
            return lines[:i]
    return lines


def _cut_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _SIGNATURE_DELIM.match(line):
            return lines[:i]
    # A closing formula near the end starts the signature block ("Cordialement,\nJean Dupont\nSales").
    for i in range(len(lines) - 1, -1, -1):
        if _CLOSINGS.match(lines[i]):
            tail = [t for t in lines[i + 1:] if t.strip()]
            if len(tail) <= _MAX_SIGNATURE_LINES - 1:
                return lines[:i]
            break
    return lines


def _drop_boilerplate(lines: list[str]) -> list[str]:
    out = [line for line in lines if not _DROP_LINE.match(line)]
    start = 0
    while start < len(out) and (not out[start].strip() or _LEADING_HEADER.match(out[start])):
        start += 1
    return out[start:]


_BLANKS = re.compile(r"[ \t]+")
# What empties a text of one line: quoted-history start, boilerplate, a header line, a signature delimiter or a
# closing formula alone (the rules above, applied to a single line).
_ONE_LINE_DROP = re.compile("|".join(f"(?:{p.pattern})" for p in (_QUOTE_START, _DROP_LINE, _LEADING_HEADER,
                                                                   _SIGNATURE_DELIM, _CLOSINGS)), re.I)
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_text(raw: str | None, *, is_html: bool | None = None) -> str:
    """The author's own words: no markup, quoted history, signature or logging boilerplate."""
    if not raw:
        return ""
    text = html_to_text(raw) if is_html is not False else raw
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\u200b", "")
    if "\n" not in text:  # most CRM text is one line: the same rules, one regex call
        line = text.rstrip()
        if not line.strip() or line.lstrip().startswith(">") or _ONE_LINE_DROP.match(line):
            return ""
        return _BLANKS.sub(" ", line).strip()
    lines = [line.rstrip() for line in text.split("\n")]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    lines = _cut_quoted(lines)
    lines = _drop_boilerplate(lines)
    lines = _cut_signature(lines)
    text = "\n".join(lines)
    text = _BLANKS.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


# What neither database can store: NUL (PostgreSQL refuses it in text) and lone UTF-16 surrogates (no UTF-8 encoding
# exists for them; Salesforce's JSON can carry them as \udXXX escapes). Replaced by U+FFFD, and counted.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> tuple[str, int]:
    """``text`` with every character no database can store replaced by U+FFFD, and how many there were."""
    return _UNSTORABLE.subn(REPLACEMENT, text)


def storable_record(value: Any) -> tuple[Any, int]:
    """A Salesforce record (nested dicts and lists, as JSON gives them) made storable: (new value, replacements)."""
    if isinstance(value, str):
        return storable(value) if _UNSTORABLE.search(value) else (value, 0)
    if isinstance(value, dict):
        out, total = {}, 0
        for key, item in value.items():
            out[key], n = storable_record(item)
            total += n
        return (out, total) if total else (value, 0)
    if isinstance(value, list):
        pairs = [storable_record(item) for item in value]
        total = sum(n for _v, n in pairs)
        return ([v for v, _n in pairs], total) if total else (value, 0)
    return value, 0


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------ language
_FR_WORDS = frozenset("""le la les un une des du de et est sont pas ne plus trop cher prix client clients nous vous ils
elle avec pour sur dans par mais ou donc car que qui quoi leur leurs notre votre sans très aussi bien fonctionnalité
manque concurrent devis délai intégration besoin budget rappeler relance rendez-vous semaine demain contrat appel""".split())
_EN_WORDS = frozenset("""the a an and is are not no too expensive price customer customers we you they she he with for on
in by but or so because that which what their our your without very also well feature missing competitor quote delay
integration need budget call back follow up meeting week tomorrow contract lost chose""".split())
# Function words that occur in one of the two languages only (not in Spanish, Italian, German…): many hits of one
# and none of the other decide without running the model, which keeps ingest fast.
_FR_ONLY = frozenset("le les est et pas une des du nous vous ils elles avec pour sur dans mais très leur leurs sont ont "
                     "été être cette ces aux au je il qui".split())
_EN_ONLY = frozenset("the and is are with for they we our their was were have has not to of that this it be been "
                     "would will".split())
_FR_CHARS = re.compile(r"[éèêëàâçùûîïôœ]", re.I)
_WORD = re.compile(r"[\w'’-]+", re.U)


LANGUAGES = ("en", "fr", "es", "de", "it", "pt", "nl")  # the two we keep, and their close neighbours


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's bundled model (no download), restricted to ``LANGUAGES``; same results as
    ``LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True).set_languages(LANGUAGES)``.

    py3langid's loader holds the whole model twice while it converts it (≈100 MB above what stays resident)
    and ``set_languages`` keeps the 142-language table for a reset we never do. Reading the model's arrays in
    chunks, keeping only our languages' columns, makes loading peak at what stays resident (≈50 MB).
    """
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    with tempfile.TemporaryFile(suffix=".npz") as tmp:
        with lzma.open(MODEL_DIR / MODEL_FILE) as src:
            shutil.copyfileobj(src, tmp, length=1 << 20)
        tmp.seek(0)
        with zipfile.ZipFile(tmp) as npz:
            expected = {f"{k}.npy" for k in ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")}
            if not expected <= set(npz.namelist()):  # another py3langid layout: its own loader, bigger peak
                full = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                full.set_languages(list(LANGUAGES))
                return LanguageIdentifier(np.ascontiguousarray(full.nb_ptc), full.nb_pc, full.nb_classes,
                                          full.tk_nextmove, full.tk_output, norm_probs=True, tk_row=full.tk_row)
            classes = np.lib.format.read_array(npz.open("classes.npy")).tolist()
            keep = [i for i, c in enumerate(classes) if c in LANGUAGES]
            pc = np.lib.format.read_array(npz.open("pc.npy"))[keep]
            with npz.open("ptc.npy") as f:
                (n_feats, n_classes), dtype = _npy_header(f)
                ptc = np.empty((n_feats, len(keep)), dtype=dtype)
                for first in range(0, n_feats, 4096):
                    rows = min(4096, n_feats - first)
                    chunk = np.frombuffer(f.read(rows * n_classes * dtype.itemsize), dtype=dtype)
                    ptc[first:first + rows] = chunk.reshape(rows, n_classes)[:, keep]
            nextmove, row = (_npy_to_array(npz, name) for name in ("nextmove", "nextmove_row"))
            output = np.lib.format.read_array(npz.open("out_feat.npy")).tolist()
    return LanguageIdentifier(ptc, pc, [classes[i] for i in keep], nextmove, output, norm_probs=True, tk_row=row)


def _npy_header(f) -> tuple[tuple[int, ...], np.dtype]:
    version = np.lib.format.read_magic(f)
    shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                             else np.lib.format.read_array_header_2_0(f))
    if fortran or not dtype.isnative:
        raise ValueError("unexpected py3langid model layout")
    return shape, dtype


def _npy_to_array(npz: zipfile.ZipFile, name: str) -> array:
    """An unsigned integer .npy member as a stdlib array (what py3langid walks), read 1 MB at a time."""
    with npz.open(f"{name}.npy") as f:
        _, dtype = _npy_header(f)
        out = array({2: "H", 4: "I", 8: "L"}[dtype.itemsize])
        while chunk := f.read(1 << 20):
            out.frombytes(chunk)
    return out


@lru_cache(maxsize=1)
def _walk_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's byte DFA as numpy arrays (next state, row offset per state, feature per state), shared memory."""
    ident = _identifier()
    nextmove = np.frombuffer(ident.tk_nextmove, dtype=np.dtype(ident.tk_nextmove.typecode))
    rowbase = np.frombuffer(ident.tk_row, dtype=np.dtype(ident.tk_row.typecode)).astype(np.int64) << 8
    return nextmove, rowbase, np.asarray(ident.tk_output, dtype=np.int64)


_LOCKSTEP_MIN = 24  # below this many texts still walking, finish each one in plain Python


def _feature_sequences(encoded: list[bytes]) -> list[list[int]]:
    """Each text's DFA features in byte order, as py3langid's ``visit_counts`` collects them.

    The walk is one numpy step per byte position over all texts still walking (longest first), instead of one
    Python step per byte per text; the last few long texts finish in Python from the state they reached.
    """
    nextmove, rowbase, output = _walk_tables()
    ident = _identifier()
    n = len(encoded)
    order = sorted(range(n), key=lambda i: -len(encoded[i]))
    lengths = np.array([len(encoded[i]) for i in order], dtype=np.int64)
    width = int(lengths[0]) if n else 0
    # Positions walked in lockstep: while at least _LOCKSTEP_MIN texts are longer than the position.
    steps = int(lengths[min(_LOCKSTEP_MIN, n) - 1]) if n >= _LOCKSTEP_MIN else 0
    seqs: list[list[int]] = [[] for _ in range(n)]
    states = np.zeros(n, dtype=np.int64)
    if steps:
        grid = np.zeros((n, steps), dtype=np.uint8)
        for row, i in enumerate(order):
            chunk = encoded[i][:steps]
            grid[row, :len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        active = np.searchsorted(-lengths, -np.arange(steps), side="left")  # texts longer than each position
        hit_rows, hit_feats = [], []
        for pos in range(steps):
            k = int(active[pos])
            walked = nextmove[rowbase[states[:k]] + grid[:k, pos]]
            states[:k] = walked
            feats = output[walked]
            hits = np.flatnonzero(feats >= 0)
            if hits.size:
                hit_rows.append(hits)
                hit_feats.append(feats[hits])
        if hit_rows:
            rows = np.concatenate(hit_rows)
            feats = np.concatenate(hit_feats)
            by_row = np.argsort(rows, kind="stable")  # byte order kept within each text
            rows, feats = rows[by_row], feats[by_row].tolist()
            starts = np.flatnonzero(np.diff(rows, prepend=-1))
            for row, start, end in zip(rows[starts].tolist(), starts.tolist(), [*starts[1:].tolist(), len(feats)]):
                seqs[order[row]] = feats[start:end]
    nm, rb, out = ident.tk_nextmove, ident._rowbase, ident.tk_output
    for row in range(n if width > steps else 0):
        i = order[row]
        text = encoded[i]
        if len(text) <= steps:
            break
        state = int(states[row])
        seq = seqs[i]
        for letter in text[steps:]:
            state = nm[rb[state] + letter]
            f = out[state]
            if f >= 0:
                seq.append(f)
    return seqs


def _classify_many(texts: list[str]) -> list[tuple[str, float]]:
    """``[identifier.classify(t) for t in texts]``, same results, with the per-text numpy calls batched.

    Per text, py3langid counts its features (first-occurrence order), scores them with one product against
    the model's table, then normalises. Here the walk runs for all texts at once, the counting is one
    ``np.unique``, the product stays one call per text (the same call, so the same sums) and the
    normalisation is elementwise over all texts together.
    """
    ident = _identifier()
    n = len(texts)
    if n < _LOCKSTEP_MIN:  # too few to gain from batching
        return [ident.classify(t) for t in texts]
    encoded = [ident._encode(t) for t in texts]
    seqs = _feature_sequences(encoded)
    sizes = np.fromiter(map(len, seqs), dtype=np.int64, count=n)
    n_feats = len(ident.nb_ptc)
    keys = np.repeat(np.arange(n, dtype=np.int64) * n_feats, sizes)
    keys += np.fromiter(chain.from_iterable(seqs), dtype=np.int64, count=int(sizes.sum()))
    unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
    by_first = np.argsort(first, kind="stable")  # each text's features in first-occurrence order, as Counter keeps them
    unique, counts = unique[by_first], counts[by_first]
    weights = np.log1p(counts.astype(np.float32))
    features = unique % n_feats
    bounds = np.searchsorted(unique // n_feats, np.arange(n + 1)).tolist()
    scores = np.zeros((n, len(ident.nb_classes)), dtype=np.float32)
    table, prior = ident.nb_ptc, ident.nb_pc
    for i in range(n):
        a, b = bounds[i], bounds[i + 1]
        if b > a:
            scores[i] = weights[a:b] @ table[features[a:b]] + prior
    lengths = np.array([len(t) or 1 for t in encoded], dtype=np.float64)
    scores *= (1.0 / np.sqrt(lengths)).astype(np.float32)[:, None]
    np.exp(scores - scores.max(axis=1, keepdims=True), out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    best = scores.argmax(axis=1)
    labels = ident.nb_classes
    return [(labels[i], conf) for i, conf in zip(best.tolist(), scores[np.arange(n), best].tolist())]


def load_language_model() -> None:
    """Load the language model now (about a second, once per process) instead of inside the first page that needs it."""
    _walk_tables()


def _heuristic(text: str) -> str | None:
    words = [w.lower().strip("'’-") for w in _WORD.findall(text)]
    fr = sum(w in _FR_WORDS for w in words) + (2 if _FR_CHARS.search(text) else 0)
    en = sum(w in _EN_WORDS for w in words)
    if fr > en:
        return "fr"
    if en > fr:
        return "en"
    return None


def _without_model(sample: str) -> tuple[str | None, int]:
    """(language, or None when the model must decide; word count) of a sample: word lists decide the clear cases."""
    tokens = list(map(str.lower, _WORD.findall(sample)))
    letters = sum(map(len, filterfalse(str.isdigit, tokens)))
    if letters == 0:
        return "other", 0
    words = len(tokens)
    fr_only = sum(map(_FR_ONLY.__contains__, tokens))
    en_only = sum(map(_EN_ONLY.__contains__, tokens))
    if fr_only >= 3 and (en_only == 0 or fr_only >= 4 * en_only + 2):
        return "fr", words
    if en_only >= 3 and (fr_only == 0 or en_only >= 4 * fr_only + 2):
        return "en", words
    if words <= 4 or letters < 25:
        guess = _heuristic(sample)
        if guess:
            return guess, words
    return None, words


def _from_model(lang: str, prob: float, words: int) -> str:
    if lang in ("en", "fr") and (prob >= 0.5 or words > 4):
        return lang
    if words <= 4:
        return lang if lang in ("en", "fr") and prob >= 0.3 else "other"
    return "other"


def detect_languages(texts: list[str]) -> list[str]:
    """``detect_language`` of each text; the model runs once over all the texts the word lists leave open."""
    samples = [text[:2000] for text in texts]
    decided = [_without_model(sample) for sample in samples]
    open_ = [i for i, (lang, _) in enumerate(decided) if lang is None]
    out = [lang for lang, _ in decided]
    for i, (lang, prob) in zip(open_, _classify_many([samples[i] for i in open_])):
        out[i] = _from_model(lang, prob, decided[i][1])
    return out  # type: ignore[return-value]


def detect_language(text: str) -> str:
    """"fr", "en" or "other". Short texts ("Trop cher", "Price") lean on word lists, longer ones on py3langid."""
    return detect_languages([text])[0]
