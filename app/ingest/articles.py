"""The ingest use case: dedupe, revise, extract and store one article or a batch. Flush, never commit."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import partial
from typing import Any, Protocol

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import app.shifts.refresh  # noqa: F401 - registers shift detection for the series its writes touch
from app.errors import Conflict, ExtractionUnavailable, NotFound, StancelineError, field_path
from app.extraction.types import (
    ArticleText,
    ExtractedObservation,
    ExtractionError,
)
from app.ingest import fingerprint
from app.models import Article, ArticleRevision, Observation, Source, utcnow
from app.ops import metrics
from app.registry.context import RegistryCache, RegistryContext
from app.schemas import ArticleCreate, DroppedReview, ErrorDetail, IngestResult
from app.store import articles as article_store
from app.store import extraction_queue as queue_store
from app.store import observations as observation_store
from app.store import stories as story_store
from app.store import unit_of_work

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReviewsCarried:
    """What a revision did with the article's reviewed automatic observations (README, "Articles")."""

    kept: int = 0  # still stored with their review: carried to the new revision, plus `stale`
    stale: int = 0  # rejections whose sentence is gone, left on the revision their offsets point into
    dropped: tuple[DroppedReview, ...] = ()  # verified or corrected ones whose sentence is gone


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # created | unchanged | revised | reextracted
    article: Article
    observations: int
    reviews: ReviewsCarried = field(default_factory=ReviewsCarried)
    # `pending`: stored for the extraction workers (app.jobs.extraction); `done`: extracted already
    extraction: str = queue_store.DONE


# --- which stored extractions are out of date ----------------------------------------------------


def is_stale(
    *,
    story_id: int | None,
    registry_revision: int | None,
    version: str | None,
    context: RegistryContext,
    engine: str,
    has_automatic: bool | Callable[[], bool],
    pending: bool = False,
) -> bool:
    """Whether a stored article's extraction (its stamp: `registry_revision`, `version`) is older
    than what `context` and `engine` would extract now, so that ingesting its text again
    re-extracts it. A syndicated copy has no extraction of its own, and a pending article will be
    extracted with the registry of its time: never stale.

    An article stored before its stamp existed (migration 0012: NULL) is stale only when it has no
    automatic observation: most likely it was stored before any registry was loaded. The others
    are taken as current (a re-extraction job refreshes them, and stamps them)."""
    if story_id is not None or pending:
        return False
    if registry_revision is None:
        return not (has_automatic() if callable(has_automatic) else has_automatic)
    return registry_revision < context.revision or version != context.extractor(engine).version


class _Stamped(Protocol):
    """What `is_stale` reads of a stored article: an `Article`, or its `StoredExtraction` row."""

    @property
    def story_id(self) -> int | None: ...
    @property
    def extracted_registry_revision(self) -> int | None: ...
    @property
    def extractor_version(self) -> str | None: ...
    @property
    def extraction_state(self) -> str | None: ...


def _stamp_is_stale(
    stored: _Stamped, *, context: RegistryContext, engine: str, has_automatic: bool | Callable[[], bool]
) -> bool:
    return is_stale(
        story_id=stored.story_id,
        registry_revision=stored.extracted_registry_revision,
        version=stored.extractor_version,
        context=context,
        engine=engine,
        has_automatic=has_automatic,
        pending=stored.extraction_state == queue_store.PENDING,
    )


def _is_stale(session: Session, article: Article, *, context: RegistryContext, engine: str) -> bool:
    # queried only when `is_stale` needs it (an article stored before its stamp existed)
    def has_automatic() -> bool:
        return observation_store.has_automatic(session, article_id=article.id)

    return _stamp_is_stale(article, context=context, engine=engine, has_automatic=has_automatic)


def _stamp(article: Article, context: RegistryContext, version: str) -> None:
    """Record what the article's automatic observations are (about to be) extracted with."""
    article.extracted_registry_revision = context.revision
    article.extractor_version = version
    article.extraction_state, article.extraction_lease_until = queue_store.DONE, None


SPEAKER_MAX = 300  # the column's length: a speaker phrase longer than that is cut, not refused


