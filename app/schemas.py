"""Pydantic request and response models: *Create, *Update, *Read, Page[T]."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

Label = Literal["support", "oppose", "neutral", "mixed"]
Method = Literal["rules", "model", "llm", "manual"]
Status = Literal["auto", "verified", "corrected", "rejected", "suggested"]
ActorKind = Literal["person", "state", "organization", "bloc", "group"]
Interval = Literal["day", "week", "month"]
IngestStatus = Literal["created", "unchanged", "revised", "reextracted", "error"]
ExtractionState = Literal["pending", "done", "failed"]
ShiftBasis = Literal["stated", "statistical", "observed", "office_change"]


def _refuse_nul(value: Any) -> Any:
    """PostgreSQL cannot store NUL in text; refuse it on every engine so behaviour does not depend on one."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL (\\u0000) characters")
    if isinstance(value, list):
        for item in value:
            _refuse_nul(item)
    return value


Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", min_length=1, max_length=200),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Alias = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), AfterValidator(_refuse_nul)
]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Example = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_refuse_nul)]
Score = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
RelevanceThreshold = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]

WEAK_KEYWORDS_HELP = (
    "Keywords too weak to decide on their own that a text is about the topic; "
    "they count only alongside another sign of it"
)
EXCLUDED_PHRASES_HELP = (
    "Plain phrases (case-insensitive, not regexes) that mark an unrelated sense of a keyword; "
    "a keyword inside one does not count"
)
RELEVANCE_THRESHOLD_HELP = (
    "How close (0..1) a clause must be to the topic to count as about it; null: the engine's default"
)

T = TypeVar("T")


def _as_utc_datetime(value: Any) -> Any:
    """Accept an aware ISO datetime or a plain date (midnight UTC); refuse naive datetimes."""
    if isinstance(value, str) and len(value) == 10:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=UTC)
    return value


# Dates outside these bounds are refused: the timeline arithmetic (pandas nanosecond timestamps)
# ends in 2262, and converting a date at either end of the calendar to UTC overflows.
EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_RANGE = f"between {EARLIEST:%Y-%m-%d} and {LATEST - timedelta(days=1):%Y-%m-%d}"


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must carry a timezone, e.g. 2025-03-26T00:00:00Z")
    # compared before converting, which could overflow
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"datetime must fall {_RANGE}")
    return value.astimezone(UTC)


def _date_in_range(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"date must fall {_RANGE}")
    return value


UTCDateTimeIn = Annotated[datetime, BeforeValidator(_as_utc_datetime), AfterValidator(_require_aware)]
DateIn = Annotated[date, AfterValidator(_date_in_range)]
# a row id as the database stores it (a signed 64-bit integer)
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# free text in a query string or a path: PostgreSQL cannot compare with a NUL any more than store one
QueryText = Annotated[str, StringConstraints(max_length=300), AfterValidator(_refuse_nul)]


