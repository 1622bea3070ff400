"""Retour's one data model, shared by connector, jobs and webapp.

Mirrored Salesforce rows use the 18-character Salesforce Id as primary key, so "unique per table" is the
schema itself and an upsert is a plain ``ON CONFLICT (id)``. Links between mirrored rows are kept as Ids
without database foreign keys: Salesforce sends objects in any order and a child may arrive before its
parent. Retour's own rows (feedback, themes, decisions, outbox) use integer keys with real foreign keys.

Every timestamp is timezone-aware UTC, on SQLite too (see :class:`UTCDateTime`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from retour.folding import fold


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Store aware datetimes as UTC; hand back aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Retour stores timezone-aware UTC timestamps only")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


JSONType = JSON().with_variant(JSONB(), "postgresql")
SfId = String(18)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        Decimal: Numeric(18, 2),
    }


class MirroredMixin:
    """Columns every mirrored Salesforce row carries: its Id, its modstamp watermark and when Retour saw it."""

    id: Mapped[str] = mapped_column(SfId, primary_key=True)
    system_modstamp: Mapped[dt.datetime | None]
    created_date: Mapped[dt.datetime | None]
    synced_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# ------------------------------------------------------------------------------------------ mirror
class SalesforceUser(MirroredMixin, Base):
    """A Salesforce user: opportunity owners, the reps Retour gives insights back to."""

    __tablename__ = "sf_user"
    name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    team: Mapped[str | None] = mapped_column(String(255))  # UserRole name or department: the "owner team" filter
    manager_id: Mapped[str | None] = mapped_column(SfId)


class Account(MirroredMixin, Base):
    __tablename__ = "account"
    name: Mapped[str] = mapped_column(String(255), default="")
    owner_id: Mapped[str | None] = mapped_column(SfId, index=True)
    industry: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(80))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Opportunity(MirroredMixin, Base):
    __tablename__ = "opportunity"
    name: Mapped[str] = mapped_column(String(255), default="")
    account_id: Mapped[str | None] = mapped_column(SfId, index=True)
    owner_id: Mapped[str | None] = mapped_column(SfId, index=True)
    stage: Mapped[str] = mapped_column(String(80), default="")
    is_closed: Mapped[bool] = mapped_column(default=False)
    is_won: Mapped[bool] = mapped_column(default=False)
    amount: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    loss_reason: Mapped[str | None] = mapped_column(String(255))
    loss_detail: Mapped[str | None] = mapped_column(Text)
    competitor: Mapped[str | None] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(255), index=True)
    segment: Mapped[str | None] = mapped_column(String(255), index=True)
    # The org's own mapped fields ([mapping] extra), typed: {"speaks_basque": true, "tier": "Gold"}
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    account: Mapped[Account | None] = relationship(
        primaryjoin="foreign(Opportunity.account_id) == Account.id", viewonly=True, lazy="raise_on_sql")
    owner: Mapped[SalesforceUser | None] = relationship(
        primaryjoin="foreign(Opportunity.owner_id) == SalesforceUser.id", viewonly=True, lazy="raise_on_sql")


class CurrencyType(MirroredMixin, Base):
    """A currency of a multi-currency org and its static rate: units of it per one unit of the corporate currency.

    Single-currency orgs have no such object, and then every amount is in the org's one currency."""

    __tablename__ = "currency_type"
    iso_code: Mapped[str] = mapped_column(String(3), index=True)
    conversion_rate: Mapped[Decimal] = mapped_column(Numeric(18, 9))
    is_corporate: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)


class DatedConversionRate(MirroredMixin, Base):
    """A rate of one currency for a period (advanced currency management): an opportunity's amount is converted at
    the rate of the period its close date falls in, as Salesforce converts it."""

    __tablename__ = "dated_conversion_rate"
    __table_args__ = (Index("ix_dated_conversion_rate_iso_code_start_date", "iso_code", "start_date"),)
    iso_code: Mapped[str] = mapped_column(String(3))
    conversion_rate: Mapped[Decimal] = mapped_column(Numeric(18, 9))
    start_date: Mapped[dt.date] = mapped_column(Date)
    next_start_date: Mapped[dt.date | None] = mapped_column(Date)


class Activity(MirroredMixin, Base):
    """A Task or an Event: call notes, meeting notes, and the follow-up tasks Retour itself pushes."""

    __tablename__ = "activity"
    kind: Mapped[str] = mapped_column(String(5))  # Task | Event
    subject: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    what_id: Mapped[str | None] = mapped_column(SfId, index=True)
    who_id: Mapped[str | None] = mapped_column(SfId)
    account_id: Mapped[str | None] = mapped_column(SfId, index=True)
    owner_id: Mapped[str | None] = mapped_column(SfId, index=True)
    activity_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(80))
    is_closed: Mapped[bool] = mapped_column(default=False)
    # External id Retour sets on the tasks it pushes, so read-back can tell them apart.
    retour_key: Mapped[str | None] = mapped_column(String(80), index=True)