def _clip(text: str | None, limit: int) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def content_hash(data: ArticleCreate) -> str:
    """What makes a new revision: a change of text, title, date or language."""
    payload = orjson.dumps([data.text, data.title, data.published_at.isoformat(), data.language])
    return hashlib.sha256(payload).hexdigest()


def _find_existing(session: Session, data: ArticleCreate) -> Article | None:
    matches = article_store.find_articles_by_identity(session, url=data.url, external_id=data.external_id)
    if len(matches) > 1:
        raise Conflict(
            "url and external_id belong to two different stored articles",
            field="external_id",
            code="identity_conflict",
        )
    return matches[0] if matches else None


def _observation_rows(
    article: Article,
    found: Sequence[ExtractedObservation],
    context: RegistryContext,
    method: str,
    version: str,
    status: str = "auto",
) -> list[dict[str, Any]]:
    rows = []
    for item in found:
        actor_id = context.actor_ids.get(item.actor)
        topic_id = context.topic_ids.get(item.topic)
        if actor_id is None or topic_id is None:
            logger.warning("ingest.unknown_slug actor=%s topic=%s", item.actor, item.topic)
            continue
        rows.append(
            {
                "actor_id": actor_id,
                "topic_id": topic_id,
                "article_id": article.id,
                "article_revision": article.revision,
                "score": max(-1.0, min(1.0, float(item.score))),
                "label": item.label,
                "confidence": max(0.0, min(1.0, float(item.confidence))),
                "observed_at": datetime.combine(item.observed_at, time(), tzinfo=UTC),
                "reported_at": article.published_at,
                "evidence": item.evidence,
                "evidence_start": item.evidence_start,
                "evidence_end": item.evidence_end,
                "speaker": _clip(item.speaker, SPEAKER_MAX),
                "shift": item.shift,
                "method": method,
                "extractor_version": version,
                "status": status,
                "extras": dict(item.extras) or None,
            }
        )
    return rows


# --- extraction, before the write transaction --------------------------------------------------

ReadScope = Callable[[], AbstractContextManager[Session]]  # a short read-only unit of work


@dataclass(frozen=True)
class Extraction:
    """A text's extraction done before the write transaction that stores it, so that the write lock
    (SQLite) is held for the database work alone, never for extraction.

    Extraction reads nothing but the text, its title, date and language (the content hash) and
    the registry, so it fits an article whose content has that hash at the moment of the write,
    under the same registry context (the object the cache hands out while the registry revision
    stays). Anything else is extracted again, inside the transaction, which is only ever slower.
    """

    content_hash: str
    context: RegistryContext
    found: tuple[ExtractedObservation, ...]
    # why the engine could not extract it (the llm engine's endpoint failing): a new article is then
    # stored for the extraction workers, anything else refused (ExtractionUnavailable)
    error: str | None = None

    def fits(self, article: Article, context: RegistryContext) -> bool:
        return self.content_hash == article.content_hash and self.context is context


def extract_ahead(article: Article, *, context: RegistryContext, engine: str) -> Extraction:
    """A stored article's extraction, for a write transaction to come (re-extraction jobs)."""
    found = _extract(article_text(article), context=context, engine=engine)
    return Extraction(article.content_hash, context, tuple(found))


def not_stored(
    session: Session,
    items: Sequence[ArticleCreate],
    *,
    context: RegistryContext | None = None,
    engine: str | None = None,
    stored_only: bool = False,
) -> list[ArticleCreate]:
    """The items whose content is not already stored under their url or external id: those an
    ingest would create or revise, hence extract. With `context` and `engine`, also those stored
    with the same content but a stale extraction (`is_stale`), which it re-extracts; the others
    will be `unchanged`. `stored_only`: only items whose url or external id is stored (revisions
    and re-extractions; new articles go to the extraction queue)."""
    everything = stored = article_store.list_stored_extractions(
        session,
        urls={data.url for data in items if data.url is not None},
        external_ids={data.external_id for data in items if data.external_id is not None},
    )
    if context is not None and engine is not None:
        stored = [
            row
            for row in stored
            if not _stamp_is_stale(row, context=context, engine=engine, has_automatic=row.has_automatic)
        ]
    by_url = {(row.url, row.content_hash) for row in stored if row.url is not None}
    by_external_id = {(row.external_id, row.content_hash) for row in stored if row.external_id is not None}
    urls = {row.url for row in everything if row.url is not None}
    external_ids = {row.external_id for row in everything if row.external_id is not None}
    todo = []
    for data in items:
        digest = content_hash(data)
        if stored_only and data.url not in urls and data.external_id not in external_ids:
            continue
        if (data.url, digest) not in by_url and (data.external_id, digest) not in by_external_id:
            todo.append(data)
    return todo