class InputModel(BaseModel):
    """Base of every request body: strings are checked once here, whatever field they are in."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _refuse_nul(value)


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null at the end"
    )


# --- articles ---------------------------------------------------------------------------------


# The longest article text accepted. Extraction takes about 15 µs per character of news prose on
# the 2-core dev machine (far more in sentences crowded with actors), so a text this long is
# extracted in a few seconds; the 1,000,000 allowed before took 21-29 s.
MAX_TEXT_CHARS = 100_000


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text is blank")
    return text


# an article's text, wherever one is sent (ingest, dry-run extraction)
ArticleBody = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(_not_blank)
]


class ArticleCreate(InputModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.org/2025/03/26/europe-steps-back",
                    "title": "European leaders step back from ground troops",
                    "published_at": "2025-03-26T08:00:00Z",
                    "source": "Example Wire",
                    "language": "en",
                    "text": "European leaders are taking a step back from sending ground troops to Ukraine.",
                }
            ]
        },
    )

    external_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)] | None
    ) = None
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)] | None = (
        Field(
            None, validate_default=True, description="The article's identity, with or instead of external_id"
        )
    )
    title: Annotated[str, StringConstraints(max_length=2000)] | None = None
    text: ArticleBody = Field(
        description=(
            f"At most {MAX_TEXT_CHARS:,} characters (about 15,000 words, longer than nearly any news "
            "article): extraction time grows with the text, and one article's must stay short"
        )
    )
    published_at: UTCDateTimeIn
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = (
        None
    )
    language: Annotated[str, StringConstraints(min_length=2, max_length=16)] = "en"

    @field_validator("url")
    @classmethod
    def _needs_identity(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url is None and info.data.get("external_id") is None:
            raise ValueError("an article needs a url or an external_id")
        return url


class ArticleBatch(InputModel):
    """Items are validated one by one so that a bad item does not sink the others."""

    # the most items is a setting (STANCELINE_BATCH_MAX_ARTICLES), checked by the route
    articles: list[Any] = Field(
        description="Up to 1000 objects shaped like ArticleCreate (STANCELINE_BATCH_MAX_ARTICLES)",
        json_schema_extra={"items": {"$ref": "#/components/schemas/ArticleCreate"}},
    )


class DroppedReview(BaseModel):
    """A reviewed observation a revision removed because its evidence sentence is no longer in the
    text: the review as it was, so that it can be redone on the new text."""

    observation_id: int
    actor: str
    topic: str
    status: Status
    score: float
    label: Label
    note: str | None
    evidence: str | None
    observed_at: datetime
    article_revision: int | None = Field(description="The revision the evidence was found in")


WARNINGS_HELP = (
    "Empty unless something needs attention: `empty_registry` when no topics (or no actors) are "
    "defined, so that nothing can be extracted yet"
)


class IngestWarning(BaseModel):
    """Something the caller should know about an ingest that did not stop it."""

    code: str = Field(description="`empty_registry`: no topics (or no actors) are defined")
    message: str


class IngestResult(BaseModel):
    status: IngestStatus = Field(
        description=(
            "created; revised (new text); unchanged (same text, extraction current); reextracted "
            "(same text, but extracted under an older registry revision or extractor version: "
            "extracted again, keeping manual and reviewed observations); error"
        )
    )
    article_id: int | None = None
    revision: int | None = None
    observations: int | None = Field(None, description="Observations now stored for the article")
    kept_reviewed: int | None = Field(
        None,
        description=(
            "Reviewed observations (verified, corrected, rejected) of the article that are still "
            "stored with their status, score, label and note: on a revision, those whose evidence "
            "sentence is still in the new text (moved to the new revision and offsets) plus "
            "`stale_reviewed`; 0 when the article is created or unchanged"
        ),
    )
    stale_reviewed: int | None = Field(
        None,
        description=(
            "Of `kept_reviewed`, rejections whose evidence sentence the revision removed: kept as "
            "they were, on the earlier revision their offsets point into; they count in nothing "
            "and hold back no new extraction"
        ),
    )
    dropped_reviewed: int | None = Field(
        None,
        description=(
            "Verified or corrected observations removed by a revision because their evidence "
            "sentence is no longer in the text; each is listed in `dropped`"
        ),
    )
    dropped: list[DroppedReview] = Field(
        default_factory=list, description="The reviews counted in `dropped_reviewed`, as they were"
    )
    extraction: ExtractionState | None = Field(
        None,
        description=(
            "pending: stored, its extraction queued for the workers (GET /v1/articles/{id} follows "
            "it; ?wait=true extracts in the request instead); done: `observations` is its "
            "extraction; failed: given up after retries (the error is on the article)"
        ),
    )
    error: ErrorDetail | None = None
    warnings: list[IngestWarning] = Field(
        default_factory=list, description=WARNINGS_HELP + " (in a batch: on the batch, not its items)"
    )


class BatchResult(BaseModel):
    results: list[IngestResult]
    warnings: list[IngestWarning] = Field(default_factory=list, description=WARNINGS_HELP)


class ArticleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str | None
    external_id: str | None
    title: str | None
    source: str | None
    language: str
    published_at: datetime
    revision: int
    created_at: datetime
    updated_at: datetime
    story_id: int | None = Field(
        None, description="A syndicated copy: the story's first article, whose observations stand for it"
    )


# --- registry ---------------------------------------------------------------------------------


class MembershipIn(InputModel):
    model_config = ConfigDict(populate_by_name=True)

    parent: Slug
    role: Annotated[str, StringConstraints(max_length=200)] | None = None
    valid_from: DateIn | None = Field(None, alias="from")
    valid_to: DateIn | None = Field(None, alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> MembershipIn:
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("'from' is after 'to'")
        return self


class MembershipRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    parent: str
    role: str | None
    valid_from: date | None = Field(alias="from")
    valid_to: date | None = Field(alias="to")


class ActorCreate(InputModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "slug": "emmanuel-macron",
                    "name": "Emmanuel Macron",
                    "kind": "person",
                    "aliases": ["Macron", "French President Emmanuel Macron"],
                    "memberships": [
                        {"parent": "france", "role": "president", "from": "2017-05-14", "to": None}
                    ],
                }
            ]
        },
    )

    slug: Slug
    name: Name
    kind: ActorKind
    description: Description | None = None
    aliases: list[Alias] = Field(default_factory=list, max_length=500)
    memberships: list[MembershipIn] = Field(default_factory=list, max_length=200)


class ActorUpdate(InputModel):
    """Fields left out stay as they are; `aliases` and `memberships`, when given, replace the lists."""

    name: Name | None = None
    kind: ActorKind | None = None
    description: Description | None = None
    aliases: list[Alias] | None = Field(None, max_length=500)
    memberships: list[MembershipIn] | None = Field(None, max_length=200)


class ActorRead(BaseModel):
    slug: str
    name: str
    kind: str
    description: str | None
    aliases: list[str]
    memberships: list[MembershipRead]


class TopicCreate(InputModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "slug": "ground-troops-ukraine",
                    "name": "Foreign troops on the ground in Ukraine",
                    "description": "Positions on deploying non-Ukrainian forces on Ukrainian territory.",
                    "keywords": ["ground troops", "peacekeepers", "reassurance force"],
                    "examples": [
                        "The prime minister said his country was ready to put troops on the ground."
                    ],
                    "parent": None,
                    "weak_keywords": ["forces", "deploy"],
                    "excluded_phrases": ["National Guard", "rally its troops"],
                    "relevance_threshold": None,
                }
            ]
        },
    )

    slug: Slug
    name: Name
    description: Description = ""
    keywords: list[Alias] = Field(default_factory=list, max_length=1000)
    examples: list[Example] = Field(default_factory=list, max_length=200)
    parent: Slug | None = None
    weak_keywords: list[Alias] = Field(default_factory=list, max_length=1000, description=WEAK_KEYWORDS_HELP)
    excluded_phrases: list[Alias] = Field(
        default_factory=list, max_length=1000, description=EXCLUDED_PHRASES_HELP
    )
    relevance_threshold: RelevanceThreshold | None = Field(None, description=RELEVANCE_THRESHOLD_HELP)


class TopicUpdate(InputModel):
    """Fields left out stay as they are; list fields, when given, replace the lists;
    `parent` and `relevance_threshold` set to null clear them."""

    name: Name | None = None
    description: Description | None = None
    keywords: list[Alias] | None = Field(None, max_length=1000)
    examples: list[Example] | None = Field(None, max_length=200)
    parent: Slug | None = None
    weak_keywords: list[Alias] | None = Field(None, max_length=1000, description=WEAK_KEYWORDS_HELP)
    excluded_phrases: list[Alias] | None = Field(None, max_length=1000, description=EXCLUDED_PHRASES_HELP)
    relevance_threshold: RelevanceThreshold | None = Field(None, description=RELEVANCE_THRESHOLD_HELP)


class TopicRead(BaseModel):
    slug: str
    name: str
    description: str
    keywords: list[str]
    examples: list[str]
    parent: str | None
    weak_keywords: list[str] = Field(description=WEAK_KEYWORDS_HELP)
    excluded_phrases: list[str] = Field(description=EXCLUDED_PHRASES_HELP)
    relevance_threshold: float | None = Field(description=RELEVANCE_THRESHOLD_HELP)


class ReextractionStarted(BaseModel):
    """The background re-extraction a registry write started over the stored articles it can
    change (see GET /v1/jobs/{id})."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"job_id": 12, "articles": 37, "status_url": "/v1/jobs/12"}]}
    )

    job_id: int
    articles: int = Field(description="Stored articles the job re-extracts")
    status_url: str = Field(description="Where to follow the job")


