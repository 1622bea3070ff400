"""What a product owner does to themes in the UI; every act is logged and kept by every later pass.

How passes keep it: an evidence row touched here becomes ``origin="curator"`` (or ``state="rejected"``), and
passes never delete, move or re-create such rows — not even a rebuild. A merged theme gets status "merged"
and ``merged_into_id``; passes only ever look at active themes, so it stays merged until a person undoes the
merge (``unmerge``): the rows it moved carry ``merged_from_id`` and its log event what else it changed.

How passes learn from it (``jobs.learn``): every act here is a label. Evidence a person put under a theme
(moved, pinned, accepted, chosen to make a theme) and the example sentences they wrote are that theme's
examples; a segment called "not feedback" is an example of the no-feedback class (``person_verdict`` False);
a rejected quote keeps near-duplicates out of that theme. The next pass assigns new and waiting text by
what was learned. ``retour themes discover --seeds`` replays a file of labels through these same functions.

Curators also teach granularity: merging two themes lowers the local threshold of the surviving theme (it
was drawn too narrow), splitting one raises the local threshold of both parts (it was drawn too broad).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jobs import discovery
from retour.folding import wording
from retour.models import (ACTIVE, CurationEvent, FeedbackItem, FeedbackSegment, Theme, ThemeEvidence, ThemeExample,
                           ThemeProposal)

MAX_LABEL = 200
MAX_EXAMPLE = 1000  # characters of one example sentence
MAX_EXAMPLES = 50  # example sentences given at once


# Why a change can be refused. A caller that speaks another language says each code in its own words (the web
# app's catalogue does: webapp.actions.CURATION_REFUSALS, which a test keeps covering every code here); the English
# message is for logs, the CLI and tests.
CODES = frozenset({
    "inactive",  # theme_id, status, what: the theme is merged or dismissed
    "label_empty", "label_too_long",  # max, got
    "name_taken",  # name (the other theme's own writing of it), typed, theme_id, act: "create" | "file" |
    # "rename" | "split"
    "lang_unknown",  # lang
    "merge_into_itself", "already_there", "pin_rejected",
    "evidence_missing", "evidence_elsewhere",  # theme_id
    "split_empties", "none_chosen",
    "segment_missing",  # ids
    "examples_empty", "examples_too_many",  # max, got
    "example_too_long",  # max, sentence
    "new_theme_empty",
    "not_a_suggestion",  # act: "accepted" | "declined"
    "not_merged",  # theme_id: there is no merge to undo
    "merge_not_recorded",  # theme_id: merged before merges could be undone
    "merge_target_inactive",  # theme_id, target_id, status ("merged" | "dismissed"), into_id (when merged)
    # jobs.proposals (its ProposalError is a CurationError): answering a proposal of the theme pass
    "proposal_answered",  # act: "accepted" | "declined"
    "proposal_gone", "proposal_moved",
    "split_nothing_chosen", "split_choice_gone",  # a split reviewed quote by quote: none ticked, or one left meanwhile
    "split_into_itself", "split_target_missing",  # theme_id: a split's part sent to an existing theme
    "proposal_kind_unknown",  # kind
    "merge_outside_proposal",  # into
})


class CurationError(ValueError):
    """The requested change cannot be made: ``code`` (one of :data:`CODES`) says why, ``params`` the figures and
    names the reason needs, and ``str()`` is the English sentence.

    Jobs never import Flask, so the reader's language is the caller's business; a typed code rather than the
    English text lets the web app say every refusal through its catalogue, and an unknown code fails here, at
    once, rather than reaching a French page in English.
    """

    def __init__(self, code: str, message: str, **params: Any) -> None:
        if code not in CODES:
            raise ValueError(f"unknown curation refusal code {code!r}")
        super().__init__(message)
        self.code = code
        self.params = params


def _user_id(user: Any) -> int | None:
    if user is None:
        return None
    return user if isinstance(user, int) else getattr(user, "id", None)


def _log(session: Session, action: str, theme: Theme | None, user: Any, **details: Any) -> CurationEvent:
    event = CurationEvent(action=action, theme_id=theme.id if theme is not None else None, user_id=_user_id(user),
                          details=details)
    session.add(event)
    return event


def _active(theme: Theme, what: str) -> None:
    if theme.status in ("merged", "dismissed"):
        raise CurationError("inactive", f"theme {theme.id} is {theme.status}: it cannot be {what}.",
                            theme_id=theme.id, status=theme.status, what=what)


def _centred_vectors(session: Session, segment_ids: Sequence[int]) -> np.ndarray:
    """The segments' vectors in the centred space theme centroids live in (same means as the passes)."""
    by_id = centred_vectors_by_id(session, segment_ids)
    return np.stack(list(by_id.values())) if by_id else np.zeros((0, 0), dtype=np.float32)


def centred_vectors_by_id(session: Session, segment_ids: Sequence[int]) -> dict[int, np.ndarray]:
    """Each segment's vector (those that have one) in the centred space theme centroids live in, by segment id."""
    from jobs.embed import centre, group_key
    from jobs.themes import CENTRING_KEY
    from retour.models import AppSetting

    rows = session.execute(select(FeedbackSegment.id, FeedbackSegment.lang, FeedbackSegment.embedding,
                                  FeedbackItem.channel)
                           .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id).where(
        FeedbackSegment.id.in_(list(segment_ids)), FeedbackSegment.embedding.is_not(None))).all()
    if not rows:
        return {}
    setting = session.get(AppSetting, CENTRING_KEY)
    means = {k: np.asarray(v, np.float32) for k, v in (setting.value.get("means", {}) if setting else {}).items()}
    raw = np.stack([np.frombuffer(r.embedding, np.float32) for r in rows])
    vecs = centre(raw, [group_key(r.lang, r.channel) for r in rows], means)
    return {r.id: v for r, v in zip(rows, vecs)}