def extract_items_ahead(
    items: Sequence[ArticleCreate], *, context: RegistryContext, engine: str
) -> dict[str, Extraction]:
    """Extract the items' texts, once per content hash, with no transaction open: the `ahead` of
    `ingest_article` and `store_batch`. An engine that waits on an endpoint (`concurrency` > 1: the
    llm engine) extracts that many at once; one it could not extract carries its `error`."""
    todo: dict[str, ArticleCreate] = {}
    for data in items:
        todo.setdefault(content_hash(data), data)
    if not todo:
        return {}

    def extraction(digest: str) -> Extraction:
        try:
            found = _extract(_data_text(todo[digest]), context=context, engine=engine)
        except ExtractionUnavailable as error:
            logger.warning("ingest.extraction_unavailable engine=%s error=%s", engine, error.message)
            return Extraction(digest, context, (), error=error.message)
        return Extraction(digest, context, tuple(found))

    workers = min(len(todo), int(getattr(context.extractor(engine), "concurrency", 1)))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return dict(zip(todo, pool.map(extraction, todo), strict=True))
    return {digest: extraction(digest) for digest in todo}


def prepare(
    read_scope: ReadScope,
    items: Sequence[ArticleCreate],
    *,
    cache: RegistryCache,
    engine: str,
    defer: bool = False,
) -> dict[str, Extraction]:
    """The slow half of an ingest, done before its write transaction: a short read (the registry,
    and which items are stored unchanged), then, with that read ended, the extraction of the
    others. The write transaction passes the result as `ahead`. `defer`: new articles are left to
    the extraction workers, so only revisions and re-extractions are extracted here."""
    with read_scope() as session:
        context = cache.get(session)
        todo = not_stored(session, items, context=context, engine=engine, stored_only=defer)
    logger.info("ingest.extracting items=%d to_extract=%d", len(items), len(todo))
    return extract_items_ahead(todo, context=context, engine=engine)


def article_text(article: Article) -> ArticleText:
    return ArticleText(
        text=article.text, published_at=article.published_at, title=article.title, language=article.language
    )


def _data_text(data: ArticleCreate) -> ArticleText:
    return ArticleText(
        text=data.text, published_at=data.published_at, title=data.title, language=data.language
    )


def _extract(text: ArticleText, *, context: RegistryContext, engine: str) -> Sequence[ExtractedObservation]:
    extractor = context.extractor(engine)
    started = metrics.clock()
    try:
        found = extractor.extract(text)
    except ExtractionError as error:  # the extraction queue retries it; a request answers 503
        raise ExtractionUnavailable(f"the {engine} engine could not extract the article: {error}") from error
    metrics.observe_extraction(engine, started)
    return found


def _extracted_rows(
    article: Article, *, context: RegistryContext, engine: str, ahead: Extraction | None
) -> list[dict[str, Any]]:
    """The article's observation rows from its current text (none for a syndicated copy, whose
    story's observations stand for it), from `ahead` when it fits; stamps the article with what
    they are extracted with."""
    extractor = context.extractor(engine)
    _stamp(article, context, extractor.version)
    if article.story_id is not None:
        return []
    if ahead is not None and ahead.fits(article, context):
        if ahead.error is not None:  # the engine failed on this very text a moment ago
            raise ExtractionUnavailable(ahead.error)
        found: Sequence[ExtractedObservation] = ahead.found
    else:
        if ahead is not None:
            logger.info("ingest.extracted_in_transaction article_id=%s", article.id)
        found = _extract(article_text(article), context=context, engine=engine)
    # the llm engine's suggestions mode: stored `suggested`, counted once a reviewer verifies them
    status = "suggested" if getattr(extractor, "suggests", False) else "auto"
    return _observation_rows(article, found, context, extractor.method, extractor.version, status)


