"""The board's and the theme page's reads: a fixed number of SQL statements whatever the data size (no N+1).

Figures: every number here comes from ``jobs.figures`` (their one definition: items, distinct accounts, lost,
open pipeline, revenue at stake in the reporting currency, score, trend, for an explicit period and the board's
filters) and every status and "Why" from ``jobs.figures.judge`` on those same figures. This module only chooses
which to read and keeps them: per scope (the filters), per day, per sync, and per theme by its evidence
fingerprint, so a curation act recomputes the one or two themes it touched and the next page load shows them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlencode

from sqlalchemy import Select, and_, case, distinct, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from jobs import figures
from jobs.figures import text_search
from retour.config import FieldMap, Settings
from retour.models import (
    ACTIVE,
    Account,
    AppSetting,
    AppUser,
    CurationEvent,
    Decision,
    FeedbackItem,
    FeedbackSegment,
    Opportunity,
    SalesforceUser,
    SyncState,
    Theme,
    ThemeEvidence,
    ThemeExample,
    utcnow,
)
from webapp.actions import parse_int

BOARD_STATUSES = ACTIVE  # what the board shows: the themes people work on
HIDDEN_STATUSES = ("merged", "dismissed")
SOURCES = ("loss_reason", "note", "case")
FEEDBACK_LANGS = ("fr", "en", "other")
WINDOWS = tuple(w for w in figures.WINDOWS if w)  # the period choices besides all time
PAGE_SIZE = 50
EVIDENCE_PAGE = 50
SPARK_WEEKS = 12


class FilterError(ValueError):
    """A query-string value is not one the board understands; the message says which and what is allowed.

    ``code`` ("choice", "window", "page", "boolean") and ``params`` (the parameter and value as the address wrote
    them, what is allowed) let a page say it in the reader's language (:meth:`said`); ``str()`` is the English the
    API answers with.
    """

    def __init__(self, code: str, message: str, **params: str) -> None:
        super().__init__(message)
        self.code = code
        self.params = params

    def said(self) -> str:
        """The refusal in the reader's language (the parameter, its value and the allowed values as written)."""
        from flask_babel import gettext as _
        p = self.params
        return {"choice": lambda: _("%(param)s='%(value)s' is not one of: %(allowed)s", **p),
                "window": lambda: _("window='%(value)s': use one of %(allowed)s (days)", **p),
                "page": lambda: _("page='%(value)s' is not a page number", **p),
                "boolean": lambda: _("%(param)s='%(value)s': use true or false", **p)}[self.code]()


# --------------------------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class BoardFilters:
    status: str = ""
    window: int | None = None
    source: str = ""
    lang: str = ""
    team: str = ""
    region: str = ""
    segment: str = ""
    attrs: tuple[tuple[str, str], ...] = ()
    q: str = ""
    page: int = 1
    extra: tuple[FieldMap, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str], settings: Settings) -> BoardFilters:
        """Parse the board's query string strictly: a wrong value is an error naming the parameter."""
        def choice(name: str, allowed: Sequence[str]) -> str:
            value = (args.get(name) or "").strip()
            if value and value not in allowed:
                raise FilterError("choice", f"{name}={value[:40]!r} is not one of: {', '.join(allowed)}.",
                                  param=name, value=value[:40], allowed=", ".join(allowed))
            return value

        window_raw = (args.get("window") or "").strip()
        window = None
        if window_raw:  # parse_int: ASCII digits only ("²".isdigit() is true, and int("²") raises)
            window = parse_int(window_raw)
            if window not in WINDOWS:
                raise FilterError("window", f"window={window_raw[:20]!r}: use one of {', '.join(map(str, WINDOWS))} "
                                  "(days).", value=window_raw[:20], allowed=", ".join(map(str, WINDOWS)))
        page_raw = (args.get("page") or "1").strip()
        page = parse_int(page_raw)
        if page is None or not 1 <= page <= 10_000:
            raise FilterError("page", f"page={page_raw[:20]!r} must be a page number.", value=page_raw[:20])
        extra = settings.mapping.extra
        attrs = []
        for m in extra:
            value = (args.get(f"attr.{m.name}") or "").strip()
            if value:
                if m.kind == "boolean" and value not in ("true", "false"):
                    raise FilterError("boolean", f"attr.{m.name}={value[:40]!r}: use true or false.",
                                      param=f"attr.{m.name}", value=value[:40])
                attrs.append((m.name, value[:255]))
        return cls(
            status=choice("status", BOARD_STATUSES), window=window, source=choice("source", SOURCES),
            lang=choice("lang", FEEDBACK_LANGS), team=(args.get("team") or "").strip()[:255],
            region=(args.get("region") or "").strip()[:255], segment=(args.get("segment") or "").strip()[:255],
            attrs=tuple(attrs), q=(args.get("q") or "").strip()[:200], page=page, extra=extra,
        )

    @property
    def scope(self) -> figures.Scope:
        """The filters other than the period and the status: which feedback the figures count."""
        return figures.Scope(source=self.source, lang=self.lang, team=self.team, region=self.region,
                             segment=self.segment, attrs=tuple((k, v, _kind(self.extra, k)) for k, v in self.attrs),
                             q=self.q)

    @property
    def filters_evidence(self) -> bool:
        return bool(self.window) or self.scope.filtered

    def params(self, **changes: Any) -> dict[str, str]:
        f = replace(self, **changes)
        out = {"status": f.status, "window": str(f.window or ""), "source": f.source, "lang": f.lang,
               "team": f.team, "region": f.region, "segment": f.segment, "q": f.q}
        out.update({f"attr.{k}": v for k, v in f.attrs})
        if f.page > 1:
            out["page"] = str(f.page)
        return {k: v for k, v in out.items() if v}

    def query_string(self, **changes: Any) -> str:
        return urlencode(self.params(**changes))