def name_owner(session: Session, name: str, theme: Theme | None = None) -> int | None:
    """The active theme other than ``theme`` that already has ``name`` as one of its names (label, label_en,
    label_fr; case and spacing aside), the first by number; None when the name is free."""
    owner = _owner(session, name, theme)
    return owner[0] if owner else None


def _owner(session: Session, name: str, theme: Theme | None) -> tuple[int, str] | None:
    """:func:`name_owner` and the name as that theme writes it (a refusal quotes the other theme, not the typing).

    The names are compared here rather than in SQL: SQLite's lower() folds ASCII only ("Équipe" would pass).
    """
    key = wording(name)
    stmt = select(Theme.id, Theme.label, Theme.label_en, Theme.label_fr).where(Theme.status.in_(ACTIVE))
    if theme is not None and theme.id is not None:
        stmt = stmt.where(Theme.id != theme.id)
    for theme_id, *names in session.execute(stmt.order_by(Theme.id)):
        for n in names:
            if n and wording(n) == key:
                return theme_id, n
    return None


# What a person refused a taken name may do instead, per act: a split's part is moved there, not merged.
_INSTEAD = {"create": "add your sentences to that theme", "file": "file the quotes under that theme",
            "split": "move the quotes of this part to that theme", "rename": "merge into that theme"}


def _name_free(session: Session, name: str, theme: Theme | None, act: str) -> None:
    """Refuse a name a person gives when another active theme already has it, in either language.

    Why: accepting a split under the name of an existing theme made a second "Power BI connector", and every list
    a person picks a theme from then offered the name twice. Every person-given name passes here (creating,
    renaming, naming in one language, splitting, answering a proposal); the theme pass's own names do not. The
    refusal names the other theme as it is written ("csv EXPORTS" typed, "CSV exports" taken): the person's typing
    stays in its box.
    """
    owner = _owner(session, name, theme)
    if owner is not None:
        theme_id, taken = owner
        raise CurationError("name_taken", f"A theme is already called “{taken}” (#{theme_id}): pick another name, "
                            f"or {_INSTEAD[act]}.", name=taken, typed=name, theme_id=theme_id, act=act)


def _lose(theme: Theme, segment_ids: Sequence[int]) -> None:
    """The theme's count and quotes without these segments (each was one of its active rows until now)."""
    gone = set(segment_ids)
    theme.metrics = {**theme.metrics, "members": max(0, int(theme.metrics.get("members", 0) or 0) - len(gone)),
                     "quotes": [q for q in theme.metrics.get("quotes", []) if q.get("segment_id") not in gone]}


def _close_proposals(session: Session, theme_ids: Sequence[int], kinds: Sequence[str], status: str) -> None:
    for p in session.scalars(select(ThemeProposal).where(ThemeProposal.status == "open",
                                                         ThemeProposal.kind.in_(list(kinds)))):
        if p.theme_id in theme_ids or p.other_theme_id in theme_ids:
            p.status = status


def _settled(*rows: ThemeEvidence) -> None:
    """A person acted on these rows: where they stand now is that person's word, which undoing a merge keeps."""
    for ev in rows:
        ev.merged_from_id = None


def rename(session: Session, theme: Theme, label: str, user: Any, lang: str | None = None) -> Theme:
    """Give a theme the name a person chose; pending rename proposals are answered by it.

    The name is also the theme's name in ``lang`` ("en" / "fr"; by default the language whose name it replaces,
    else the language it reads as), so a reader of that language sees it.
    """
    label = " ".join((label or "").split())
    if not label:
        raise CurationError("label_empty", "a theme label cannot be empty.")
    if len(label) > MAX_LABEL:
        raise CurationError("label_too_long", f"a theme label is at most {MAX_LABEL} characters (got {len(label)}).",
                            max=MAX_LABEL, got=len(label))
    if lang is not None and lang not in ("en", "fr"):
        raise CurationError("lang_unknown", "a theme is named in English (en) or French (fr).", lang=lang)
    old = theme.label
    if lang is None:
        from jobs.embed import detect_lang

        lang = theme.label_lang() or detect_lang(label)
    _name_free(session, label, theme, "rename")
    theme.label = label
    setattr(theme, f"label_{lang}", label)
    theme.origin = "person"
    if theme.proposed_label is not None:
        accepted = theme.proposed_label == label
        _close_proposals(session, [theme.id], ["rename"], "accepted" if accepted else "dismissed")
        theme.proposed_label = None
    _log(session, "rename", theme, user, old=old, new=label)
    session.flush()
    return theme


def name_in(session: Session, theme: Theme, lang: str, label: str, user: Any) -> Theme:
    """Give the theme its name in one language ("en" or "fr"), written by a person (there is no offline
    translation: a theme with French evidence and no French name asks a person for one)."""
    if lang not in ("en", "fr"):
        raise CurationError("lang_unknown", "a theme is named in English (en) or French (fr).", lang=lang)
    label = _clean_label(label)
    _name_free(session, label, theme, "rename")
    old = getattr(theme, f"label_{lang}")
    setattr(theme, f"label_{lang}", label)
    theme.origin = "person"
    _log(session, "name_in", theme, user, lang=lang, old=old, new=label)
    session.flush()
    return theme