def _insert(session: Session, rows: list[dict[str, Any]], engine: str) -> int:
    observation_store.add_observations(session, rows=rows)
    metrics.count_observations(engine, len(rows))
    return len(rows)


def extract_and_store(
    session: Session,
    article: Article,
    *,
    context: RegistryContext,
    engine: str,
    ahead: Extraction | None = None,
) -> int:
    """Extract and insert; returns how many observations were added."""
    return _insert(session, _extracted_rows(article, context=context, engine=engine, ahead=ahead), engine)


# --- replacing automatic observations: re-extraction and revisions ------------------------------


@dataclass(frozen=True)
class _Replacement:
    removed: int
    added: int
    reviews: ReviewsCarried


def _replace_automatic(
    session: Session,
    article: Article,
    *,
    context: RegistryContext,
    engine: str,
    ahead: Extraction | None,
    revised: bool,
) -> _Replacement:
    """Replace the article's unreviewed automatic observations with an extraction of its current
    text. Manual and reviewed observations stay, and the extraction adds no automatic twin next
    to them (same actor, topic and day): a rejection stays a rejection.

    `revised`: the text changed, so the reviewed ones are first checked against it and carried
    over (`_carry_reviews`); a rejection whose sentence is gone holds nothing back any more.
    """
    removed = observation_store.delete_unreviewed_automatic(session, article_id=article.id)
    rows = _extracted_rows(article, context=context, engine=engine, ahead=ahead)
    reviews = ReviewsCarried()
    if revised:
        reviews = _carry_reviews(session, article, rows, context=context)
        session.flush()
    kept = observation_store.kept_keys(session, article_id=article.id, revision=article.revision)
    rows = [r for r in rows if _day_key(r) not in kept]
    return _Replacement(removed, _insert(session, rows, engine), reviews)


def _day_key(row: Mapping[str, Any]) -> tuple[int, int, str]:
    return (row["actor_id"], row["topic_id"], row["observed_at"].date().isoformat())


# positions in the text an extraction keeps in `extras`: taken from the new text's extraction
POSITIONAL_EXTRAS = ("sentence", "supporting")


def _carry_reviews(
    session: Session,
    article: Article,
    rows: Sequence[Mapping[str, Any]],
    *,
    context: RegistryContext,
) -> ReviewsCarried:
    """Carry the article's reviewed automatic observations over to its new revision.

    One whose evidence sentence is still in the text keeps its review (status, score, label,
    note) and moves to the new revision: its offsets (and supporting sentences) point into the
    new text, and where the new extraction found the same claim (same actor, topic and sentence)
    it takes that one's date, which the new article date may have moved. One whose sentence is
    gone is a claim the article no longer makes: a rejection stays as it was (it counts in
    nothing), a verified or corrected one is removed and reported, so that no review is lost
    silently. A revision that makes the article a syndicated copy leaves it no claims of its own
    (its story's observations stand for it, counted once). A moved one is counted out of the
    aggregates and in again (its day may move).
    """
    text = article.text if article.story_id is None else ""
    kept = stale = 0
    gone: list[Observation] = []
    for observation in observation_store.list_reviewed_automatic(session, article_id=article.id):
        evidence = observation.evidence
        if not evidence:  # nothing to look for: left as it is
            kept += 1
            continue
        twin = next(
            (
                r
                for r in rows
                if r["actor_id"] == observation.actor_id
                and r["topic_id"] == observation.topic_id
                and r["evidence"] == evidence
            ),
            None,
        )
        start = twin["evidence_start"] if twin is not None else _locate(text, evidence, observation)
        if start is None:
            if observation.status == "rejected":
                kept, stale = kept + 1, stale + 1
            else:
                gone.append(observation)
            continue
        observation_store.recount(session, observation, sign=-1)
        observation.evidence_start, observation.evidence_end = start, start + len(evidence)
        observation.article_revision = article.revision
        observation.reported_at = article.published_at
        extras = {k: v for k, v in (observation.extras or {}).items() if k not in POSITIONAL_EXTRAS}
        if twin is not None:
            observation.observed_at = twin["observed_at"]
            extras.update((k, v) for k, v in (twin["extras"] or {}).items() if k in POSITIONAL_EXTRAS)
        else:
            supporting = _relocated((observation.extras or {}).get("supporting") or [], text)
            if supporting:
                extras["supporting"] = supporting
        observation.extras = extras or None
        observation_store.recount(session, observation, sign=1)
        kept += 1
    dropped = _drop_reviews(session, gone, context=context)
    return ReviewsCarried(kept, stale, dropped)


