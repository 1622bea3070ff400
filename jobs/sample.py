"""Run Retour's discovery on a file of texts in a throw-away store: calibration and evaluation on one's own data.

The same pass as production (segmentation, filter, embedding, centring, bootstrap-then-assign, labels) over
``{id, text[, lang]}`` lines, in a temporary SQLite database that is deleted afterwards. Batches let a
benchmark replay arrivals: each batch is one pass, like one night of sync.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from retour.config import Settings
from retour.db import make_engine, session_factory, session_scope
from retour.models import Base, FeedbackItem, FeedbackSegment, Theme, ThemeEvidence


class SampleError(ValueError):
    """A line of the sample file is unusable; the message names the line."""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SampleError(f"{path}:{n}: not valid JSON ({exc.msg}).") from None
            if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
                raise SampleError(f"{path}:{n}: each line needs an \"id\" and a \"text\" string.")
            rid = str(row["id"])
            if rid in seen:
                raise SampleError(f"{path}:{n}: id {rid!r} appears twice.")
            seen.add(rid)
            rows.append(row)
    return rows


def _item_row(row: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    text = str(row["text"])
    lang = row.get("lang") if row.get("lang") in ("en", "fr") else "other"
    occurred = now
    if row.get("created_date"):
        try:
            occurred = dt.datetime.fromisoformat(str(row["created_date"])).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            occurred = now
    return {"source_object": "import", "source_id": str(row["id"])[:40], "source_field": "text", "channel": "note",
            "text": text, "text_hash": hashlib.sha256(text.encode()).hexdigest(), "lang": lang,
            "occurred_at": occurred, "account_id": None, "opportunity_id": None}


def item_themes(session) -> dict[str, tuple[int, float] | None]:
    """Each item's theme: the theme of its feedback segment closest to its theme's centroid (or None)."""
    out: dict[str, tuple[int, float] | None] = {}
    for (sid,) in session.execute(select(FeedbackItem.source_id)):
        out[sid] = None
    q = (select(FeedbackItem.source_id, ThemeEvidence.theme_id, ThemeEvidence.similarity)
         .join(FeedbackSegment, FeedbackSegment.item_id == FeedbackItem.id)
         .join(ThemeEvidence, ThemeEvidence.segment_id == FeedbackSegment.id)
         .join(Theme, Theme.id == ThemeEvidence.theme_id)
         .where(ThemeEvidence.state == "active", Theme.status.in_(("emerging", "critical", "decided"))))
    for sid, tid, sim in session.execute(q):
        if out.get(sid) is None or sim > out[sid][1]:
            out[sid] = (tid, sim)
    return out


def discover(batches: Sequence[Iterable[Mapping[str, Any]]], settings: Settings, *,
             keep_dir: Path | None = None) -> dict[str, Any]:
    """Run one theme pass per batch in a fresh store; return each id's theme after every pass and the labels."""
    from jobs.themes import run_theme_pass

    now = dt.datetime.now(dt.timezone.utc)
    with tempfile.TemporaryDirectory(prefix="retour-discover-") as tmp:
        where = keep_dir or Path(tmp)
        engine = make_engine(f"sqlite:///{where / 'discover.db'}")
        try:
            Base.metadata.create_all(engine)
            factory = session_factory(engine)
            passes = []
            for batch in batches:
                with session_scope(factory) as session:
                    rows = [_item_row(r, now) for r in batch]
                    if rows:
                        session.execute(insert(FeedbackItem), rows)
                    figures = run_theme_pass(session, settings, now=now)
                    assignment = item_themes(session)
                    passes.append({"figures": figures, "items": assignment})
            with session_scope(factory) as session:
                themes = [{"id": t.id, "label": t.label, "title_quote": t.title_quote, "status": t.status,
                           "members": int(t.metrics.get("members", 0) or 0)}
                          for t in session.scalars(select(Theme).order_by(Theme.id))]
        finally:
            engine.dispose()
    return {"passes": passes, "themes": themes}