class Case(MirroredMixin, Base):
    __tablename__ = "sf_case"
    account_id: Mapped[str | None] = mapped_column(SfId, index=True)
    owner_id: Mapped[str | None] = mapped_column(SfId)
    subject: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(80))
    priority: Mapped[str | None] = mapped_column(String(40))
    origin: Mapped[str | None] = mapped_column(String(40))
    is_closed: Mapped[bool] = mapped_column(default=False)


class Note(MirroredMixin, Base):
    """An enhanced note (ContentNote) with the records it is linked to through ContentDocumentLink."""

    __tablename__ = "note"
    title: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str | None] = mapped_column(SfId)
    linked_ids: Mapped[list[Any]] = mapped_column(default=list)
    opportunity_id: Mapped[str | None] = mapped_column(SfId, index=True)
    account_id: Mapped[str | None] = mapped_column(SfId, index=True)


# ------------------------------------------------------------------------------------------ feedback
class FeedbackItem(Base):
    """One piece of feedback text taken from one field of one Salesforce record, cleaned."""

    __tablename__ = "feedback_item"
    __table_args__ = (UniqueConstraint("source_object", "source_id", "source_field"),
                      Index("ix_feedback_item_occurred_at", "occurred_at"),
                      # What the next theme pass has to cut into clauses: only rows it has not cut, so finding them
                      # costs what is new, not the corpus (an anti-join against the segments read both tables).
                      Index("ix_feedback_item_unsegmented", "id", sqlite_where=text("segmented_at IS NULL"),
                            postgresql_where=text("segmented_at IS NULL")))
    id: Mapped[int] = mapped_column(primary_key=True)
    source_object: Mapped[str] = mapped_column(String(40))  # Opportunity | Task | Event | Case | ContentNote | import
    source_id: Mapped[str] = mapped_column(String(40))
    source_field: Mapped[str] = mapped_column(String(40))  # loss_reason | description | body
    # loss_reason | note | case: the "source" filter of the board
    channel: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8), default="other")
    occurred_at: Mapped[dt.datetime]
    account_id: Mapped[str | None] = mapped_column(SfId, index=True)
    opportunity_id: Mapped[str | None] = mapped_column(SfId, index=True)
    owner_id: Mapped[str | None] = mapped_column(SfId)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when a theme pass cut the text into segments; the sync clears it when the text changes (and drops the
    # segments), so the next pass cuts it again.
    segmented_at: Mapped[dt.datetime | None]
    # The text_hash of the text the segments were cut from. A sync may change the text while a pass cuts the old one
    # (separate threads or processes): the pass then leaves the stamp off, and the next pass sees the segments are
    # of another text and cuts again (``jobs.themes.segment_new_items``).
    segmented_hash: Mapped[str | None] = mapped_column(String(64))

    segments: Mapped[list[FeedbackSegment]] = relationship(
        back_populates="item", cascade="all, delete-orphan", passive_deletes=True, order_by="FeedbackSegment.position")


def _search_text(context: Any) -> str:
    """The folded copy of the clause being inserted, from the statement's own parameters (one row's, in a bulk
    insert)."""
    return fold(context.get_current_parameters()["text"])


class FeedbackSegment(Base):
    """A clause of a FeedbackItem: the unit that is embedded and assigned to a theme (one note, several subjects)."""

    __tablename__ = "feedback_segment"
    __table_args__ = (
        UniqueConstraint("item_id", "position"),
        # What the next theme pass has to read: only rows it has not looked at, so finding them (and marking them)
        # costs what is new, not the corpus (bench/themes_scale.py). The pass marks every row it looked at.
        Index("ix_feedback_segment_unprocessed", "id", sqlite_where=text("processed_at IS NULL"),
              postgresql_where=text("processed_at IS NULL")),
        # The newest "not feedback" verdicts the learned step reads, without walking the table down to find them.
        Index("ix_feedback_segment_person_verdict", "person_verdict", "id"),
        # The figures join evidence to items through the clause, and count the items holding feedback, on every
        # pass and page: these two answer from the index, never reading the rows that carry the vectors (half the
        # time of the figures and of the org's volume at 100,000 items on SQLite).
        Index("ix_feedback_segment_item_id", "item_id", "is_feedback"),
        Index("ix_feedback_segment_id_item", "id", "item_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feedback_item.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # ``text`` folded (retour.folding.fold), what the evidence search compares: kept by the model itself, so no
    # writer can forget it: the column default folds each row of a bulk insert (jobs.themes cuts clauses that way),
    # ``_refold`` below an ORM object's. The server default only serves rows written in raw SQL, which no search
    # finds.
    search_text: Mapped[str] = mapped_column(Text, default=_search_text, server_default="")
    lang: Mapped[str] = mapped_column(String(8), default="other")
    is_feedback: Mapped[bool] = mapped_column(default=True)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(40))
    # Set once a theme pass has looked at it: unassigned segments wait in the candidate pool.
    processed_at: Mapped[dt.datetime | None]
    # What a person said of it, which no pass overrides: True "is feedback" (it was put under a theme by hand),
    # False "not feedback" (a label too: the learned no-feedback class reads it). None: nobody said.
    person_verdict: Mapped[bool | None]

    item: Mapped[FeedbackItem] = relationship(back_populates="segments")


@event.listens_for(FeedbackSegment.text, "set")
def _refold(target: FeedbackSegment, value: str, _old: Any, _initiator: Any) -> None:
    """An ORM clause whose text is set (on construction too) gets its folded copy at once, not at the flush."""
    target.search_text = fold(value)


# ------------------------------------------------------------------------------------------ themes
# The statuses of a theme people see and work on (a merged or dismissed theme is neither counted nor offered).
ACTIVE = ("emerging", "critical", "decided")


class Theme(Base):
    __tablename__ = "theme"
    id: Mapped[int] = mapped_column(primary_key=True)
    # The name shown when the reader's language has none of its own (label_en / label_fr).
    label: Mapped[str] = mapped_column(String(200))
    # The name in each language its evidence is written in; None asks a person for it (no offline translation).
    label_en: Mapped[str | None] = mapped_column(String(200))
    label_fr: Mapped[str | None] = mapped_column(String(200))
    # "discovered" (proposed by a pass) | "person" (created or confirmed by a product owner): a person's theme
    # is learned from, its name is never replaced by a proposal.
    origin: Mapped[str] = mapped_column(String(12), default="discovered")
    proposed_label: Mapped[str | None] = mapped_column(String(200))
    title_quote: Mapped[str | None] = mapped_column(Text)
    # emerging | critical | decided | merged | dismissed
    status: Mapped[str] = mapped_column(String(20), default="emerging", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="SET NULL"))
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(40))
    # Curator-set local similarity threshold offset, learnt from merges and splits.
    threshold_offset: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Indexed: the web app's cache version reads MAX(updated_at) on every page view.
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    critical_since: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    # Critical-mass figures of the last pass: accounts, items, revenue_lost, revenue_open, score, trend_30, trend_90, projection...
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    # Bumped by every change of the row (SQLAlchemy's version counter): a theme pass and a person act on the same
    # themes at the same time, and whichever writes from what it read before the other's commit must not overwrite
    # it. A pass that read a theme a person changed meanwhile runs again (jobs.themes.run_pass); a person's act on a
    # theme a pass changed meanwhile is refused with 409 and done again on the fresh page.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    evidence: Mapped[list[ThemeEvidence]] = relationship(back_populates="theme", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}

    def label_lang(self) -> str | None:
        """The language ("en" / "fr") whose name is the theme's main label, or None when the label is neither."""
        return next((lg for lg in ("en", "fr") if self.label and getattr(self, f"label_{lg}") == self.label), None)