def _locate(text: str, sentence: str, observation: Observation) -> int | None:
    """Where `sentence` is in `text`: the occurrence nearest its old place, or None."""
    near = observation.evidence_start or 0
    best: int | None = None
    at = text.find(sentence)
    while at != -1:
        if best is None or abs(at - near) < abs(best - near):
            best = at
        at = text.find(sentence, at + 1)
    return best


def _relocated(supporting: Sequence[Mapping[str, Any]], text: str) -> list[dict[str, Any]]:
    """Supporting sentences still in `text`, with their new offsets."""
    out = []
    for item in supporting:
        sentence = item.get("evidence")
        if not isinstance(sentence, str) or not sentence:
            continue
        at = text.find(sentence)
        if at != -1:
            out.append({**item, "start": at, "end": at + len(sentence)})
    return out


def _drop_reviews(
    session: Session, gone: Sequence[Observation], *, context: RegistryContext
) -> tuple[DroppedReview, ...]:
    if not gone:
        return ()
    actors = {i: slug for slug, i in context.actor_ids.items()}
    topics = {i: slug for slug, i in context.topic_ids.items()}
    dropped = tuple(
        DroppedReview(
            observation_id=o.id,
            actor=actors.get(o.actor_id, str(o.actor_id)),
            topic=topics.get(o.topic_id, str(o.topic_id)),
            status=o.status,
            score=o.score,
            label=o.label,
            note=o.note,
            evidence=o.evidence,
            observed_at=o.observed_at,
            article_revision=o.article_revision,
        )
        for o in gone
    )
    for review in dropped:
        logger.warning(
            "ingest.review_dropped observation_id=%s article_id=%s actor=%s topic=%s status=%s score=%s "
            "note=%r: its evidence sentence is no longer in the article",
            review.observation_id,
            gone[0].article_id,
            review.actor,
            review.topic,
            review.status,
            review.score,
            review.note,
        )
    observation_store.delete_observations(session, ids=[o.id for o in gone])
    for observation in gone:
        session.expunge(observation)
    return dropped


@dataclass(frozen=True)
class Reextraction:
    article_id: int
    removed: int
    added: int


def reextract_article(
    session: Session,
    article_id: int,
    *,
    context: RegistryContext,
    engine: str,
    ahead: Extraction | None = None,
) -> Reextraction:
    """Replace an article's unreviewed automatic observations with a fresh extraction.

    Manual and reviewed (verified, corrected, rejected) observations stay, and the new extraction
    does not add an automatic twin next to them: a rejection stays a rejection. Holds the article's
    row lock, as an ingest that revises or re-extracts it does: they take turns.
    """
    article_store.lock_article(session, article_id=article_id)
    article = article_store.get_article(session, article_id=article_id)
    if article is None:
        raise NotFound("article", article_id)
    done = _replace_automatic(session, article, context=context, engine=engine, ahead=ahead, revised=False)
    return Reextraction(article_id, done.removed, done.added)


def extract_pending_article(
    session: Session,
    article: Article,
    *,
    context: RegistryContext,
    engine: str,
    ahead: Extraction | None = None,
) -> None:
    """Extract an article stored for the extraction workers (its row lock held by the caller). It
    holds no automatic observation yet, so only when a coder has added manual ones is the
    re-extraction path (no automatic twin next to them) needed."""
    if observation_store.count_article_observations(session, article_id=article.id):
        _replace_automatic(session, article, context=context, engine=engine, ahead=ahead, revised=False)
    else:
        extract_and_store(session, article, context=context, engine=engine, ahead=ahead)