def confirm(session: Session, theme: Theme, user: Any) -> Theme:
    """A person says the theme is right as shown: its names become theirs and its typical quotes their evidence.

    Confirming is a curation act like the others, so it teaches: the quotes the theme shows as typical (its
    title quote and the next ones, ``metrics["quotes"]``) become curated evidence — labels the next pass learns
    the theme from, kept by every pass — and the names stand as a person's (no rename is proposed any more; an
    open proposal is declined, the person having kept the name). Confirming again changes nothing more.
    """
    _active(theme, "confirmed")
    shown = [int(q["segment_id"]) for q in (theme.metrics or {}).get("quotes", []) if q.get("segment_id")]
    evidence = list(session.scalars(select(ThemeEvidence).where(
        ThemeEvidence.theme_id == theme.id, ThemeEvidence.segment_id.in_(shown),
        ThemeEvidence.state == "active"))) if shown else []
    for ev in evidence:
        ev.origin = "curator"
    _said_feedback(session, [ev.segment_id for ev in evidence], True)
    theme.origin = "person"
    if theme.proposed_label is not None:
        _close_proposals(session, [theme.id], ["rename"], "dismissed")
        theme.proposed_label = None
    _log(session, "confirm", theme, user, count=len(evidence))
    session.flush()
    return theme


def merge(session: Session, source: Theme, target: Theme, user: Any) -> Theme:
    """Fold ``source`` into ``target``: evidence moves, source stays merged, target grows broader.

    Everything undoing it needs is kept (``unmerge``): each moved row names the source in ``merged_from_id``, and
    the log event holds the source's status and reason, the threshold step taken, the rows of segments the target
    already had (deleted here: a segment stands once per theme) and which moved rows came from earlier merges into
    the source (their ``merged_from_id`` is this merge's now).
    """
    if source.id == target.id:
        raise CurationError("merge_into_itself", "a theme cannot be merged into itself.")
    _active(source, "merged")
    _active(target, "merged into")
    have = {ev.segment_id: ev for ev in session.scalars(select(ThemeEvidence).where(ThemeEvidence.theme_id == target.id))}
    moved = joined = 0
    kept_back: list[dict[str, Any]] = []
    earlier: dict[str, list[int]] = {}
    promoted: list[dict[str, Any]] = []
    was_auto: list[int] = []  # moved rows the pass had filed: filed by a person now, by the pass again after an undo
    for ev in list(session.scalars(select(ThemeEvidence).where(ThemeEvidence.theme_id == source.id)
                                   .order_by(ThemeEvidence.id))):
        theirs = have.get(ev.segment_id)
        if theirs is not None:
            kept_back.append({"segment_id": ev.segment_id, "state": ev.state, "origin": ev.origin,
                              "pinned": ev.pinned, "similarity": ev.similarity, "merged_from_id": ev.merged_from_id,
                              "target_state": theirs.state})
            stronger = theirs.state == "suggested" or (ev.origin == "curator" and theirs.origin != "curator") \
                or (ev.pinned and not theirs.pinned)
            if ev.state == "active" and theirs.state != "rejected" and stronger:
                # The source's word on the quote carries over to the target's row: a member the pass only suggested
                # for the target is a member of the merged theme (deleting the source's row alone dropped the
                # quote from both), and a quote a person filed or pinned stays theirs.
                promoted.append({"id": theirs.id, "state": theirs.state, "origin": theirs.origin,
                                 "pinned": theirs.pinned, "merged_from_id": theirs.merged_from_id})
                joined += theirs.state != "active"
                if ev.origin == "curator" or theirs.state == "suggested":
                    theirs.origin = "curator"
                theirs.state, theirs.pinned, theirs.merged_from_id = "active", theirs.pinned or ev.pinned, source.id
            session.delete(ev)
            continue
        if ev.merged_from_id is not None:
            earlier.setdefault(str(ev.merged_from_id), []).append(ev.id)
        if ev.origin != "curator":
            was_auto.append(ev.id)
        ev.theme_id = target.id
        ev.origin = "curator"
        ev.merged_from_id = source.id
        moved += 1
        joined += ev.state == "active"
    # Weighted mean of the two centroids (both in the centred space the passes use).
    nt = int(target.metrics.get("members", 0) or 0)
    if source.centroid and target.centroid:
        from jobs.embed import normalise, to_bytes
        ns = int(source.metrics.get("members", 1) or 1)
        c = np.frombuffer(source.centroid, np.float32) * ns + np.frombuffer(target.centroid, np.float32) * max(nt, 1)
        target.centroid = to_bytes(normalise(c[None, :])[0])
    target.metrics = {**target.metrics, "members": nt + joined}
    # The source's other open proposals end with it; an undo opens them again (a dismissed merge proposal would
    # keep the pair apart for good).
    closed = [p.id for p in session.scalars(select(ThemeProposal).where(ThemeProposal.status == "open"))
              if source.id in (p.theme_id, p.other_theme_id) and {p.theme_id, p.other_theme_id} != {source.id, target.id}]
    undo = {"status": source.status, "reason": source.reason, "kept_back": kept_back, "earlier": earlier,
            "promoted": promoted, "was_auto": was_auto, "closed_proposals": closed,
            "offset_step": target.threshold_offset - max(-0.2, target.threshold_offset - discovery.OFFSET_STEP)}
    source.status = "merged"
    source.merged_into_id = target.id
    source.reason = f"merged into theme {target.id}"
    target.threshold_offset = max(-0.2, target.threshold_offset - discovery.OFFSET_STEP)
    for p in session.scalars(select(ThemeProposal).where(ThemeProposal.status == "open", ThemeProposal.kind == "merge")):
        if {p.theme_id, p.other_theme_id} == {source.id, target.id}:
            p.status = "accepted"
        elif source.id in (p.theme_id, p.other_theme_id):
            p.status = "dismissed"
    _close_proposals(session, [source.id], ["rename", "split"], "dismissed")
    _log(session, "merge", target, user, source_theme_id=source.id, target_theme_id=target.id, moved=moved,
         threshold_offset=target.threshold_offset, undo=undo)
    # Said on the source's page too: a merged theme's page is where a person looks for what became of it.
    _log(session, "merged", source, user, target_theme_id=target.id, moved=moved)
    session.flush()
    return target


