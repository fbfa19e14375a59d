"""SQLAlchemy 2.x typed ORM models. Every datetime is stored and returned as UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base

LABELS = ("support", "oppose", "neutral", "mixed")
METHODS = ("rules", "model", "llm", "manual")
STATUSES = ("auto", "verified", "corrected", "rejected", "suggested")
# not in aggregates, timelines or shifts: rejected by a reviewer, or suggested (the llm engine's
# suggestions mode) and not yet verified or corrected
UNCOUNTED_STATUSES = ("rejected", "suggested")
# statuses of an automatic observation nobody has reviewed yet: what the review queue lists (the
# llm engine's suggestions too), and what a re-extraction replaces
UNREVIEWED_STATUSES = ("auto", "suggested")
ACTOR_KINDS = ("person", "state", "organization", "bloc", "group")
DIRECTIONS = ("toward_support", "toward_oppose")
SHIFT_STATUSES = ("active", "withdrawn")
SCOPES = ("read", "write", "admin")  # each includes the ones before it


# Every id, and every column holding one, is 64-bit: BIGINT on PostgreSQL (migration 0011), where
# INTEGER would cap a table at 2^31 - 1 rows and refuse larger ids in queries. SQLite's INTEGER is
# already 64-bit, and a primary key must stay INTEGER there to be the rowid.
IdType = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, on SQLite (naive text) and PostgreSQL (timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Stanceline stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RegistryRevision(Base):
    """One row whose counter every registry write bumps, so processes can cache the registry safely."""

    __tablename__ = "registry_revision"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DataRevision(Base):
    """One row whose counter every commit that changes timeline data bumps (`app.store.unit_of_work`),
    so processes can cache finished reads and know when they went stale."""

    __tablename__ = "data_revision"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Source(Base):
    __tablename__ = "source"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Article(TimestampMixin, Base):
    __tablename__ = "article"
    __table_args__ = (
        Index("ix_article_published_id", "published_at", "id"),
        Index(
            "ix_article_extraction_pending",
            "id",
            sqlite_where=text("extraction_state = 'pending'"),
            postgresql_where=text("extraction_state = 'pending'"),
        ),
        # /readyz and /metrics count these on every call: no scan of the whole article table
        Index(
            "ix_article_extraction_failed",
            "id",
            sqlite_where=text("extraction_state = 'failed'"),
            postgresql_where=text("extraction_state = 'failed'"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    url: Mapped[str | None] = mapped_column(String(2048), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(512), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16), default="en")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("source.id", ondelete="SET NULL"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    # a syndicated copy points at its story's first article (app.ingest.fingerprint); it stores no
    # observations of its own, so a wire story counts once in timelines and aggregates
    story_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("article.id", ondelete="SET NULL"), index=True
    )
    # what the article's automatic observations were extracted with: the registry revision and the
    # engine's version (app.ingest.articles stamps them). An older stamp makes a re-ingest of the same text
    # re-extract it; NULL (stored before migration 0012): unknown, see `app.ingest.articles.is_stale`
    extracted_registry_revision: Mapped[int | None] = mapped_column(Integer)
    extractor_version: Mapped[str | None] = mapped_column(String(100))
    # the article row is the extraction queue (app.jobs.extraction): "pending" until a worker has
    # extracted it, "failed" past its retries (the last error kept), NULL or "done" once extracted.
    # A worker claims a pending article until `extraction_lease_until`; a failed attempt pushes
    # the lease out by its backoff
    extraction_state: Mapped[str | None] = mapped_column(String(16))
    extraction_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extraction_error: Mapped[str | None] = mapped_column(Text)
    extraction_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extraction_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    source: Mapped[Source | None] = relationship(lazy="raise")
    revisions: Mapped[list[ArticleRevision]] = relationship(
        back_populates="article",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="ArticleRevision.revision",
    )


class ArticleRevision(Base):
    """Every text an article has had; the article row holds the current one."""

    __tablename__ = "article_revision"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    article_id: Mapped[int] = mapped_column(IdType, ForeignKey("article.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    article: Mapped[Article] = relationship(back_populates="revisions", lazy="raise")


class Actor(TimestampMixin, Base):
    __tablename__ = "actor"
    __table_args__ = (CheckConstraint(_in("kind", ACTOR_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)

    aliases: Mapped[list[ActorAlias]] = relationship(
        back_populates="actor", lazy="raise", cascade="all, delete-orphan", order_by="ActorAlias.id"
    )
    memberships: Mapped[list[ActorMembership]] = relationship(
        back_populates="actor",
        lazy="raise",
        cascade="all, delete-orphan",
        foreign_keys="ActorMembership.actor_id",
        order_by="ActorMembership.id",
    )


class ActorAlias(Base):
    __tablename__ = "actor_alias"
    __table_args__ = (UniqueConstraint("actor_id", "alias"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    actor_id: Mapped[int] = mapped_column(IdType, ForeignKey("actor.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(300))

    actor: Mapped[Actor] = relationship(back_populates="aliases", lazy="raise")


class ActorMembership(Base):
    """`actor` belongs to `parent` in `role` between `valid_from` and `valid_to` (inclusive, open when null)."""

    __tablename__ = "actor_membership"
    __table_args__ = (
        CheckConstraint("actor_id <> parent_id", name="not_self"),
        CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to", name="valid_range"
        ),
        Index("ix_actor_membership_parent", "parent_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    actor_id: Mapped[int] = mapped_column(IdType, ForeignKey("actor.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int] = mapped_column(IdType, ForeignKey("actor.id", ondelete="CASCADE"))
    role: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    actor: Mapped[Actor] = relationship(back_populates="memberships", foreign_keys=[actor_id], lazy="raise")
    parent: Mapped[Actor] = relationship(foreign_keys=[parent_id], lazy="raise")


class Topic(TimestampMixin, Base):
    __tablename__ = "topic"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    examples: Mapped[list[str]] = mapped_column(JSON, default=list)
    # keywords that count only alongside another sign of the topic ("forces", "aid")
    weak_keywords: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # plain phrases (case-insensitive) that mark an unrelated sense of a keyword ("National Guard")
    excluded_phrases: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # how close (0..1) a clause must be to the topic to count as about it; NULL: the engine's default
    relevance_threshold: Mapped[float | None] = mapped_column(Float)
    parent_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("topic.id", ondelete="SET NULL"), index=True
    )

    parent: Mapped[Topic | None] = relationship(remote_side=[id], lazy="raise")


class Observation(TimestampMixin, Base):
    """One stance: an actor's position on a topic at a time, with the evidence that shows it."""

    __tablename__ = "observation"
    __table_args__ = (
        CheckConstraint("score >= -1 AND score <= 1", name="score_range"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
        CheckConstraint(_in("label", LABELS), name="label"),
        CheckConstraint(_in("method", METHODS), name="method"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(
            "evidence_start IS NULL OR (evidence_start >= 0 AND evidence_end >= evidence_start)",
            name="evidence_span",
        ),
        Index("ix_observation_topic_actor_observed", "topic_id", "actor_id", "observed_at"),
        Index("ix_observation_observed_id", "observed_at", "id"),
        Index("ix_observation_article", "article_id"),
        Index("ix_observation_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    actor_id: Mapped[int] = mapped_column(IdType, ForeignKey("actor.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(IdType, ForeignKey("topic.id", ondelete="CASCADE"))
    article_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("article.id", ondelete="CASCADE"))
    article_revision: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Float)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence: Mapped[str | None] = mapped_column(Text)
    evidence_start: Mapped[int | None] = mapped_column(Integer)
    evidence_end: Mapped[int | None] = mapped_column(Integer)
    speaker: Mapped[str | None] = mapped_column(String(300))
    shift: Mapped[bool] = mapped_column(Boolean, default=False)
    method: Mapped[str] = mapped_column(String(10))
    extractor_version: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default="auto")
    note: Mapped[str | None] = mapped_column(Text)
    extras: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    actor: Mapped[Actor] = relationship(lazy="raise")
    topic: Mapped[Topic] = relationship(lazy="raise")
    article: Mapped[Article | None] = relationship(lazy="raise")


# The review queue's order (app.store.review_queue): uncertainty, 1 - |2 * confidence - 1|, highest
# first, then the newest, then by id. Its constants are written into the SQL, never bound, so that
# the queue's query and these indexes hold the same expression for both planners.
REVIEW_UNCERTAINTY = (
    literal_column("1", Float)
    - func.abs(literal_column("2", Float) * Observation.confidence - literal_column("1", Float), type_=Float)
).self_group()
# Partial: only unreviewed rows, so a review takes its row out and a queue read never walks past
# the reviewed ones. Changing UNREVIEWED_STATUSES needs a migration that creates both again with
# the new list (the drift test does not compare predicates; tests/db/test_review_queue_indexes.py
# does). Alembic cannot reflect expression indexes on SQLite: a later batch rebuild of
# `observation` there loses them unless that migration creates them again (that test catches it).
_UNREVIEWED = text(_in("status", UNREVIEWED_STATUSES))
Index(
    "ix_observation_review_queue",
    REVIEW_UNCERTAINTY.desc(),
    Observation.observed_at.desc(),
    Observation.id,
    sqlite_where=_UNREVIEWED,
    postgresql_where=_UNREVIEWED,
)
Index(  # the queue of one topic (the dashboard's), read in order as the whole queue is
    "ix_observation_review_queue_topic",
    Observation.topic_id,
    REVIEW_UNCERTAINTY.desc(),
    Observation.observed_at.desc(),
    Observation.id,
    sqlite_where=_UNREVIEWED,
    postgresql_where=_UNREVIEWED,
)


class Shift(Base):
    """A detected change in an actor's level on a topic (its roll-up series), recorded once.

    Re-detection after later ingests updates the row (a moved shift keeps `first_detected_at`);
    a shift no longer supported by the data is `withdrawn`, never deleted.
    """

    __tablename__ = "shift"
    __table_args__ = (
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_in("status", SHIFT_STATUSES), name="status"),
        Index("ix_shift_topic_actor_at", "topic_id", "actor_id", "at"),
        Index("ix_shift_first_detected", "first_detected_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    topic_id: Mapped[int] = mapped_column(IdType, ForeignKey("topic.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(IdType, ForeignKey("actor.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    before: Mapped[float] = mapped_column(Float)
    after: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    evidence_before: Mapped[list[int]] = mapped_column(JSON, default=list)
    evidence_after: Mapped[list[int]] = mapped_column(JSON, default=list)
    cue_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # why the shift is called (app.timelines.shifts.Basis), comma-joined, strongest first
    # ("stated,statistical"): a plain string, so the API filters it with LIKE alike on SQLite and
    # PostgreSQL; `bases` gives the list, whose first item is the shift's grade
    basis: Mapped[str] = mapped_column(String(80), default="statistical", server_default="statistical")
    # one plain sentence per basis: why the shift is called
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # {"before": [member slugs], "after": [...], "at": "YYYY-MM-DDTHH:MM:SSZ"} when the level moved
    # because the person holding office changed
    office_change: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="active")
    first_detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    actor: Mapped[Actor] = relationship(lazy="raise")
    topic: Mapped[Topic] = relationship(lazy="raise")

    @property
    def bases(self) -> list[str]:
        """`basis` as a list, strongest first; the first is the shift's grade."""
        return [b for b in (self.basis or "").split(",") if b]

    @bases.setter
    def bases(self, value: list[str]) -> None:
        self.basis = ",".join(value)


class WebhookDelivery(Base):
    """Transactional outbox: written with the shift it announces, delivered after commit with retries."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    event: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ShiftRefresh(Base):
    """Queue of (topic, actor) series whose shifts must be recomputed; one row per series.

    Writes add rows in their own transaction; a background worker claims and refreshes them, so
    a burst of ingests costs one refresh per series.
    """

    __tablename__ = "shift_refresh"

    topic_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("actor.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Base):
    """An API key: only its SHA-256 hash is stored (keys are 256-bit random, so a fast hash is
    enough); `prefix` identifies it in listings without revealing it."""

    __tablename__ = "api_key"
    __table_args__ = (CheckConstraint(_in("scope", SCOPES), name="scope"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ExtractorModel(Base):
    """A claim model trained for this deployment (`stanceline train`): the model file itself
    (`app.extraction.claim_model`, JSON), its SHA-256 and what training measured. At most one is
    active: the learned engine uses it; with none, the engine uses the model shipped with the
    package."""

    __tablename__ = "extractor_model"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sha: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ObservationDaily(Base):
    """Per topic, actor and UTC day: the sums a timeline needs over the non-rejected observations
    (count, sum c, sum c*s, sum c^2, sum c*s^2 for confidence c and score s; see app.timelines.levels).

    Kept exact by every write path in the write's own transaction (`app.store.aggregates`), so
    timelines read days instead of observations; `stanceline db check` recomputes it and compares.
    A row whose count falls to 0 is deleted.
    """

    __tablename__ = "observation_daily"
    __table_args__ = (Index("ix_observation_daily_actor", "actor_id"), {"sqlite_with_rowid": False})

    topic_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("actor.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float)
    weighted_sum: Mapped[float] = mapped_column(Float)
    weight_sq: Mapped[float] = mapped_column(Float)
    weighted_sq_sum: Mapped[float] = mapped_column(Float)


PERIODS = ("week", "month")


class ObservationPeriod(Base):
    """The daily aggregate summed per ISO week (starting Monday) and per month: the same sums for
    each (topic, period, actor, first day), so a weekly or monthly timeline over years reads a
    row per bucket. Kept with `observation_daily`, in the same writes, and checked with it.
    """

    __tablename__ = "observation_period"
    __table_args__ = (
        CheckConstraint(_in("period", PERIODS), name="period"),
        Index("ix_observation_period_actor", "actor_id"),
        {"sqlite_with_rowid": False},
    )

    topic_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("topic.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(5), primary_key=True)
    actor_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("actor.id", ondelete="CASCADE"), primary_key=True
    )
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float)
    weighted_sum: Mapped[float] = mapped_column(Float)
    weight_sq: Mapped[float] = mapped_column(Float)
    weighted_sq_sum: Mapped[float] = mapped_column(Float)


# --- feeds, jobs and syndicated stories (app.feeds, app.jobs, app.ingest.fingerprint) --------------------

JOB_KINDS = ("reextract",)
JOB_STATES = ("queued", "running", "succeeded", "failed")
JOB_BACKENDS = ("inprocess", "celery")
JOB_ITEM_STATUSES = ("done", "missing", "failed")


class ArticleFingerprint(Base):
    """An article's MinHash signature (app.ingest.fingerprint, as hex: plain text in exports), kept to find
    later copies of its story."""

    __tablename__ = "article_fingerprint"

    article_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True
    )
    signature: Mapped[str] = mapped_column(Text)


class ArticleFingerprintBand(Base):
    """One LSH band key of an article's signature: articles sharing a key are candidate copies."""

    __tablename__ = "article_fingerprint_band"
    __table_args__ = (Index("ix_article_fingerprint_band_article", "article_id"),)

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True
    )


class Feed(TimestampMixin, Base):
    """An RSS or Atom feed polled for new entries, with what its last fetch left to remember."""

    __tablename__ = "feed"
    __table_args__ = (Index("ix_feed_due", "active", "next_poll_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    topic_hints: Mapped[list[str]] = mapped_column(JSON, default=list)
    poll_interval_seconds: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_entry_key: Mapped[str | None] = mapped_column(Text)
    last_entry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    entries_ingested: Mapped[int] = mapped_column(Integer, default=0)


class Job(Base):
    """A background job (re-extraction, ...) and its state; progress is counted from its items."""

    __tablename__ = "job"
    __table_args__ = (
        CheckConstraint(_in("kind", JOB_KINDS), name="kind"),
        CheckConstraint(_in("state", JOB_STATES), name="state"),
        CheckConstraint(_in("backend", JOB_BACKENDS), name="backend"),
        Index("ix_job_state_heartbeat", "state", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    backend: Mapped[str] = mapped_column(String(10))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # set once every item has been handed out: `total` is final from then on
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JobItem(Base):
    """One article a job has finished with, written in the same transaction as its work: a task
    run again after a lost worker skips it, so each article is processed exactly once per job."""

    __tablename__ = "job_item"
    __table_args__ = (CheckConstraint(_in("status", JOB_ITEM_STATUSES), name="status"),)

    job_id: Mapped[int] = mapped_column(IdType, ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    article_id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
