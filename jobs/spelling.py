"""Typo repair towards a small vocabulary: the cue lexicons of ``jobs.segment``.

Why: the no-feedback rules read cue words ("message laissé", "out of office", "proposal"), and reps type fast.
"Pas joignable, messae laisssé" missed its logistics cue and read as feedback (its "pas" is a negation cue), and
such lines gathered into a theme of their own in the demo org. So before the lexicons are matched, a word one
keystroke away from a cue word (a letter missing, doubled or added, two letters swapped; a letter typed three
times) is read as that cue word.

Restraint, because a wrong repair changes meaning ("contact" is not "contract", "appli" is not "appel"): only
words that are neither cue words nor in the English and French dictionaries shipped inside ``pyspellchecker``'s
wheel are repaired; only towards exactly one candidate of the first kind that matches, in the order typos happen;
only from ``min_len`` letters up; a changed letter (substitution) is never repaired — that is where real words
sit next to each other.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

_TRIPLED = re.compile(r"(\w)\1\1+")
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")


@functools.lru_cache(maxsize=4)
def dictionary_words(fold: Callable[[str], str]) -> frozenset[str]:
    """English and French words (pyspellchecker's frequency lists, about 290,000), folded like the text."""
    from spellchecker import SpellChecker

    words: set[str] = set()
    for lang in ("en", "fr"):
        words.update(fold(w) for w in SpellChecker(language=lang, distance=1).word_frequency.dictionary)
    return frozenset(words)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _swaps(word: str) -> set[str]:
    return {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(len(word) - 1)}


class Speller:
    """Repairs folded text towards ``vocabulary``; ``fold`` is how the caller lower-cases and strips accents."""

    def __init__(self, vocabulary: Iterable[str], *, fold: Callable[[str], str], extra: Iterable[str] = (),
                 min_len: int = 5) -> None:
        self.vocabulary = frozenset(vocabulary) | frozenset(extra)
        self.fold = fold
        self.min_len = min_len
        self._by_delete: dict[str, set[str]] = {}
        for w in self.vocabulary:
            for key in _deletes(w):
                self._by_delete.setdefault(key, set()).add(w)
        self.word = functools.lru_cache(maxsize=50_000)(self._word)

    def _word(self, word: str) -> str:
        if len(word) < self.min_len or word in self.vocabulary or word in dictionary_words(self.fold):
            return word
        # A letter missing (the word is a cue word with one dropped), a letter added (the word with one dropped is
        # a cue word), two letters swapped: the first kind with any candidate decides; a tie repairs nothing.
        for found in (self._by_delete.get(word, set()),
                      {k for k in _deletes(word) if k in self.vocabulary},
                      {k for k in _swaps(word) if k in self.vocabulary}):
            if found:
                return next(iter(found)) if len(found) == 1 else word
        return word

    def text(self, folded: str) -> str:
        """``folded`` with every repairable word repaired."""
        return _WORD.sub(lambda m: self.word(m.group(0)), _TRIPLED.sub(r"\1\1", folded))
