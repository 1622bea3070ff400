"""The theme pass: segment what is new, embed what is new, assign it, grow new themes, refresh critical mass.

Stability is the contract: evidence once written is never moved or removed by a pass (items already themed
keep their theme), curated evidence (origin "curator", state "rejected", pinned) survives even a rebuild,
merged themes stay merged, labels are frozen (drift becomes a rename proposal) and ids are never reused.
A pass costs in proportion to what is new: new segments are compared with theme centroids, and only the new
unassigned segments (with their close neighbours in the waiting pool) are clustered.

``rebuild=True`` re-clusters every segment that carries no curated evidence, then maps old themes onto the
new clusters by overlap so matched themes keep their ids, labels and decisions.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (and_, bindparam, case, delete, exists, false, func, insert, null, or_, select, text, true,
                        update)
from sqlalchemy.orm import Session, aliased, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from jobs import critical_mass as cm
from jobs import discovery, labels, learn, prototypes
from jobs.figures import Scope, ThemeFigures, figures_of, judge, measure, volumes
from jobs.embed import (GROUP_MIN, NOTE_VIEW_CHARS, Embedder, centre, detect_lang, embedding_view, get_embedder, group_key,
                        in_note_context, normalise, stack, to_bytes)
from jobs.segment import classify, segment_text
from retour.config import Settings
from retour.db import session_scope
from retour.folding import wording
from retour.models import (
    ACTIVE,
    Account,
    AppSetting,
    Decision,
    FeedbackItem,
    FeedbackSegment,
    Opportunity,
    SalesforceUser,
    Theme,
    ThemeEvidence,
    ThemeExample,
    ThemeProposal,
    CurationEvent,
    utcnow,
)

log = logging.getLogger("retour.jobs.themes")

CENTRING_KEY = "themes.centring"
EMBED_BATCH = 2048
SEGMENT_BATCH = 5000
# Bounded memory (bench/themes_scale.py): a pass reads segments in chunks, clusters what needs pairwise work on
# samples, and looks for neighbours among the newest waiting segments only.
STREAM_CHUNK = 20_000
IN_MEMORY_POOL = 30_000  # a candidate pool this small is clustered whole, as it always was
WAITING_WINDOW = 20_000  # newest waiting segments a pass searches for neighbours of new text
STREAM_ROUNDS = 6  # sample-cluster-assign rounds over a pool too big to hold
QUOTE_POOL = 200  # members nearest a theme's centre its quotes are chosen from (bounded, whatever its size)
LABEL_SAMPLE = 60  # members of each other theme a new label is contrasted with: enough words, bounded cost
REMATCH_MIN_JACCARD = 0.2
NEIGHBOURS = 10  # waiting segments each new unassigned segment may pull into this pass's pool
INCREMENTAL_POOL_CAP = 3000
SPLIT_CHECKS_PER_PASS = 3
SPLIT_SAMPLE = 1000  # an incremental pass clusters at most this many segments (about a second)


class ThemePassError(RuntimeError):
    """The pass cannot run as configured; the message says what to do."""


# --------------------------------------------------------------------------------------------- steps
def _by_id(session: Session, query: Any, id_column: Any) -> Iterator[list[Any]]:
    """The rows of ``query`` (ordered by ``id_column``, with a LIMIT) a batch at a time, by id (keyset paging).

    Each batch is read after the previous one was written: rows the caller changed so they no longer match are
    simply not seen again, and memory holds one batch whatever the table's size.
    """
    last_id = 0
    while rows := session.execute(query.where(id_column > last_id)).all():
        last_id = rows[-1].id
        yield rows


def segment_new_items(session: Session, *, use_filter: bool = True) -> tuple[int, int]:
    """Cut every FeedbackItem no pass has cut yet (new, or its text changed) into segments, and stamp it.

    Found by its stamp (``segmented_at``, a partial index of the rows without one): the sync clears the stamp when
    the text changes, so a pass reads what is new, not the corpus. An item whose text gives no clause is stamped
    too, and not read again until it changes.
    ``use_filter=False`` keeps every clause as feedback: text that is not CRM notes (a support inbox, survey
    answers, CLINC150's "set a timer") has no logistics to drop, and the cue rules would drop its requests.
    """
    n_items = n_segs = 0
    now = utcnow()
    # Unstamped items a batch at a time: a first pass over 300,000 notes holds one batch.
    for rows in _by_id(session, unsegmented_items(), FeedbackItem.id):
        n_items_, n_segs_ = cut_items(session, rows, use_filter=use_filter, now=now)
        n_items += n_items_
        n_segs += n_segs_
    return n_items, n_segs


def unsegmented_items() -> Any:
    """The statement reading a batch of unstamped items, in id order, with what cutting them needs."""
    # A loss reason whose whole text is the opportunity's picklist value ("Product Gap") says which box was
    # ticked, not why: it joins no theme (its free text would), so it cannot make a "product gap" theme.
    picklist = (select(Opportunity.loss_reason).where(Opportunity.id == FeedbackItem.opportunity_id,
                                                      FeedbackItem.source_object == "Opportunity")
                .correlate(FeedbackItem).scalar_subquery())
    has_segments = exists().where(FeedbackSegment.item_id == FeedbackItem.id)
    return (select(FeedbackItem.id, FeedbackItem.text, FeedbackItem.lang, FeedbackItem.channel,
                   FeedbackItem.text_hash, FeedbackItem.segmented_hash, picklist.label("picklist"),
                   has_segments.label("cut"))
            .where(FeedbackItem.segmented_at.is_(None)).order_by(FeedbackItem.id).limit(SEGMENT_BATCH))


def cut_items(session: Session, rows: Sequence[Any], *, use_filter: bool, now: dt.datetime) -> tuple[int, int]:
    """Cut the items ``rows`` (read by :func:`unsegmented_items`) and stamp each with the text that was read.

    An item whose segments were cut by an older version (no stamp) or written by other code keeps them: it is
    stamped, not cut twice; segments of another text than the item's (``segmented_hash``) are cut again. The stamp
    names the text that was read: a sync that changed the text meanwhile (and cleared the stamp) wins, the stamp
    stays off, and the next pass sees segments of another text.
    """
    stale = [r.id for r in rows if r.cut and r.segmented_hash not in (None, r.text_hash)]
    if stale:
        session.execute(delete(FeedbackSegment).where(FeedbackSegment.item_id.in_(stale)))
    done = _segment_rows(session, [r for r in rows if not r.cut or r.id in stale], use_filter)
    items = FeedbackItem.__table__
    stamp = (update(items).where(items.c.id == bindparam("b_id"))
             .values(segmented_hash=bindparam("b_hash"),
                     segmented_at=case((items.c.text_hash == bindparam("b_hash"), bindparam("b_now")), else_=null())))
    session.execute(stamp, [{"b_id": r.id, "b_hash": r.text_hash, "b_now": now} for r in rows])
    return done


def _segment_rows(session: Session, rows: Sequence[Any], use_filter: bool) -> tuple[int, int]:
    """Segment one batch of items (rows with id, text, lang, channel and picklist value) and insert their segments."""
    batch: list[dict[str, Any]] = []
    n_items = n_segs = 0
    for row in rows:
        item_id, text, lang, channel, picklist = row.id, row.text, row.lang, row.channel, row.picklist
        segs = segment_text(text or "", channel)
        if segs:
            n_items += 1
        value = wording(picklist).strip(" .!?") if picklist else None
        for s in segs:
            # The opportunity's own picklist value as a clause ("Missing Feature", alone or before free text that
            # says nothing: "Missing Feature. see notes") says which box was ticked, not why: it joins no theme.
            bare = value is not None and wording(s.text).strip(" .!?") == value
            batch.append({"item_id": item_id, "position": s.position, "text": s.text,
                          "lang": detect_lang(s.text, lang),
                          "is_feedback": (s.is_feedback or not use_filter) and not bare})
        if len(batch) >= 5000:
            session.execute(insert(FeedbackSegment), batch)
            n_segs += len(batch)
            batch = []
    if batch:
        session.execute(insert(FeedbackSegment), batch)
        n_segs += len(batch)
    return n_items, n_segs


def embed_pending(session: Session, embedder: Embedder, *, use_filter: bool = True) -> int:
    """Embed the segments this model has not read yet; vectors are stored so nothing is embedded twice.

    The zero-shot check (``jobs.prototypes``) then turns off segments that read as logistics rather than
    feedback. A turned-off segment keeps its vector and its reason.
    The check reads the clause alone; the vector stored for a clause of a longer note carries the note too
    (``jobs.embed.in_note_context``), so themes group clauses by the subject their note names.
    """
    # Clauses in the pending segment's note, counted per pending row through the item_id index: a GROUP BY
    # over every segment would make each incremental pass cost in proportion to the whole corpus.
    sibling = aliased(FeedbackSegment)
    n_segments = (select(func.count()).select_from(sibling).where(sibling.item_id == FeedbackSegment.item_id)
                  .correlate(FeedbackSegment).scalar_subquery().label("n_segments"))
    pending = (
        select(FeedbackSegment.id, FeedbackSegment.text, n_segments, FeedbackSegment.item_id,
               FeedbackItem.text.label("note"), FeedbackSegment.person_verdict)
        .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id)
        # A segment the cue rules turned off has no vector and stays off; one the prototype check of another
        # model turned off has that model's vector and is checked again by this one.
        .where(or_(FeedbackSegment.is_feedback.is_(True), FeedbackSegment.embedding.is_not(None),
                   FeedbackSegment.person_verdict.is_not(None), true() if not use_filter else false()),
               or_(FeedbackSegment.embedding.is_(None), FeedbackSegment.embedding_model != embedder.name))
        .order_by(FeedbackSegment.id).limit(EMBED_BATCH))
    if use_filter and _vectors_are(session, embedder):
        # Every vector a pass stored is this model's, so only two sets of rows can lack one, each found by its
        # index: what no pass has looked at, and what a person filed (a clause the cue rules turned off, then
        # put under a theme by hand). Reading the whole table for them made each pass cost the corpus.
        queries = [pending.where(FeedbackSegment.processed_at.is_(None)),
                   pending.where(FeedbackSegment.person_verdict.is_not(None))]
    else:
        queries = [pending]
    fb_protos, lg_protos = prototypes.prototype_vectors(embedder)
    done = 0
    # One batch at a time: memory holds one batch of texts and notes, whatever is pending.
    for chunk in (rows for query in queries for rows in _by_id(session, query, FeedbackSegment.id)):
        vecs = embedder.encode([embedding_view(r.text) for r in chunk])
        keep = prototypes.feedback_margin(vecs, fb_protos, lg_protos) >= embedder.feedback_margin
        if not use_filter:
            keep[:] = True
        # What a person said of a segment stands: the filter neither turns on "not feedback" nor turns off
        # a quote a person filed.
        verdict = np.array([r.person_verdict if r.person_verdict is not None else k
                            for r, k in zip(chunk, keep)], dtype=bool)
        stored = _with_notes(embedder, vecs, chunk, verdict)
        session.execute(update(FeedbackSegment), [
            {"id": r.id, "embedding": to_bytes(v), "embedding_model": embedder.name, "is_feedback": bool(k)}
            for r, v, k in zip(chunk, stored, verdict)])
        done += len(chunk)
    return done + embed_examples(session, embedder)


def _vectors_are(session: Session, embedder: Embedder) -> bool:
    """Whether every stored vector is ``embedder``'s: the centring means record the model of the last pass, and a
    pass embeds again every vector of another model before it computes them (within one transaction)."""
    row = session.get(AppSetting, CENTRING_KEY)
    return row is not None and row.value.get("model") == embedder.name


def embed_examples(session: Session, embedder: Embedder) -> int:
    """Embed the example sentences people wrote for themes (through the same view as segments)."""
    rows = list(session.scalars(select(ThemeExample).where(or_(ThemeExample.embedding.is_(None),
                                                               ThemeExample.embedding_model != embedder.name))))
    if not rows:
        return 0
    vecs = embedder.encode([embedding_view(r.text) for r in rows])
    for r, v in zip(rows, vecs):
        r.embedding, r.embedding_model = to_bytes(v), embedder.name
    return len(rows)


def embed_segments(session: Session, embedder: Embedder, segment_ids: Sequence[int]) -> int:
    """Embed chosen segments now, whatever the filter said (a person is about to label them)."""
    sibling = aliased(FeedbackSegment)
    n_segments = (select(func.count()).select_from(sibling).where(sibling.item_id == FeedbackSegment.item_id)
                  .correlate(FeedbackSegment).scalar_subquery().label("n_segments"))
    rows = session.execute(
        select(FeedbackSegment.id, FeedbackSegment.text, n_segments, FeedbackSegment.item_id,
               FeedbackItem.text.label("note"))
        .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id)
        .where(FeedbackSegment.id.in_(list(segment_ids)),
               or_(FeedbackSegment.embedding.is_(None), FeedbackSegment.embedding_model != embedder.name))
        .order_by(FeedbackSegment.id)).all()
    if not rows:
        return 0
    vecs = embedder.encode([embedding_view(r.text) for r in rows])
    stored = _with_notes(embedder, vecs, rows, np.ones(len(rows), dtype=bool))
    session.execute(update(FeedbackSegment), [
        {"id": r.id, "embedding": to_bytes(v), "embedding_model": embedder.name} for r, v in zip(rows, stored)])
    return len(rows)


def _with_notes(embedder: Embedder, vecs: np.ndarray, chunk: Sequence[Any], keep: np.ndarray) -> np.ndarray:
    """The vectors to store for a chunk of pending rows (``n_segments`` in the note, ``item_id``, ``note`` text).

    A kept clause cut from a note of several clauses is joined with its whole note (each note embedded once
    per chunk); a note of one clause is that clause. A clause the filter turned off is never clustered, so its
    note is not embedded for it. Embedding the notes costs half again the first pass (100,000 items: 68 s
    without, 103 s with, side by side in one session) and nothing measurable on an incremental pass.
    """
    split = [i for i, r in enumerate(chunk) if r.n_segments > 1 and keep[i]]
    if not split:
        return vecs
    notes = {chunk[i].item_id: chunk[i].note for i in split}
    row_of = {item_id: n for n, item_id in enumerate(notes)}
    note_vecs = embedder.encode([embedding_view((text or "")[:NOTE_VIEW_CHARS]) for text in notes.values()])
    out = vecs.copy()
    out[split] = in_note_context(vecs[split], note_vecs[[row_of[chunk[i].item_id] for i in split]])
    return out


def centring_means(session: Session, embedder: Embedder, *, recompute: bool) -> dict[str, np.ndarray]:
    """Per-(language, channel) mean vectors, computed once and kept so later passes centre new text identically."""
    row = session.get(AppSetting, CENTRING_KEY)
    if row is not None and not recompute and row.value.get("model") == embedder.name:
        return {lang: np.asarray(v, dtype=np.float32) for lang, v in row.value.get("means", {}).items()}
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = defaultdict(int)
    q = (select(FeedbackSegment.lang, FeedbackItem.channel, FeedbackSegment.embedding)
         .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id)
         .where(FeedbackSegment.is_feedback.is_(True), FeedbackSegment.embedding_model == embedder.name)
         .execution_options(yield_per=10_000))
    for lang, channel, blob in session.execute(q):
        v = np.frombuffer(blob, dtype=np.float32)
        for key in (lang, group_key(lang, channel)):
            if key not in sums:
                sums[key] = np.zeros_like(v)
            sums[key] += v
            counts[key] += 1
    means = {key: (sums[key] / counts[key]).astype(np.float32) for key in sums if counts[key] >= GROUP_MIN}
    value = {"model": embedder.name, "means": {k: v.tolist() for k, v in means.items()},
             "counts": dict(counts), "computed_at": utcnow().isoformat()}
    if row is None:
        session.add(AppSetting(key=CENTRING_KEY, value=value))
    else:
        row.value = value
    session.flush()
    return means


def _load_segments(session: Session, where: Sequence[Any], embedder: Embedder,
                   means: dict[str, np.ndarray], *, feedback_only: bool = True, limit: int | None = None
                   ) -> tuple[list[tuple[int, int, str, str]], np.ndarray]:
    """(id, item_id, lang, text) rows and their centred vectors, by id (at most ``limit`` of them)."""
    only = [FeedbackSegment.is_feedback.is_(True)] if feedback_only else []
    rows = session.execute(
        select(FeedbackSegment.id, FeedbackSegment.item_id, FeedbackSegment.lang, FeedbackSegment.text,
               FeedbackSegment.embedding, FeedbackItem.channel)
        .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id)
        .where(*only, FeedbackSegment.embedding_model == embedder.name, *where)
        .order_by(FeedbackSegment.id).limit(limit)).all()
    meta = [(r[0], r[1], r[2], r[3]) for r in rows]
    raw = stack([r[4] for r in rows], embedder.dim)
    return meta, centre(raw, [group_key(r[2], r[5]) for r in rows], means)


def _segment_chunks(session: Session, where: Sequence[Any], embedder: Embedder, means,
                    chunk: int = STREAM_CHUNK, *, feedback_only: bool = True
                    ) -> Iterator[tuple[list[tuple[int, int, str, str]], np.ndarray]]:
    """The segments matching ``where``, a chunk at a time by id: memory holds one chunk whatever the corpus."""
    last_id = 0
    while True:
        meta, X = _load_segments(session, [*where, FeedbackSegment.id > last_id], embedder, means, limit=chunk,
                                 feedback_only=feedback_only)
        if not meta:
            return
        last_id = meta[-1][0]
        yield meta, X


def _load_ids(session: Session, ids: Sequence[int], embedder: Embedder, means
              ) -> tuple[list[tuple[int, int, str, str]], np.ndarray]:
    """Chosen segments (a sample) and their centred vectors, in id order, read in bounded IN lists."""
    metas: list[tuple[int, int, str, str]] = []
    parts: list[np.ndarray] = []
    ids = sorted(int(i) for i in ids)
    for start in range(0, len(ids), 5000):
        m, x = _load_segments(session, [FeedbackSegment.id.in_(ids[start:start + 5000])], embedder, means)
        metas.extend(m)
        parts.append(x)
    return metas, (np.vstack(parts) if parts else np.zeros((0, embedder.dim), np.float32))


def _sample_ids(session: Session, where: Sequence[Any], size: int, seed: int = 0, *,
                also: Sequence[Any] | None = None) -> np.ndarray:
    """Up to ``size`` ids of the feedback segments matching ``where`` (or ``also``), drawn at random (only ids are
    read)."""
    def read(conds: Sequence[Any]) -> np.ndarray:
        return np.fromiter(session.scalars(select(FeedbackSegment.id).where(FeedbackSegment.is_feedback.is_(True),
                                                                            *conds)
                                           .execution_options(yield_per=50_000)), dtype=np.int64)
    ids = read(where)
    if also is not None:
        ids = np.union1d(ids, read(also))  # sorted, as one query's ids were
    if len(ids) <= size:
        return ids
    return np.sort(np.random.default_rng(seed).choice(ids, size, replace=False))


def clustered_vectors(session: Session, embedder: Embedder) -> tuple[list[tuple[int, int, str, str]], np.ndarray]:
    """Every kept feedback segment and the centred vector the clusterer reads, with the stored centring.

    For evaluation (``jobs.sample``): a benchmark can ask how far a classifier that knows the true labels
    gets on exactly these vectors, which bounds what any unsupervised grouping of them can reach.
    """
    return _load_segments(session, [], embedder, centring_means(session, embedder, recompute=False))


# --------------------------------------------------------------------------------------------- learned themes
LEARNED_KEY = "themes.learned"
EXAMPLES_PER_CLASS = 400  # newest labels per theme the model reads: a bounded cost whatever the history
SELF_TRAIN_SAMPLE = 20_000  # unlabelled texts the learned centres may absorb in one pass
# Waiting and filtered-off segments one incremental pass reads again after people's labels changed, newest first;
# older ones are read by the next passes (``_reread_range``). Reading them all at once made the pass grow with the
# corpus: 300,000 items hold about three times the waiting text of 100,000 (bench/themes_scale.py).
REREAD_PER_PASS = 20_000
# How far down (in segment ids) one pass looks for waiting text: the newest waiting window and a re-read range are
# searched for only among the newest this many segments, so when waiting text is sparse (a first pass over 100,000
# bench items leaves one segment waiting) the search does not walk the whole table.
SEARCH_SPAN = 200_000
SUGGESTIONS_PER_THEME = 50  # per pass: a person reads suggestions, they must not flood the desk
NOT_FEEDBACK_EXAMPLES = 2000
# How far over the learned bar a clause the filter turned off must score to be filed (_rescue_filtered). Chosen on
# half A of the labelled sets, 5 seeds per theme: 0.03 and 0.06 give the same ARI (short 0.816 / 0.813, narrative
# 0.464 / 0.462), 0.06 keeps more "none" out (narrative 0.896 against 0.888).
RESCUE_MARGIN = 0.06
# Examples a learned theme needs before its claims overrule the filter: one moved quote says what a theme is about,
# not that every note near it is feedback (a review: 8 filtered-off "no dedicated contact" notes were switched back on
# for a mobile theme a person had moved one quote into).
RESCUE_MIN_EXAMPLES = 3


class Labels(NamedTuple):
    """What people said, as the learned step reads it."""

    examples: learn.Examples  # evidence people filed and sentences they wrote (per theme), "not feedback"
    rejected: learn.Examples  # quotes people took out of a theme: near-duplicates stay out of it
    signature: str  # changes whenever a label is added or withdrawn: waiting text is read again then
    taught: Mapping[str, np.ndarray] = {}  # each labelled wording (``wording``) -> the vector it was labelled with


def _as_taught(labels_: Labels, meta: Sequence[tuple[int, int, str, str]], X: np.ndarray) -> np.ndarray:
    """``X``, where a row says word for word what a person labelled, with the vector of that label.

    Why: a clause's vector carries its note around it, so the very sentence a person moved, rejected or turned off,
    written again inside a longer note, could sit under the repeat bar and was only suggested (a review's exact copy
    of a moved quote). Said again word for word (case, accents and spacing aside) it is a repeat, whatever its note:
    every learned rule (repeat, veto, not feedback, suggestion) then reads it as the labelled text. Only the learned
    decisions read these vectors; the centres a row joins or leaves keep its own.
    """
    if not labels_.taught or not len(meta):
        return X
    hits = [(k, v) for k, m in enumerate(meta) if (v := labels_.taught.get(wording(m[3]))) is not None]
    if not hits:
        return X
    out = X.copy()
    for k, v in hits:
        out[k] = v
    return out


def _vectors_of(session: Session, pairs: Sequence[tuple[int, int]], embedder: Embedder, means,
                ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(class, segment id) pairs -> (vectors, classes) for the segments that have this model's vector, and each
    one's wording -> its vector."""
    if not pairs:
        return np.zeros((0, embedder.dim), np.float32), np.zeros(0, np.int64), {}
    cls_of: dict[int, list[int]] = defaultdict(list)
    for cls, sid in pairs:
        cls_of[sid].append(cls)
    meta, X = _load_segments(session, [FeedbackSegment.id.in_(list(cls_of))], embedder, means, feedback_only=False)
    rows, classes = [], []
    for n, m in enumerate(meta):
        for cls in cls_of[m[0]]:
            rows.append(n)
            classes.append(cls)
    said = {wording(m[3]): X[n] for n, m in enumerate(meta)}
    return X[rows] if rows else np.zeros((0, embedder.dim), np.float32), np.asarray(classes, np.int64), said


def load_labels(session: Session, embedder: Embedder, means) -> Labels:
    """Every label people gave, bounded per theme (the newest ``EXAMPLES_PER_CLASS``), as centred vectors.

    A theme is learned once a person filed evidence in it or wrote example sentences for it; merged and
    dismissed themes teach nothing. Example sentences are centred with their language's mean.
    """
    active = select(Theme.id).where(Theme.status.in_(ACTIVE))
    rank = func.row_number().over(partition_by=(ThemeEvidence.theme_id, ThemeEvidence.state),
                                  order_by=ThemeEvidence.id.desc()).label("rank")
    ranked = (select(ThemeEvidence.theme_id, ThemeEvidence.segment_id, ThemeEvidence.state, rank)
              .where(ThemeEvidence.origin == "curator", ThemeEvidence.state.in_(("active", "rejected")),
                     ThemeEvidence.theme_id.in_(active))).subquery()
    rows = session.execute(select(ranked.c.theme_id, ranked.c.segment_id, ranked.c.state)
                           .where(ranked.c.rank <= EXAMPLES_PER_CLASS)).all()
    positive = [(tid, sid) for tid, sid, state in rows if state == "active"]
    negative = [(tid, sid) for tid, sid, state in rows if state == "rejected"]
    off = session.scalars(select(FeedbackSegment.id).where(FeedbackSegment.person_verdict.is_(False))
                          .order_by(FeedbackSegment.id.desc()).limit(NOT_FEEDBACK_EXAMPLES)).all()
    # A quote rejected from a theme *because* it is not feedback teaches the no-feedback class, not the theme.
    off_set = set(off)
    negative = [(t, sid) for t, sid in negative if sid not in off_set]
    pv, pc, taught = _vectors_of(session, positive + [(learn.NOT_FEEDBACK, sid) for sid in off], embedder, means)
    nv, nc, rejected = _vectors_of(session, negative, embedder, means)
    ex = session.execute(select(ThemeExample.theme_id, ThemeExample.lang, ThemeExample.text, ThemeExample.embedding)
                         .where(ThemeExample.theme_id.in_(active), ThemeExample.embedding_model == embedder.name)
                         .order_by(ThemeExample.id)).all()
    if ex:
        ev = centre(stack([r.embedding for r in ex], embedder.dim), [r.lang for r in ex], means)
        pv = np.vstack([pv, ev])
        pc = np.concatenate([pc, np.asarray([r.theme_id for r in ex], np.int64)])
        taught.update((wording(r.text), v) for r, v in zip(ex, ev))
    last_event = session.scalar(select(func.max(CurationEvent.id))) or 0
    signature = f"{embedder.name}:{len(pc)}:{len(nc)}:{last_event}"
    return Labels(learn.Examples(pv, pc), learn.Examples(nv, nc), signature, {**rejected, **taught})


def _learned_model(labels_: Labels, X_sample: np.ndarray, threshold: float, active_ids: set[int],
                   rivals: tuple[np.ndarray, np.ndarray] | None = None) -> learn.Model | None:
    """People's labels for active themes (and "not feedback"), self-trained on a sample of unlabelled text.

    The learned bar never goes under the bar discovery keeps a member of a new theme at (``discovery.PRUNE`` of
    the threshold): "joins a learned theme" and "stays in a discovered one" are one rule. At the full threshold,
    5 seeds per theme scored below discovery alone on the narrative set (0.323 against 0.350); at the discovery
    bar, 0.396 (short set 0.700 -> 0.704, demo org 0.580 -> 0.615, CLINC150 unchanged: its learned bar is higher).
    """
    keep = np.isin(labels_.examples.classes, list(active_ids) + [learn.NOT_FEEDBACK])
    model = learn.fit(learn.Examples(labels_.examples.vectors[keep], labels_.examples.classes[keep]),
                      threshold * discovery.PRUNE)
    if model is None:
        return None
    if rivals is not None:
        model = learn.with_rivals(model, *rivals)
    return learn.self_train(model, X_sample)


def _file_learned(session: Session, model: learn.Model, labels_: Labels, meta, X: np.ndarray, now: dt.datetime,
                  gains: _Gains, figures: dict[str, Any]) -> np.ndarray:
    """File what the model claims among these rows: evidence for learned themes, suggestions, "not feedback".

    Returns a mask of the rows now dealt with (filed, suggested or turned off); ``gains`` and ``figures`` grow.
    """
    taken = np.zeros(len(meta), dtype=bool)
    if not len(meta):
        return taken
    T = _as_taught(labels_, meta, X)
    pred = learn.predict(model, T)
    veto = learn.rejected_veto(T, pred.classes, pred.scores, labels_.rejected, model.threshold)
    rows: list[dict[str, Any]] = []
    added: dict[int, list[int]] = defaultdict(list)
    suggested: dict[int, list[int]] = defaultdict(list)
    off: list[int] = []
    for k in range(len(meta)):
        cls = int(pred.classes[k])
        if cls == learn.NO_CLASS or veto[k]:
            continue
        if cls == learn.NOT_FEEDBACK:
            off.append(k)
        elif pred.suggested[k]:
            suggested[cls].append(k)
        else:
            added[cls].append(k)
            rows.append({"theme_id": cls, "segment_id": meta[k][0], "similarity": float(pred.scores[k]),
                         "state": "active", "origin": "auto", "pinned": False, "created_at": now})
    best = _suggest(session, suggested, meta, pred.scores, gains)
    rows.extend({"theme_id": cls, "segment_id": meta[k][0], "similarity": float(pred.scores[k]),
                 "state": "suggested", "origin": "auto", "pinned": False, "created_at": now} for cls, k in best)
    taken[[k for _cls, k in best]] = True
    figures["learned_suggested"] += len(best)
    if rows:
        session.execute(insert(ThemeEvidence), rows)
    if off:
        session.execute(update(FeedbackSegment), [{"id": meta[k][0], "is_feedback": False} for k in off])
        taken[off] = True
    for cls, ks in added.items():
        taken[ks] = True
        gains.add(cls, [meta[k] for k in ks], X[ks], pred.scores[ks])
    figures["learned_assigned"] += sum(len(v) for v in added.values())
    figures["learned_not_feedback"] += len(off)
    return taken


def _suggest(session: Session, asked: dict[int, list[int]], meta, scores: np.ndarray, gains: _Gains
             ) -> list[tuple[int, int]]:
    """Which of the rows ``asked`` per learned theme are suggested there: (theme, row) pairs, best scores first.

    At most ``SUGGESTIONS_PER_THEME`` per theme and pass (a person reads them), and one per wording: the review was
    offered "Champion left the company" three times in one theme, and declining one left the other two.
    """
    shown = _suggested_texts(session, asked)
    out = []
    for cls, ks in asked.items():
        room = SUGGESTIONS_PER_THEME - gains.suggested.get(cls, 0)
        fresh = []
        for k in sorted(ks, key=lambda k: -scores[k]):
            said = wording(meta[k][3])
            if said not in shown[cls] and len(fresh) < room:
                shown[cls].add(said)
                fresh.append(k)
        gains.suggested[cls] = gains.suggested.get(cls, 0) + len(fresh)
        out.extend((cls, k) for k in fresh)
    return out


def _suggested_texts(session: Session, suggested: dict[int, list[int]]) -> dict[int, set[str]]:
    """Per theme, the wordings already suggested to or declined by a person there (as ``wording`` folds them)."""
    out: dict[int, set[str]] = {cls: set() for cls in suggested}
    if suggested:
        for tid, text_ in session.execute(
                select(ThemeEvidence.theme_id, FeedbackSegment.text)
                .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
                .where(ThemeEvidence.theme_id.in_(list(suggested)),
                       or_(ThemeEvidence.state == "suggested",
                           and_(ThemeEvidence.state == "rejected", ThemeEvidence.origin == "curator")))):
            out[tid].add(wording(text_))
    return out


def _logistics_centred(embedder: Embedder, means) -> np.ndarray:
    """The filter's logistics sentences (``jobs.prototypes.LOGISTICS``) in the centred space themes live in."""
    _fb, lg = prototypes.prototype_vectors(embedder)
    return centre(lg, [detect_lang(t) for t in prototypes.LOGISTICS], means or {})


def _rescue_filtered(session: Session, model: learn.Model, labels_: Labels, meta, X: np.ndarray,
                     now: dt.datetime, gains: _Gains, figures: dict[str, Any], logistics: np.ndarray) -> None:
    """Turn back on the clauses the zero-shot filter turned off that people's labels clearly claim.

    The prototype filter (``jobs.prototypes``) knows feedback only from sentences written in advance: on the
    short labelled set it turns off 27 of 300 feedback texts ("Purchase postponed, budget approval denied",
    "Deal lost, missing SSO/SCIM provisioning"), which no theme could then hold (7 more are turned off by the cue
    rules, before any vector: those stay off). Once people filed examples, a
    clause their model assigns to a theme with certainty (over the learned bar, no near tie, not a repeat of a
    rejected quote) is feedback for this org whatever the prototypes said; a suggestion is not enough, and
    "not feedback" from the model leaves it off. It must clear the learned bar by ``RESCUE_MARGIN``: the
    filter's verdict is evidence too. For the same reason it stays off when it sits nearer what people called not
    feedback, or nearer one of the filter's own ``logistics`` sentences (centred like it), than the theme claiming it:
    with a single learned theme there is no runner-up to make a claim uncertain, and a product owner's "Basque
    version" (three sentences, three quotes) switched back on and took 270-305 notes the filter had set aside ("Amount
    revised to 12k after the workshop", "Feature request"), then turned critical. Measured (5 seeds per theme): the
    demo org's none kept out 0.84 -> 0.96 (ARI 0.637 -> 0.654); half A short 0.800 -> 0.770, narrative 0.480 ->
    0.478. The same test on every claim, not only rescues, cost half A far more (short 0.69, narrative 0.35).
    """
    if not len(meta):
        return
    T = _as_taught(labels_, meta, X)
    pred = learn.predict(model, T)
    veto = learn.rejected_veto(T, pred.classes, pred.scores, labels_.rejected, model.threshold)
    agreed = learn.turned_off(model, T, pred.scores, repeats=False)
    routine = (T @ logistics.T).max(axis=1) >= pred.scores if len(logistics) else np.zeros(len(X), dtype=bool)
    # Taught enough to overrule the filter: the theme has RESCUE_MIN_EXAMPLES examples, or the clause repeats one.
    counts = learn.example_counts(model)
    taught = np.zeros(len(pred.classes), dtype=bool)
    claimed = pred.classes > 0
    taught[claimed] = counts[np.searchsorted(model.classes, pred.classes[claimed])] >= RESCUE_MIN_EXAMPLES
    taught |= learn.repeats_example(model, T, pred.classes)
    sure = np.flatnonzero(claimed & taught & ~pred.suggested & ~veto & ~agreed & ~routine
                          & (pred.scores >= model.threshold + RESCUE_MARGIN))
    if not len(sure):
        return
    session.execute(update(FeedbackSegment), [{"id": meta[k][0], "is_feedback": True} for k in sure])
    session.execute(insert(ThemeEvidence), [
        {"theme_id": int(pred.classes[k]), "segment_id": meta[k][0], "similarity": float(pred.scores[k]),
         "state": "active", "origin": "auto", "pinned": False, "created_at": now} for k in sure])
    for cls in np.unique(pred.classes[sure]):
        ks = sure[pred.classes[sure] == cls]
        gains.add(int(cls), [meta[k] for k in ks], X[ks], pred.scores[ks])
    figures["learned_assigned"] += len(sure)
    figures["learned_rescued"] += len(sure)


# Evidence the machine filed and no person has touched: what people's later labels may still move.
_MACHINE_FILED = (ThemeEvidence.state == "active", ThemeEvidence.origin == "auto", ThemeEvidence.pinned.is_(False))


def _refile_machine_evidence(session: Session, model: learn.Model, labels_: Labels, where: Sequence[Any],
                             themes: dict[int, Theme], embedder: Embedder, means, now: dt.datetime, gains: _Gains,
                             figures: dict[str, Any]) -> None:
    """Apply people's new labels to what the machine filed before them, in this pass's re-read range (``where``).

    Assignment only ever read new and waiting text, so a person who moved a quote to a new theme, rejected three and
    turned two off saw their exact copies stay in the old theme pass after pass (the demo's "Data residency" kept 25
    Basque lines beside the Basque theme a person had made). ``learn.refile`` says which of them repeat what people
    labelled: those follow the moved quote, leave the theme that rejected their twin (they wait), or are turned off;
    the themes they leave lose them from their running centre and count (``_Gains.remove``).
    Evidence a person filed, pinned or confirmed is never read here; the range is the waiting text's re-read sweep
    (``_reread_range``), which counts these rows too, so a pass reads a bounded number of them whatever the corpus.
    """
    rows = session.execute(select(ThemeEvidence.id, ThemeEvidence.theme_id, ThemeEvidence.segment_id)
                           .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
                           .where(*_MACHINE_FILED, ThemeEvidence.theme_id.in_(list(themes)), *where)
                           .order_by(ThemeEvidence.id)).all()
    rows = [r for r in rows if themes[r.theme_id].centroid]
    if not rows:
        return
    meta, X = _load_ids(session, sorted({r.segment_id for r in rows}), embedder, means)
    at = {m[0]: k for k, m in enumerate(meta)}
    rows = [r for r in rows if r.segment_id in at]
    if not rows:
        return
    V = X[[at[r.segment_id] for r in rows]]
    current = np.asarray([r.theme_id for r in rows], np.int64)
    sims = np.asarray([float(V[k] @ _centroid(themes[r.theme_id])) for k, r in enumerate(rows)], np.float32)
    decided = learn.refile(model, _as_taught(labels_, [meta[at[r.segment_id]] for r in rows], V), current, sims,
                           labels_.rejected)
    targets = [int(t) for t in np.union1d(decided.to, decided.ask) if t > 0]
    taken = {(t, sid): state for t, sid, state in session.execute(
        select(ThemeEvidence.theme_id, ThemeEvidence.segment_id, ThemeEvidence.state)
        .where(ThemeEvidence.segment_id.in_([r.segment_id for r in rows]), ThemeEvidence.theme_id.in_(targets)))}
    asked: dict[int, list[int]] = defaultdict(list)
    for k, r in enumerate(rows):
        if decided.ask[k] and (int(decided.ask[k]), r.segment_id) not in taken:
            asked[int(decided.ask[k])].append(k)
    row_meta = [meta[at[r.segment_id]] for r in rows]
    best = _suggest(session, asked, row_meta, decided.scores, gains)
    if best:
        session.execute(insert(ThemeEvidence), [
            {"theme_id": cls, "segment_id": rows[k].segment_id, "similarity": float(decided.scores[k]),
             "state": "suggested", "origin": "auto", "pinned": False, "created_at": now} for cls, k in best])
        figures["learned_suggested"] += len(best)
    off_segments: list[int] = []
    moves: list[dict[str, Any]] = []
    drops: list[int] = []
    for k, r in enumerate(rows):
        to = int(decided.to[k])
        if to and (to, r.segment_id) not in taken:
            centre_of = _centroid(themes[to])  # a theme made from sentences gets its first centre from this pass
            sim = float(V[k] @ (centre_of if centre_of is not None
                                else model.centroids[int(np.searchsorted(model.classes, to))]))
            moves.append({"id": r.id, "theme_id": to, "similarity": sim, "created_at": now})
            gains.add(to, [meta[at[r.segment_id]]], V[k:k + 1], np.asarray([sim], np.float32), moved=True)
            figures["learned_moved"] += 1
        elif decided.off[k] or decided.leave[k] or (to and taken[(to, r.segment_id)] == "active"):
            # (Already active where it would move: this row was its duplicate. Suggested or rejected there: it stays,
            # a person has that row to answer or has answered it.)
            drops.append(r.id)
            if decided.off[k]:
                off_segments.append(r.segment_id)
                figures["learned_not_feedback"] += 1
            else:
                figures["learned_unfiled"] += 1
        else:
            continue
        gains.remove(r.theme_id, [r.segment_id], V[k:k + 1])
    if moves:
        session.execute(update(ThemeEvidence), moves)  # by primary key, one executemany
    for start in range(0, len(drops), 5000):
        session.execute(delete(ThemeEvidence).where(ThemeEvidence.id.in_(drops[start:start + 5000])))
    if off_segments:
        # Turned off only where no evidence is left: a clause a person filed elsewhere stays feedback.
        still = set(session.scalars(select(ThemeEvidence.segment_id).where(
            ThemeEvidence.segment_id.in_(off_segments), ThemeEvidence.state == "active")))
        gone = [sid for sid in off_segments if sid not in still]
        if gone:
            session.execute(update(FeedbackSegment).where(FeedbackSegment.id.in_(gone)).values(is_feedback=False))


def _filtered_off(no_evidence: Any) -> list[Any]:
    """Segments the zero-shot filter turned off (they kept their vector) that no person has ruled on."""
    return [FeedbackSegment.is_feedback.is_(False), FeedbackSegment.person_verdict.is_(None),
            FeedbackSegment.embedding.is_not(None), no_evidence]


def _learned_figures(model: learn.Model | None) -> dict[str, Any]:
    return {"learned_themes": int((model.classes > 0).sum()) if model is not None else 0, "learned_assigned": 0,
            "learned_suggested": 0, "learned_not_feedback": 0, "learned_rescued": 0, "learned_moved": 0,
            "learned_unfiled": 0,
            "learned_threshold": round(model.threshold, 4) if model is not None else None}


class _Gains:
    """What themes gained in one pass, gathered chunk by chunk: the sums that move their centres, and the
    best-placed newcomers (at most ``QUOTE_POOL`` per theme) their quotes are chosen among."""

    def __init__(self) -> None:
        self.total: dict[int, np.ndarray] = {}
        self.count: dict[int, int] = defaultdict(int)  # members to add to a theme's count
        self.filed = 0  # segments this pass filed under a theme, whatever became of the counts
        self.meta: dict[int, list] = defaultdict(list)
        self.vecs: dict[int, np.ndarray] = {}
        self.sims: dict[int, np.ndarray] = {}
        self.suggested: dict[int, int] = {}
        self.removed: dict[int, set[int]] = defaultdict(set)

    def add(self, tid: int, meta: Sequence[Any], vecs: np.ndarray, sims: np.ndarray, *, moved: bool = False) -> None:
        """``moved``: from another theme (``_refile_machine_evidence``), not newly filed."""
        if not len(meta):
            return
        self.total[tid] = self.total.get(tid, 0) + vecs.sum(axis=0)
        self.count[tid] += len(meta)
        self.filed += 0 if moved else len(meta)
        all_meta = self.meta[tid] + list(meta)
        all_vecs = np.vstack([self.vecs[tid], vecs]) if tid in self.vecs else vecs
        all_sims = np.concatenate([self.sims[tid], sims]) if tid in self.sims else np.asarray(sims)
        best = np.argsort(-all_sims, kind="stable")[:QUOTE_POOL]
        self.meta[tid] = [all_meta[i] for i in best]
        self.vecs[tid] = all_vecs[best]
        self.sims[tid] = all_sims[best]

    def remove(self, tid: int, segment_ids: Sequence[int], vecs: np.ndarray) -> None:
        """Members that left the theme this pass: its running centre and count lose them, its quotes too."""
        if not len(segment_ids):
            return
        self.total[tid] = self.total.get(tid, 0) - vecs.sum(axis=0)
        self.count[tid] -= len(segment_ids)
        self.removed[tid].update(int(s) for s in segment_ids)
        keep = [k for k, m in enumerate(self.meta[tid]) if m[0] not in self.removed[tid]]
        self.meta[tid] = [self.meta[tid][k] for k in keep]
        if tid in self.vecs:
            self.vecs[tid], self.sims[tid] = self.vecs[tid][keep], self.sims[tid][keep]
        else:
            self.vecs[tid], self.sims[tid] = vecs[:0], np.zeros(0, np.float32)

    def __bool__(self) -> bool:
        return bool(self.count)

    def themes(self) -> list[int]:
        return list(self.count)


def _assign_learned(session: Session, labels_: Labels, meta, X: np.ndarray, threshold: float,
                    now: dt.datetime, active_ids: set[int]
                    ) -> tuple[_Gains, np.ndarray, dict[str, Any], learn.Model | None]:
    """Fit, self-train and file in one go, over rows held in memory (a rebuild); the model is returned too."""
    rng = np.random.default_rng(0)
    sample = np.arange(len(X)) if len(X) <= SELF_TRAIN_SAMPLE else np.sort(rng.choice(len(X), SELF_TRAIN_SAMPLE,
                                                                                       replace=False))
    model = _learned_model(labels_, X[sample], threshold, active_ids)
    gains = _Gains()
    figures = _learned_figures(model)
    if model is None:
        return gains, np.zeros(len(meta), dtype=bool), figures, None
    return gains, _file_learned(session, model, labels_, meta, X, now, gains, figures), figures, model


def _active_themes(session: Session) -> list[Theme]:
    return list(session.scalars(select(Theme).where(Theme.status.in_(ACTIVE)).order_by(Theme.id)))


def _centroid(theme: Theme) -> np.ndarray | None:
    return np.frombuffer(theme.centroid, dtype=np.float32) if theme.centroid else None


def _label_sample(old: Sequence[Sequence[float]], ids: Sequence[int], sims: Sequence[float]) -> list[list[float]]:
    """A theme's ``LABEL_SAMPLE`` best members as [segment id, similarity]: the old sample and newcomers merged."""
    merged = {int(sid): float(sim) for sid, sim in old}
    merged.update((int(sid), float(sim)) for sid, sim in zip(ids, sims))
    return [[sid, round(sim, 5)] for sid, sim in sorted(merged.items(), key=lambda kv: -kv[1])[:LABEL_SAMPLE]]


def _label_contrast(session: Session, exclude: set[int]) -> dict[int, list[labels.Member]]:
    """A bounded sample of members for every active theme: the background labels contrast with.

    Each theme keeps its ``LABEL_SAMPLE`` best members' ids in its metrics, updated as it grows, so this reads
    themes x ``LABEL_SAMPLE`` rows whatever the corpus; a theme without that record (made by a person, or by an
    older version) has its best members picked in the database instead.
    """
    sampled: dict[int, list[int]] = {}
    missing: list[int] = []
    for tid, metrics in session.execute(select(Theme.id, Theme.metrics).where(Theme.status.in_(ACTIVE))):
        if tid in exclude:
            continue
        if (metrics or {}).get("label_sample"):
            sampled[tid] = [int(sid) for sid, _sim in metrics["label_sample"]]
        else:
            missing.append(tid)
    out: dict[int, list[labels.Member]] = defaultdict(list)
    wanted = [sid for ids in sampled.values() for sid in ids]
    for start in range(0, len(wanted), 5000):
        for tid, text, lang, sim in session.execute(
                select(ThemeEvidence.theme_id, FeedbackSegment.text, FeedbackSegment.lang, ThemeEvidence.similarity)
                .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
                .where(ThemeEvidence.segment_id.in_(wanted[start:start + 5000]), ThemeEvidence.state == "active",
                       ThemeEvidence.theme_id.in_(list(sampled)))
                .order_by(ThemeEvidence.theme_id, ThemeEvidence.similarity.desc(), ThemeEvidence.id)):
            out[tid].append(labels.Member(text, lang, float(sim or 0.0)))
    if missing:
        rank = func.row_number().over(partition_by=ThemeEvidence.theme_id,
                                      order_by=(ThemeEvidence.similarity.desc(), ThemeEvidence.id)).label("rank")
        ranked = (select(ThemeEvidence.theme_id, FeedbackSegment.text, FeedbackSegment.lang,
                         ThemeEvidence.similarity, rank)
                  .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
                  .where(ThemeEvidence.theme_id.in_(missing), ThemeEvidence.state == "active")).subquery()
        for tid, text, lang, sim in session.execute(
                select(ranked.c.theme_id, ranked.c.text, ranked.c.lang, ranked.c.similarity)
                .where(ranked.c.rank <= LABEL_SAMPLE).order_by(ranked.c.theme_id, ranked.c.rank)):
            out[tid].append(labels.Member(text, lang, float(sim or 0.0)))
    return out


def org_forbidden(session: Session) -> labels.Forbidden:
    """What a theme label may never say in this org: its users', accounts' names and its loss-reason values.

    Retour's own integration user is left out: its name is made of ordinary words ("Retour Integration") that
    would forbid "integration" wherever a member capitalises it.
    """
    users = [n for n in session.scalars(select(SalesforceUser.name)) if n and "retour" not in n.lower()]
    accounts = [n for n in session.scalars(select(Account.name)) if n]
    picklist = [v for v in session.scalars(select(Opportunity.loss_reason).distinct()) if v]
    return labels.Forbidden.from_org(users=users, accounts=accounts, picklist=picklist)


def _name(session: Session, embedder: Embedder, means, new: dict[int, list[labels.Member]],
          centroids: dict[int, np.ndarray]) -> dict[int, labels.ThemeLabel]:
    """Labels for ``new`` themes (keys may be negative, for clusters not yet saved), contrasted with every active one.

    A short phrase from the members' own words, in each language their evidence is written in, never an org
    name, a bare picklist value or a logistics phrase (``jobs.labels.theme_labels``).
    """
    if not new:
        return {}
    active = _active_themes(session)
    background = _label_contrast(session, exclude=set(new))
    cents = {t.id: _centroid(t) for t in active if t.centroid and t.embedding_model == embedder.name}
    cents.update(centroids)
    avoid = [lab for t in active if t.id not in new for lab in (t.label_en, t.label_fr, t.label) if lab]
    return labels.theme_labels({**background, **new}, forbidden=org_forbidden(session),
                               embed=labels.centred_embedder(embedder, means or {}), centroids=cents,
                               only=set(new), avoid=avoid)


def _display_label(name: labels.ThemeLabel, members: Sequence[labels.Member], quote: str | None) -> str:
    """The one name shown when the reader's language has none: the name in the language most members use."""
    langs = Counter(m.lang for m in members)
    order = sorted(("en", "fr"), key=lambda lg: -langs.get(lg, 0))
    for lg in order:
        if getattr(name, lg):
            return getattr(name, lg)
    return labels.quote_label(quote) if quote else labels.UNTITLED


def _quotes(meta: Sequence[tuple[int, int, str, str]], vecs: np.ndarray, centroid: np.ndarray) -> list[dict[str, Any]]:
    """The title quote and two more: near the centre, unlike each other, and saying the problem in words.

    Among the ``QUOTE_POOL`` members nearest the centre, those whose own words carry a problem or need cue
    (``jobs.segment.classify``) are preferred when there are at least three: the member nearest the centre of a
    broad theme is often its blandest line ("Préparer une démo sur leurs données" titled a theme of budget
    reasons), and a product owner reads the title first.
    """
    rel = vecs @ centroid
    near = np.argsort(-rel, kind="stable")[:QUOTE_POOL]
    stating = near[[classify(meta[i][3]).reason == "feedback cue" for i in near]]
    pool = stating if len(stating) >= 3 else near
    texts = [meta[i][3] for i in pool]
    return [{"segment_id": meta[pool[j]][0], "item_id": meta[pool[j]][1], "text": texts[j]}
            for j in labels.representatives(vecs[pool], centroid, k=3, texts=texts)]


def _new_theme(session: Session, name: labels.ThemeLabel, meta, vecs: np.ndarray, sims: np.ndarray,
               embedder: Embedder, now: dt.datetime) -> Theme:
    cent = discovery.centroid_of(vecs)
    quotes = _quotes(meta, vecs, cent)
    members = [labels.Member(m[3], m[2], float(sm)) for m, sm in zip(meta, sims)]
    label = _display_label(name, members, quotes[0]["text"] if quotes else None)
    theme = Theme(label=label, label_en=name.en, label_fr=name.fr, title_quote=quotes[0]["text"] if quotes else None,
                  status="emerging", centroid=to_bytes(cent), embedding_model=embedder.name, created_at=now,
                  metrics={"members": len(meta), "quotes": quotes,
                           "label_sample": _label_sample([], [m[0] for m in meta], sims)})
    session.add(theme)
    session.flush()
    session.execute(insert(ThemeEvidence), [
        {"theme_id": theme.id, "segment_id": m[0], "similarity": float(s), "state": "active", "origin": "auto",
         "pinned": False, "created_at": now} for m, s in zip(meta, sims)])
    return theme


def _cluster_members(meta, X: np.ndarray, cl: np.ndarray, centroid: np.ndarray) -> list[labels.Member]:
    """A new cluster's members as the labeller reads them: best first, at most ``labels.MEMBERS_READ``."""
    sims = X[cl] @ centroid
    order = np.argsort(-sims, kind="stable")[:labels.MEMBERS_READ]
    return [labels.Member(meta[cl[i]][3], meta[cl[i]][2], float(sims[i])) for i in order]


def logistics_clusters(embedder: Embedder, means, centroids: Sequence[np.ndarray], *,
                       use_filter: bool = True) -> np.ndarray:
    """True for each cluster whose centre reads as logistics rather than feedback.

    Each member passed the filter on its own, yet a cluster of borderline lines ("Lancer le POC la semaine du
    13", "Ticket transmis au niveau 2") can form: what they share is the logistics, so their centre sits nearer
    the logistics prototypes than the feedback ones. The prototypes are centred like the segments, so the
    comparison happens in the space the centre lives in. Such a cluster is not made a theme; its members wait.

    The centre must clear the bar each clause clears (the embedder's ``feedback_margin``). A stricter bar (0)
    dropped real themes of long notes, whose clauses carry their note's logistics too: on the narrative set
    ARI 0.347 -> 0.290 and 7 of 18 themes gone; at the clause bar, 0.350 and 2 clusters kept out.
    """
    if not len(centroids) or not use_filter:
        return np.zeros(len(centroids), dtype=bool)  # with the filter off ([themes] filter), nothing is logistics
    fb, lg = prototypes.prototype_vectors(embedder)
    fb_c = centre(fb, [detect_lang(t) for t in prototypes.FEEDBACK], means) if means else fb
    lg_c = centre(lg, [detect_lang(t) for t in prototypes.LOGISTICS], means) if means else lg
    return prototypes.feedback_margin(np.stack(centroids), fb_c, lg_c) < embedder.feedback_margin


def feedback_clusters(X: np.ndarray, groups: Sequence[int], threshold: float, min_size: int, embedder: Embedder,
                      means, *, use_filter: bool = True) -> discovery.PoolResult:
    """The candidate pool's dense clusters whose centre reads as feedback (``logistics_clusters``): what may become
    themes. One place for both ways a pool is clustered (a pass and a rebuild)."""
    result = discovery.cluster_pool(X, threshold, min_size, group_of=groups)
    logistics = logistics_clusters(embedder, means, result.centroids, use_filter=use_filter)
    return discovery.PoolResult([c for c, lg in zip(result.clusters, logistics) if not lg],
                                [c for c, lg in zip(result.centroids, logistics) if not lg])


def _create_themes_from_pool(session: Session, meta, X: np.ndarray, threshold: float, min_size: int,
                             embedder: Embedder, now: dt.datetime, *, existing: list[Theme],
                             means=None, use_filter: bool = True) -> list[Theme]:
    """Cluster the candidate pool; each dense cluster becomes a new theme named once, contrasted with the rest.

    A cluster whose centre reads as logistics (``logistics_clusters``) is not made a theme.
    """
    if len(meta) < min_size:
        return []
    result = feedback_clusters(X, [m[1] for m in meta], threshold, min_size, embedder, means, use_filter=use_filter)
    if not result.clusters:
        return []
    names = _name(session, embedder, means, {-(k + 1): _cluster_members(meta, X, cl, result.centroids[k])
                                             for k, cl in enumerate(result.clusters)},
                  {-(k + 1): c for k, c in enumerate(result.centroids)})
    created = []
    for k, cl in enumerate(result.clusters):
        sims = X[cl] @ result.centroids[k]
        created.append(_new_theme(session, names[-(k + 1)], [meta[i] for i in cl], X[cl], sims, embedder, now))
    return created


def _update_touched(session: Session, themes: dict[int, Theme], gains: _Gains, embedder: Embedder, means) -> int:
    """Move centroids of themes that gained members (running mean), refresh quotes, propose renames on drift."""
    if not gains:
        return 0
    renames = 0
    # Only themes a pass discovered get rename proposals; a person's name is theirs.
    proposable = [tid for tid in gains.themes() if themes[tid].origin != "person" and themes[tid].status in ACTIVE]
    computed: dict[int, labels.ThemeLabel] = {}
    embed = labels.centred_embedder(embedder, means or {})  # reads a drifted label beside the theme's name
    if proposable:
        background = _label_contrast(session, exclude=set())
        computed = _name(session, embedder, means, {tid: background.get(tid, []) for tid in proposable}, {})
    for tid in gains.themes():
        theme = themes[tid]
        old = _centroid(theme)
        n = int(theme.metrics.get("members", 0) or 0)
        cent = normalise(((old * n if old is not None else 0) + gains.total[tid])[None, :])[0]
        theme.centroid = to_bytes(cent)
        theme.embedding_model = embedder.name
        # Quotes: keep the best of the current quotes and the newcomers (no need to reload every member).
        gone = gains.removed[tid]
        quote_ids = [q["segment_id"] for q in theme.metrics.get("quotes", []) if q["segment_id"] not in gone]
        q_meta, q_vecs = _load_segments(session, [FeedbackSegment.id.in_(quote_ids)], embedder, means) if quote_ids \
            else ([], np.zeros((0, embedder.dim), dtype=np.float32))
        cand_meta = list(q_meta) + gains.meta[tid]
        cand_vecs = np.vstack([q_vecs, gains.vecs[tid]]) if len(q_meta) else gains.vecs[tid]
        quotes = _quotes(cand_meta, cand_vecs, cent)
        theme.metrics = {**theme.metrics, "members": max(0, n + gains.count[tid]), "quotes": quotes,
                         "label_sample": _label_sample([p for p in theme.metrics.get("label_sample") or []
                                                        if int(p[0]) not in gone],
                                                       [m[0] for m in gains.meta[tid]], gains.sims[tid])}
        # The title quote is the typical sentence of the theme as it stands; it is a quote, not a name.
        if quotes:
            theme.title_quote = quotes[0]["text"]
        elif gone:
            theme.title_quote = None  # it may have been one that left
        name = computed.get(tid)
        if name is None:
            continue
        main = theme.label_lang()
        label = (getattr(name, main) if main else None) or name.en or name.fr
        if label and _drifted(theme.label, label) and label != theme.proposed_label and names_better(
                embed, cent, (theme.label, main or detect_lang(theme.label)),
                (label, "en" if label == name.en else "fr")):
            theme.proposed_label = label
            _propose(session, "rename", theme.id, None, {"label": label, "current": theme.label,
                                                         "label_en": name.en, "label_fr": name.fr})
            renames += 1
    return renames


RENAME_MARGIN = 0.05  # how much nearer the theme's centre a new name must sit than its name to be proposed


def names_better(embed: Callable[[Sequence[str], Sequence[str]], np.ndarray], centroid: np.ndarray,
                 current: tuple[str, str], proposed: tuple[str, str], margin: float = RENAME_MARGIN) -> bool:
    """Does the ``proposed`` (label, language) name the theme whose centre is ``centroid`` better than ``current``?

    Labels computed from current members drift (the members change, the best phrase of the day changes): a rename
    proposed on every drift asked people to trade "Support takes too long to answer" for "Amount revised", a
    logistics phrase some new notes shared. A drifted label is proposed only when it sits at least ``margin``
    nearer the theme's centre than the name the theme has, in the space the centre lives in.
    """
    vecs = normalise(np.asarray(embed([current[0], proposed[0]], [current[1], proposed[1]]), dtype=np.float32))
    sims = vecs @ np.asarray(centroid, dtype=np.float32)
    return bool(sims[1] >= sims[0] + margin)


def _drifted(current: str, computed: str) -> bool:
    """A rename is worth proposing only when the computed label shares no term with the current one."""
    a = set(labels.tokens(current))
    b = set(labels.tokens(computed))
    return bool(b) and not (a & b)


def _propose(session: Session, kind: str, theme_id: int, other_id: int | None, payload: dict[str, Any]) -> bool:
    """Open a proposal unless one for the same change is open or was already decided by a person."""
    q = select(ThemeProposal).where(ThemeProposal.kind == kind, ThemeProposal.theme_id == theme_id)
    if other_id is not None:
        q = q.where(ThemeProposal.other_theme_id == other_id)
    existing = list(session.scalars(q))
    if kind == "rename":
        for p in existing:
            if p.status == "open":
                p.payload = payload
                return False
            if p.status == "dismissed" and p.payload.get("label") == payload.get("label"):
                return False
    elif existing:
        return False
    session.add(ThemeProposal(kind=kind, theme_id=theme_id, other_theme_id=other_id, payload=payload))
    return True


def _blocked_pairs(session: Session) -> set[tuple[int, int]]:
    """Theme pairs a person separated (split) or whose merge they already answered: never proposed again."""
    blocked: set[tuple[int, int]] = set()
    for a, b in session.execute(select(ThemeProposal.theme_id, ThemeProposal.other_theme_id)
                                .where(ThemeProposal.kind == "merge")):
        if b is not None:
            blocked.add((min(a, b), max(a, b)))
    for (details,) in session.execute(select(CurationEvent.details).where(CurationEvent.action == "split")):
        a, b = details.get("source_theme_id"), details.get("new_theme_id")
        if a and b:
            blocked.add((min(a, b), max(a, b)))
    return blocked


def propose_merges(session: Session, threshold: float, taught: Collection[int] = frozenset()) -> int:
    """Merge proposals for active themes whose centres are as close as members; a pair with a theme people taught
    (``taught``) only when one of them repeats the other (``learn.repeat_bar``)."""
    themes = [t for t in _active_themes(session) if t.centroid]
    if len(themes) < 2:
        return 0
    C = np.stack([_centroid(t) for t in themes])
    pairs = discovery.merge_candidates(C, [t.id for t in themes], [t.threshold_offset for t in themes], threshold,
                                       blocked=_blocked_pairs(session), taught=set(taught),
                                       taught_bar=learn.repeat_bar(threshold))
    n = 0
    for a, b, sim in pairs[:50]:
        n += _propose(session, "merge", a, b, {"similarity": round(sim, 4), "threshold": round(threshold, 4)})
    return n


def propose_splits(session: Session, themes: Sequence[Theme], threshold: float, min_size: int,
                   embedder: Embedder, means, *, made: Sequence[Theme] = ()) -> int:
    """Look at themes never looked at, or grown by a quarter since last looked at: would they fall in two?

    Bounded: every theme this pass ``made`` (what is new), and at most ``SPLIT_CHECKS_PER_PASS`` of the others (the
    most grown first), each on a sample of ``SPLIT_SAMPLE`` members, so a pass stays proportional to what is new.
    Why the new ones all: a first pass makes a dozen themes or more, and three a pass left the demo's mixtures
    unproposed until its fifth pass.
    """
    n = 0
    new = {t.id for t in made}
    due = []
    for theme in [*themes, *(t for t in made if t not in themes)]:
        members = int(theme.metrics.get("members", 0) or 0)
        checked = int(theme.metrics.get("split_checked_at", 0) or 0)
        if members >= discovery.SPLIT_PROPOSAL_MIN_SIZE and members >= checked * 1.25:
            due.append((theme.id in new, members - checked, theme))
    due.sort(key=lambda d: (not d[0], -d[1]))
    for _new, _growth, theme in due[:len(new) + SPLIT_CHECKS_PER_PASS]:
        theme.metrics = {**theme.metrics, "split_checked_at": int(theme.metrics.get("members", 0) or 0)}
        seg_ids = (select(ThemeEvidence.segment_id).where(ThemeEvidence.theme_id == theme.id,
                                                          ThemeEvidence.state == "active")
                   .order_by(ThemeEvidence.id.desc()).limit(SPLIT_SAMPLE))
        meta, X = _load_segments(session, [FeedbackSegment.id.in_(seg_ids)], embedder, means)
        parts = discovery.split_candidate(X, threshold + theme.threshold_offset, min_size)
        if parts:
            parts = _named_part_first(theme, parts, X, embedder, means)
            core = discovery.carved_core(X, parts[1], threshold + theme.threshold_offset, min_size)
            if core is None:
                continue
            parts = [parts[0], core]
            # The part carved out is named as a new theme would be (the members' own words, in each language they
            # are written in, never a name from the org): the opening of its first quote offered "According to
            # Daan, the competitor is…" in the demo. A person still confirms or changes it before it is a theme.
            carved = discovery.centroid_of(X[parts[1]])
            name = _name(session, embedder, means, {-1: _cluster_members(meta, X, parts[1], carved)}, {-1: carved})
            # Each part shown by its most typical quotes, picked as a theme's own are (``_quotes``): its first three
            # rows by id showed the demo's KPI theme as "Group HQ standardised on the incumbent vendor", and its WCAG
            # part as a Basque line, so a person judged the split by its strays.
            examples = [[q["text"] for q in _quotes([meta[i] for i in p], X[p], discovery.centroid_of(X[p]))]
                        for p in parts]
            payload = {"groups": [[meta[i][0] for i in p] for p in parts], "examples": examples,
                       "label_en": name[-1].en, "label_fr": name[-1].fr}
            n += _propose(session, "split", theme.id, None, payload)
    return n


def _named_part_first(theme: Theme, parts: list[np.ndarray], X: np.ndarray, embedder: Embedder, means
                      ) -> list[np.ndarray]:
    """The two parts of a split, the one the theme's name speaks of first: it stays under that name, the other is
    carved out. Why: the larger part stayed, and in the demo "No accessibility statement" would have kept its SSO and
    Power BI stray lines while its accessibility quotes left under a new name (and "Interface is too complicated"
    would have given away its "too complicated" lines). The names are read like segments, centred like them."""
    names = [(n, lg) for n, lg in ((theme.label_en, "en"), (theme.label_fr, "fr")) if n] or \
        [(theme.label, detect_lang(theme.label))]
    said = labels.centred_embedder(embedder, means or {})([n for n, _ in names], [lg for _, lg in names])
    said = discovery.centroid_of(said)
    near = [float(discovery.centroid_of(X[p]) @ said) for p in parts]
    return parts if near[0] >= near[1] else [parts[1], parts[0]]


# --------------------------------------------------------------------------------------------- passes
def _incremental(session: Session, settings: Settings, embedder: Embedder, means, threshold: float,
                 now: dt.datetime, labels_: Labels) -> dict[str, Any]:
    """Assign what is new: first by what people taught (learned themes), then to discovered themes by nearness,
    then cluster what is left into proposed themes.

    Memory stays bounded whatever the corpus (``bench/themes_scale.py``): new segments are read a chunk at a
    time, the learned centres self-train on a sample, a pool too big to hold is clustered by sample-and-assign
    rounds, and neighbours of new text are looked for among the newest waiting segments only.
    """
    min_size = settings.themes.min_theme_size
    everything = {t.id: t for t in _active_themes(session)}
    learned_ids = {int(c) for c in np.unique(labels_.examples.classes) if c > 0} & set(everything)
    themes = {tid: t for tid, t in everything.items() if t.centroid and tid not in learned_ids}
    no_evidence = ~exists().where(ThemeEvidence.segment_id == FeedbackSegment.id)  # a person may have filed it
    new = [FeedbackSegment.processed_at.is_(None), no_evidence]
    waiting = [FeedbackSegment.processed_at.is_not(None), no_evidence]
    newest = session.scalar(select(func.max(FeedbackSegment.id)).where(FeedbackSegment.processed_at.is_(None)))
    model: learn.Model | None = None
    state = session.get(AppSetting, LEARNED_KEY)
    # Waiting text is read again whenever people's labels changed (a new label may claim it), a bounded id range
    # per pass: ``reread`` is that range's conditions, None when nothing is to be read again.
    reread, learned_state = (_reread_range(session, state, labels_.signature, no_evidence)
                             if len(labels_.examples) else (None, {}))
    ids = list(themes)
    C = np.stack([_centroid(themes[i]) for i in ids]) if ids else None
    thr = np.array([threshold + themes[i].threshold_offset for i in ids], dtype=np.float32)
    if len(labels_.examples):
        # Two reads rather than one OR: the re-read part stays a range of the primary key.
        sample = _sample_ids(session, new, SELF_TRAIN_SAMPLE, also=[*waiting, *reread] if reread else None)
        model = _learned_model(labels_, _load_ids(session, sample, embedder, means)[1], threshold, set(everything),
                               rivals=(C, thr) if ids else None)
    learned_figures = _learned_figures(model) if len(labels_.examples) else {}
    gains = _Gains()
    unassigned_ids: list[int] = []
    kept_meta: list[tuple[int, int, str, str]] = []  # the unassigned new segments, while few enough to hold
    kept_X: list[np.ndarray] = []
    for meta, X in _segment_chunks(session, new, embedder, means):
        rest = np.arange(len(meta))
        if model is not None:
            rest = np.flatnonzero(~_file_learned(session, model, labels_, meta, X, now, gains, learned_figures))
        meta, X = [meta[k] for k in rest], X[rest]
        unassigned = np.arange(len(meta))
        if ids and len(meta):
            idx, sims = discovery.assign(X, C, thr)
            claimed = np.where(idx >= 0, np.asarray(ids)[np.maximum(idx, 0)], 0)
            idx = np.where(learn.rejected_veto(_as_taught(labels_, meta, X), claimed, sims, labels_.rejected,
                                              threshold), -1, idx)
            rows = [{"theme_id": ids[j], "segment_id": meta[k][0], "similarity": float(sims[k]), "state": "active",
                     "origin": "auto", "pinned": False, "created_at": now} for k, j in enumerate(idx) if j >= 0]
            if rows:
                session.execute(insert(ThemeEvidence), rows)
            for j in np.unique(idx[idx >= 0]):
                ks = np.flatnonzero(idx == j)
                gains.add(ids[j], [meta[k] for k in ks], X[ks], sims[ks])
            unassigned = np.flatnonzero(idx < 0)
        unassigned_ids.extend(meta[k][0] for k in unassigned)
        if len(unassigned_ids) <= IN_MEMORY_POOL:
            kept_meta.extend(meta[k] for k in unassigned)
            kept_X.append(X[unassigned])
    if reread and model is not None:
        for meta, X in _segment_chunks(session, [*waiting, *reread], embedder, means):
            _file_learned(session, model, labels_, meta, X, now, gains, learned_figures)
        _refile_machine_evidence(session, model, labels_, reread, everything, embedder, means, now, gains,
                                 learned_figures)
    if model is not None:
        # What the filter turned off is read once when new, and again (in the same id range) whenever people's
        # labels changed.
        fresh = FeedbackSegment.processed_at.is_(None)
        off = _filtered_off(no_evidence) + ([or_(fresh, and_(*reread))] if reread else [fresh])
        logistics = _logistics_centred(embedder, means)
        for meta, X in _segment_chunks(session, off, embedder, means, feedback_only=False):
            _rescue_filtered(session, model, labels_, meta, X, now, gains, learned_figures, logistics)
    if newest is not None:
        # Every row turned off is marked, with or without a model: the first labels start a re-read sweep, which
        # reads filtered-off rows whatever their stamp (``_reread_range``), and clauses the cue rules turned off
        # (no vector) are never read by a pass. Left unmarked, they would fill the unprocessed index with the corpus.
        session.execute(update(FeedbackSegment).where(FeedbackSegment.processed_at.is_(None),
                                                      FeedbackSegment.is_feedback.is_(False),
                                                      FeedbackSegment.id <= newest).values(processed_at=now))
    if len(labels_.examples):
        value = {**learned_state, "at": now.isoformat()}
        if state is None:
            session.add(AppSetting(key=LEARNED_KEY, value=value))
        else:
            state.value = value
    touched = set(gains.themes())
    renames = _update_touched(session, everything, gains, embedder, means)
    created: list[Theme] = []
    if len(unassigned_ids) <= IN_MEMORY_POOL and unassigned_ids:
        new_meta = kept_meta
        new_X = np.vstack(kept_X) if kept_X else np.zeros((0, embedder.dim), np.float32)
        pool_meta, pool_X = new_meta, new_X
        # Candidate pool: the new unassigned segments plus the waiting ones close to them (a new theme must
        # involve something new: the waiting pool alone was already clustered by earlier passes).
        w_meta, w_X = _newest_waiting(session, waiting, embedder, means)
        if len(w_meta):
            # Each new segment brings its few nearest waiting neighbours above the threshold: enough to
            # complete a theme that was one or two members short, bounded whatever the pool's size.
            near = np.zeros(len(w_meta), dtype=bool)
            k = min(NEIGHBOURS, len(w_meta))
            for start in range(0, len(new_X), 1024):
                sims = w_X @ new_X[start:start + 1024].T
                top = np.argpartition(-sims, k - 1, axis=0)[:k]
                cols = np.arange(sims.shape[1])
                for r in range(k):
                    ok = sims[top[r], cols] >= threshold
                    near[top[r][ok]] = True
            w_idx = np.flatnonzero(near)[: max(0, INCREMENTAL_POOL_CAP - len(new_meta))]
            pool_meta = new_meta + [w_meta[i] for i in w_idx]
            pool_X = np.vstack([new_X, w_X[w_idx]])
        # All new unassigned segments are clustered (cluster_pool samples big pools); waiting neighbours are capped.
        created = _create_themes_from_pool(session, pool_meta, pool_X, threshold, min_size, embedder, now,
                                           existing=list(themes.values()), means=means,
                                           use_filter=settings.themes.filter)
    elif unassigned_ids:
        created = _stream_discovery(session, np.asarray(unassigned_ids, np.int64), threshold, min_size, embedder,
                                    means, now, labels_, use_filter=settings.themes.filter)
    if newest is not None:
        _mark_processed(session, now, up_to_id=newest, model=embedder.name)
    session.flush()
    # The themes discovery fills are candidates, the ones made by this very pass included: a first pass used to make
    # a dozen themes that no pass ever looked at again (only themes that grew were checked), so a mixture made on
    # day one never reached the desk as a split proposal. What a learned theme holds is people's to say.
    # ``propose_splits`` bounds how many it reads.
    splits = propose_splits(session, list(themes.values()), threshold, min_size, embedder, means, made=created)
    merges = propose_merges(session, threshold, learned_ids)
    in_new = sum(int(t.metrics.get("members", 0) or 0) for t in created)
    return {"segments_assigned": gains.filed + in_new,
            "segments_waiting": max(0, len(unassigned_ids) - in_new), "themes_created": len(created),
            "themes_touched": len(touched), "proposals_rename": renames, "proposals_merge": merges,
            "proposals_split": splits, **learned_figures}


def _reread_range(session: Session, state: AppSetting | None, signature: str, no_evidence: Any
                  ) -> tuple[list[Any] | None, dict[str, Any]]:
    """The id range of waiting and filtered-off text this pass reads again for people's new labels, and the state
    to store: (conditions, or None when nothing is to be read again; ``LEARNED_KEY``'s new value).

    When the labels change, a sweep starts at the newest segment and goes down ``REREAD_PER_PASS`` such segments a
    pass (each read with the model of that pass), so a pass costs the same whatever the corpus; a corpus whose
    waiting and filtered-off text fits in one range (every test's, and a small org's) is read whole at once, as
    before. The trade: on a large corpus, older waiting text meets new labels a few passes later (300,000 bench
    items: about 3 passes). Labels that change during a sweep do not restart it (text above the cursor would then
    be read again forever while older text never is): the stored ``signature`` is the one the finished sweep
    started with, so a change meanwhile starts a new sweep from the top once this one is done.
    """
    value = dict(state.value) if state is not None else {}
    sweep = value.get("sweep")
    if sweep is None:
        if value.get("signature") == signature:
            return None, value
        top = session.scalar(select(func.max(FeedbackSegment.id))) or 0
        sweep = {"signature": signature, "below": top + 1}
    below = int(sweep["below"])
    # The sweep ends at the oldest segment, not at id 0: ids need not start at 1 (a PostgreSQL sequence goes on
    # after deletions), and walking empty ids down to 0, SEARCH_SPAN a pass, never ended in time.
    lowest = session.scalar(select(func.min(FeedbackSegment.id))) or 0
    bottom = max(lowest, below - SEARCH_SPAN)
    # Newest first, by the primary key: reads only as far down as this pass's share (and at most SEARCH_SPAN ids).
    candidates = or_(and_(FeedbackSegment.is_feedback.is_(True), FeedbackSegment.processed_at.is_not(None),
                          no_evidence),
                     and_(*_filtered_off(no_evidence)),
                     exists().where(ThemeEvidence.segment_id == FeedbackSegment.id, *_MACHINE_FILED))
    floor = session.scalar(select(FeedbackSegment.id).where(FeedbackSegment.id < below, FeedbackSegment.id >= bottom,
                                                            candidates)
                           .order_by(FeedbackSegment.id.desc()).offset(REREAD_PER_PASS - 1).limit(1))
    floor = bottom if floor is None else int(floor)
    if floor <= lowest:  # the rest fits in this pass: the sweep ends here
        value.pop("sweep", None)
        value["signature"] = sweep["signature"]
    else:
        value["sweep"] = {"signature": sweep["signature"], "below": floor}
    return [FeedbackSegment.id >= floor, FeedbackSegment.id < below], value


def _newest_waiting(session: Session, waiting: Sequence[Any], embedder: Embedder, means
                    ) -> tuple[list[tuple[int, int, str, str]], np.ndarray]:
    """The newest ``WAITING_WINDOW`` waiting segments: the neighbours a new theme is most likely completed with.

    Older waiting text is not searched every pass (that cost would grow with the corpus); it is read again when
    people's labels change and by a rebuild. The window is looked for among the newest ``SEARCH_SPAN`` segments:
    when few segments wait, finding the 20,000th newest walked the whole table.
    """
    top = session.scalar(select(func.max(FeedbackSegment.id))) or 0
    bottom = max(0, top - SEARCH_SPAN)
    floor = session.scalar(select(FeedbackSegment.id).where(FeedbackSegment.is_feedback.is_(True), *waiting,
                                                            FeedbackSegment.id > bottom)
                           .order_by(FeedbackSegment.id.desc()).offset(WAITING_WINDOW - 1).limit(1))
    return _load_segments(session, [*waiting, FeedbackSegment.id >= (floor or bottom)], embedder, means)


def _stream_discovery(session: Session, pool_ids: np.ndarray, threshold: float, min_size: int, embedder: Embedder,
                      means, now: dt.datetime, labels_: Labels, *, use_filter: bool = True) -> list[Theme]:
    """Discovery over a pool too big to hold: cluster a sample, let the rest join what it found, repeat.

    Each round clusters ``discovery.POOL_CAP`` segments drawn at random from what is left (the same average
    linkage, pruning and settling as a small pool), then reads the rest a chunk at a time and files each
    segment under the new theme it clears the threshold for; what joins nothing is left for the next round.
    Memory holds one sample and one chunk.
    """
    rng = np.random.default_rng(0)
    remaining = np.sort(pool_ids)
    created: list[Theme] = []
    for _round in range(STREAM_ROUNDS):
        if len(remaining) < min_size:
            break
        sample = np.sort(rng.choice(remaining, min(discovery.POOL_CAP, len(remaining)), replace=False))
        s_meta, s_X = _load_ids(session, sample, embedder, means)
        new = _create_themes_from_pool(session, s_meta, s_X, threshold, min_size, embedder, now, existing=[],
                                       means=means, use_filter=use_filter)
        del s_meta, s_X
        if not new:
            continue
        created.extend(new)
        session.flush()
        taken = set(session.scalars(select(ThemeEvidence.segment_id)
                                   .where(ThemeEvidence.theme_id.in_([t.id for t in new]))))
        rest = remaining[~np.isin(remaining, np.fromiter(taken, np.int64, len(taken)))]
        C = np.stack([_centroid(t) for t in new])
        thr = np.full(len(new), threshold, dtype=np.float32)
        gains = _Gains()
        left: list[np.ndarray] = []
        for start in range(0, len(rest), STREAM_CHUNK):
            meta, X = _load_ids(session, rest[start:start + STREAM_CHUNK], embedder, means)
            idx, sims = discovery.assign(X, C, thr)
            claimed = np.where(idx >= 0, np.asarray([t.id for t in new])[np.maximum(idx, 0)], 0)
            idx = np.where(learn.rejected_veto(_as_taught(labels_, meta, X), claimed, sims, labels_.rejected,
                                              threshold), -1, idx)
            rows = [{"theme_id": new[j].id, "segment_id": meta[k][0], "similarity": float(sims[k]),
                     "state": "active", "origin": "auto", "pinned": False, "created_at": now}
                    for k, j in enumerate(idx) if j >= 0]
            if rows:
                session.execute(insert(ThemeEvidence), rows)
            for j in np.unique(idx[idx >= 0]):
                ks = np.flatnonzero(idx == j)
                gains.add(new[j].id, [meta[k] for k in ks], X[ks], sims[ks])
            left.append(np.asarray([meta[k][0] for k in np.flatnonzero(idx < 0)], np.int64))
        _update_touched(session, {t.id: t for t in new}, gains, embedder, means)
        remaining = np.concatenate(left) if left else np.zeros(0, np.int64)
    return created


def _mark_processed(session: Session, now: dt.datetime, *, up_to_id: int, model: str) -> None:
    """Mark what this pass loaded (same filter, bounded by id: segments written meanwhile wait for the next pass)."""
    session.execute(update(FeedbackSegment).where(FeedbackSegment.processed_at.is_(None),
                                                  FeedbackSegment.is_feedback.is_(True),
                                                  FeedbackSegment.embedding_model == model,
                                                  FeedbackSegment.id <= up_to_id)
                    .values(processed_at=now))


def _rebuild(session: Session, settings: Settings, embedder: Embedder, means, threshold: float,
             now: dt.datetime) -> dict[str, Any]:
    """Re-cluster everything not curated, then give matched new clusters the old themes' ids."""
    min_size = settings.themes.min_theme_size
    old = _active_themes(session)
    old_members: dict[int, set[int]] = defaultdict(set)
    for tid, sid in session.execute(select(ThemeEvidence.theme_id, ThemeEvidence.segment_id)
                                    .where(ThemeEvidence.theme_id.in_([t.id for t in old]),
                                           ThemeEvidence.state == "active")):
        old_members[tid].add(sid)
    # Curated rows stay; automatic ones are recomputed.
    session.execute(delete(ThemeEvidence).where(ThemeEvidence.origin == "auto",
                                                ThemeEvidence.state.in_(("active", "suggested")),
                                                ThemeEvidence.pinned.is_(False)))
    no_evidence = ~exists().where(ThemeEvidence.segment_id == FeedbackSegment.id)
    meta, X = _load_segments(session, [no_evidence], embedder, means)
    # What people taught is filed first; only the rest is clustered.
    labels_ = load_labels(session, embedder, means)
    learned_figures: dict[str, Any] = {}
    if len(labels_.examples):
        everything = {t.id: t for t in old}
        gains, taken, learned_figures, model = _assign_learned(session, labels_, meta, X, threshold, now,
                                                               set(everything))
        if model is not None:
            logistics = _logistics_centred(embedder, means)
            for off_meta, off_X in _segment_chunks(session, _filtered_off(no_evidence), embedder, means,
                                                   feedback_only=False):
                _rescue_filtered(session, model, labels_, off_meta, off_X, now, gains, learned_figures, logistics)
        _update_touched(session, everything, gains, embedder, means)
        rest = [k for k in range(len(meta)) if not taken[k]]
        meta, X = [meta[k] for k in rest], X[rest]
    result = feedback_clusters(X, [m[1] for m in meta], threshold, min_size, embedder, means,
                               use_filter=settings.themes.filter)
    clusters = [set(meta[i][0] for i in cl) for cl in result.clusters]
    # Greedy one-to-one matching by Jaccard overlap, best pairs first.
    pairs = []
    learned_ids = {int(c) for c in np.unique(labels_.examples.classes) if c > 0}
    for k, cl in enumerate(clusters):
        for t in old:
            if t.id in learned_ids:
                continue  # people's labels decide what a learned theme holds, not overlap with a new cluster
            inter = len(cl & old_members[t.id])
            if inter:
                pairs.append((inter / len(cl | old_members[t.id]), k, t.id))
    pairs.sort(reverse=True)
    matched_cluster: dict[int, int] = {}
    matched_theme: set[int] = set()
    for jac, k, tid in pairs:
        if jac >= REMATCH_MIN_JACCARD and k not in matched_cluster and tid not in matched_theme:
            matched_cluster[k] = tid
            matched_theme.add(tid)
    by_id = {t.id: t for t in old}
    themes_kept = 0
    unmatched_clusters = []
    for k, cl in enumerate(result.clusters):
        if k in matched_cluster:
            theme = by_id[matched_cluster[k]]
            cent = result.centroids[k]
            quotes = _quotes([meta[i] for i in cl], X[cl], cent)
            theme.centroid = to_bytes(cent)
            theme.embedding_model = embedder.name
            theme.metrics = {**theme.metrics, "members": len(cl), "quotes": quotes,
                             "label_sample": _label_sample([], [meta[i][0] for i in cl], X[cl] @ cent)}
            session.execute(insert(ThemeEvidence), [
                {"theme_id": theme.id, "segment_id": meta[i][0], "similarity": float(X[i] @ cent), "state": "active",
                 "origin": "auto", "pinned": False, "created_at": now} for i in cl])
            themes_kept += 1
        else:
            unmatched_clusters.append(k)
    # Old themes nobody matched: kept if a person invested in them (curated evidence, a decision, made or named
    # it), else dismissed.
    dismissed = 0
    for t in old:
        if t.id in matched_theme:
            continue
        curated = session.scalar(select(func.count()).select_from(ThemeEvidence)
                                 .where(ThemeEvidence.theme_id == t.id, ThemeEvidence.state == "active"))
        decided = session.scalar(select(func.count()).select_from(Decision).where(Decision.theme_id == t.id))
        if curated or decided or t.origin == "person":
            if t.embedding_model != embedder.name:
                seg_ids = select(ThemeEvidence.segment_id).where(ThemeEvidence.theme_id == t.id,
                                                                 ThemeEvidence.state == "active")
                _m, tx = _load_segments(session, [FeedbackSegment.id.in_(seg_ids)], embedder, means)
                t.centroid = to_bytes(discovery.centroid_of(tx)) if len(tx) else None
                t.embedding_model = embedder.name
            continue
        t.status = "dismissed"
        t.reason = "not found again by the rebuild of " + now.date().isoformat()
        dismissed += 1
    session.flush()
    created = []
    if unmatched_clusters:
        names = _name(session, embedder, means,
                      {-(k + 1): _cluster_members(meta, X, result.clusters[k], result.centroids[k])
                       for k in unmatched_clusters},
                      {-(k + 1): result.centroids[k] for k in unmatched_clusters})
        for k in unmatched_clusters:
            cl = result.clusters[k]
            created.append(_new_theme(session, names[-(k + 1)], [meta[i] for i in cl], X[cl],
                                      X[cl] @ result.centroids[k], embedder, now))
    session.execute(update(FeedbackSegment).where(FeedbackSegment.is_feedback.is_(True))
                    .values(processed_at=now))
    session.flush()
    splits = propose_splits(session, [t for t in _active_themes(session) if t.centroid and t.id not in learned_ids],
                            threshold, min_size, embedder, means, made=created)
    merges = propose_merges(session, threshold, learned_ids)
    return {"segments_assigned": int(sum(len(c) for c in result.clusters)) + learned_figures.get("learned_assigned", 0),
            "segments_waiting": len(meta) - int(sum(len(c) for c in result.clusters)),
            "themes_created": len(created), "themes_kept": themes_kept, "themes_dismissed": dismissed,
            "proposals_merge": merges, "proposals_split": splits, **learned_figures}


def spaces_to_rebuild(session: Session, embedder: Embedder) -> list[str]:
    """Names of the other spaces (model, or how vectors are made) active themes were built in: empty when none."""
    return sorted(set(session.scalars(select(Theme.embedding_model).where(
        Theme.status.in_(ACTIVE), Theme.embedding_model != embedder.name)).all()), key=str)


def run_theme_pass(session: Session, settings: Settings, rebuild: bool = False, *,
                   now: dt.datetime | None = None, embedder: Embedder | None = None,
                   before_assign: Callable[[Session, Embedder], Any] | None = None) -> dict[str, Any]:
    """One pass over what is new (or, with ``rebuild``, over everything); returns grep-able figures.

    ``before_assign`` runs once text is segmented and embedded, before anything is assigned: labels given
    there (``jobs.seeds``) teach this very pass.
    """
    started = time.perf_counter()
    now = now or utcnow()
    embedder = embedder or get_embedder(settings.themes.backend)
    rules = cm.rules_from_settings(settings.critical_mass)  # fail early on a bad scope
    figures: dict[str, Any] = {"backend": embedder.name, "rebuild": rebuild}
    if not rebuild:
        wrong = spaces_to_rebuild(session, embedder)
        if wrong:
            raise ThemePassError(f"themes were built with {', '.join(map(str, wrong))} but [themes] backend gives "
                                 f"{embedder.name}: run `retour themes --rebuild` to rebuild them in the new space.")
    use_filter = settings.themes.filter
    step = time.perf_counter()

    def took(name: str) -> None:
        # Where a pass's time goes, in its own figures (the log, the job table, bench/themes_scale.py): a step
        # whose time grows with the corpus shows as such.
        nonlocal step
        figures[f"{name}_s"] = round(time.perf_counter() - step, 3)
        step = time.perf_counter()

    figures["items_segmented"], figures["segments_created"] = segment_new_items(session, use_filter=use_filter)
    session.flush()
    took("segment")
    figures["segments_embedded"] = embed_pending(session, embedder, use_filter=use_filter)
    session.flush()
    took("embed")
    means = centring_means(session, embedder, recompute=rebuild)
    if before_assign is not None:
        before_assign(session, embedder)
        session.flush()
    labels_ = load_labels(session, embedder, means)
    # Granularity: the encoder's base, moved by the setting (and per theme by people's merges and splits). How
    # loosely people's examples sit together sets only the bar of the themes they labelled (jobs.learn.fit). It used
    # to set the whole org's discovery threshold once 5 themes were labelled: people's examples are tight by the way
    # they are made (a search, three sentences, a split's carved part), and a product owner's first hour of curating
    # the demo moved it from 0.21 to 0.39 with no word on the desk; the next rebuild made 66 themes of 13. With 5 seeds
    # per theme it changed nothing measurable (CLINC150 0.804 / 0.803, the short and narrative sets identical).
    threshold = discovery.threshold_for(settings.themes.granularity, embedder.base_threshold)
    figures["threshold"] = round(threshold, 4)
    if rebuild:
        figures.update(_rebuild(session, settings, embedder, means, threshold, now))
    else:
        figures.update(_incremental(session, settings, embedder, means, threshold, now, labels_))
    session.flush()
    took("assign")
    _fresh_statistics(session, figures["segments_created"])
    figures.update(refresh_critical_mass(session, settings, now=now, rules=rules))
    session.flush()
    took("figures")
    figures["seconds"] = round(time.perf_counter() - started, 3)
    log.info("job=themes state=finished %s", " ".join(f"{k}={v}" for k, v in figures.items()))
    return figures


PASS_ATTEMPTS = 3  # a pass that met a person's change runs again, at most this many times in all


def run_pass(factory: sessionmaker[Session], settings: Settings, *, rebuild: bool = False,
             embedder: Embedder | None = None, attempts: int = PASS_ATTEMPTS,
             before_assign: Callable[[Session, Embedder], Any] | None = None) -> dict[str, Any]:
    """One theme pass in a transaction of its own, run again from the start when a person changed a theme it wrote.

    Why: a pass reads the active themes, works for seconds (minutes for a rebuild), then writes their centres,
    counts and status; a product owner may merge, dismiss or curate one of them meanwhile. ``Theme.version`` makes
    the pass's write of a row changed since it was read fail (``StaleDataError``) rather than overwrite the
    person's act; the pass's whole transaction is rolled back, so nothing half-done stays, and it runs again on
    what the person left. Its figures say how many attempts it took. ``before_assign`` as for
    :func:`run_theme_pass`, on every attempt.
    """
    attempt = 1
    while True:
        try:
            with session_scope(factory) as session:
                figures = run_theme_pass(session, settings, rebuild=rebuild, embedder=embedder,
                                         before_assign=before_assign)
            return {**figures, "attempts": attempt}
        except StaleDataError as exc:
            if attempt >= attempts:
                raise ThemePassError(f"themes kept changing while the pass ran ({attempts} attempts): nothing was "
                                     "written; the next scheduled pass tries again") from exc
            log.info("job=themes state=retry attempt=%d reason=theme-changed-meanwhile", attempt)
            attempt += 1


ANALYZE_SHARE = 0.1  # a pass that wrote this share of the clauses the planner knows of has them analysed


def _fresh_statistics(session: Session, written: int) -> None:
    """On PostgreSQL, have the planner count what a big pass just wrote before the figures are measured.

    Autovacuum analyses a table some time after it grew; until then the planner plans with the row counts of before
    the load, and the figures' joins of a pass right after a first one ran as nested loops over every citation (300,000
    bench items: measuring every theme 1.2 s instead of 0.7, the org's volume 1.3 s instead of 0.27). Statistics
    written here are the transaction's and stay when it commits; a pass that wrote little leaves them to autovacuum.
    """
    if not written or session.get_bind().dialect.name != "postgresql":
        return
    known = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'feedback_segment'")) or 0
    if written >= ANALYZE_SHARE * max(float(known), 0.0):
        session.execute(text("ANALYZE feedback_item, feedback_segment, theme_evidence"))


# --------------------------------------------------------------------------------------------- critical mass
def refresh_critical_mass(session: Session, settings: Settings, *, now: dt.datetime,
                          rules: list[cm.Rule] | None = None) -> dict[str, Any]:
    """Store every active theme's status, stamps, verdict and score as ``jobs.figures.judge`` says them now.

    The pages judge again on every data change with the same function, so what is stored here is the lifecycle's
    record (``critical_since``, ``decided_at``) and a snapshot for readers of the row, never a second definition.
    """
    themes = _active_themes(session)
    if not themes:
        return {"themes_active": 0, "themes_critical": 0}
    rules = rules or cm.rules_from_settings(settings.critical_mass)
    glob = rules[0]
    windows = (None, *dict.fromkeys(r.window_days for r in rules))
    session.flush()
    measured = measure(session, settings, now=now, windows=windows)  # all time too: the stored score

    def measurer(scope: Scope) -> dict[int, ThemeFigures]:
        return measured if not scope.filtered else measure(session, settings, scope, now=now, windows=windows)

    org = volumes(session, settings, now=now)
    judged = judge(session, settings, now=now, measurer=measurer, org=org)
    currency = settings.critical_mass.currency
    became = 0
    for theme in themes:
        j = judged[theme.id]
        if j.status == "critical" and theme.status != "critical":
            became += 1
        theme.status = j.status
        theme.critical_since = j.critical_since
        theme.decided_at = j.decided_at
        theme.reason = j.reason
        # All time, as the board orders themes by default.
        theme.score = figures_of(measured, theme.id, None, currency).score
        # Drop the figures earlier versions kept at the top level: the pages never read them from here.
        kept = {k: v for k, v in theme.metrics.items() if k not in _OLD_FIGURE_KEYS}
        theme.metrics = {**kept, "figures": j.figures.as_json(), "rules_met": list(j.met_rules),
                         "verdict": j.verdict, "projection": j.projection.isoformat() if j.projection else None,
                         "computed_at": now.isoformat()}
    glob_volume = org[glob.name]
    return {"themes_active": len(themes), "themes_critical": sum(t.status == "critical" for t in themes),
            "themes_became_critical": became, "feedback_accounts": glob_volume.accounts,
            "feedback_at_stake": glob_volume.at_stake}


_OLD_FIGURE_KEYS = ("accounts", "items", "revenue_lost", "revenue_open", "revenue_at_stake", "score", "trend_30",
                    "trend_90", "new_accounts_90", "items_90", "window_days", "scopes")