@dataclass(frozen=True)
class Deletion:
    article_id: int
    observations: int


def delete_article(session: Session, article_id: int) -> Deletion:
    """Remove an article, its revisions and every observation coded from it (manual ones too)."""
    if article_store.get_article(session, article_id=article_id) is None:
        raise NotFound("article", article_id)
    removed = article_store.delete_article(session, article_id=article_id)
    logger.info("ingest.deleted article_id=%s observations=%d", article_id, removed)
    return Deletion(article_id, removed)


@dataclass(frozen=True)
class _IngestOptions:
    """How to store an article, the same for every item of a batch: the keyword arguments of
    `ingest_article`, plus `sources` (see `ingest_article_safely`)."""

    context: RegistryContext
    engine: str
    link_stories: bool = False
    ahead: Mapping[str, Extraction] | None = None
    defer: bool = False
    sources: Mapping[str, Source] | None = None

    def extraction_for(self, digest: str) -> Extraction | None:
        """The extraction done ahead for the content with this hash, if any."""
        return self.ahead.get(digest) if self.ahead else None


def ingest_article(
    session: Session,
    data: ArticleCreate,
    *,
    context: RegistryContext,
    engine: str,
    link_stories: bool = False,
    ahead: Mapping[str, Extraction] | None = None,
    defer: bool = False,
) -> IngestOutcome:
    """Store one article (created, revised or unchanged) with its observations and their aggregate.

    `link_stories`: a near-identical copy of a stored article joins its story (see `_link_story`).
    `ahead`: extractions done before the transaction (`prepare`), by content hash.
    `defer`: a new article is stored `pending`, for the extraction workers (app.jobs.extraction);
    a revision or re-extraction is still extracted here, since it answers what became of the
    article's reviews.
    """
    options = _IngestOptions(context, engine, link_stories=link_stories, ahead=ahead, defer=defer)
    return _store_article(session, data, options)


def _store_article(session: Session, data: ArticleCreate, options: _IngestOptions) -> IngestOutcome:
    """`ingest_article`, with its options bundled (and, from a batch, the `sources` it found or added)."""
    context, engine = options.context, options.engine
    existing = _find_existing(session, data)
    digest = content_hash(data)
    if existing is not None and (
        existing.content_hash != digest or _is_stale(session, existing, context=context, engine=engine)
    ):
        # a revision or a re-extraction: lock the row and read it again, so concurrent writes of
        # one article take turns (on PostgreSQL they would otherwise number the same revision
        # twice, or replace the same observations twice)
        article_store.lock_article(session, article_id=existing.id)
        session.refresh(existing)
    if existing is not None and existing.content_hash == digest:
        if _is_stale(session, existing, context=context, engine=engine):
            extraction = options.extraction_for(digest)
            return _reextract_stale(session, existing, context=context, engine=engine, ahead=extraction)
        count = observation_store.count_article_observations(session, article_id=existing.id)
        return IngestOutcome(
            "unchanged", existing, count, extraction=existing.extraction_state or queue_store.DONE
        )

    source = None
    if data.source:
        known = options.sources.get(data.source) if options.sources else None
        source = known or article_store.get_or_add_source(session, name=data.source)
    if existing is None:
        article = Article(
            url=data.url,
            external_id=data.external_id,
            title=data.title,
            text=data.text,
            language=data.language,
            published_at=data.published_at,
            source=source,
            revision=1,
            content_hash=digest,
        )
        session.add(article)
        status = "created"
    else:
        article = existing
        article.revision += 1
        article.title, article.text, article.language = data.title, data.text, data.language
        article.published_at, article.content_hash = data.published_at, digest
        article.url = article.url or data.url
        article.external_id = article.external_id or data.external_id
        if source is not None:
            article.source = source
        status = "revised"
    session.flush()
    session.add(
        ArticleRevision(
            article_id=article.id,
            revision=article.revision,
            title=data.title,
            text=data.text,
            published_at=data.published_at,
            content_hash=digest,
        )
    )
    if options.link_stories or article.story_id is not None:
        _link_story(session, article)
    extraction = options.extraction_for(digest)
    # a new article the engine could not extract in the request (?wait=true, the llm engine's
    # endpoint failing) is stored all the same, for the extraction workers to try again
    failed = extraction is not None and extraction.error is not None and extraction.fits(article, context)
    if status == "created" and (options.defer or failed) and article.story_id is None:
        article.extraction_state, article.extraction_queued_at = queue_store.PENDING, utcnow()
        session.flush()
        logger.info("ingest.stored article_id=%s status=created extraction=pending", article.id)
        return IngestOutcome(status, article, 0, extraction=queue_store.PENDING)
    if status == "created":
        added = extract_and_store(session, article, context=context, engine=engine, ahead=extraction)
        session.flush()
        logger.info("ingest.stored article_id=%s status=created observations=%d", article.id, added)
        return IngestOutcome(status, article, added)
    done = _replace_automatic(
        session, article, context=context, engine=engine, ahead=extraction, revised=True
    )
    session.flush()
    total = observation_store.count_article_observations(session, article_id=article.id)
    logger.info(
        "ingest.revised article_id=%s revision=%d replaced=%d added=%d kept_reviewed=%d "
        "stale_reviewed=%d dropped_reviewed=%d",
        article.id,
        article.revision,
        done.removed,
        done.added,
        done.reviews.kept,
        done.reviews.stale,
        len(done.reviews.dropped),
    )
    return IngestOutcome(status, article, total, done.reviews)