def _kind(extra: Sequence[FieldMap], name: str) -> str:
    return next((m.kind for m in extra if m.name == name), "text")


def _evidence_from(stmt: Select) -> Select:
    stmt = (stmt.select_from(ThemeEvidence)
            .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
            .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id))
    return stmt.outerjoin(Opportunity, Opportunity.id == FeedbackItem.opportunity_id)  # the evidence's deal


# --------------------------------------------------------------------------------------------- figures, kept
class FigureCache(Protocol):
    def get(self, key: Hashable) -> Any | None: ...
    def put(self, key: Hashable, value: Any) -> None: ...


class NoCache:
    """Compute every time (tests, a disabled cache)."""

    def get(self, key: Hashable) -> Any | None:
        return None

    def put(self, key: Hashable, value: Any) -> None:
        return None


NO_CACHE = NoCache()


class RequestFigures:
    """One request's reads in front of the kept ones: a fingerprint or a measurement asked twice in a request (the
    board's rows and the judge both read the unfiltered figures) is read once. Fingerprints stay in the request:
    they are how the next request knows what changed."""

    def __init__(self, shared: FigureCache = NO_CACHE) -> None:
        self.shared = shared
        self.local: dict[Hashable, Any] = {}

    def get(self, key: Hashable) -> Any | None:
        return self.local[key] if key in self.local else self.shared.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        self.local[key] = value
        self.shared.put(key, value)

    def once(self, key: Hashable, compute: Any) -> Any:
        if key not in self.local:
            self.local[key] = compute()
        return self.local[key]


def _per_request(cache: FigureCache) -> RequestFigures:
    return cache if isinstance(cache, RequestFigures) else RequestFigures(cache)


def evidence_fingerprints(session: Session, cache: RequestFigures,
                          theme_ids: Sequence[int] | None) -> dict[int, tuple[int, int, int]]:
    """``jobs.figures.fingerprints``, read once per request (every theme's, then any subset from them)."""
    every = cache.local.get(("fingerprints", None))
    if every is not None and theme_ids is not None:
        return {t: every[t] for t in theme_ids if t in every}
    key = ("fingerprints", None if theme_ids is None else tuple(theme_ids))
    return cache.once(key, lambda: figures.fingerprints(session, theme_ids))