def _merge_record(session: Session, source: Theme, target: Theme) -> dict[str, Any] | None:
    """What the latest merge of ``source`` into ``target`` changed (its log event's ``undo``), None when it was made
    before merges kept it."""
    for details in session.scalars(select(CurationEvent.details).where(
            CurationEvent.action == "merge", CurationEvent.theme_id == target.id).order_by(CurationEvent.id.desc())):
        if isinstance(details, dict) and details.get("source_theme_id") == source.id:
            undo = details.get("undo")
            return undo if isinstance(undo, dict) else None
    return None


def _standing_duplicates(session: Session, target: Theme, source: Theme) -> dict[int, int]:
    """Segment -> theme, for the quotes other themes merged into ``target`` (and still merged there) also held:
    their merges dropped their rows as duplicates of the one ``source``'s merge had brought."""
    out: dict[int, int] = {}
    for details in session.scalars(select(CurationEvent.details).where(
            CurationEvent.action == "merge", CurationEvent.theme_id == target.id).order_by(CurationEvent.id)):
        other_id = details.get("source_theme_id") if isinstance(details, dict) else None
        if other_id is None or other_id == source.id:
            continue
        other = session.get(Theme, other_id)
        if other is None or other.status != "merged" or other.merged_into_id != target.id:
            continue
        for d in (details.get("undo") or {}).get("kept_back") or []:
            out.setdefault(int(d["segment_id"]), int(other_id))
    return out


def merge_undoable(session: Session, source: Theme) -> bool:
    """Whether ``unmerge`` has what it needs for this merged theme: merges made before they were recorded have not."""
    if source.status != "merged" or source.merged_into_id is None:
        return False
    target = session.get(Theme, source.merged_into_id)
    return target is not None and _merge_record(session, source, target) is not None


def _recentre(session: Session, theme: Theme) -> None:
    """The theme's centre and member count from its active evidence (a bounded sample, as ``split`` does)."""
    active = select(ThemeEvidence.segment_id).where(ThemeEvidence.theme_id == theme.id, ThemeEvidence.state == "active")
    members = session.scalar(select(func.count()).select_from(active.subquery())) or 0
    vecs = _centred_vectors(session, session.scalars(active.order_by(ThemeEvidence.id).limit(5000)).all())
    if len(vecs) and vecs.shape[1]:
        from jobs.embed import to_bytes
        theme.centroid = to_bytes(discovery.centroid_of(vecs))
    quoted = [q.get("segment_id") for q in (theme.metrics or {}).get("quotes", []) if q.get("segment_id")]
    here = set(session.scalars(active.where(ThemeEvidence.segment_id.in_(quoted)))) if quoted else set()
    theme.metrics = {**(theme.metrics or {}), "members": int(members),
                     "quotes": [q for q in (theme.metrics or {}).get("quotes", []) if q.get("segment_id") in here]}