class ThemeEvidence(Base):
    """A segment standing as evidence for a theme. Curated rows (moved, rejected, pinned) are never undone by a run."""

    __tablename__ = "theme_evidence"
    __table_args__ = (UniqueConstraint("theme_id", "segment_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("feedback_segment.id", ondelete="CASCADE"), index=True)
    similarity: Mapped[float] = mapped_column(Float, default=0.0)
    # active | suggested (an uncertain assignment a person accepts or declines) | rejected
    state: Mapped[str] = mapped_column(String(12), default="active")
    origin: Mapped[str] = mapped_column(String(12), default="auto")  # auto | curator
    pinned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The theme a merge brought this row from, while it still stands where the merge put it (``jobs.curation``):
    # undoing the merge sends it back. A person's later act on the row clears it, so their word stays. A plain
    # number: themes are never deleted (a rebuild dismisses them), and SQLite cannot add a foreign key in place. Undoing
    # reads it among the target's rows (theme_id's index), so it needs no index of its own.
    merged_from_id: Mapped[int | None]

    theme: Mapped[Theme] = relationship(back_populates="evidence")
    segment: Mapped[FeedbackSegment] = relationship()


class ThemeExample(Base):
    """A sentence a product owner wrote to say what a theme is about ("they need SAML single sign-on").

    Examples are labels like curated evidence: the next pass embeds them and the learned step reads them, so a
    theme created from a name and a few sentences gathers its evidence without anyone picking quotes.
    """

    __tablename__ = "theme_example"
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8), default="other")
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedding_model: Mapped[str | None] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ThemeProposal(Base):
    """A change the algorithm would like (merge, split, rename): a person decides."""

    __tablename__ = "theme_proposal"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # merge | split | rename
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    other_theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | accepted | dismissed
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def carved_segments(self) -> list[int]:
        """A split's second group: the clauses accepting it would move to a new theme (empty for other kinds).

        Read here because both the desk's proposals and the push (which holds records only those clauses raised)
        read the same payload."""
        groups = ((self.payload or {}).get("groups") or []) if self.kind == "split" else []
        return [int(s) for s in groups[1]] if len(groups) > 1 else []