def _reextract_stale(
    session: Session, article: Article, *, context: RegistryContext, engine: str, ahead: Extraction | None
) -> IngestOutcome:
    """The same text again, over a stale extraction: re-extracted in place, as a re-extraction job
    does (`reextract_article`): manual and reviewed observations stay, with no automatic twin."""
    before = (article.extracted_registry_revision, article.extractor_version)
    done = _replace_automatic(session, article, context=context, engine=engine, ahead=ahead, revised=False)
    session.flush()
    total = observation_store.count_article_observations(session, article_id=article.id)
    logger.info(
        "ingest.reextracted article_id=%s stamp_before=%s stamp_now=%s replaced=%d added=%d",
        article.id,
        before,
        (article.extracted_registry_revision, article.extractor_version),
        done.removed,
        done.added,
    )
    return IngestOutcome("reextracted", article, total)


def ingest_article_safely(
    session: Session,
    data: ArticleCreate,
    *,
    context: RegistryContext,
    engine: str,
    link_stories: bool = False,
    sources: Mapping[str, Source] | None = None,
    ahead: Mapping[str, Extraction] | None = None,
    defer: bool = False,
) -> IngestOutcome:
    """`ingest_article` in a savepoint, once more if a concurrent writer stored the same article
    (or source) first: the second attempt finds the winner's row, so racing posts of one url
    end as one article, `created` once and `unchanged` (or `revised`) for the others. A batch
    stores each item so, and a bad item's savepoint takes its aggregate changes with it.
    `sources`: rows a batch already found or added, by name (saves a query per article)."""
    options = _IngestOptions(
        context, engine, link_stories=link_stories, ahead=ahead, defer=defer, sources=sources
    )
    return _store_safely(session, data, options)


def _store_safely(session: Session, data: ArticleCreate, options: _IngestOptions) -> IngestOutcome:
    """`ingest_article_safely`, with its options bundled (a batch builds them once)."""
    attempt = partial(_store_article, session, data, options)
    try:
        with unit_of_work.savepoint(session):
            return attempt()
    except IntegrityError:
        logger.info("ingest.race url=%s external_id=%s", data.url, data.external_id)
    with unit_of_work.savepoint(session):
        return attempt()


# --- syndicated copies --------------------------------------------------------------------------