def theme_figures(session: Session, settings: Settings, scope: figures.Scope, *, now: dt.datetime,
                  sync: Hashable = None, cache: FigureCache = NO_CACHE,
                  theme_ids: Sequence[int] | None = None) -> dict[int, figures.ThemeFigures]:
    """Every theme's (or ``theme_ids``') figures in ``scope`` for every period, measured by ``jobs.figures``.

    Kept per (scope, day, sync) with each theme's evidence fingerprint: a theme whose evidence changed (a pass, a
    move, a merge, a reject) is measured again at the next read, alone; the others are read back. ``sync``
    (DataVersion.sync) covers what a sync changes under every theme (dates, accounts, deals, rates, texts).
    """
    cache = _per_request(cache)
    prints = evidence_fingerprints(session, cache, theme_ids)
    key = ("figures", scope, figures.Clock.at(now).end, sync)
    kept: dict[int, tuple[Any, figures.ThemeFigures]] = cache.get(key) or {}
    stale = [t for t, fp in prints.items() if t not in kept or kept[t][0] != fp]
    if stale:
        # Measure all at once when most are stale (a cold cache): one scan beats a long IN list.
        ids = None if theme_ids is None and len(stale) > max(20, len(prints) // 4) else stale
        fresh = figures.measure(session, settings, scope, now=now, theme_ids=ids, windows=figures.all_windows(settings))
        kept = {**kept, **{t: (prints[t], fresh.get(t, {})) for t in stale}}
        cache.put(key, kept)
    return {t: kept[t][1] for t in prints}


def org_volumes(session: Session, settings: Settings, *, now: dt.datetime, sync: Hashable = None,
                cache: FigureCache = NO_CACHE) -> dict[str, figures.Figures]:
    """All feedback's figures per critical-mass rule (what its shares are of), kept like theme_figures: per day,
    sync and which clauses are feedback (a pass or a person's "not feedback" moves it)."""
    cache = _per_request(cache)
    key = ("volumes", figures.Clock.at(now).end, sync,
           cache.once(("feedback_fingerprint",), lambda: figures.feedback_fingerprint(session)))
    got = cache.get(key)
    if got is None:
        got = figures.volumes(session, settings, now=now)
        cache.put(key, got)
    return got


def judgements(session: Session, settings: Settings, *, now: dt.datetime, sync: Hashable = None,
               cache: FigureCache = NO_CACHE, theme_ids: Sequence[int] | None = None) -> dict[int, figures.Judgement]:
    """Each active theme's (or ``theme_ids``') status and "Why" now, judged on the kept figures: a curation act or
    an approved decision shows at the next page load, not after the next theme pass."""
    cache = _per_request(cache)

    def measurer(scope: figures.Scope) -> dict[int, figures.ThemeFigures]:
        return theme_figures(session, settings, scope, now=now, sync=sync, cache=cache, theme_ids=theme_ids)

    return figures.judge(session, settings, now=now, theme_ids=theme_ids, measurer=measurer,
                         org=org_volumes(session, settings, now=now, sync=sync, cache=cache))


# --------------------------------------------------------------------------------------------- board
@dataclass
class BoardRow:
    """One theme on the board: its figures for the board's period and filters, its status and why (judged on the
    rule's own period over all feedback), its names and what waits for a person."""

    id: int
    label: str
    status: str
    figures: figures.Figures
    verdict: dict[str, Any] | None  # the figures the reason is said from, in the reader's language
    reason: str | None  # the same, in English
    spark: list[int]
    label_en: str | None = None  # names a person wrote per language (webapp.templating.theme_name picks one)
    label_fr: str | None = None
    suggestions: int = 0  # suggested quotes waiting for a person (never counted in the figures)

    @property
    def accounts(self) -> int:
        return self.figures.accounts

    @property
    def items(self) -> int:
        return self.figures.items

    @property
    def revenue(self) -> float:
        return self.figures.at_stake

    @property
    def score(self) -> float:
        return self.figures.score


@dataclass
class Board:
    rows: list[BoardRow]
    total: int
    page: int
    pages: int
    filtered: bool


def board(session: Session, settings: Settings, f: BoardFilters, *, now: dt.datetime | None = None,
          sync: Hashable = None, cache: FigureCache = NO_CACHE) -> Board:
    """One page of themes by score for the board's period and filters, each with its figures, status and why.

    Every active theme is listed when nothing filters the feedback; with a period or a filter, the themes that
    feedback cites. ``cache`` keeps figures (see theme_figures); ``sync`` is DataVersion.sync.
    """
    now = now or utcnow()
    cache = _per_request(cache)
    currency = settings.critical_mass.currency
    judged = judgements(session, settings, now=now, sync=sync, cache=cache)
    measured = theme_figures(session, settings, f.scope, now=now, sync=sync, cache=cache)
    themes = session.execute(select(Theme.id, Theme.label, Theme.label_en, Theme.label_fr)
                             .where(Theme.status.in_(BOARD_STATUSES))).all()
    holding = evidence_fingerprints(session, cache, None)  # themes with any evidence: the others wait for a pass
    rows = []
    for t in themes:
        j = judged.get(t.id)
        if j is None or (f.status and j.status != f.status):
            continue
        fig = figures.figures_of(measured, t.id, f.window, currency)
        if f.filters_evidence and not fig.items:
            continue
        said = t.id in holding
        rows.append(BoardRow(t.id, t.label, j.status, fig, j.verdict if said else None, j.reason if said else None,
                             [], t.label_en, t.label_fr))
    rows.sort(key=lambda r: (-r.figures.score, r.id))
    total = len(rows)
    offset = (f.page - 1) * PAGE_SIZE
    rows = rows[offset:offset + PAGE_SIZE]
    ids = [r.id for r in rows]
    shown = tuple(sorted(evidence_fingerprints(session, cache, ids).items()))
    spark_key = ("weekly", f.scope, spark_end(now), sync, shown)
    sparks = cache.get(spark_key)
    if sparks is None:
        sparks = weekly_counts(session, ids, f.scope, now=now)
        cache.put(spark_key, sparks)
    waiting = suggestion_counts(session, ids)
    for r in rows:
        r.spark = sparks.get(r.id, [0] * SPARK_WEEKS)
        r.suggestions = waiting.get(r.id, 0)
    return Board(rows=rows, total=total, page=f.page, pages=max(1, math.ceil(total / PAGE_SIZE)),
                 filtered=f.filters_evidence)


def _version_columns() -> tuple[Any, ...]:
    last_sync = select(func.max(SyncState.last_run_at)).scalar_subquery()
    return (
        select(func.max(Theme.updated_at)).scalar_subquery(),
        select(func.max(CurationEvent.id)).scalar_subquery(),
        select(func.max(Decision.updated_at)).scalar_subquery(),
        select(func.max(AppSetting.updated_at)).scalar_subquery(),
        last_sync,
        select(func.count()).select_from(SyncState).where(SyncState.last_run_at == last_sync).scalar_subquery(),
    )


# What moves when anything the board or a theme page shows is written: the cache keys' version.
# - a theme pass or a curation changes a theme (``updated_at``) and/or logs a curation event (a new id);
# - a decision is created or changed (``updated_at``); the push pause is switched (``app_setting``);
# - a sync commits each object's bookmark with its last rows and deletions: the latest run's start and how many
#   objects have finished it (all objects of one run share that start).
# Each is a MAX on an index or a table of a few rows: cheap whatever the data size. Built once, so SQLAlchemy
# keeps its compiled form (webapp.security reads it with the signed-in user in the same statement).
VERSION_COLUMNS = _version_columns()
VERSION_WIDTH = len(VERSION_COLUMNS)
DATA_VERSION = select(*VERSION_COLUMNS)


class DataVersion(NamedTuple):
    themes: Any
    curation: Any
    decisions: Any
    settings: Any
    sync_run: Any
    sync_objects: Any

    @property
    def sync(self) -> tuple[Any, Any]:
        """What only a sync moves (mirrored accounts, deals, reps, feedback text, deletions)."""
        return (self.sync_run, self.sync_objects)


def data_version(session: Session) -> DataVersion:
    """The data version now (see VERSION_COLUMNS), in one query."""
    return DataVersion(*session.execute(DATA_VERSION).one())


def _bucket(column: Any, edges: Sequence[dt.datetime]) -> Any:
    """Bucket index of ``column`` given ascending bucket start ``edges`` (portable: a CASE, no date functions)."""
    whens = [(column >= edges[i], i) for i in range(len(edges) - 1, -1, -1)]
    return case(*whens, else_=-1)


def spark_end(now: dt.datetime) -> dt.datetime:
    """The sparklines' weeks end with the current UTC day: the same buckets all day, so they can be cached."""
    return (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def weekly_counts(session: Session, theme_ids: Sequence[int], scope: figures.Scope | None, *,
                  now: dt.datetime) -> dict[int, list[int]]:
    """Items per week over the 12 weeks ending today for each theme, in the board's filters whatever its period
    (the sparkline is its own 12-week window), in one grouped query."""
    if not theme_ids:
        return {}
    end = spark_end(now)
    edges = [end - dt.timedelta(weeks=SPARK_WEEKS - i) for i in range(SPARK_WEEKS)]
    bucket = _bucket(FeedbackItem.occurred_at, edges).label("bucket")
    stmt = _evidence_from(select(ThemeEvidence.theme_id, bucket, func.count(distinct(FeedbackItem.id)))).where(
        ThemeEvidence.theme_id.in_(theme_ids), FeedbackItem.occurred_at >= edges[0],
        FeedbackItem.occurred_at < end, *figures.evidence_conditions(scope or figures.Scope())
    ).group_by(ThemeEvidence.theme_id, bucket)
    out: dict[int, list[int]] = {}
    for theme_id, b, n in session.execute(stmt):
        if 0 <= b < SPARK_WEEKS:
            out.setdefault(theme_id, [0] * SPARK_WEEKS)[b] = n
    return out


def facets(session: Session, settings: Settings) -> dict[str, list[str]]:
    """The values offered by the board's filters (teams, regions, segments, mapped picklists)."""
    def distinct_values(column: Any) -> list[str]:
        return [v for v in session.scalars(select(column).where(column.is_not(None)).distinct().order_by(column).limit(200))
                if v not in ("", None)]

    out = {"team": distinct_values(SalesforceUser.team), "region": distinct_values(Opportunity.region),
           "segment": distinct_values(Opportunity.segment)}
    for m in settings.mapping.extra:
        if m.kind == "boolean":
            out[f"attr.{m.name}"] = ["true", "false"]
        else:
            out[f"attr.{m.name}"] = [str(v) for v in distinct_values(Opportunity.attributes[m.name].as_string())]
    return out


# --------------------------------------------------------------------------------------------- theme detail
@dataclass
class EvidenceRow:
    id: int
    text: str
    pinned: bool
    origin: str
    occurred_at: dt.datetime
    channel: str
    lang: str
    source_object: str
    source_id: str
    opportunity_id: str | None
    opportunity_name: str | None
    stage: str | None
    amount: float | None
    currency: str | None
    account_id: str | None
    account_name: str | None
    owner_name: str | None
    loss_reason: str | None = None  # its deal's loss-reason picklist value (a loss reason's text starts with it)
    now_in: ThemeRef | None = None  # a suggestion's quote: the theme it counts in now (accepting moves it here)


def evidence(session: Session, theme_id: int, *, page: int = 1, scope: figures.Scope = figures.Scope(),
             window: int | None = None, now: dt.datetime | None = None) -> tuple[list[EvidenceRow], int]:
    """The theme's active evidence in the period and filters, pinned quotes first then newest, and how many quotes
    that is; the page's quotes come with who/where/how much in one query."""
    clock = figures.Clock.at(now or utcnow())
    where = (ThemeEvidence.theme_id == theme_id, *figures.evidence_conditions(scope, clock, window))
    total = session.scalar(select(func.count()).select_from(ThemeEvidence)
                           .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
                           .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id).where(*where)) or 0
    # Two steps: pick the page's ids on a narrow join (a big theme has thousands of quotes), then fetch the
    # wide rows (text, account, deal, owner) for those ids only.
    order = (ThemeEvidence.pinned.desc(), FeedbackItem.occurred_at.desc(), ThemeEvidence.id)
    page_ids = (select(ThemeEvidence.id)
                .join(FeedbackSegment, FeedbackSegment.id == ThemeEvidence.segment_id)
                .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id)
                .where(*where)
                .order_by(*order).limit(EVIDENCE_PAGE).offset((page - 1) * EVIDENCE_PAGE)
                .correlate(None)).scalar_subquery()
    return _evidence_rows(session, page_ids, order), total


