"""Bootstrap-then-assign theme discovery: pure functions over numpy arrays.

Why this design (measured, see shared/eval/README.md): re-clustering everything each night moves 15-34% of
texts between themes even after matching; assigning new text to the nearest existing centroid and
clustering only what is left (the candidate pool) moves nothing and costs milliseconds. The pool is
clustered with average linkage — the best-scoring rule on labelled data — but on a capped sample, so
memory stays bounded (the pairwise matrix of 6,000 vectors is 144 MB) whatever the corpus size; what the
sample's clusters do not absorb waits for the next round.

All vectors here are L2-normalised and already centred per language, so a dot product is a cosine.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

# Similarity (cosine, centred space) above which a segment belongs to a theme, at granularity 0.
# Chosen on half A of the themes of both labelled sets (best ARI there, 0.23-0.25 a plateau), reported on the
# held-out half B (bench/themes_quality.py).
BASE_THRESHOLD = 0.25
GRANULARITY_SPAN = 0.12  # granularity +1 raises the threshold by this much (narrower themes), -1 lowers it
POOL_CAP = 6000
OFFSET_STEP = 0.04  # what one curator merge (down) or split (up) moves a theme's local threshold
MERGE_PROPOSAL_MARGIN = 0.02  # propose merging two themes whose centroids are this close to the threshold
SPLIT_PROPOSAL_MIN_SIZE = 12
# What a split's smaller part must hold, of the theme: a tenth (and half the size a theme is looked at from). It was
# a fifth, and the demo's "Mobile app doesn't work offline" kept its 60 "dashboards can't be filtered by site" lines
# (17%, every one a reporting need) unproposed; at a tenth no pure theme of the demo is cut, only that one more.
SPLIT_MIN_SHARE = 0.1
PRUNE = 0.85  # of the threshold: a member chained in below this is left waiting (keeps ambiguous text out)
SETTLE_ROUNDS = 3  # nearest-centroid passes that settle a round's new clusters (see cluster_pool)


def threshold_for(granularity: float, base: float = BASE_THRESHOLD) -> float:
    """The global similarity threshold for a granularity in [-1, 1]."""
    g = max(-1.0, min(1.0, float(granularity)))
    return base + GRANULARITY_SPAN * g


def linkage_threshold(assign_threshold: float) -> float:
    """The average-linkage cut matching a centroid threshold.

    For unit vectors the squared norm of a cluster's mean is its average pairwise similarity, so a member at
    similarity s from a centroid of a tight cluster sits at roughly s² from the others: cutting the tree at
    the square of the assignment threshold makes "joins an existing theme" and "forms a theme" one rule.
    """
    return max(0.0, assign_threshold) ** 2


def assign(vectors: np.ndarray, centroids: np.ndarray, thresholds: np.ndarray,
           chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid for each vector if its similarity clears that theme's threshold, else -1.

    ``thresholds`` holds one value per centroid (global threshold + the theme's learnt offset). Returns
    (index or -1, similarity to the nearest centroid). Chunked so 100k x 500 themes stays small.
    """
    n = len(vectors)
    idx = np.full(n, -1, dtype=np.int64)
    sims = np.zeros(n, dtype=np.float32)
    if n == 0 or len(centroids) == 0:
        return idx, sims
    for start in range(0, n, chunk):
        s = vectors[start:start + chunk] @ centroids.T
        # Margin over each theme's own threshold, so a theme with a lowered threshold wins ties it should win.
        margin = s - thresholds[None, :]
        best = margin.argmax(axis=1)
        rows = np.arange(len(best))
        best_sim = s[rows, best]
        ok = margin[rows, best] >= 0
        idx[start:start + chunk] = np.where(ok, best, -1)
        sims[start:start + chunk] = best_sim
    return idx, sims


def _average_linkage(vectors: np.ndarray, threshold: float) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    if len(vectors) == 1:
        return np.zeros(1, dtype=np.int64)
    dist = pdist(vectors.astype(np.float64), metric="cosine")
    np.clip(dist, 0.0, 2.0, out=dist)
    tree = linkage(dist, method="average")
    return fcluster(tree, t=1.0 - threshold, criterion="distance").astype(np.int64) - 1


@dataclass
class PoolResult:
    """Clusters found in the candidate pool: member row indexes of each new theme, centroid per theme."""

    clusters: list[np.ndarray] = field(default_factory=list)
    centroids: list[np.ndarray] = field(default_factory=list)


