"""Readable theme labels and quotes, computed from members: pure functions.

Label = the top terms of the theme by class-based TF-IDF (c-TF-IDF, as BERTopic defines it: a theme's
members form one document, a term weighs by its frequency in that theme times log(1 + A / its frequency in
all themes), A the average theme length). With French and English members, the best English term and the
best French term make a bilingual pair ("SSO / authentification unique"). A label is named once, when the
theme is created; recomputed labels drift 17-25% per night on real data, so later differences become
rename proposals, never silent changes.

Title quote = the member nearest the centroid (the most typical sentence reads better than any keyword
list); representative quotes = near the centroid but different from each other (maximal marginal relevance).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

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
NEAR_DUPLICATE = 0.92
UNTITLED = "untitled theme"  # representative quotes more similar than this to one already chosen are skipped


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
    """When no term stands out, the opening words of the title quote name the theme better than nothing."""
    words = quote.split()
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