def unmerge(session: Session, source: Theme, user: Any) -> Theme:
    """Undo the merge of ``source`` (a merged theme) into the theme it was merged into; returns ``source``.

    The rows the merge moved and that still stand under the target go back (a row a person moved or curated since,
    and what later passes filed under the target, stay there); rows of segments both themes held are re-created;
    the source's status comes back, the target gets its threshold step back, both are re-centred on their evidence;
    the pair is kept apart (a declined merge on record: the pass never proposes it again).
    """
    if source.status != "merged":
        raise CurationError("not_merged", f"theme {source.id} is not merged: there is no merge to undo.",
                            theme_id=source.id)
    target = session.get(Theme, source.merged_into_id) if source.merged_into_id is not None else None
    undo = _merge_record(session, source, target) if target is not None else None
    if target is None or undo is None:
        raise CurationError("merge_not_recorded",
                            f"theme {source.id} was merged before merges could be undone: file its quotes under a "
                            "new theme instead.", theme_id=source.id)
    if target.status in ("merged", "dismissed"):
        into = target.merged_into_id if target.status == "merged" else None
        todo = (f"undo the merge of theme {target.id} first" if into is not None
                else "file the quotes under another theme by hand")
        raise CurationError("merge_target_inactive", f"theme {target.id}, which theme {source.id} was merged into, "
                            f"is {target.status} since: {todo}.", theme_id=source.id, target_id=target.id,
                            status=target.status, into_id=into)
    earlier = {int(ev_id): int(from_id) for from_id, ids in (undo.get("earlier") or {}).items() for ev_id in ids}
    promoted = {int(d["id"]): d for d in undo.get("promoted") or []}
    was_auto = set(undo.get("was_auto") or [])
    also = _standing_duplicates(session, target, source)
    mine = set(session.scalars(select(ThemeEvidence.segment_id).where(ThemeEvidence.theme_id == source.id)))
    back = 0
    for ev in list(session.scalars(select(ThemeEvidence).where(ThemeEvidence.theme_id == target.id,
                                                               ThemeEvidence.merged_from_id == source.id))):
        ev.merged_from_id = None
        if ev.id in promoted:  # the target's own row, which the merge made the source's word: as it was
            d = promoted[ev.id]
            ev.state, ev.origin = d.get("state") or "suggested", d.get("origin") or "auto"
            ev.pinned, ev.merged_from_id = bool(d.get("pinned")), d.get("merged_from_id")
            continue
        if ev.segment_id in mine:
            continue
        origin = "auto" if ev.id in was_auto else ev.origin
        if ev.segment_id in also:
            # Another theme merged into the target and still there held this quote too (its row was dropped as a
            # duplicate): the target keeps the row, on that merge's account, and the source gets a copy.
            ev.merged_from_id = also[ev.segment_id]
            session.add(ThemeEvidence(theme_id=source.id, segment_id=ev.segment_id, similarity=ev.similarity,
                                      state=ev.state, origin=origin, pinned=ev.pinned,
                                      merged_from_id=earlier.get(ev.id)))
        else:
            ev.theme_id, ev.origin = source.id, origin
            ev.merged_from_id = earlier.get(ev.id)  # a row an earlier merge brought in: that merge can be undone next
        mine.add(ev.segment_id)
        back += 1
    # Segments both themes held: the merge deleted the source's row. It comes back while the target's row is there
    # (a person who filed the quote elsewhere since removed it). Called "not feedback" since, or rejected from the
    # merged theme (which held the source's meaning too) when it was not at the merge, it comes back rejected.
    wanted = {int(d["segment_id"]): d for d in undo.get("kept_back") or [] if int(d["segment_id"]) not in mine}
    there = dict(session.execute(select(ThemeEvidence.segment_id, ThemeEvidence.state).where(
        ThemeEvidence.theme_id == target.id, ThemeEvidence.segment_id.in_(list(wanted)))).all()) if wanted else {}
    not_feedback = set(session.scalars(select(FeedbackSegment.id).where(
        FeedbackSegment.id.in_(list(there)), FeedbackSegment.person_verdict.is_(False)))) if there else set()
    for seg_id in sorted(there):
        d = wanted[seg_id]
        # (Records of merges made before they kept the target's state say nothing of a rejection since.)
        refused = seg_id in not_feedback or (there[seg_id] == "rejected" and d.get("target_state") not in (None, "rejected"))
        session.add(ThemeEvidence(theme_id=source.id, segment_id=seg_id, similarity=float(d.get("similarity") or 0.0),
                                  state="rejected" if refused else d.get("state") or "active",
                                  origin="curator" if refused else d.get("origin") or "auto",
                                  pinned=bool(d.get("pinned")) and not refused, merged_from_id=d.get("merged_from_id")))
        back += 1
    session.flush()
    source.status = undo.get("status") or "emerging"
    source.merged_into_id = None
    source.reason = undo.get("reason")
    target.threshold_offset = min(0.2, target.threshold_offset + float(undo.get("offset_step") or 0.0))
    _recentre(session, source)
    _recentre(session, target)
    pair = {source.id, target.id}
    if not any({a, b} == pair for a, b in session.execute(select(ThemeProposal.theme_id, ThemeProposal.other_theme_id)
                                                          .where(ThemeProposal.kind == "merge",
                                                                 ThemeProposal.theme_id.in_(list(pair))))):
        # How a declined merge is remembered (jobs.themes._blocked_pairs reads any merge proposal on record).
        session.add(ThemeProposal(kind="merge", theme_id=source.id, other_theme_id=target.id, status="dismissed",
                                  payload={"unmerged": True}))
    reopen = [int(i) for i in undo.get("closed_proposals") or []]
    for p in session.scalars(select(ThemeProposal).where(ThemeProposal.id.in_(reopen))) if reopen else ():
        themes = [session.get(Theme, t) for t in (p.theme_id, p.other_theme_id) if t is not None]
        if p.status == "dismissed" and all(t is not None and t.status not in ("merged", "dismissed") for t in themes):
            p.status = "open"
    _log(session, "unmerge", source, user, target_theme_id=target.id, moved=back)
    _log(session, "unmerge", target, user, source_theme_id=source.id, moved=back)
    session.flush()
    return source


def _evidence_theme(session: Session, evidence: ThemeEvidence) -> Theme:
    theme = session.get(Theme, evidence.theme_id)
    assert theme is not None
    return theme


def move_evidence(session: Session, evidence: ThemeEvidence, target_theme: Theme, user: Any) -> ThemeEvidence:
    """Put a quote under the theme it belongs to; no later pass moves it back."""
    _active(target_theme, "given evidence")
    source = _evidence_theme(session, evidence)
    if source.id == target_theme.id:
        raise CurationError("already_there", "the evidence is already under that theme.")
    clash = session.scalar(select(ThemeEvidence).where(ThemeEvidence.theme_id == target_theme.id,
                                                       ThemeEvidence.segment_id == evidence.segment_id))
    if clash is not None:
        clash.state = "active"
        clash.origin = "curator"
        session.delete(evidence)
        result = clash
        _settled(clash)
    else:
        evidence.theme_id = target_theme.id
        evidence.origin = "curator"
        evidence.state = "active"
        result = evidence
        _settled(evidence)
    _lose(source, [evidence.segment_id])
    target_theme.metrics = {**target_theme.metrics, "members": int(target_theme.metrics.get("members", 0) or 0) + 1}
    _said_feedback(session, [result.segment_id], True)
    _log(session, "move_evidence", target_theme, user, segment_id=result.segment_id, from_theme_id=source.id,
         to_theme_id=target_theme.id)
    session.flush()
    return result