def centroid_of(vectors: np.ndarray) -> np.ndarray:
    c = vectors.mean(axis=0)
    n = np.linalg.norm(c)
    return (c / n if n else c).astype(np.float32)


def cluster_pool(vectors: np.ndarray, threshold: float, min_size: int, *, cap: int = POOL_CAP,
                 group_of: Sequence[int] | None = None, seed: int = 0, max_rounds: int = 8,
                 link_threshold: float | None = None) -> PoolResult:
    """Find dense clusters (>= ``min_size`` members) in the candidate pool.

    Average linkage cut at ``threshold`` on at most ``cap`` vectors at a time; members of the pool outside
    the sample then join the new clusters they clear the threshold for, and another sample is drawn from
    what remains, for at most ``max_rounds`` rounds. ``group_of`` (e.g. the item of each segment) makes
    "size" count distinct groups, so one long note repeating itself does not make a theme.
    """
    result = PoolResult()
    n = len(vectors)
    if n < min_size:
        return result
    groups = np.asarray(group_of) if group_of is not None else np.arange(n)
    link = linkage_threshold(threshold)
    taken = np.zeros(n, dtype=bool)
    rng = np.random.default_rng(seed)
    for _round in range(max_rounds):
        remaining = np.flatnonzero(~taken)
        if len(remaining) < min_size:
            break
        whole = len(remaining) <= cap
        sample = remaining if whole else np.sort(rng.choice(remaining, size=cap, replace=False))
        labels = _average_linkage(vectors[sample], link if link_threshold is None else link_threshold)
        found = []
        for lab in np.unique(labels):
            members = sample[labels == lab]
            if len(np.unique(groups[members])) < min_size:
                continue
            # Members the tree chained in but that sit below the threshold from the cluster's centre would not
            # join it as newcomers: leave them waiting, so "forms a theme" and "joins a theme" stay one rule.
            members = members[vectors[members] @ centroid_of(vectors[members]) >= threshold * PRUNE]
            if len(np.unique(groups[members])) >= min_size:
                found.append(members)
        if not found:
            if whole:
                break
            continue
        for members in settle(vectors, np.flatnonzero(~taken), found, threshold, min_size, groups):
            taken[members] = True
            result.clusters.append(members)
            result.centroids.append(centroid_of(vectors[members]))
        if whole:
            break
    return result


def settle(vectors: np.ndarray, candidates: np.ndarray, found: Sequence[np.ndarray], threshold: float,
           min_size: int, groups: np.ndarray, rounds: int = SETTLE_ROUNDS) -> list[np.ndarray]:
    """Give each candidate to the nearest of the new clusters it clears the threshold for, a few times over.

    Why: average linkage decides membership by the whole tree, not by nearness, so a member can sit in one
    cluster while nearer another's centre, and a candidate outside the linkage sample (or pruned) may clear a
    cluster it was never compared with. A few nearest-centroid passes (centroids recomputed from their members,
    as k-means does) put every member where an incremental pass would put it — the same rule as "joins an
    existing theme" — and a cluster that falls under ``min_size`` distinct groups is dropped and its members wait.
    On the short labelled set's half A this moved ARI 0.739 -> 0.757 (whole set 0.630 -> 0.675).
    Returns the settled member indexes (into ``vectors``), sorted, one array per surviving cluster.
    """
    clusters = [np.asarray(m) for m in found]
    for _round in range(rounds + 1):
        if not clusters:
            return []
        cents = np.stack([centroid_of(vectors[m]) for m in clusters])
        idx, _sims = assign(vectors[candidates], cents, np.full(len(cents), threshold, dtype=np.float32))
        settled = [candidates[idx == k] for k in range(len(cents))]
        kept = [m for m in settled if len(np.unique(groups[m])) >= min_size]
        if len(kept) == len(clusters) and all(np.array_equal(a, b) for a, b in zip(kept, clusters)):
            break
        clusters = kept
    return [np.sort(m) for m in clusters]


def pair_threshold(base: float, offset_a: float, offset_b: float) -> float:
    return base + (offset_a + offset_b) / 2