REEXTRACTION_HELP = (
    "The re-extraction of the stored articles this write can change, started in the background; "
    "null when none was needed (nothing changed, no stored article is concerned) or the request "
    "asked for none (`reextract=false`)"
)


class TopicWritten(TopicRead):
    """A topic as a create or update answers it: the topic, and the re-extraction it started."""

    reextraction: ReextractionStarted | None = Field(None, description=REEXTRACTION_HELP)


class ActorWritten(ActorRead):
    """An actor as a create or update answers it: the actor, and the re-extraction it started."""

    reextraction: ReextractionStarted | None = Field(None, description=REEXTRACTION_HELP)


class RegistryImport(InputModel):
    model_config = ConfigDict(extra="ignore")

    actors: list[ActorCreate] = Field(default_factory=list, max_length=100_000)
    topics: list[TopicCreate] = Field(default_factory=list, max_length=10_000)


class ImportCounts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class RegistryImportResult(BaseModel):
    actors: ImportCounts
    topics: ImportCounts
    reextraction: ReextractionStarted | None = Field(None, description=REEXTRACTION_HELP)


# --- observations -----------------------------------------------------------------------------


class ObservationCreate(InputModel):
    """A manually coded stance (method `manual`, status `verified`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "actor": "europe",
                    "topic": "ground-troops-ukraine",
                    "score": -0.5,
                    "observed_at": "2025-03-26",
                    "article_id": 11,
                    "evidence": "European leaders are taking a step back from sending ground troops.",
                    "shift": True,
                }
            ]
        },
    )

    actor: Slug
    topic: Slug
    score: Score
    label: Label | None = Field(None, description="Derived from the score when left out")
    confidence: Confidence = 1.0
    observed_at: UTCDateTimeIn
    article_id: Id | None = None
    evidence: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    speaker: Annotated[str, StringConstraints(max_length=300)] | None = None
    shift: bool = False
    shift_from: Score | None = Field(
        None,
        description=(
            'With `shift`: the earlier position the sentence itself states ("dropped its opposition": -1), '
            "so the change can be placed without an earlier observation"
        ),
    )
    note: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class ObservationUpdate(InputModel):
    """Review: verify, correct (score/label) or reject. A score or label change marks it `corrected`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"status": "rejected"}, {"score": -1.0, "label": "oppose"}]},
    )

    status: Literal["verified", "corrected", "rejected", "auto"] | None = None
    score: Score | None = None
    label: Label | None = None
    note: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    expected_updated_at: UTCDateTimeIn | None = Field(
        None,
        description=(
            "The `updated_at` of the version this review is based on: if the observation changed "
            "since, the review is refused with 409 `stale_version`. Without it the last review wins."
        ),
    )