def evidence_rows(session: Session, ids: Sequence[int]) -> dict[int, EvidenceRow]:
    """Chosen evidence (a split's quotes) with who/where/how much, by evidence id, in one query."""
    if not ids:
        return {}
    return {r.id: r for r in _evidence_rows(session, list(ids), (ThemeEvidence.id,))}


def _evidence_rows(session: Session, ids: Any, order: Sequence[Any]) -> list[EvidenceRow]:
    """The wide rows (text, account, deal, owner) of the evidence ``ids`` (a subquery or a list), in ``order``."""
    owner = aliased(SalesforceUser)
    stmt = (_evidence_from(select(
        ThemeEvidence.id, FeedbackSegment.text, ThemeEvidence.pinned, ThemeEvidence.origin, FeedbackItem.occurred_at,
        # The quote's own language (its segment's), not its note's: a mixed note is French, an English clause of
        # it is not, and the page tags the quote with it (``lang``) for screen readers and hyphenation.
        FeedbackItem.channel, FeedbackSegment.lang, FeedbackItem.source_object, FeedbackItem.source_id,
        Opportunity.id.label("opportunity_id"), Opportunity.name.label("opportunity_name"), Opportunity.stage,
        Opportunity.amount, Opportunity.currency, FeedbackItem.account_id, Account.name.label("account_name"),
        owner.name.label("owner_name"), Opportunity.loss_reason))
        .outerjoin(Account, Account.id == FeedbackItem.account_id)
        .outerjoin(owner, owner.id == FeedbackItem.owner_id)
        .where(ThemeEvidence.id.in_(ids))
        .order_by(*order))
    return [EvidenceRow(r.id, r.text, r.pinned, r.origin, r.occurred_at, r.channel, r.lang, r.source_object,
                        r.source_id, r.opportunity_id, r.opportunity_name, r.stage,
                        float(r.amount) if r.amount is not None else None, r.currency, r.account_id,
                        r.account_name, r.owner_name, r.loss_reason) for r in session.execute(stmt)]


