"""Run Retour's discovery on a file of texts in a throw-away store: calibration and evaluation on one's own data.

The same pass as production (segmentation, filter, embedding, centring, bootstrap-then-assign, labels) over
``{id, text[, lang][, channel]}`` lines, in a temporary SQLite database that is deleted afterwards. Batches let a
benchmark replay arrivals: each batch is one pass, like one night of sync.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from jobs.embed import Embedder, get_embedder
from jobs.jsonl import mend, record_id, records
from jobs.segment import segment_text
from jobs.seeds import Seed, apply_seeds, item_ids_by_source
from retour.config import Settings
from retour.db import make_engine, session_factory, session_scope
from retour.models import ACTIVE, Base, FeedbackItem, FeedbackSegment, Theme, ThemeEvidence


CHANNELS = ("loss_reason", "note", "case")  # optional "channel" of a line; default "note"


class SampleError(ValueError):
    """A line of the sample file is unusable; the message names the line."""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The lines of a sample file, checked; a cut emoji in a text becomes U+FFFD (see :func:`jobs.jsonl.mend`)."""
    rows = []
    seen: set[str] = set()
    for n, row in records(path, SampleError):
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
            raise SampleError(f"{path}:{n}: each line needs an \"id\" and a \"text\" string.")
        rid = record_id(row["id"], f"{path}:{n}", SampleError)
        if rid in seen:
            raise SampleError(f"{path}:{n}: id {rid!r} appears twice.")
        seen.add(rid)
        row["text"] = mend(row["text"])
        rows.append(row)
    if not rows:
        raise SampleError(f"{path}: no texts (the file is empty); write one {{\"id\": …, \"text\": …}} per line.")
    return rows


def _channel(row: Mapping[str, Any]) -> str:
    return row.get("channel") if row.get("channel") in CHANNELS else "note"


def has_text_to_learn(row: Mapping[str, Any]) -> bool:
    """Does the line's text give a segment (the theme pass's own rule)? Empty, blank or bare punctuation does not."""
    return bool(segment_text(row["text"], _channel(row)))


def _item_row(row: Mapping[str, Any], now: dt.datetime, key: str) -> dict[str, Any]:
    """The FeedbackItem of one line; ``key`` stands for its id in the store (see :func:`discover`)."""
    text = str(row["text"])
    lang = row.get("lang") if row.get("lang") in ("en", "fr") else "other"
    occurred = now
    if row.get("created_date"):
        try:
            occurred = dt.datetime.fromisoformat(str(row["created_date"])).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            occurred = now
    channel = _channel(row)
    return {"source_object": "import", "source_id": key, "source_field": "text", "channel": channel,
            "text": text, "text_hash": hashlib.sha256(text.encode()).hexdigest(), "lang": lang,
            "occurred_at": occurred, "account_id": None, "opportunity_id": None}


def item_themes(session) -> dict[str, tuple[int, float] | None]:
    """Each item's theme (or None): the theme of its dominant feedback segment.

    Dominant = closest to its theme's centroid among the evidence of the first pass that themed the item: a
    later pass may add a second theme to a note (another clause), but does not change what the note was
    already filed under.
    """
    out: dict[str, tuple[int, float] | None] = {}
    first: dict[str, object] = {}
    for (sid,) in session.execute(select(FeedbackItem.source_id)):
        out[sid] = None
    q = (select(FeedbackItem.source_id, ThemeEvidence.theme_id, ThemeEvidence.similarity, ThemeEvidence.created_at)
         .join(FeedbackSegment, FeedbackSegment.item_id == FeedbackItem.id)
         .join(ThemeEvidence, ThemeEvidence.segment_id == FeedbackSegment.id)
         .join(Theme, Theme.id == ThemeEvidence.theme_id)
         .where(ThemeEvidence.state == "active", Theme.status.in_(ACTIVE)))
    for sid, tid, sim, created in session.execute(q):
        current = out.get(sid)
        if current is None or created < first[sid] or (created == first[sid] and sim > current[1]):
            out[sid] = (tid, sim)
            first[sid] = created
    return out