class SupportingEvidence(BaseModel):
    """Another sentence of the article that reports the same claim."""

    evidence: str
    start: int
    end: int
    speaker: str | None = None


class ObservationRead(BaseModel):
    id: int
    actor: str
    topic: str
    article_id: int | None
    article_revision: int | None
    score: float
    label: str
    confidence: float
    observed_at: datetime
    reported_at: datetime | None
    evidence: str | None
    evidence_start: int | None
    evidence_end: int | None
    speaker: str | None
    shift: bool
    method: str
    extractor_version: str | None
    status: str
    note: str | None
    supporting: list[SupportingEvidence] = Field(
        default_factory=list, description="Other sentences of the article that report the same claim"
    )
    created_at: datetime
    updated_at: datetime


class ReviewQueueItem(ObservationRead):
    """An unreviewed automatic observation in the review queue: its stance and how uncertain it is."""

    uncertainty: float = Field(
        description="1 - |2 * confidence - 1|, to 3 places: 1 at a confidence of 0.5, 0 at 0 or 1. "
        "The queue lists the most uncertain first: their review teaches the model most."
    )


class ArticleExtraction(BaseModel):
    state: ExtractionState = Field(
        description="pending (queued for the extraction workers), done, or failed (after retries)"
    )
    attempts: int = Field(description="Failed attempts so far")
    error: str | None = Field(None, description="The last attempt's error")
    queued_at: datetime | None = Field(None, description="When it was queued (null: extracted in its ingest)")
    registry_revision: int | None = Field(None, description="Registry revision it was extracted under")
    extractor_version: str | None = None