def last_curation(session: Session, theme_id: int) -> int | None:
    """The id of the theme's latest curation event (a pin changes evidence without touching the theme row)."""
    return session.scalar(select(func.max(CurationEvent.id)).where(CurationEvent.theme_id == theme_id))


# Events written under the theme a quote went to, which took it out of another (``details.from_theme_id``).
LEFT_ACTIONS = ("move_evidence", "accept_suggestion")


def activity(session: Session, theme_id: int, limit: int = 30) -> list[dict[str, Any]]:
    """The theme's activity, newest first, in one statement: its own events and those that took a quote out of it
    (a person moved it to another theme, or another theme accepted it as a suggestion). Those are written under
    the theme the quote went to; read under it alone, a theme lost quotes with no line saying where they went.
    ``theme_id`` in each row is the theme the event was written under (the other theme for a quote that left)."""
    left = and_(CurationEvent.action.in_(LEFT_ACTIONS),
                CurationEvent.details["from_theme_id"].as_integer() == theme_id)
    stmt = (select(CurationEvent.at, CurationEvent.action, CurationEvent.theme_id, CurationEvent.details,
                   AppUser.email)
            .outerjoin(AppUser, AppUser.id == CurationEvent.user_id)
            .where(or_(CurationEvent.theme_id == theme_id, left))
            .order_by(CurationEvent.at.desc(), CurationEvent.id.desc())
            .limit(limit))
    return [dict(r._mapping) for r in session.execute(stmt)]


