"""Answering the theme pass's proposals: a product owner accepts or declines each in one click, and it sticks.

The pass only proposes (``jobs.themes``: merge, split, rename) and curation only acts (``jobs.curation``); this
module joins them. Accepting carries a proposal out through curation, so it is logged, kept by every later pass
and teaches the thresholds exactly like a merge or split made by hand. Declining marks it dismissed and logs who
said no; the pass reads a dismissed proposal as "never again": a pair of themes with any merge proposal on
record is blocked (``jobs.themes._blocked_pairs``), a theme with a split proposal on record is not offered
another (``jobs.themes._propose``), and a dismissed rename is not offered again for the same label.

The caller owns the session and commits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs import curation, discovery, labels
from retour.models import ACTIVE, CurationEvent, Decision, FeedbackSegment, Theme, ThemeEvidence, ThemeProposal

KINDS = ("merge", "split", "rename")
EXAMPLES = 3  # quotes shown per side: enough to judge, short enough to read on the board


class ProposalError(curation.CurationError):
    """The proposal cannot be answered as asked: a refusal typed like curation's own (``code`` from
    :data:`jobs.curation.CODES`, ``params``, ``str()`` the English sentence), so the web app says it in the reader's
    language from its code, never from the English text.

    The codes: "proposal_answered" (``act``: "accepted" | "declined"), "proposal_gone" (a theme of it no longer
    exists), "proposal_moved" (a split's quotes left the theme), "proposal_kind_unknown" (``kind``),
    "merge_outside_proposal" (``into``: not a theme of the pair), "split_nothing_chosen" and "split_choice_gone" (a
    split reviewed quote by quote: no quote ticked to move, or a ticked one is no longer the theme's),
    "split_target_missing" (``theme_id``: the existing theme a split's part was sent to is gone); or curation's own
    refusal, its code and params passed on (the CurationError is the ``__cause__``).
    """


@dataclass
class Shown:
    """A proposal as a page or the API shows it: the themes by name and the quotes that make the case.

    ``source`` and ``target`` are the direction a merge is carried out in; ``sides`` holds, per theme (merge) or per
    part (split), a few quotes in the CRM's own words (untrusted text: pages escape it). ``label`` is the name
    proposed (rename) or suggested for the part split off (split), for the person to change.

    A split's ``sides`` and ``quotes_to_move`` count only quotes still active evidence of its theme: a quote a person
    rejected or moved since the pass is no longer the theme's to split. ``blocked`` says why it cannot be accepted
    as it stands ("stays_empty": nothing would stay, "moves_empty": nothing would move); it can only be declined.
    """

    id: int
    kind: str
    theme_id: int
    theme_label: str
    other_id: int | None = None
    other_label: str | None = None
    source_id: int | None = None
    target_id: int | None = None
    label: str | None = None
    sides: list[list[str]] = field(default_factory=list)
    quotes_to_move: int = 0
    blocked: str | None = None


class SplitQuote(NamedTuple):
    """One quote of a split as the pass cut it, still the theme's active evidence."""

    segment_id: int
    evidence_id: int
    text: str


def open_proposals(session: Session, theme_id: int | None = None) -> list[ThemeProposal]:
    """Open proposals whose themes are all still active (a merge or rebuild may have retired one), oldest first;
    with ``theme_id``, only those that name that theme."""
    q = select(ThemeProposal).where(ThemeProposal.status == "open", ThemeProposal.kind.in_(KINDS))
    if theme_id is not None:
        q = q.where((ThemeProposal.theme_id == theme_id) | (ThemeProposal.other_theme_id == theme_id))
    proposals = list(session.scalars(q.order_by(ThemeProposal.created_at, ThemeProposal.id)))
    ids = {p.theme_id for p in proposals} | {p.other_theme_id for p in proposals if p.other_theme_id}
    active = set(session.scalars(select(Theme.id).where(Theme.id.in_(ids), Theme.status.in_(ACTIVE)))) if ids else set()
    return [p for p in proposals if p.theme_id in active and (p.other_theme_id is None or p.other_theme_id in active)]


def _with_decisions(session: Session, theme_ids: set[int]) -> set[int]:
    if not theme_ids:
        return set()
    return set(session.scalars(select(Decision.theme_id).where(Decision.theme_id.in_(theme_ids)).distinct()))


def merge_direction(session: Session, proposal: ThemeProposal,
                    decided: set[int] | None = None) -> tuple[Theme, Theme]:
    """(source, target) of a merge proposal: the theme a decision was recorded on survives (its decision and the
    insight pushed to reps stay attached), else the one with more evidence, else the older one.

    ``decided``: the ids of themes with a decision, when the caller read them for many proposals at once.
    """
    a, b = _theme(session, proposal.theme_id), _theme(session, proposal.other_theme_id)
    if decided is None:
        decided = _with_decisions(session, {a.id, b.id})

    def weight(t: Theme) -> tuple[bool, int, int]:
        return (t.id in decided, int((t.metrics or {}).get("members", 0) or 0), -t.id)

    return (b, a) if weight(a) >= weight(b) else (a, b)


def _quotes(theme: Theme) -> list[str]:
    texts = [q.get("text") for q in (theme.metrics or {}).get("quotes", []) if q.get("text")]
    if not texts and theme.title_quote:
        texts = [theme.title_quote]
    return texts[:EXAMPLES]


def suggested_label(proposal: ThemeProposal, lang: str | None = None) -> str | None:
    """The name offered for the accepting person to keep or change: the proposed label of a rename (in ``lang``, the
    reader's, when the pass named it in that language); for a split, the name the pass gave the part it carves out,
    in the reader's language when it has one — or, for proposals made before splits were named, the opening words
    of that part's first quote (a product owner's working name either way, never shown to reps)."""
    in_lang = proposal.payload.get(f"label_{lang}") if lang in ("en", "fr") else None
    if proposal.kind == "rename":
        return in_lang or proposal.payload.get("label")
    if proposal.kind == "split":
        named = in_lang or proposal.payload.get("label_en") or proposal.payload.get("label_fr")
        if named:
            return named
        examples = proposal.payload.get("examples") or []
        if len(examples) > 1 and examples[1]:
            return labels.quote_label(examples[1][0])
    return None


def describe(session: Session, proposals: Sequence[ThemeProposal], lang: str | None = None) -> list[Shown]:
    """What the desk shows for each proposal, in a fixed number of queries whatever their count; names proposed in
    ``lang`` (the reader's) when the pass wrote one."""
    ids = {p.theme_id for p in proposals} | {p.other_theme_id for p in proposals if p.other_theme_id}
    themes = {t.id: t for t in session.scalars(select(Theme).where(Theme.id.in_(ids)))} if ids else {}
    live = _live_groups(session, [p for p in proposals if p.kind == "split"])
    decided = _with_decisions(session, {i for p in proposals if p.kind == "merge"
                                        for i in (p.theme_id, p.other_theme_id)})
    out = []
    for p in proposals:
        theme = themes[p.theme_id]
        shown = Shown(id=p.id, kind=p.kind, theme_id=theme.id, theme_label=theme.label, label=suggested_label(p, lang))
        if p.kind == "merge":
            other = themes[p.other_theme_id]
            source, target = merge_direction(session, p, decided)
            shown.other_id, shown.other_label = other.id, other.label
            shown.source_id, shown.target_id = source.id, target.id
            shown.sides = [_quotes(source), _quotes(target)]
        elif p.kind == "split":
            shown.sides = [_still_there(examples, group)
                           for examples, group in zip(_padded(p.payload.get("examples")), live.get(p.id, [[], []]))]
            shown.quotes_to_move = len(live.get(p.id, [[], []])[1])
            shown.blocked = ("stays_empty" if not live.get(p.id, [[]])[0] else
                             "moves_empty" if not shown.quotes_to_move else None)
        out.append(shown)
    return out


def _live_groups(session: Session, splits: Sequence[ThemeProposal]) -> dict[int, list[list[SplitQuote]]]:
    """Per split, its two groups cut to the quotes still active evidence of its theme, in the pass's order: one
    statement for every split on the page (the board lists them all)."""
    groups = {p.id: [[int(s) for s in g] for g in ((p.payload or {}).get("groups") or [])[:2]] for p in splits}
    segs = {s for gs in groups.values() for g in gs for s in g}
    if not segs:
        return {pid: [[], []] for pid in groups}
    rows = session.execute(select(ThemeEvidence.theme_id, ThemeEvidence.segment_id, ThemeEvidence.id,
                                  FeedbackSegment.text)
                           .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
                           .where(ThemeEvidence.segment_id.in_(segs), ThemeEvidence.state == "active")).all()
    active = {(tid, sid): SplitQuote(sid, eid, text) for tid, sid, eid, text in rows}
    theme_of = {p.id: p.theme_id for p in splits}
    out = {}
    for pid, gs in groups.items():
        live = [[active[theme_of[pid], s] for s in g if (theme_of[pid], s) in active] for g in gs]
        out[pid] = (live + [[], []])[:2]
    return out


def _padded(examples: Any) -> list[list[str]]:
    return ([list(g) for g in (examples or [])[:2]] + [[], []])[:2]


def _still_there(examples: list[str], live: list[SplitQuote]) -> list[str]:
    """The pass's example quotes of one side that are still there, topped up from the side's other live quotes so a
    person still has a few to judge by (the pass picked the most typical; a rejected one must not be shown)."""
    texts = [q.text for q in live]
    shown = [t for t in examples if t in texts][:EXAMPLES]
    shown += [t for t in dict.fromkeys(texts) if t not in shown][:EXAMPLES - len(shown)]
    return shown


def _theme(session: Session, theme_id: int | None) -> Theme:
    theme = session.get(Theme, theme_id) if theme_id is not None else None
    if theme is None:
        raise ProposalError("proposal_gone", "a theme of this proposal no longer exists; decline it.")
    return theme


def _must_be_open(proposal: ThemeProposal) -> None:
    if proposal.status != "open":
        done = "accepted" if proposal.status == "accepted" else "declined"
        raise ProposalError("proposal_answered", f"this proposal was already {done}.", act=done)
    if proposal.kind not in KINDS:
        raise ProposalError("proposal_kind_unknown", f"a {proposal.kind!r} proposal cannot be answered here.",
                            kind=proposal.kind)


def accept_proposal(session: Session, proposal: ThemeProposal, user: Any, *, label: str | None = None,
                    into: int | None = None, lang: str | None = None, moving: Sequence[int] | None = None) -> Theme:
    """Carry the proposal out through curation and return the theme to look at next.

    merge: the source folds into the target (``merge_direction``, or ``into``: either theme of the pair);
    split: the second group's quotes still under the theme move to ``into``, an existing theme, when given, else to a
    new theme named ``label`` (default: the suggested name, in ``lang`` when the pass named the part in it), the
    first group stays; or, with ``moving``,
    exactly the theme's evidence of those ids, as a person ticked them on the split's review page (``split_sides``):
    the pass's cut is a proposal, and a review found one that would have carried 156 quotes away, the theme's own
    subject among them, to be judged from three; rename: the theme takes ``label`` (default: the proposed one) as its
    name in ``lang``, the language of the page it was accepted on (default: the language of the name it replaces).
    """
    _must_be_open(proposal)
    try:
        if proposal.kind == "merge":
            source, target = merge_direction(session, proposal)
            if into is not None:
                if into not in (proposal.theme_id, proposal.other_theme_id):
                    raise ProposalError("merge_outside_proposal", "merge into one of the two themes of the proposal.",
                                        into=into)
                if into == source.id:
                    source, target = target, source
            result = curation.merge(session, source, target, user)
        elif proposal.kind == "split":
            theme = _theme(session, proposal.theme_id)
            evidence_ids = _split_choice(session, proposal, theme, moving)
            # What the pass offered to move and the person kept: theirs to say it stays (``curation.split``).
            chosen = set(evidence_ids)
            kept = [] if moving is None else [q.evidence_id for q in split_sides(session, proposal)[1]
                                              if q.evidence_id not in chosen]
            if into is not None:
                result = curation.split_into(session, theme, evidence_ids, _split_target(session, into), user,
                                             kept=kept)
            else:
                result = _split_to_new(session, proposal, theme, evidence_ids, label, lang, user, kept)
        else:
            result = curation.rename(session, _theme(session, proposal.theme_id),
                                     label or suggested_label(proposal, lang) or "", user, lang=lang)
    except ProposalError:
        raise
    except curation.CurationError as exc:
        raise ProposalError(exc.code, str(exc), **exc.params) from exc
    # A person accepted it, with or without changing the name offered (curation closes an edited rename as dismissed).
    proposal.status = "accepted"
    session.flush()
    return result


def _split_target(session: Session, into: int) -> Theme:
    target = session.get(Theme, into)
    if target is None:
        raise ProposalError("split_target_missing", f"there is no theme {into} to move the quotes to.", theme_id=into)
    return target


def _split_to_new(session: Session, proposal: ThemeProposal, theme: Theme, evidence_ids: Sequence[int],
                  label: str | None, lang: str | None, user: Any, kept: Sequence[int]) -> Theme:
    """The part carved into a new theme, named in each language the pass named it in, as a discovered theme is; a
    name the person typed stands in the language of the page they typed it on (in no known language, it is the
    theme's only name: no machine name may hide it)."""
    result = curation.split(session, theme, evidence_ids, label or suggested_label(proposal, lang) or "", user,
                            kept=kept)
    named = {lg: proposal.payload.get(f"label_{lg}") for lg in ("en", "fr")}
    typed = label is not None and " ".join(label.split()) not in named.values()
    if not typed or lang in named:
        for lg, name in named.items():
            name = result.label if typed and lg == lang else name
            if name:
                setattr(result, f"label_{lg}", name)
    return result


def _split_choice(session: Session, proposal: ThemeProposal, theme: Theme, moving: Sequence[int] | None
                  ) -> list[int]:
    """The evidence a split moves: the pass's carved part still under the theme, or the ids a person ticked."""
    if moving is None:
        segment_ids = proposal.carved_segments()
        evidence_ids = list(session.scalars(select(ThemeEvidence.id).where(
            ThemeEvidence.theme_id == theme.id, ThemeEvidence.state == "active",
            ThemeEvidence.segment_id.in_(segment_ids)))) if segment_ids else []
        if not evidence_ids:
            raise ProposalError("proposal_moved",
                                "the quotes this split would move have since been moved or rejected; decline it.")
        return evidence_ids
    chosen = set(moving)
    if not chosen:
        raise ProposalError("split_nothing_chosen", "tick at least one quote to move to the new theme.")
    found = list(session.scalars(select(ThemeEvidence.id).where(
        ThemeEvidence.theme_id == theme.id, ThemeEvidence.state == "active", ThemeEvidence.id.in_(chosen))))
    if len(found) != len(chosen):
        raise ProposalError("split_choice_gone", f"{len(chosen) - len(found)} of the ticked quotes are no longer in "
                            "this theme; look at the split again.", gone=len(chosen) - len(found))
    return sorted(found)


def split_sides(session: Session, proposal: ThemeProposal, *, doubtful_first: bool = False
                ) -> list[list[SplitQuote]]:
    """Both parts of a split in full (what stays, what would move), cut to the quotes still under its theme: what a
    person reviews quote by quote before ticking what moves (``accept_proposal(moving=…)``). In the pass's order, or
    with ``doubtful_first`` each part's quotes nearest the other part first (nearness to the other part's centre less
    nearness to its own): a review unticked 114 quotes of one split one by one, the strays scattered among 157 in id
    order; the ones the cut is least sure of now head the list, and a person can stop reading where it reads right.
    """
    sides = _live_groups(session, [proposal])[proposal.id]
    if not doubtful_first or not all(sides):
        return sides
    vectors = curation.centred_vectors_by_id(session, [q.segment_id for side in sides for q in side])
    centres = [discovery.centroid_of(np.stack([vectors[q.segment_id] for q in side if q.segment_id in vectors]))
               if any(q.segment_id in vectors for q in side) else None for side in sides]
    if any(c is None for c in centres):
        return sides

    def doubt(q: SplitQuote, own: int) -> float:
        v = vectors.get(q.segment_id)
        return -math.inf if v is None else float(v @ centres[1 - own] - v @ centres[own])

    return [sorted(side, key=lambda q, own=own: -doubt(q, own)) for own, side in enumerate(sides)]


def decline_proposal(session: Session, proposal: ThemeProposal, user: Any) -> ThemeProposal:
    """Mark the proposal dismissed (the pass never makes it again) and log who declined it on each theme concerned."""
    _must_be_open(proposal)
    proposal.status = "dismissed"
    user_id = user if isinstance(user, int) or user is None else getattr(user, "id", None)
    # The ids sit in a nested mapping: the activity log shows flat details, and ids mean nothing to a reader.
    details = {"proposal": {"id": proposal.id, "theme_id": proposal.theme_id,
                            "other_theme_id": proposal.other_theme_id, "label": proposal.payload.get("label")}}
    for theme_id in filter(None, (proposal.theme_id, proposal.other_theme_id)):
        session.add(CurationEvent(action=f"decline_{proposal.kind}", theme_id=theme_id, user_id=user_id,
                                  details=details))
    session.flush()
    return proposal