class ArticleDetail(ArticleRead):
    text: str
    extraction: ArticleExtraction
    observations: list[ObservationRead]


# --- timelines --------------------------------------------------------------------------------


class TimelinePoint(BaseModel):
    bucket: datetime = Field(description="Bucket start, ISO-8601 UTC")
    score: float | None = Field(description="Confidence-weighted mean score; null for an empty bucket")
    low: float | None = Field(description="Lower end of the 90% interval")
    high: float | None = Field(description="Upper end of the 90% interval")
    count: int
    weight: float = Field(description="Sum of confidences in the bucket")
    smoothed: float | None = Field(None, description="EWM level, when smooth=ewm")


class TimelineSeries(BaseModel):
    actor: str
    name: str
    points: list[TimelinePoint]


class Timeline(BaseModel):
    # `from` and `to` are Python keywords: named window_from/window_to here, written as from/to
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    topic: str
    interval: Interval
    rollup: bool = False
    smooth: Literal["ewm"] | None = None
    window_from: datetime | None = Field(
        None, alias="from", description="Start of the window used: `from` as given, else the first bucket's"
    )
    window_to: datetime | None = Field(
        None,
        alias="to",
        description="End of the window used (exclusive): `to` as given, else the last bucket's",
    )
    series: list[TimelineSeries]


class ComparisonPair(BaseModel):
    a: str
    b: str
    mean_distance: float | None
    max_distance: float | None
    buckets: int = Field(description="Buckets where both actors have a level")


class AlignedBucket(BaseModel):
    bucket: datetime
    levels: dict[str, float | None]


class DistancePoint(BaseModel):
    bucket: datetime
    a: str
    b: str
    distance: float | None


class Comparison(BaseModel):
    topic: str
    interval: Interval
    actors: list[str]
    mean_distance: float | None
    pairs: list[ComparisonPair]
    aligned: list[AlignedBucket]
    distances: list[DistancePoint]


class NetworkNode(BaseModel):
    actor: str
    mean_score: float
    count: int
    weight: float
    side: Literal["support", "oppose", "neutral"]


class NetworkEdge(BaseModel):
    source: str
    target: str
    weight: float = Field(description="1 - |mean difference| / 2")
    side: Literal["support", "oppose", "neutral"]
    source_count: int
    target_count: int


class NetworkRead(BaseModel):
    topic: str
    threshold: float
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]


class ShiftEvidence(BaseModel):
    observation_id: int
    observed_at: datetime
    score: float
    shift_cue: bool = Field(description="The sentence itself reports a change of position")
    evidence: str | None
    speaker: str | None
    article_id: int | None
    article_url: str | None
    article_title: str | None
    supporting: list[SupportingEvidence] = Field(default_factory=list)


class OfficeChange(BaseModel):
    before: list[str] = Field(description="Slugs of the members whose observations make the level before")
    after: list[str] = Field(description="Slugs of the members whose observations make the level after")
    at: datetime = Field(description="When the new office holder took over")


SHIFT_BASIS_HELP = (
    "Why the shift is called, strongest first: stated (a sentence reports the change), statistical "
    "(a change-point test on a dense series), observed (the actor's coded positions moved across "
    "the scale between few confident observations), office_change (the series is a state whose "
    "level moved when the person holding office changed)"
)