def accepted_from(session: Session, theme_id: int, user_id: int | None) -> int | None:
    """The theme the quote ``user_id`` just accepted as a suggestion of ``theme_id`` left, as the curation event
    recorded it (``jobs.curation.accept_suggestion``), or None where it counted in no other theme: read after the
    accept, in its transaction, so the page says what was done rather than guessing it again."""
    details = session.scalar(select(CurationEvent.details)
                             .where(CurationEvent.theme_id == theme_id, CurationEvent.action == "accept_suggestion",
                                    CurationEvent.user_id == user_id)
                             .order_by(CurationEvent.id.desc()).limit(1))
    found = (details or {}).get("from_theme_id")
    return found if isinstance(found, int) else None


def decisions_for(session: Session, theme_id: int) -> list[Decision]:
    return list(session.scalars(select(Decision).where(Decision.theme_id == theme_id)
                                .order_by(Decision.created_at.desc(), Decision.id.desc())))


class ThemeRef(NamedTuple):
    """A theme as a list or a select names it: its names per language go with it (templating.theme_name)."""

    id: int
    label: str
    label_en: str | None
    label_fr: str | None


def active_themes(session: Session, *, exclude: int | None = None, limit: int | None = 300) -> list[ThemeRef]:
    """Active themes by score, the ``limit`` first (the targets a select offers; the API accepts any id), or all of
    them with ``limit=None`` (the move box's search, which compares names in Python)."""
    stmt = select(Theme.id, Theme.label, Theme.label_en, Theme.label_fr).where(Theme.status.in_(BOARD_STATUSES))
    if exclude is not None:
        stmt = stmt.where(Theme.id != exclude)
    return [ThemeRef(*r) for r in session.execute(stmt.order_by(Theme.score.desc(), Theme.id).limit(limit))]


def other_themes(session: Session, theme_id: int, limit: int = 300) -> list[ThemeRef]:
    """Targets offered for merge and move: the other active themes by score."""
    return active_themes(session, exclude=theme_id, limit=limit)


# --------------------------------------------------------------------------------------------- suggestions
SUGGESTIONS_SHOWN = 50


def suggestion_counts(session: Session, theme_ids: Sequence[int]) -> dict[int, int]:
    """Suggested quotes waiting per theme, for the board's rows (one grouped query on the theme_id index)."""
    if not theme_ids:
        return {}
    return dict(session.execute(select(ThemeEvidence.theme_id, func.count())
                                .where(ThemeEvidence.theme_id.in_(list(theme_ids)), ThemeEvidence.state == "suggested")
                                .group_by(ThemeEvidence.theme_id)).all())