def reject_evidence(session: Session, evidence: ThemeEvidence, user: Any) -> ThemeEvidence:
    """Say a quote is not evidence of this theme; it stays rejected through every pass and rebuild."""
    theme = _evidence_theme(session, evidence)
    evidence.state = "rejected"
    evidence.origin = "curator"
    evidence.pinned = False
    _settled(evidence)
    _lose(theme, [evidence.segment_id])
    _log(session, "reject_evidence", theme, user, segment_id=evidence.segment_id)
    session.flush()
    return evidence


def pin_evidence(session: Session, evidence: ThemeEvidence, pinned: bool, user: Any) -> ThemeEvidence:
    """Pin (or unpin) a quote as a representative one; pinned evidence is curated and kept."""
    if evidence.state != "active":
        raise CurationError("pin_rejected", "rejected evidence cannot be pinned; move it to the right theme first.")
    theme = _evidence_theme(session, evidence)
    evidence.pinned = bool(pinned)
    evidence.origin = "curator"
    _settled(evidence)
    _said_feedback(session, [evidence.segment_id], True)
    _log(session, "pin_evidence" if pinned else "unpin_evidence", theme, user, segment_id=evidence.segment_id)
    session.flush()
    return evidence


def split(session: Session, theme: Theme, evidence_ids: Sequence[int], label: str, user: Any, *,
          kept: Sequence[int] = ()) -> Theme:
    """Carve the chosen evidence out of ``theme`` into a new theme named ``label``; both become narrower.

    ``kept``: evidence of ``theme`` a person saw offered to the new theme and kept where it is (a split reviewed quote
    by quote). That is a label twice over: the quote is the old theme's (as if a person had filed it there) and not
    the new one's (as if rejected from it). Without it, the next passes filed the kept quotes' copies into the new
    theme and suggested the very quotes the person had left: a review kept 108 "non-technical users get lost"
    quotes in "Interface is too complicated", and 17 of their copies went to the "User training" theme.
    """
    _active(theme, "split")
    label = " ".join((label or "").split())
    if not label:
        raise CurationError("label_empty", "the new theme needs a label.")
    _name_free(session, label, None, "split")
    rows = _carved(session, theme, evidence_ids)
    remaining = session.scalar(select(ThemeEvidence.id).where(ThemeEvidence.theme_id == theme.id,
                                                              ThemeEvidence.state == "active",
                                                              ThemeEvidence.id.not_in([r.id for r in rows])).limit(1))
    if remaining is None:
        raise CurationError("split_empties",
                            "a split must leave some evidence in the original theme; rename it instead.")
    new = Theme(label=label, status="emerging", embedding_model=theme.embedding_model,
                threshold_offset=min(0.2, theme.threshold_offset + discovery.OFFSET_STEP),
                title_quote=None, metrics={"members": len(rows)})
    vecs = _centred_vectors(session, [r.segment_id for r in rows])
    if len(vecs):
        from jobs.embed import to_bytes
        new.centroid = to_bytes(discovery.centroid_of(vecs))
    session.add(new)
    session.flush()
    first_text = None
    for r in rows:
        r.theme_id = new.id
        r.origin = "curator"
        r.state = "active"
        _settled(r)
        if first_text is None:
            first_text = session.scalar(select(FeedbackSegment.text).where(FeedbackSegment.id == r.segment_id))
    new.title_quote = first_text
    theme.threshold_offset = min(0.2, theme.threshold_offset + discovery.OFFSET_STEP)
    # What stays behind gets its own centre again (a bounded sample: a person splits themes they can read).
    left = session.scalars(select(ThemeEvidence.segment_id).where(
        ThemeEvidence.theme_id == theme.id, ThemeEvidence.state == "active").limit(5000)).all()
    left_vecs = _centred_vectors(session, left)
    if len(left_vecs):
        from jobs.embed import to_bytes
        theme.centroid = to_bytes(discovery.centroid_of(left_vecs))
    _lose(theme, [r.segment_id for r in rows])
    stays = _kept_by_person(session, theme, kept)  # (a moved row is no longer the theme's: never among them)
    for r in stays:
        session.add(ThemeEvidence(theme_id=new.id, segment_id=r.segment_id, similarity=r.similarity,
                                  state="rejected", origin="curator", pinned=False))
    _close_proposals(session, [theme.id], ["split"], "accepted")
    _log(session, "split", theme, user, source_theme_id=theme.id, new_theme_id=new.id,
         evidence_ids=sorted(r.id for r in rows), label=label,
         **({"kept_evidence_ids": sorted(r.id for r in stays)} if stays else {}))
    session.flush()
    return new


def _carved(session: Session, theme: Theme, evidence_ids: Sequence[int]) -> list[ThemeEvidence]:
    """The evidence a split carves out of ``theme``: every id must exist and be that theme's."""
    rows = list(session.scalars(select(ThemeEvidence).where(ThemeEvidence.id.in_(list(evidence_ids)))))
    if not rows or len(rows) != len(set(evidence_ids)):
        raise CurationError("evidence_missing", "some of the chosen evidence does not exist.")
    if any(r.theme_id != theme.id for r in rows):
        raise CurationError("evidence_elsewhere", f"every chosen evidence must belong to theme {theme.id}.",
                            theme_id=theme.id)
    return rows