class ShiftRead(BaseModel):
    id: int
    topic: str
    actor: str
    actor_name: str
    at: datetime = Field(description="Estimated date of the change")
    window_start: datetime = Field(description="Last observation before the change")
    window_end: datetime = Field(description="First observation after the change")
    before: float = Field(description="Level before (weighted mean score)")
    after: float = Field(description="Level after")
    delta: float
    direction: Literal["toward_support", "toward_oppose"]
    confidence: float = Field(
        description=(
            "Probability that the actor's position changed in this direction within the window: the "
            "data model's posterior (sparse series) or 1 - p of the change-point test (dense series), "
            "combined with each sentence that reports the change by noisy-or"
        )
    )
    basis: list[ShiftBasis] = Field(min_length=1, description=SHIFT_BASIS_HELP)
    grade: ShiftBasis = Field(description="The strongest basis (= basis[0])")
    reasons: list[str] = Field(description="One plain sentence per basis: why the shift is called")
    office_change: OfficeChange | None = Field(
        None, description="Who held office before and after, when the level moved with a change of office"
    )
    status: Literal["active", "withdrawn"]
    first_detected_at: datetime
    updated_at: datetime
    evidence_before: list[ShiftEvidence]
    evidence_after: list[ShiftEvidence]
    cues: list[ShiftEvidence] = Field(description="Observations whose sentence reports the change")
    time: datetime = Field(description="Grafana annotation time (= at)")
    title: str = Field(description="Grafana annotation title")
    text: str = Field(description="Grafana annotation text: the most telling evidence sentence")


class ShiftList(BaseModel):
    items: list[ShiftRead]


class AgreementFigures(BaseModel):
    n: int = Field(description="Manual observations paired with automatic coding")
    observed: float | None = Field(description="Share of pairs with the same label")
    kappa: float | None = Field(description="Cohen's kappa")
    alpha: float | None = Field(description="Krippendorff's alpha, nominal")


class Agreement(BaseModel):
    overall: AgreementFigures
    by_topic: dict[str, AgreementFigures]


class ExtractionQueue(BaseModel):
    pending: int = Field(description="Articles waiting for extraction")
    failed: int = Field(description="Articles whose extraction failed past its retries")
    lag_seconds: float = Field(description="How long the oldest waiting article has waited")
    local_workers: int | None = Field(
        None, description="Extraction worker processes this API process runs (null: none, a broker's)"
    )


class ClaimModelRead(BaseModel):
    sha: str = Field(description="SHA-256 of the model file; its first 12 hex digits end extractor_version")
    source: Literal["trained", "default"] = Field(
        description="trained: by `stanceline train` from this deployment's reviews; default: shipped"
    )
    trained_at: datetime | None = Field(default=None, description="When the deployment's model was stored")
    keep_read: float = Field(description="Probability a reading a stance cue decided needs to be kept")
    keep_other: float = Field(description="Probability a reading without a cue needs (above 1: never)")
    local: bool = Field(description="Trained with this deployment's own actor and topic features")
    trained: dict[str, Any] = Field(description="What it was trained on: examples, claims, articles, seed")
    figures: dict[str, Any] | None = Field(
        default=None, description="Strict figures on the reviewed articles before and after training"
    )


class ExtractorRead(BaseModel):
    engine: str = Field(description="STANCELINE_EXTRACTION_ENGINE: rules, learned, embeddings or llm")
    version: str = Field(description="What articles and observations extracted now are stamped with")
    claim_model: ClaimModelRead = Field(description="The model the learned engine uses")


class Health(BaseModel):
    status: str
    database: str | None = None
    revision: str | None = None
    extraction: ExtractionQueue | None = None


# --- API keys -----------------------------------------------------------------------------------


class ApiKeyCreate(InputModel):
    name: str = Field(min_length=1, max_length=200, description="Who or what uses the key")
    scope: Literal["read", "write", "admin"] = Field(
        "read", description="read < write < admin; a key holds its scope and those below it"
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    scope: str
    created_at: datetime
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The plain key; shown only in this response")


class ArticleDeleted(BaseModel):
    article_id: int
    observations: int = Field(description="Observations removed with it")


# --- feeds and jobs -----------------------------------------------------------------------------


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise ValueError("must be an absolute http(s) URL")
    return value


class FeedCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://example.org/world/rss.xml",
                    "topic_hints": ["ground-troops-ukraine"],
                    "poll_interval_seconds": 900,
                }
            ]
        }
    )

    url: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
        AfterValidator(_http_url),
    ] = Field(description="The RSS or Atom document's URL; posting a known url updates that feed")
    topic_hints: list[Slug] = Field(
        default_factory=list,
        max_length=100,
        description="Only entries naming one of these topics (or a sub-topic) are ingested; none: every entry",
    )
    poll_interval_seconds: int = Field(900, ge=60, le=7 * 86_400, description="Time between polls")
    active: bool = Field(True, description="Polled at all")