def discover(batches: Sequence[Iterable[Mapping[str, Any]]], settings: Settings, *,
             keep_dir: Path | None = None, embedder: Embedder | None = None,
             with_vectors: bool = False, seeds: Sequence[Seed] = ()) -> dict[str, Any]:
    """Run one theme pass per batch in a fresh store; return each id's theme after every pass and the labels.

    ``embedder`` replaces the configured backend's (a benchmark varying one of its settings);
    ``with_vectors`` also returns, under ``"vectors"``, each id's kept feedback segments as the centred vectors
    the clusterer read after the last pass (ids with none kept are absent).
    ``seeds`` are people's labels (``jobs.seeds``): each is given to the curation functions in the pass of the
    batch that brings its item, after embedding and before assignment, so that very pass learns from it.
    """
    from jobs.themes import run_theme_pass

    reader = embedder or get_embedder(settings.themes.backend)  # one embedder for every pass and the vectors
    now = dt.datetime.now(dt.timezone.utc)
    # A file's ids are any text; FeedbackItem.source_id holds a Salesforce Id (40 characters at most). Each id gets
    # a short key in the store and every result is given back under the whole id: cutting ids to 40 characters
    # made two ids sharing their first 40 one item (an IntegrityError).
    key_of: dict[str, str] = {}
    id_of: dict[str, str] = {}

    def key(rid: Any) -> str:
        rid = str(rid)
        if rid not in key_of:
            key_of[rid] = f"k{len(key_of)}"
            id_of[key_of[rid]] = rid
        return key_of[rid]

    with tempfile.TemporaryDirectory(prefix="retour-discover-") as tmp:
        where = keep_dir or Path(tmp)
        engine = make_engine(f"sqlite:///{where / 'discover.db'}")
        try:
            Base.metadata.create_all(engine)
            factory = session_factory(engine)
            passes = []
            for n, batch in enumerate(batches):
                # Each batch is a later pass (a later night): evidence of earlier passes is older.
                now_n = now + dt.timedelta(minutes=n)
                with session_scope(factory) as session:
                    rows = [_item_row(r, now_n, key(r["id"])) for r in batch]
                    if rows:
                        session.execute(insert(FeedbackItem), rows)
                    seeded: dict[str, int] = {}

                    def label(s, emb, rows=rows):
                        here = {r["source_id"] for r in rows}
                        mine = [Seed(key_of[sd.item], sd.theme) for sd in seeds if key_of.get(sd.item) in here]
                        ids = item_ids_by_source(s, [sd.item for sd in mine])
                        seeded.update(apply_seeds(s, emb, mine, ids))

                    figures = run_theme_pass(session, settings, now=now_n, embedder=reader,
                                             before_assign=label if seeds else None)
                    figures.update(seeded)
                    assignment = {id_of[k]: v for k, v in item_themes(session).items()}
                    passes.append({"figures": figures, "items": assignment})
            with session_scope(factory) as session:
                themes = [{"id": t.id, "label": t.label, "label_en": t.label_en, "label_fr": t.label_fr,
                           "title_quote": t.title_quote, "status": t.status,
                           "members": int(t.metrics.get("members", 0) or 0)}
                          for t in session.scalars(select(Theme).order_by(Theme.id))]
                vectors = ({id_of[k]: v for k, v in _vectors_by_id(session, reader).items()} if with_vectors
                           else None)
        finally:
            engine.dispose()
    out: dict[str, Any] = {"passes": passes, "themes": themes}
    if vectors is not None:
        out["vectors"] = vectors
    return out


def _vectors_by_id(session, embedder: Embedder) -> dict[str, np.ndarray]:
    from jobs.themes import clustered_vectors

    meta, X = clustered_vectors(session, embedder)
    source = dict(session.execute(select(FeedbackItem.id, FeedbackItem.source_id)).all())
    rows: dict[str, list[int]] = {}
    for n, (_sid, item_id, _lang, _text) in enumerate(meta):
        rows.setdefault(source[item_id], []).append(n)
    return {sid: X[idx] for sid, idx in rows.items()}