def _kept_by_person(session: Session, theme: Theme, evidence_ids: Sequence[int]) -> list[ThemeEvidence]:
    """``theme``'s active evidence of these ids, made a person's: they saw it offered elsewhere and kept it here.
    Read after the split's moves (autoflush), so an id that moved is not among them."""
    rows = list(session.scalars(select(ThemeEvidence).where(
        ThemeEvidence.id.in_(list(evidence_ids)), ThemeEvidence.theme_id == theme.id,
        ThemeEvidence.state == "active"))) if evidence_ids else []
    for r in rows:
        r.origin = "curator"
        _settled(r)
    return rows


def split_into(session: Session, theme: Theme, evidence_ids: Sequence[int], target: Theme, user: Any, *,
               kept: Sequence[int] = ()) -> Theme:
    """Carve the chosen evidence out of ``theme`` into ``target``, an existing theme: a split whose part is another
    theme's subject. A review carved S/4HANA quotes out of a mixture and wanted them in the SAP theme, and the
    drivers' no-signal quotes in the offline theme; the pass never proposes a merge of a theme people made with
    another unless one repeats the other, so the part had to become a theme of its own first. ``kept`` as for
    :func:`split`: evidence the person kept in ``theme`` is theirs there (not refused by ``target``, which it was
    never offered to)."""
    _active(theme, "split")
    _active(target, "given evidence")
    if target.id == theme.id:
        raise CurationError("split_into_itself", "a split's part goes to another theme than the one it leaves.")
    rows = _carved(session, theme, evidence_ids)
    add_evidence(session, target, [r.segment_id for r in rows], user)
    stays = _kept_by_person(session, theme, kept)
    _close_proposals(session, [theme.id], ["split"], "accepted")
    _log(session, "split", theme, user, source_theme_id=theme.id, into_theme_id=target.id,
         evidence_ids=sorted(r.id for r in rows), **({"kept_evidence_ids": sorted(r.id for r in stays)} if stays else {}))
    session.flush()
    return target


# --------------------------------------------------------------------------------------------- labels
def _said_feedback(session: Session, segment_ids: Sequence[int], verdict: bool) -> None:
    """Record a person's word on segments: feedback (True) or not (False). No pass overrides it."""
    for seg in session.scalars(select(FeedbackSegment).where(FeedbackSegment.id.in_(list(segment_ids)))):
        seg.person_verdict = verdict
        seg.is_feedback = verdict


def _clean_label(label: str) -> str:
    label = " ".join((label or "").split())
    if not label:
        raise CurationError("label_empty", "a theme needs a name.")
    if len(label) > MAX_LABEL:
        raise CurationError("label_too_long", f"a theme label is at most {MAX_LABEL} characters (got {len(label)}).",
                            max=MAX_LABEL, got=len(label))
    return label


