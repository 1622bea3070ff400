"""Labels from a file, replayed through the very curation functions the desk calls.

``retour themes discover FILE.jsonl --seeds SEEDS.jsonl``: each SEEDS line is ``{"id": <an id of FILE>,
"theme": "<name>"}`` or ``{"id": ..., "theme": null}`` for "not feedback". A seed labels an item, and an item
may hold several subjects: the clause nearest the theme (``jobs.learn.nearest_clause``, over every item seeded
with that theme) joins it, the item's other clauses stay free. A "not feedback" seed turns all of its item's
clauses off. Themes named in the file are created with that name (``curation.create_theme``) or, when an active
theme already bears it, given the evidence (``curation.add_evidence``) — exactly what a product owner does on the
desk, so the file path and the desk cannot drift apart.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs import curation, learn
from jobs.embed import Embedder
from jobs.jsonl import BROKEN, has_half_pair, record_id, records
from retour.models import FeedbackItem, FeedbackSegment, Theme

MAX_NAME = curation.MAX_LABEL


class SeedError(ValueError):
    """A seed line is unusable; the message names the line and what to write instead."""


@dataclass(frozen=True)
class Seed:
    """One label: the item (by the id it has in the discovered file) and its theme's name, None for not feedback."""

    item: str
    theme: str | None


def read_seeds(path: Path, known_ids: Iterable[str] | None = None,
               learnable: Callable[[str], bool] | None = None) -> list[Seed]:
    """Read and check a seeds file; every problem names its line.

    ``learnable(id)`` says whether an item has text to learn from: a theme seed on an item without any is refused,
    as the pass would drop it without a word (a "not feedback" seed on it is harmless: there is nothing to turn off).
    """
    known = set(known_ids) if known_ids is not None else None
    seeds: list[Seed] = []
    seen: set[str] = set()
    for n, row in records(path, SeedError):
        where = f"{path}:{n}"
        if not isinstance(row, dict) or "id" not in row or "theme" not in row:
            raise SeedError(f'{where}: each line needs "id" and "theme" (a name, or null for not feedback).')
        item = record_id(row["id"], where, SeedError)
        theme = row["theme"]
        if theme is not None:
            theme = _theme_name(theme, where)
        if item in seen:
            raise SeedError(f"{where}: id {item!r} is seeded twice.")
        if known is not None and item not in known:
            raise SeedError(f"{where}: id {item!r} is not in the file being discovered.")
        if theme is not None and learnable is not None and not learnable(item):
            raise SeedError(f"{where}: item {item!r} has no text to learn from: remove the seed or give the item text.")
        seen.add(item)
        seeds.append(Seed(item, theme))
    if not seeds:
        # Asking for seeds and getting none is a mistake (the wrong file, a file not yet written): running
        # unseeded would print results as if the labels had been read.
        raise SeedError(f"{path}: no seeds: the file holds no line. Give one JSON object per line, "
                        '{"id": <an id of the file being discovered>, "theme": "<name>" or null}, '
                        "or leave out --seeds.")
    return seeds


# Characters that are letters or symbols to Unicode yet print as nothing (Hangul fillers, the blank Braille cell).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _theme_name(theme: Any, where: str) -> str:
    """A seed's theme name, its spaces tidied; a name must come back exactly as written, so nothing else is mended."""
    if not isinstance(theme, str) or not theme.strip():
        raise SeedError(f'{where}: "theme" must be a non-empty name or null.')
    if has_half_pair(theme):
        raise SeedError(f'{where}: the theme name {BROKEN}.')
    name = " ".join(theme.split())
    if len(name) > MAX_NAME:
        raise SeedError(f'{where}: a theme name is at most {MAX_NAME} characters.')
    # Shown on the desk and printed on a terminal: a name of zero-width characters reads as no name, and a
    # control character (a bell, an escape sequence) acts on the terminal instead of being read.
    visible = any(unicodedata.category(c)[0] in "LNPS" and c not in _BLANK_LETTERS for c in name)
    if not visible or any(unicodedata.category(c) == "Cc" for c in name):
        raise SeedError(f'{where}: "theme" is {name!r}, but a theme name needs visible characters and no control '
                        "characters: write it in plain text.")
    return name


def apply_seeds(session: Session, embedder: Embedder, seeds: Sequence[Seed], item_ids: Mapping[str, int],
                user: Any = None) -> dict[str, int]:
    """Give each seed to the curation functions; ``item_ids`` maps a seed's id to its FeedbackItem id.

    Seeds whose item is not in ``item_ids`` are left for a later call (their item has not arrived yet).
    Returns figures: themes created, evidence filed, segments called not feedback, seeds without text.
    """
    from jobs.themes import _load_segments, centring_means, embed_segments

    by_theme: dict[str | None, list[int]] = defaultdict(list)
    for seed in seeds:
        if seed.item in item_ids:
            by_theme[seed.theme].append(item_ids[seed.item])
    figures = {"seed_themes_created": 0, "seed_evidence": 0, "seed_not_feedback": 0, "seed_items_without_text": 0}
    if not by_theme:
        return figures
    wanted = sorted({i for items in by_theme.values() for i in items})
    segs: dict[int, list[int]] = defaultdict(list)
    for sid, item_id in session.execute(select(FeedbackSegment.id, FeedbackSegment.item_id)
                                        .where(FeedbackSegment.item_id.in_(wanted))
                                        .order_by(FeedbackSegment.item_id, FeedbackSegment.position)):
        segs[item_id].append(sid)
    embed_segments(session, embedder, [sid for item in wanted for sid in segs[item]])
    session.flush()
    means = centring_means(session, embedder, recompute=False)
    meta, X = _load_segments(session, [FeedbackSegment.id.in_([s for i in wanted for s in segs[i]])], embedder,
                             means, feedback_only=False)
    row_of = {m[0]: n for n, m in enumerate(meta)}
    for name, items in by_theme.items():
        items = [i for i in items if any(s in row_of for s in segs[i])]
        figures["seed_items_without_text"] += len(by_theme[name]) - len(items)
        if not items:
            continue
        if name is None:
            figures["seed_not_feedback"] += curation.mark_not_feedback(
                session, [s for i in items for s in segs[i] if s in row_of], user)
            continue
        clause_rows = [[row_of[s] for s in segs[i] if s in row_of] for i in items]
        picks = learn.nearest_clause([X[rows] for rows in clause_rows])
        chosen = [meta[rows[p]][0] for rows, p in zip(clause_rows, picks)]
        # The theme that already has this name in any language (the desk's own rule, ``curation.name_owner``): a
        # lookup by ``label`` alone then had create_theme refuse a name another theme holds as its French name.
        owner = curation.name_owner(session, name)
        theme = session.get(Theme, owner) if owner is not None else None
        if theme is None:
            curation.create_theme(session, name, user, segment_ids=chosen)
            figures["seed_themes_created"] += 1
        else:
            curation.add_evidence(session, theme, chosen, user)
        figures["seed_evidence"] += len(chosen)
    return figures


def item_ids_by_source(session: Session, source_ids: Iterable[str]) -> dict[str, int]:
    """FeedbackItem ids of imported items, by the id they have in the discovered file."""
    wanted = list(source_ids)
    out: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for sid, iid in session.execute(select(FeedbackItem.source_id, FeedbackItem.id)
                                        .where(FeedbackItem.source_object == "import",
                                               FeedbackItem.source_id.in_(chunk))):
            out[sid] = iid
    return out