def taught_counts(session: Session, theme_id: int) -> tuple[int, int]:
    """(suggested quotes, example sentences) of a theme in one statement: most themes have neither, and then the
    theme page reads nothing more for them."""
    row = session.execute(select(
        select(func.count()).select_from(ThemeEvidence).where(ThemeEvidence.theme_id == theme_id,
                                                              ThemeEvidence.state == "suggested").scalar_subquery(),
        select(func.count()).select_from(ThemeExample).where(ThemeExample.theme_id == theme_id).scalar_subquery(),
    )).one()
    return int(row[0] or 0), int(row[1] or 0)


def suggestions(session: Session, theme_id: int, *, limit: int = SUGGESTIONS_SHOWN,
                total: int | None = None) -> tuple[list[EvidenceRow], int]:
    """The theme's suggested quotes, closest first: assignments the theme pass was unsure of and did not make.

    They wait for a person's accept or decline; no figure counts them (every figure reads active evidence).
    ``total``: their count when the caller read it already (``taught_counts``).
    """
    where = (ThemeEvidence.theme_id == theme_id, ThemeEvidence.state == "suggested")
    if total is None:
        total = session.scalar(select(func.count()).select_from(ThemeEvidence).where(*where)) or 0
    if not total:
        return [], 0
    order = (ThemeEvidence.similarity.desc(), ThemeEvidence.id)
    ids = select(ThemeEvidence.id).where(*where).order_by(*order).limit(limit).correlate(None).scalar_subquery()
    rows = _evidence_rows(session, ids, order)
    # Where each quote counts now: accepting a suggestion moves the quote out of that theme, which a person must
    # see before answering (the review accepted quotes with no word of where they came from).
    held = aliased(ThemeEvidence)
    now_in = {r[0]: ThemeRef(*r[1:]) for r in session.execute(
        select(ThemeEvidence.id, Theme.id, Theme.label, Theme.label_en, Theme.label_fr)
        .join(held, and_(held.segment_id == ThemeEvidence.segment_id, held.state == "active",
                         held.theme_id != theme_id))
        .join(Theme, Theme.id == held.theme_id)
        .where(ThemeEvidence.id.in_([r.id for r in rows])))}
    for r in rows:
        r.now_in = now_in.get(r.id)
    return rows, total


# --------------------------------------------------------------------------------------------- examples
@dataclass
class ExampleRow:
    text: str
    lang: str
    created_at: dt.datetime
    author: str | None


def examples(session: Session, theme_id: int, limit: int = 100,
             total: int | None = None) -> tuple[list[ExampleRow], int]:
    """The sentences people wrote to say what the theme is about, newest first (``total`` as in suggestions)."""
    if total is None:
        total = session.scalar(select(func.count()).select_from(ThemeExample)
                               .where(ThemeExample.theme_id == theme_id)) or 0
    if not total:
        return [], 0
    stmt = (select(ThemeExample.text, ThemeExample.lang, ThemeExample.created_at, AppUser.email)
            .outerjoin(AppUser, AppUser.id == ThemeExample.created_by_id)
            .where(ThemeExample.theme_id == theme_id)
            .order_by(ThemeExample.created_at.desc(), ThemeExample.id.desc()).limit(limit))
    return [ExampleRow(*r) for r in session.execute(stmt)], total


# --------------------------------------------------------------------------------------------- search
SEARCH_PAGE = 25
SEARCH_MAX = 100  # matches shown at most: a person reads and ticks them; a longer list asks for a narrower search
SEARCH_MIN_CHARS = 2


@dataclass
class SearchHit:
    segment_id: int
    text: str
    lang: str
    occurred_at: dt.datetime
    channel: str
    source_object: str
    source_id: str
    opportunity_id: str | None
    opportunity_name: str | None
    account_name: str | None
    theme: ThemeRef | None  # the active theme it is evidence of, if any
    is_feedback: bool = True  # False: the filter (or a person) set it aside as not feedback


@dataclass
class SearchResult:
    q: str
    hits: list[SearchHit]
    total: int  # matches that can be shown (at most SEARCH_MAX)
    more: bool  # more than SEARCH_MAX matched
    page: int
    pages: int
    set_aside: bool = False  # the matches set aside as not feedback are among the hits
    aside: int = 0  # without them: how many matches were set aside (at most SEARCH_MAX), for the page to offer them