def merge_candidates(centroids: np.ndarray, ids: Sequence[int], offsets: Sequence[float], threshold: float,
                     *, margin: float = MERGE_PROPOSAL_MARGIN, blocked: set[tuple[int, int]] = frozenset(),
                     taught: Collection[int] = frozenset(), taught_bar: float = 1.0
                     ) -> list[tuple[int, int, float]]:
    """Pairs of themes whose centroids are as close as a member is to its theme: (id_a, id_b, similarity).

    ``blocked`` holds pairs a person already refused (or split apart), never proposed again. A pair with a theme
    people taught (``taught``: made, named, filed into) must be as close as ``taught_bar``: a person who carved
    "Pas d'interlocuteur dédié" out of "Support takes too long to answer" said they differ, and was asked to merge
    them back after the next pass (a review); two themes on one subject are still proposed.
    """
    out: list[tuple[int, int, float]] = []
    if len(centroids) < 2:
        return out
    sims = centroids @ centroids.T
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            key = (min(ids[a], ids[b]), max(ids[a], ids[b]))
            if key in blocked:
                continue
            bar = pair_threshold(threshold, offsets[a], offsets[b]) + margin
            if ids[a] in taught or ids[b] in taught:
                bar = max(bar, taught_bar)
            if sims[a, b] >= bar:
                out.append((key[0], key[1], float(sims[a, b])))
    out.sort(key=lambda t: -t[2])
    return out


def split_candidate(vectors: np.ndarray, threshold: float, min_size: int) -> list[np.ndarray] | None:
    """Would this theme's members fall into two dense groups at a narrower cut? Return them, or None.

    The narrower cut is the one discovery itself would make two curator splits narrower (``linkage_threshold`` of
    the threshold plus two ``OFFSET_STEP``). It used to cut the tree at that threshold unsquared (an average
    similarity of 0.29 where discovery's own cut is 0.04 at 0.21): that found phrasing groups inside every broad
    theme. In the demo org 1 of 6 proposals was a mixture ("standard metrics don't match their KPIs" with "not
    WCAG compliant"); at discovery's cut 3 of 4 are, that one included, and pure themes are left alone.
    """
    if len(vectors) < max(SPLIT_PROPOSAL_MIN_SIZE, 2 * min_size):
        return None
    sample = vectors[:POOL_CAP]
    labels = _average_linkage(sample, linkage_threshold(threshold + 2 * OFFSET_STEP))
    sizes = np.bincount(labels)
    least = _least_part(len(sample), min_size)
    big = [lab for lab in np.argsort(-sizes) if sizes[lab] >= least]
    if len(big) < 2:
        return None
    return [np.flatnonzero(labels == lab) for lab in big[:2]]


def _least_part(members: int, min_size: int) -> int:
    return max(min_size, SPLIT_PROPOSAL_MIN_SIZE // 2, int(np.ceil(SPLIT_MIN_SHARE * members)))


def carved_core(vectors: np.ndarray, part: np.ndarray, threshold: float, min_size: int) -> np.ndarray | None:
    """What a split should carve out of ``part`` (indexes into ``vectors``, the theme's members): the whole part when
    one group holds half of it one cut finer (two more ``OFFSET_STEP``); else that cut's largest group and every other
    group whose centre clears ``threshold`` plus one ``OFFSET_STEP`` from its centre (the bar a member joins a theme
    by, one curator split narrower: a group's centre is steadier than one line, so it must clear more); None when
    what is left is too small to be a theme.

    Why: a theme's stray lines, each far from the rest, chain into one group at the split's cut. The demo's "No
    accessibility statement" offered to carve 114 lines as "Power BI connector": 40 Power BI lines and, one cut
    finer, 34 offline, 23 logistics and 17 SSO strays whose centres sit at 0.17-0.21 from the Power BI one. Accepting
    it made a new mixture; now the 40 move and the strays stay where they were. Phrasings of one problem sit closer
    (0.27-0.35 in the demo) and move together. Taken as the carved part, a gold theme of the labelled sets keeps
    0.90 (short), 0.85 (demo org) and 1.00 (CLINC150) of its lines on average; the loose narrative themes 0.47.
    """
    if len(part) == 0:
        return None
    inside = vectors[part]
    labels = _average_linkage(inside, linkage_threshold(threshold + 4 * OFFSET_STEP))
    sizes = np.bincount(labels)
    top = int(np.argmax(sizes))
    if 2 * sizes[top] >= len(part):
        return part
    core = centroid_of(inside[labels == top])
    kept = [lab for lab in np.unique(labels)
            if float(centroid_of(inside[labels == lab]) @ core) >= threshold + OFFSET_STEP]
    chosen = part[np.isin(labels, kept)]
    return chosen if len(chosen) >= _least_part(len(vectors), min_size) else None