class CurationEvent(Base):
    """The activity log: who did what to which theme, when."""

    __tablename__ = "curation_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="SET NULL"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


# ------------------------------------------------------------------------------------------ decisions and push
class Decision(Base):
    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # investigating | planned | shipped | wont_do
    target: Mapped[str | None] = mapped_column(String(80))  # a release name or a date
    insight_en: Mapped[str | None] = mapped_column(Text)
    insight_fr: Mapped[str | None] = mapped_column(Text)
    # What reps read as the insight's Name and in their task's subject, written by a person for each language
    # whose insight is written (the theme's label is a machine's). 80 is Retour_Insight__c.Name's length, so a
    # title is never cut on the rep's record. Null on drafts recorded before titles existed: approval refuses them.
    title_en: Mapped[str | None] = mapped_column(String(80))
    title_fr: Mapped[str | None] = mapped_column(String(80))
    # draft (push prepared, awaiting approval) | approved | cancelled | withdrawn
    state: Mapped[str] = mapped_column(String(12), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)  # cf. Theme
    approved_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]

    theme: Mapped[Theme] = relationship()
    push_items: Mapped[list[PushItem]] = relationship(back_populates="decision", passive_deletes=True)


class PushItem(Base):
    """The outbox: one Salesforce record Retour intends to write, with its own result."""

    __tablename__ = "push_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # insight | task | chatter
    sobject: Mapped[str] = mapped_column(String(80))
    external_key: Mapped[str] = mapped_column(String(80), unique=True)
    target_id: Mapped[str] = mapped_column(SfId)  # the Opportunity or Account it lands on
    owner_id: Mapped[str | None] = mapped_column(SfId, index=True)  # the rep who receives it
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # planned | approved | sent | failed | skipped | cancelled | withdrawn
    state: Mapped[str] = mapped_column(String(12), default="planned", index=True)
    skip_reason: Mapped[str | None] = mapped_column(Text)
    sf_id: Mapped[str | None] = mapped_column(SfId)
    error_code: Mapped[str | None] = mapped_column(String(80))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    approved_at: Mapped[dt.datetime | None]
    last_attempt_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]

    decision: Mapped[Decision] = relationship(back_populates="push_items")


# ------------------------------------------------------------------------------------------ operations
class SyncState(Base):
    """The bookmark of one Salesforce object: committed in the same transaction as the rows it covers."""

    __tablename__ = "sync_state"
    object_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    watermark: Mapped[dt.datetime | None]
    last_run_at: Mapped[dt.datetime | None]
    last_full_at: Mapped[dt.datetime | None]
    last_reconcile_at: Mapped[dt.datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SetAside(Base):
    """A Salesforce record the sync could not store, kept aside with its reason so one bad record never stops a sync.

    The admin sees them (with the record as it came, long texts shortened); the next run that stores the record
    removes it from here.
    """

    __tablename__ = "sync_set_aside"
    __table_args__ = (UniqueConstraint("object_name", "record_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    object_name: Mapped[str] = mapped_column(String(80))
    record_id: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    times: Mapped[int] = mapped_column(default=1)
    first_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class JobRun(Base):
    __tablename__ = "job_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="running")  # running | ok | stopped | failed
    api_calls: Mapped[int] = mapped_column(default=0)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class AppUser(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))  # admin | product_owner | viewer
    locale: Mapped[str | None] = mapped_column(String(5))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Sessions are signed cookies the server cannot recall; each carries the epoch it was opened in, and bumping
    # it (logout, a new password, a new role) ends every session of the account at its next request.
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AppSetting(Base):
    """Runtime switches set from the UI, e.g. the global push pause."""

    __tablename__ = "app_setting"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))


class SchedulerLock(Base):
    """A lease in the database: only the holder runs scheduled jobs, even with several instances on one PostgreSQL."""

    __tablename__ = "scheduler_lock"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[dt.datetime]