def search_segments(session: Session, q: str, page: int = 1, *, set_aside: bool = False) -> SearchResult:
    """Feedback segments whose text contains ``q`` (case and accents aside), newest first, with their theme; with
    ``set_aside``, the segments set aside as not feedback too (a person may read one as feedback and file it). Without
    it, how many of those match is counted: a review's searches for "basque" silently hid the matches the filter had
    set aside, and their number changed after a pass with nothing on the page saying why.

    A LIKE '%q%' cannot use an index, so the one statement that scans is bounded: it walks the primary key
    backwards and stops at SEARCH_MAX + 1 matches (ORDER BY id with LIMIT: no sort of every match), so beyond
    SEARCH_MAX the most recently synced are kept. Those ids give the count; they are ordered by date on their
    primary keys, and the wide rows and the themes are read for the page's ids only. A term no text
    holds scans the whole table once (0.2 s for 300,000 segments on SQLite, measured).
    """
    q = " ".join((q or "").split())[:200]
    if len(q) < SEARCH_MIN_CHARS:
        return SearchResult(q, [], 0, False, 1, 1, set_aside)
    kept = [] if set_aside else [FeedbackSegment.is_feedback == true()]
    matching = list(session.scalars(
        select(FeedbackSegment.id).where(*kept, text_search(q))
        .order_by(FeedbackSegment.id.desc()).limit(SEARCH_MAX + 1)))
    aside = 0 if set_aside else len(session.scalars(
        select(FeedbackSegment.id).where(FeedbackSegment.is_feedback == false(), text_search(q))
        .limit(SEARCH_MAX)).all())
    total = min(len(matching), SEARCH_MAX)
    pages = max(1, math.ceil(total / SEARCH_PAGE))
    page = max(1, min(page, pages))
    # Shown newest first by when the feedback was written (the ids only say when it was synced): the shown
    # matches are sorted on their primary keys, never the whole table.
    by_date = list(session.scalars(
        select(FeedbackSegment.id).join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id)
        .where(FeedbackSegment.id.in_(matching[:SEARCH_MAX]))
        .order_by(FeedbackItem.occurred_at.desc(), FeedbackSegment.id.desc()))) if total else []
    ids = by_date[(page - 1) * SEARCH_PAGE:page * SEARCH_PAGE]
    if not ids:
        return SearchResult(q, [], total, len(matching) > SEARCH_MAX, page, pages, set_aside, aside)
    rows = session.execute(
        select(FeedbackSegment.id, FeedbackSegment.text, FeedbackSegment.lang, FeedbackSegment.is_feedback,
               FeedbackItem.occurred_at,
               FeedbackItem.channel, FeedbackItem.source_object, FeedbackItem.source_id,
               Opportunity.id.label("opportunity_id"), Opportunity.name.label("opportunity_name"),
               Account.name.label("account_name"))
        .join(FeedbackItem, FeedbackItem.id == FeedbackSegment.item_id)
        .outerjoin(Opportunity, Opportunity.id == FeedbackItem.opportunity_id)
        .outerjoin(Account, Account.id == FeedbackItem.account_id)
        .where(FeedbackSegment.id.in_(ids))).all()
    themes = {r.segment_id: ThemeRef(r.id, r.label, r.label_en, r.label_fr) for r in session.execute(
        select(ThemeEvidence.segment_id, Theme.id, Theme.label, Theme.label_en, Theme.label_fr)
        .join(Theme, Theme.id == ThemeEvidence.theme_id)
        .where(ThemeEvidence.segment_id.in_(ids), ThemeEvidence.state == "active",
               Theme.status.in_(BOARD_STATUSES)))}
    by_id = {r.id: r for r in rows}
    hits = [SearchHit(r.id, r.text, r.lang, r.occurred_at, r.channel, r.source_object, r.source_id, r.opportunity_id,
                      r.opportunity_name, r.account_name, themes.get(r.id), bool(r.is_feedback))
            for r in (by_id[i] for i in ids if i in by_id)]
    return SearchResult(q, hits, total, len(matching) > SEARCH_MAX, page, pages, set_aside, aside)


def salesforce_url(settings: Settings, record_id: str | None) -> str | None:
    """The record in Salesforce (instance URL + Id); None when no instance is configured or no Id."""
    base = settings.salesforce.instance_url.rstrip("/")
    if not base or not record_id or not base.startswith("https://"):
        return None
    return f"{base}/{record_id}"


__all__ = ["Board", "BoardFilters", "BoardRow", "EvidenceRow", "ExampleRow", "FigureCache", "FilterError", "NO_CACHE",
           "SearchHit", "SearchResult", "ThemeRef", "active_themes", "board", "evidence", "examples", "facets",
           "judgements", "org_volumes", "activity", "decisions_for", "other_themes", "salesforce_url", "search_segments",
           "suggestion_counts", "suggestions", "theme_figures"]