def add_evidence(session: Session, theme: Theme, segment_ids: Sequence[int], user: Any) -> int:
    """Put segments under ``theme`` as a person's evidence (from wherever they were); returns how many moved in.

    A segment already under another theme leaves it (a person's latest word wins); one the filter had turned
    off is turned on (a person read it as feedback). The theme becomes a person's theme: it is learned from.
    """
    _active(theme, "given evidence")
    ids = sorted(set(int(i) for i in segment_ids))
    if not ids:
        raise CurationError("none_chosen", "choose at least one quote.")
    found = set(session.scalars(select(FeedbackSegment.id).where(FeedbackSegment.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise CurationError("segment_missing", f"no such segment: {', '.join(map(str, missing[:5]))}.", ids=missing[:5])
    added = 0
    for seg_id in ids:
        rows = list(session.scalars(select(ThemeEvidence).where(ThemeEvidence.segment_id == seg_id)))
        mine = next((r for r in rows if r.theme_id == theme.id), None)
        for r in rows:
            if r is not mine and r.state != "rejected":
                other = session.get(Theme, r.theme_id)
                if other is not None and r.state == "active":
                    _lose(other, [r.segment_id])
                session.delete(r)
        if mine is None:
            session.add(ThemeEvidence(theme_id=theme.id, segment_id=seg_id, similarity=0.0, state="active",
                                      origin="curator"))
            added += 1
        else:
            if mine.state != "active":
                added += 1
            mine.state, mine.origin = "active", "curator"
            _settled(mine)
    theme.origin = "person"
    theme.metrics = {**theme.metrics, "members": int(theme.metrics.get("members", 0) or 0) + added}
    _said_feedback(session, ids, True)
    _log(session, "add_evidence", theme, user, segment_ids=ids[:200], count=len(ids))
    session.flush()
    return added


def add_examples(session: Session, theme: Theme, texts: Sequence[str], user: Any) -> list[ThemeExample]:
    """Sentences a person wrote to say what the theme is about; the next pass embeds them and learns from them."""
    from jobs.embed import detect_lang

    _active(theme, "given examples")
    clean = [" ".join(t.split()) for t in texts if t and t.strip()]
    if not clean:
        raise CurationError("examples_empty", "write at least one example sentence.")
    if len(clean) > MAX_EXAMPLES:
        raise CurationError("examples_too_many",
                            f"at most {MAX_EXAMPLES} example sentences at once (got {len(clean)}).",
                            max=MAX_EXAMPLES, got=len(clean))
    too_long = [n for n, t in enumerate(clean, 1) if len(t) > MAX_EXAMPLE]
    if too_long:
        raise CurationError("example_too_long",
                            f"an example sentence is at most {MAX_EXAMPLE} characters (sentence {too_long[0]}).",
                            max=MAX_EXAMPLE, sentence=too_long[0])
    rows = [ThemeExample(theme_id=theme.id, text=t, lang=detect_lang(t), created_by_id=_user_id(user))
            for t in clean]
    session.add_all(rows)
    theme.origin = "person"
    _log(session, "add_examples", theme, user, examples=clean[:20], count=len(clean))
    session.flush()
    return rows


def create_theme(session: Session, label: str, user: Any, *, segment_ids: Sequence[int] = (),
                 examples: Sequence[str] = (), lang: str | None = None) -> Theme:
    """A theme a person names, from quotes they chose ("make a theme of these") and/or sentences they wrote.

    Its name is the person's, in ``lang`` when they said which language they wrote it in. The next pass
    gathers its evidence by what these labels teach (``jobs.learn``); nothing else is asked of the person.
    """
    label = _clean_label(label)
    if not segment_ids and not any(t and t.strip() for t in examples):
        raise CurationError("new_theme_empty",
                            "a new theme needs quotes chosen from the evidence or example sentences.")
    _name_free(session, label, None, "file" if segment_ids else "create")
    theme = Theme(label=label, status="emerging", origin="person", metrics={"members": 0})
    if lang in ("en", "fr"):
        setattr(theme, f"label_{lang}", label)
    session.add(theme)
    session.flush()
    _log(session, "create_theme", theme, user, label=label)
    if segment_ids:
        add_evidence(session, theme, segment_ids, user)
        vecs = _centred_vectors(session, segment_ids)
        if len(vecs) and vecs.shape[1]:
            from jobs.embed import to_bytes
            theme.centroid = to_bytes(discovery.centroid_of(vecs))
            theme.embedding_model = session.scalar(select(FeedbackSegment.embedding_model)
                                                   .where(FeedbackSegment.id.in_(list(segment_ids)),
                                                          FeedbackSegment.embedding_model.is_not(None)).limit(1))
        theme.title_quote = session.scalar(select(FeedbackSegment.text)
                                           .where(FeedbackSegment.id == min(int(i) for i in segment_ids)))
    if any(t and t.strip() for t in examples):
        add_examples(session, theme, examples, user)
    session.flush()
    return theme


def mark_not_feedback(session: Session, segment_ids: Sequence[int], user: Any) -> int:
    """A person says these segments are not feedback: they leave every theme and teach the no-feedback class."""
    ids = sorted(set(int(i) for i in segment_ids))
    if not ids:
        raise CurationError("none_chosen", "choose at least one quote.")
    touched: set[int] = set()
    for ev in list(session.scalars(select(ThemeEvidence).where(ThemeEvidence.segment_id.in_(ids),
                                                               ThemeEvidence.state != "rejected"))):
        theme = session.get(Theme, ev.theme_id)
        if theme is not None and ev.state == "active":
            _lose(theme, [ev.segment_id])
            touched.add(theme.id)
        ev.state, ev.origin, ev.pinned = "rejected", "curator", False
        _settled(ev)
    _said_feedback(session, ids, False)
    for tid in sorted(touched) or [None]:
        _log(session, "not_feedback", session.get(Theme, tid) if tid else None, user, segment_ids=ids[:200],
             count=len(ids))
    session.flush()
    return len(ids)


def accept_suggestion(session: Session, evidence: ThemeEvidence, user: Any) -> ThemeEvidence:
    """A person confirms a suggested assignment: it becomes their evidence, and a label for the theme.

    A quote the machine had filed under another theme moves (as ``move_evidence`` would): the pass suggests a
    filed quote to a theme people labelled when it sits nearer that theme, and accepting it left it counted in both.
    Where a person filed or pinned it stays theirs.
    """
    if evidence.state != "suggested":
        raise CurationError("not_a_suggestion", "only a suggestion can be accepted.", act="accepted")
    theme = _evidence_theme(session, evidence)
    _active(theme, "given evidence")
    evidence.state, evidence.origin = "active", "curator"
    _settled(evidence)
    theme.metrics = {**theme.metrics, "members": int(theme.metrics.get("members", 0) or 0) + 1}
    left = []
    for other in session.scalars(select(ThemeEvidence).where(
            ThemeEvidence.segment_id == evidence.segment_id, ThemeEvidence.id != evidence.id,
            ThemeEvidence.state == "active", ThemeEvidence.origin == "auto", ThemeEvidence.pinned.is_(False))):
        source = _evidence_theme(session, other)
        _lose(source, [evidence.segment_id])
        left.append(source.id)
        session.delete(other)
    _said_feedback(session, [evidence.segment_id], True)
    _log(session, "accept_suggestion", theme, user, segment_id=evidence.segment_id,
         **({"from_theme_id": left[0]} if left else {}))
    session.flush()
    return evidence


def decline_suggestion(session: Session, evidence: ThemeEvidence, user: Any) -> ThemeEvidence:
    """A person says a suggested quote does not belong to the theme: it is rejected there for good."""
    if evidence.state != "suggested":
        raise CurationError("not_a_suggestion", "only a suggestion can be declined.", act="declined")
    theme = _evidence_theme(session, evidence)
    evidence.state, evidence.origin, evidence.pinned = "rejected", "curator", False
    _settled(evidence)
    _log(session, "decline_suggestion", theme, user, segment_id=evidence.segment_id)
    session.flush()
    return evidence