FeedErrorKind = Literal[
    "blocked_address", "unreachable", "timeout", "http_error", "not_a_feed", "too_large", "internal"
]
# the fixed message of each kind of failed poll; an http_error names its status ("HTTP 503");
# what exactly went wrong (the exception, the address) goes to the server log only
FEED_ERRORS: dict[FeedErrorKind, str] = {
    "blocked_address": "the feed's host is not a public address (see STANCELINE_FEED_ALLOW_PRIVATE)",
    "unreachable": "the feed's host could not be reached",
    "timeout": "the feed's host did not answer in time",
    "http_error": "the feed's server answered with an error",
    "not_a_feed": "not an RSS or Atom feed",
    "too_large": "the feed is larger than the 20 MiB a poll reads",
    "internal": "the entries could not be stored; the server log has the details",
}


def feed_error(kind: FeedErrorKind, message: str | None = None) -> str:
    """A failed poll as the feed stores it (`last_error`): its kind, then its short message."""
    return f"{kind}: {message or FEED_ERRORS[kind]}"


def split_feed_error(stored: str) -> tuple[FeedErrorKind, str]:
    """The kind and message of a stored `last_error`. Errors stored before kinds existed held the
    exception's text, which is never shown: they are reported by kind with its fixed message."""
    kind, _, message = stored.partition(": ")
    for known in FEED_ERRORS:
        if kind == known:
            return known, message
    if stored.startswith("HTTP ") and stored[5:].isdigit():
        return "http_error", stored
    if stored.startswith("not an RSS or Atom feed"):
        return "not_a_feed", FEED_ERRORS["not_a_feed"]
    if stored.startswith("feed larger than"):
        return "too_large", FEED_ERRORS["too_large"]
    if "Timeout" in kind:
        return "timeout", FEED_ERRORS["timeout"]
    return "unreachable", FEED_ERRORS["unreachable"]


class FeedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    title: str | None
    topic_hints: list[str]
    poll_interval_seconds: int
    active: bool
    etag: str | None
    last_modified: str | None
    last_entry_key: str | None = Field(description="The latest entry seen (its id or link)")
    last_entry_at: datetime | None
    last_polled_at: datetime | None
    last_status: int | None = Field(description="HTTP status of the last fetch")
    next_poll_at: datetime
    failures: int = Field(description="Failed polls in a row; the wait doubles with each")
    error_kind: FeedErrorKind | None = Field(
        None,
        description=(
            "Why the last poll failed: blocked_address (not a public address), unreachable, timeout, "
            "http_error (see last_status), not_a_feed, too_large or internal; null after a good poll"
        ),
    )
    last_error: str | None = Field(
        description="A short fixed message for error_kind (an HTTP status at most)"
    )
    entries_ingested: int
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="after")
    def _error_by_kind(self) -> FeedRead:
        if self.last_error is not None and self.error_kind is None:
            self.error_kind, self.last_error = split_feed_error(self.last_error)
        return self


class FeedDeleted(BaseModel):
    feed_id: int


class ReextractCreate(InputModel):
    model_config = ConfigDict(populate_by_name=True)

    engine: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = Field(
        None, description="Extraction engine; default: the service's (STANCELINE_EXTRACTION_ENGINE)"
    )
    published_from: UTCDateTimeIn | None = Field(None, alias="from", description="Articles published from")
    published_to: UTCDateTimeIn | None = Field(None, alias="to", description="... and before")


class JobRead(BaseModel):
    id: int
    kind: str
    state: Literal["queued", "running", "succeeded", "failed"]
    backend: Literal["inprocess", "celery"] = Field(description="Celery workers, or an API process's thread")
    total: int = Field(description="Articles the job covers (final once planned)")
    done: int = Field(description="Articles finished")
    missing: int = Field(description="Articles deleted before their turn")
    failed: int = Field(description="Articles that failed past their retries")
    progress: float = Field(ge=0, le=1)
    error: str | None
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