def _link_story(session: Session, article: Article) -> None:
    """Fingerprint the article and, when its text is a near-identical copy of a fingerprinted
    article (app.ingest.fingerprint: estimated Jaccard >= 0.8 over word 5-shingles), point it at that
    article's story. A copy stores no observations of its own, so timelines, aggregates and shifts
    count the story once, whichever of its urls arrive. A story's first article stays first even
    when a later revision makes it resemble another story."""
    found = fingerprint.fingerprint(article.text)
    story_store.replace_fingerprint(
        session,
        article_id=article.id,
        signature=found.signature if found else None,
        band_keys=found.band_keys if found else (),
    )
    article.story_id = None
    if found is None or story_store.has_copies(session, article_id=article.id):
        return
    for candidate in story_store.list_candidates(session, band_keys=found.band_keys, exclude_id=article.id):
        if fingerprint.same_story(found.signature, candidate.signature):
            article.story_id = candidate.story_id or candidate.article_id
            logger.info("ingest.story_copy article_id=%s story_id=%s", article.id, article.story_id)
            return


def _identity(data: ArticleCreate) -> tuple[str, str]:
    return (data.url or "", data.external_id or "")


def _validation_error(error: ValidationError, index: int) -> ErrorDetail:
    first = error.errors()[0]
    field = field_path(("articles", index, *first.get("loc", ())))
    return ErrorDetail(
        code="validation_error", message=f"{field}: {first.get('msg', 'invalid')}", field=field
    )


@dataclass(frozen=True)
class BatchOutcome:
    results: list[IngestResult]


@dataclass(frozen=True)
class ValidatedBatch:
    """A batch's items checked one by one: the valid ones and the errors, by index."""

    size: int
    articles: dict[int, ArticleCreate]
    errors: dict[int, IngestResult]


def validate_batch(items: Sequence[Any]) -> ValidatedBatch:
    articles: dict[int, ArticleCreate] = {}
    errors: dict[int, IngestResult] = {}
    for index, item in enumerate(items):
        try:
            articles[index] = ArticleCreate.model_validate(item)
        except ValidationError as error:
            errors[index] = IngestResult(status="error", error=_validation_error(error, index))
    return ValidatedBatch(len(items), articles, errors)


def ingest_result(outcome: IngestOutcome) -> IngestResult:
    """What the API (and a batch) answers for a stored article."""
    return IngestResult(
        status=outcome.status,
        article_id=outcome.article.id,
        revision=outcome.article.revision,
        observations=outcome.observations,
        kept_reviewed=outcome.reviews.kept,
        stale_reviewed=outcome.reviews.stale,
        dropped_reviewed=len(outcome.reviews.dropped),
        dropped=list(outcome.reviews.dropped),
        extraction=outcome.extraction,
    )


def store_batch(
    session: Session,
    batch: ValidatedBatch,
    *,
    context: RegistryContext,
    engine: str,
    link_stories: bool = False,
    ahead: Mapping[str, Extraction] | None = None,
    defer: bool = False,
) -> BatchOutcome:
    """Each item in its own SAVEPOINT: a bad item reports an error and the others still land.

    Results come back in input order, but items are stored in the order of their identity (url,
    external id), sources first: concurrent batches that overlap then take their row locks in
    one global order and cannot deadlock. The daily aggregate takes the items that landed when the
    unit of work commits (`unit_of_work`).
    `link_stories`, `ahead`, `defer`: as `ingest_article` (`ahead` holds the items' extractions).
    """
    results: dict[int, IngestResult] = dict(batch.errors)
    valid = batch.articles
    # added before any item's savepoint, so every item may use them
    sources = {
        name: article_store.get_or_add_source(session, name=name)
        for name in sorted({data.source for data in valid.values() if data.source})
    }
    options = _IngestOptions(
        context, engine, link_stories=link_stories, ahead=ahead, defer=defer, sources=sources
    )
    for index in sorted(valid, key=lambda i: _identity(valid[i])):
        try:
            outcome = _store_safely(session, valid[index], options)
        except StancelineError as error:
            field = f"articles[{index}].{error.field}" if error.field else f"articles[{index}]"
            detail = ErrorDetail(code=error.code, message=error.message, field=field)
            results[index] = IngestResult(status="error", error=detail)
            continue
        except IntegrityError:
            logger.warning("ingest.batch_conflict index=%d", index)
            detail = ErrorDetail(
                code="conflict", message="conflicts with a stored article", field=f"articles[{index}]"
            )
            results[index] = IngestResult(status="error", error=detail)
            continue
        results[index] = ingest_result(outcome)
    return BatchOutcome([results[i] for i in range(batch.size)])
