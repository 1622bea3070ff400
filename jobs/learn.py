"""Learning from the product owner: every curation act is a labelled example, and assignment reads them.

Pure functions over numpy arrays (centred, L2-normalised vectors, as the theme pass uses them).

What a label is: a segment a person put under a theme (moved, pinned, accepted, seeded, a theme made "of
these"), a sentence a person wrote to define a theme, and a segment a person called "not feedback" — the
``NOT_FEEDBACK`` class. Each learned class is a centroid of its examples plus the examples themselves
(its prototype set), so a near-duplicate of one moved quote follows it even when the theme is broad.

Why this model and not a linear one (measured on the labelled sets, k examples per theme drawn at random,
5 draws, examples left out of the score; ``bench/themes_quality.py`` prints the current figures):
logistic regression on the examples with a no-feedback class, accepting a text above a probability bar,
kept too little (ARI 0.00-0.21 at a 0.3 bar; with no bar 0.47-0.59 on the short set at k=5) because with a
dozen classes and five examples each, probabilities stay flat. Nearest centroid with a similarity bar
reached 0.62 (short, k=5) and 0.22 (narrative); letting each centroid absorb the texts it confidently
claims and re-centring a few times (self-training, the examples always kept) reached 0.72 and 0.39, and
0.78 on CLINC150 — so that is what ``fit`` + ``self_train`` do.

The similarity bar is learnt too: how close a labelled example sits to the centre of its other examples
(leave one out), pooled over every learned class, at a low quantile. People's examples say how loose a
theme of this org may be: about 0.35-0.41 on CLINC150's tight intents, below the encoder's floor on the CRM
sets; never below that floor (under it, similarity means nothing for the encoder).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NOT_FEEDBACK = -1  # the class of "a person said this is not feedback"
NO_CLASS = 0  # predicted: none of the learned classes (theme ids start at 1)
LEARNED_QUANTILE = 0.1  # of the leave-one-out similarities of people's examples: the learned bar
GRANULARITY_MIN_CLASSES = 5  # labelled themes needed before their spread sets the whole org's granularity
EXAMPLE_WEIGHT = 0.25  # of the nearest example beside the class centroid in a text's score
SELF_TRAIN_ROUNDS = 3
SUGGEST_MARGIN = 0.02  # a text this close to a second learned theme is suggested, not filed
SUGGEST_BAND = 0.05  # a text this far below the bar is suggested to its nearest learned theme


@dataclass(frozen=True)
class Examples:
    """People's labels: one row per example, its centred vector and its class (a theme id or NOT_FEEDBACK)."""

    vectors: np.ndarray
    classes: np.ndarray

    def __len__(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class Model:
    """The learned classes: each class's examples, the running sum of what it holds, and the bar to clear."""

    classes: np.ndarray  # (c,) theme ids, and NOT_FEEDBACK if anyone said so
    centroids: np.ndarray  # (c, d)
    examples: Examples
    threshold: float


@dataclass(frozen=True)
class Prediction:
    """Per text: the class (theme id, NOT_FEEDBACK or NO_CLASS), its score, and whether it is only a suggestion."""

    classes: np.ndarray
    scores: np.ndarray
    suggested: np.ndarray


def _normalise(a: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    return (a / np.where(n > 0, n, 1.0)).astype(np.float32)


def learned_threshold(examples: Examples, floor: float, quantile: float = LEARNED_QUANTILE, *,
                      min_classes: int = 1) -> float:
    """The similarity a text needs to join a learned theme: how loosely people's own examples sit together.

    Each example's similarity to the centre of the other examples of its class (leave one out), pooled over
    every theme class with two or more examples, at ``quantile``; ``floor`` when there are too few, or fewer
    than ``min_classes`` classes to pool (one theme of near-identical quotes says little about the others).
    """
    sims: list[np.ndarray] = []
    for cls in np.unique(examples.classes):
        if cls == NOT_FEEDBACK:
            continue
        members = examples.vectors[examples.classes == cls]
        if len(members) < 2:
            continue
        rest = _normalise(members.sum(axis=0)[None, :] - members)
        sims.append(np.einsum("ij,ij->i", members, rest))
    if len(sims) < max(1, min_classes):
        return float(floor)
    pooled = np.concatenate(sims)
    if len(pooled) < 4:
        return float(floor)
    return float(max(floor, np.quantile(pooled, quantile)))


def fit(examples: Examples, floor: float) -> Model | None:
    """One centroid per class from people's examples; None when nobody labelled anything yet."""
    if len(examples) == 0:
        return None
    classes = np.unique(examples.classes)
    centroids = _normalise(np.stack([examples.vectors[examples.classes == c].sum(axis=0) for c in classes]))
    return Model(classes=classes, centroids=centroids, examples=examples,
                 threshold=learned_threshold(examples, floor))


def scores(model: Model, vectors: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(n, c) score of each text for each class: its centroid, and the nearest of its examples.

    Why the nearest example too: a theme a person built from five unlike quotes has a centre none of them is
    near; a text that repeats one of them belongs there all the same.
    """
    out = np.empty((len(vectors), len(model.classes)), dtype=np.float32)
    ex_cls = model.examples.classes
    for start in range(0, len(vectors), chunk):
        q = vectors[start:start + chunk]
        cent = q @ model.centroids.T
        to_ex = q @ model.examples.vectors.T
        nearest = np.stack([to_ex[:, ex_cls == c].max(axis=1) for c in model.classes], axis=1)
        out[start:start + chunk] = (1 - EXAMPLE_WEIGHT) * cent + EXAMPLE_WEIGHT * nearest
    return out


def self_train(model: Model, vectors: np.ndarray, rounds: int = SELF_TRAIN_ROUNDS) -> Model:
    """Let each class's centre absorb the unlabelled texts it confidently claims, a few times over.

    People's examples always stay in their class; claimed texts only move the centre (they are not examples:
    a near-duplicate of a claimed text is not thereby claimed). Stops early once nothing changes.
    """
    if len(vectors) == 0:
        return model
    base = np.stack([model.examples.vectors[model.examples.classes == c].sum(axis=0) for c in model.classes])
    current = model
    previous: np.ndarray | None = None
    for _round in range(rounds):
        pred = predict(current, vectors)
        taken = np.searchsorted(current.classes, pred.classes)
        ok = (pred.classes != NO_CLASS) & ~pred.suggested
        if previous is not None and np.array_equal(previous, np.where(ok, taken, -1)):
            break
        previous = np.where(ok, taken, -1)
        sums = base.copy()
        np.add.at(sums, taken[ok], vectors[ok])
        current = Model(classes=current.classes, centroids=_normalise(sums), examples=current.examples,
                        threshold=current.threshold)
    return current


def predict(model: Model, vectors: np.ndarray) -> Prediction:
    """The learned class of each text, or NO_CLASS; uncertain cases are returned as suggestions.

    Certain: the best class clears the learned bar and no other class comes within ``SUGGEST_MARGIN``.
    Suggested (shown to a person, never filed silently): two classes nearly tie, or the best falls short of
    the bar by less than ``SUGGEST_BAND``. A suggestion of NOT_FEEDBACK is dropped: a person is not asked to
    confirm that something is not worth reading.
    """
    n = len(vectors)
    if n == 0 or len(model.classes) == 0:
        return Prediction(np.zeros(n, np.int64), np.zeros(n, np.float32), np.zeros(n, bool))
    s = scores(model, vectors)
    order = np.argsort(-s, axis=1)
    rows = np.arange(n)
    best = s[rows, order[:, 0]]
    second = s[rows, order[:, 1]] if s.shape[1] > 1 else np.full(n, -np.inf, np.float32)
    cls = model.classes[order[:, 0]]
    clears = best >= model.threshold
    close_call = (best - second) < SUGGEST_MARGIN
    near = (best >= model.threshold - SUGGEST_BAND) & ~clears
    suggested = ((clears & close_call) | near) & (cls != NOT_FEEDBACK)
    keep = clears | suggested
    return Prediction(np.where(keep, cls, NO_CLASS).astype(np.int64), best.astype(np.float32),
                      suggested & keep)


def nearest_clause(clause_vectors: Sequence[np.ndarray], rounds: int = 2) -> list[int]:
    """For items labelled with one theme, the index of each item's clause that states it.

    A seed labels a whole note; the note may hold three subjects. The clause nearest the centre of all the
    labelled items' choices is the one the label speaks of: start from each item's mean, pick, re-centre.
    """
    if not clause_vectors:
        return []
    centre = _normalise(np.stack([v.mean(axis=0) for v in clause_vectors]).sum(axis=0)[None, :])[0]
    picks = [0] * len(clause_vectors)
    for _round in range(rounds):
        picks = [int(np.argmax(v @ centre)) for v in clause_vectors]
        chosen = np.stack([v[p] for v, p in zip(clause_vectors, picks)])
        centre = _normalise(chosen.sum(axis=0)[None, :])[0]
    return picks
