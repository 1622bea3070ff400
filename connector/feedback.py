"""Mirrored records → FeedbackItems: what reps wrote, cleaned, with a pointer back to the source record.

Each item is keyed by (source_object, source_id, source_field), so re-syncing a record updates its item
in place. Unchanged text writes nothing; changed text gets a new ``text_hash`` and loses its segments
(the theme jobs re-segment it); text that disappears (record reopened, description cleared, record
deleted) removes the item, and the database cascades to segments and theme evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from connector.rows import executemany
from connector.text import clean_text, detect_language, detect_languages, text_hash
from retour.models import FeedbackItem, FeedbackSegment

CHUNK = 500  # ids per IN (...) clause


class FeedbackSpec(NamedTuple):  # immutable; a NamedTuple builds four times faster than a frozen dataclass
    source_object: str
    source_id: str
    source_field: str
    channel: str
    raw: str | None
    occurred_at: dt.datetime
    account_id: str | None
    opportunity_id: str | None
    owner_id: str | None
    prefix: str = ""  # e.g. the loss-reason picklist value, kept verbatim before the cleaned free text
    is_html: bool | None = None  # None: markup if it looks like it; False: already plain text (a note's body)


def _at(day: dt.date | None, fallback: dt.datetime | None) -> dt.datetime:
    if day is not None:
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    return fallback or dt.datetime.now(dt.timezone.utc)


def specs_for(source_object: str, row: dict) -> list[FeedbackSpec]:
    """The feedback fields of one mirrored row (as produced by a Stream's ``to_row``). Pure."""
    created = row.get("created_date") or row.get("system_modstamp")
    if source_object == "Opportunity":
        if not row.get("is_closed") or row.get("is_won"):
            return []
        reason, detail = row.get("loss_reason"), row.get("loss_detail")
        if not reason and not detail:
            return []
        return [FeedbackSpec("Opportunity", row["id"], "loss_reason", "loss_reason", detail,
                             _at(row.get("close_date"), created), row.get("account_id"), row["id"], row.get("owner_id"),
                             prefix=reason or "")]
    if source_object in ("Task", "Event"):
        if row.get("retour_key"):
            return []  # Retour's own pushed tasks are not customer feedback
        what = row.get("what_id") or ""
        opp = what if what.startswith("006") else None
        account = row.get("account_id") or (what if what.startswith("001") else None)
        return [FeedbackSpec(source_object, row["id"], "description", "note", row.get("description"),
                             _at(row.get("activity_date"), created), account, opp, row.get("owner_id"))]
    if source_object == "Case":
        subject, body = row.get("subject") or "", row.get("description") or ""
        return [FeedbackSpec("Case", row["id"], "description", "case", body, created or _at(None, None),
                             row.get("account_id"), None, row.get("owner_id"), prefix=subject.strip())]
    if source_object == "ContentNote":
        return [FeedbackSpec("ContentNote", row["id"], "body", "note", row.get("body"), created or _at(None, None),
                             row.get("account_id"), row.get("opportunity_id"), row.get("owner_id"),
                             prefix="", is_html=False)]
    return []


def _compose(spec: FeedbackSpec) -> tuple[str, str]:
    """(text, language sample) of a spec: the cleaned free text after the verbatim prefix. Pure."""
    body = clean_text(spec.raw, is_html=spec.is_html)
    prefix = (spec.prefix or "").strip()
    if prefix and body:
        sep = " " if prefix.endswith((".", ":", "!", "?")) else ". "
        return f"{prefix}{sep}{body}", body
    return prefix or body, body or prefix


def render(spec: FeedbackSpec) -> tuple[str, str]:
    """(text, lang) of a spec: the cleaned free text, after the verbatim prefix; language from the free text."""
    text, sample = _compose(spec)
    if not text:
        return "", "other"
    return text, detect_language(sample)


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def apply_feedback(session: Session, source_object: str, source_ids: list[str], specs: list[FeedbackSpec]) -> dict:
    """Make the FeedbackItems of ``source_ids`` match ``specs`` (the caller owns the transaction)."""
    counts = {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    if not source_ids:
        return counts
    existing: dict[tuple[str, str], tuple[int, str, dict]] = {}
    for chunk in _chunks(source_ids):
        for item in session.execute(
                select(FeedbackItem.id, FeedbackItem.source_id, FeedbackItem.source_field, FeedbackItem.text_hash,
                       FeedbackItem.account_id, FeedbackItem.opportunity_id, FeedbackItem.owner_id,
                       FeedbackItem.occurred_at)
                .where(FeedbackItem.source_object == source_object, FeedbackItem.source_id.in_(chunk))):
            existing[(item.source_id, item.source_field)] = (item.id, item.text_hash, {
                "account_id": item.account_id, "opportunity_id": item.opportunity_id, "owner_id": item.owner_id,
                "occurred_at": item.occurred_at})
    inserts, updates, changed_ids, drop_ids = [], [], [], []
    seen: set[tuple[str, str]] = set()
    composed = []
    for spec in specs:
        text, sample = _compose(spec)
        old = existing.get((spec.source_id, spec.source_field))
        digest = text_hash(text) if text else ""
        composed.append((spec, text, sample, old, digest))
    # Language detection is the costly part of rendering: run it only for new or changed text, for the whole
    # batch at once (the model's byte walk is vectorised across texts).
    fresh = [sample for _, text, sample, old, digest in composed if text and (old is None or old[1] != digest)]
    langs = iter(detect_languages(fresh))
    for spec, text, sample, old, digest in composed:
        seen.add((spec.source_id, spec.source_field))
        if not text:
            if old:
                drop_ids.append(old[0])
            continue
        lang = next(langs) if old is None or old[1] != digest else None
        meta = {"account_id": spec.account_id, "opportunity_id": spec.opportunity_id, "owner_id": spec.owner_id,
                "occurred_at": spec.occurred_at}
        if old is None:
            inserts.append({"source_object": source_object, "source_id": spec.source_id,
                            "source_field": spec.source_field, "channel": spec.channel, "text": text,
                            "text_hash": digest, "lang": lang, **meta})
        elif old[1] != digest:
            # Its segments go (below) and the next theme pass cuts the new text: it finds it by this stamp.
            updates.append({"id": old[0], "text": text, "text_hash": digest, "lang": lang, "channel": spec.channel,
                            "segmented_at": None, **meta})
            changed_ids.append(old[0])
        elif old[2] != meta:
            updates.append({"id": old[0], **meta})
        else:
            counts["unchanged"] += 1
    drop_ids += [v[0] for k, v in existing.items() if k not in seen]
    table = FeedbackItem.__table__
    if inserts:
        now = dt.datetime.now(dt.timezone.utc)
        for row in inserts:
            row["created_at"] = row["updated_at"] = now
        executemany(session, table, inserts)
    if updates:
        now = dt.datetime.now(dt.timezone.utc)
        by_keys: dict[tuple, list[dict]] = {}
        for row in updates:  # one executemany per shape (text changes vs. link/date changes)
            by_keys.setdefault(tuple(sorted(row)), []).append(row)
        for keys, rows in by_keys.items():
            values = {k: bindparam(f"v_{k}") for k in keys if k != "id"}
            values["updated_at"] = bindparam("v_updated_at")
            session.execute(update(table).where(table.c.id == bindparam("v_id")).values(values),
                            [{**{f"v_{k}": v for k, v in row.items()}, "v_updated_at": now} for row in rows])
    for chunk in _chunks(changed_ids):
        session.execute(delete(FeedbackSegment).where(FeedbackSegment.item_id.in_(chunk)))
    for chunk in _chunks(drop_ids):
        session.execute(delete(FeedbackItem).where(FeedbackItem.id.in_(chunk)))
    counts.update(inserted=len(inserts), updated=len(updates), deleted=len(drop_ids))
    return counts


def delete_feedback(session: Session, source_object: str, source_ids: list[str]) -> int:
    """Remove the feedback of deleted source records (segments and evidence go by cascade)."""
    removed = 0
    for chunk in _chunks(source_ids):
        result = session.execute(delete(FeedbackItem).where(FeedbackItem.source_object == source_object,
                                                            FeedbackItem.source_id.in_(chunk)))
        removed += result.rowcount or 0
    return removed


__all__ = ["FeedbackSpec", "apply_feedback", "delete_feedback", "render", "specs_for"]
