"""The ingest use case: dedupe, revise, extract and store one article or a batch. Flush, never commit."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from functools import partial
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import fingerprint, metrics
from app.errors import Conflict, NotFound, StancelineError, field_path
from app.extraction import build_extractor
from app.extraction.types import (
    ActorEntry,
    ArticleText,
    ExtractedObservation,
    MembershipEntry,
    RegistrySnapshot,
    TopicEntry,
)
from app.models import Article, ArticleRevision, Source
from app.schemas import ArticleCreate, ErrorDetail, IngestResult
from app.store import actors as actor_store
from app.store import aggregates, registry_state
from app.store import articles as article_store
from app.store import observations as observation_store
from app.store import stories as story_store
from app.store import topics as topic_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryContext:
    """The registry as extraction sees it, plus the slug -> id maps storage needs."""

    snapshot: RegistrySnapshot
    actor_ids: dict[str, int]
    topic_ids: dict[str, int]


Pair = tuple[int, int]  # (topic_id, actor_id): a series a write changed


@dataclass(frozen=True)
class IngestOutcome:
    status: str  # created | unchanged | revised
    article: Article
    observations: int
    touched: frozenset[Pair] = frozenset()
    # what the write changes in the daily aggregate; applied once per unit of work (see ingest_batch)
    deltas: aggregates.Deltas = field(default_factory=aggregates.Deltas)


class RegistryCache:
    """The registry context of one process, rebuilt only when the stored registry revision moves.

    Every registry write bumps the revision in its own transaction, so every worker process
    sees the change on its next ingest (one small query instead of loading the whole registry).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._context: RegistryContext | None = None

    def get(self, session: Session) -> RegistryContext:
        revision = registry_state.get_registry_revision(session)
        with self._lock:
            if self._context is not None and self._revision == revision:
                return self._context
        context = load_registry_context(session)
        with self._lock:
            self._revision, self._context = revision, context
        return context


def load_registry_context(session: Session) -> RegistryContext:
    actors = actor_store.list_all_actors(session)
    topics = topic_store.list_all_topics(session)
    snapshot = RegistrySnapshot(
        actors=tuple(
            ActorEntry(
                slug=a.slug,
                name=a.name,
                kind=a.kind,
                aliases=tuple(alias.alias for alias in a.aliases),
                memberships=tuple(
                    MembershipEntry(
                        parent=m.parent.slug, role=m.role, valid_from=m.valid_from, valid_to=m.valid_to
                    )
                    for m in a.memberships
                ),
            )
            for a in actors
        ),
        topics=tuple(
            TopicEntry(
                slug=t.slug,
                name=t.name,
                description=t.description,
                keywords=tuple(t.keywords),
                examples=tuple(t.examples),
                parent=t.parent.slug if t.parent else None,
                weak_keywords=tuple(t.weak_keywords),
                excluded_phrases=tuple(t.excluded_phrases),
                relevance_threshold=t.relevance_threshold,
            )
            for t in topics
        ),
    )
    return RegistryContext(
        snapshot=snapshot,
        actor_ids={a.slug: a.id for a in actors},
        topic_ids={t.slug: t.id for t in topics},
    )


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
                "status": "auto",
                "extras": dict(item.extras) or None,
            }
        )
    return rows


@dataclass(frozen=True)
class Extraction:
    """An article's extraction done before its write transaction (a re-extraction job does the
    slow part outside the write lock); used only if the article is still at `revision`."""

    revision: int
    found: tuple[ExtractedObservation, ...]


def extract_ahead(article: Article, *, context: RegistryContext, engine: str) -> Extraction:
    return Extraction(article.revision, tuple(_extract(article, context=context, engine=engine)))


def _extract(article: Article, *, context: RegistryContext, engine: str) -> Sequence[ExtractedObservation]:
    extractor = build_extractor(context.snapshot, engine)
    started = metrics.clock()
    found = extractor.extract(
        ArticleText(
            text=article.text,
            published_at=article.published_at,
            title=article.title,
            language=article.language,
        )
    )
    metrics.observe_extraction(engine, started)
    return found


def extract_and_store(
    session: Session,
    article: Article,
    *,
    context: RegistryContext,
    engine: str,
    skip: set[tuple[int, int, str]] | None = None,
    ahead: Extraction | None = None,
) -> tuple[list[Pair], aggregates.Deltas]:
    """Extract and insert; returns the (topic_id, actor_id) of each new observation and their
    aggregate deltas (for the caller to apply).

    `skip` holds (actor_id, topic_id, day) keys a person already coded or reviewed.
    """
    if article.story_id is not None:  # a syndicated copy: its story's observations stand for it
        return [], aggregates.Deltas()
    extractor = build_extractor(context.snapshot, engine)
    if ahead is not None and ahead.revision == article.revision:
        found: Sequence[ExtractedObservation] = ahead.found
    else:
        found = _extract(article, context=context, engine=engine)
    rows = _observation_rows(article, found, context, extractor.method, extractor.version)
    if skip:
        rows = [
            r for r in rows if (r["actor_id"], r["topic_id"], r["observed_at"].date().isoformat()) not in skip
        ]
    deltas = observation_store.add_observations(session, rows=rows)
    metrics.count_observations(engine, len(rows))
    return [(r["topic_id"], r["actor_id"]) for r in rows], deltas


@dataclass(frozen=True)
class Reextraction:
    article_id: int
    removed: int
    added: int
    touched: frozenset[Pair]


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
    does not add an automatic twin next to them: a rejection stays a rejection.
    """
    article = article_store.get_article(session, article_id=article_id)
    if article is None:
        raise NotFound("article", article_id)
    before = observation_store.automatic_pairs(session, article_id=article_id, unreviewed_only=True)
    removed, deltas = observation_store.delete_unreviewed_automatic(session, article_id=article_id)
    kept = observation_store.kept_keys(session, article_id=article_id)
    added, new = extract_and_store(session, article, context=context, engine=engine, skip=kept, ahead=ahead)
    aggregates.apply(session, deltas.merge(new))
    return Reextraction(article_id, removed, len(added), frozenset(before) | frozenset(added))


@dataclass(frozen=True)
class Deletion:
    article_id: int
    observations: int
    touched: frozenset[Pair]


def delete_article(session: Session, article_id: int) -> Deletion:
    """Remove an article, its revisions and every observation coded from it (manual ones too)."""
    if article_store.get_article(session, article_id=article_id) is None:
        raise NotFound("article", article_id)
    touched = observation_store.article_pairs(session, article_id=article_id)
    removed, deltas = article_store.delete_article(session, article_id=article_id)
    aggregates.apply(session, deltas)
    logger.info("ingest.deleted article_id=%s observations=%d", article_id, removed)
    return Deletion(article_id, removed, frozenset(touched))


def ingest_article(
    session: Session,
    data: ArticleCreate,
    *,
    context: RegistryContext,
    engine: str,
    link_stories: bool = False,
) -> IngestOutcome:
    """Store one article (created, revised or unchanged) with its observations and their aggregate.

    `link_stories`: a near-identical copy of a stored article joins its story (see `_link_story`).
    """
    outcome = _store_article(session, data, context=context, engine=engine, link_stories=link_stories)
    aggregates.apply(session, outcome.deltas)
    return outcome


def _store_article(
    session: Session,
    data: ArticleCreate,
    *,
    context: RegistryContext,
    engine: str,
    link_stories: bool = False,
    sources: Mapping[str, Source] | None = None,
) -> IngestOutcome:
    """`ingest_article` without applying the aggregate deltas, which the outcome carries.

    `sources`: rows a batch already found or added, by name (saves a query per article).
    """
    existing = _find_existing(session, data)
    digest = content_hash(data)
    if existing is not None and existing.content_hash == digest:
        count = observation_store.count_article_observations(session, article_id=existing.id)
        return IngestOutcome("unchanged", existing, count)

    source = None
    if data.source:
        known = sources.get(data.source) if sources else None
        source = known or article_store.get_or_add_source(session, name=data.source)
    previous: set[Pair] = set()
    deltas = aggregates.Deltas()
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
        previous = observation_store.automatic_pairs(session, article_id=article.id, unreviewed_only=False)
        replaced, deltas = observation_store.delete_automatic_observations(session, article_id=article.id)
        logger.info("ingest.revised article_id=%s replaced_observations=%d", article.id, replaced)
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
    if link_stories or article.story_id is not None:
        _link_story(session, article)
    added, new = extract_and_store(session, article, context=context, engine=engine)
    deltas.merge(new)
    session.flush()
    total = (
        len(added)
        if status == "created"
        else observation_store.count_article_observations(session, article_id=article.id)
    )
    logger.info("ingest.stored article_id=%s status=%s observations=%d", article.id, status, len(added))
    return IngestOutcome(status, article, total, frozenset(added) | frozenset(previous), deltas)


def ingest_article_safely(
    session: Session,
    data: ArticleCreate,
    *,
    context: RegistryContext,
    engine: str,
    link_stories: bool = False,
) -> IngestOutcome:
    """`ingest_article` in a savepoint, once more if a concurrent writer stored the same article
    (or source) first: the second attempt finds the winner's row, so racing posts of one url
    end as one article, `created` once and `unchanged` (or `revised`) for the others."""
    outcome = _store_article_safely(session, data, context=context, engine=engine, link_stories=link_stories)
    aggregates.apply(session, outcome.deltas)
    return outcome


def _store_article_safely(
    session: Session,
    data: ArticleCreate,
    *,
    context: RegistryContext,
    engine: str,
    link_stories: bool = False,
    sources: Mapping[str, Source] | None = None,
) -> IngestOutcome:
    attempt = partial(
        _store_article,
        session,
        data,
        context=context,
        engine=engine,
        link_stories=link_stories,
        sources=sources,
    )
    # the deltas travel in the outcome, outside the savepoint: a rolled-back attempt leaves none
    try:
        with session.begin_nested():
            return attempt()
    except IntegrityError:
        logger.info("ingest.race url=%s external_id=%s", data.url, data.external_id)
    with session.begin_nested():
        return attempt()


# --- syndicated copies --------------------------------------------------------------------------


def _link_story(session: Session, article: Article) -> None:
    """Fingerprint the article and, when its text is a near-identical copy of a fingerprinted
    article (app.fingerprint: estimated Jaccard >= 0.8 over word 5-shingles), point it at that
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
    touched: frozenset[Pair]


def ingest_batch(
    session: Session,
    items: Sequence[Any],
    *,
    context: RegistryContext,
    engine: str,
    link_stories: bool = False,
) -> BatchOutcome:
    """Each item in its own SAVEPOINT: a bad item reports an error and the others still land.

    Results come back in input order, but items are stored in the order of their identity (url,
    external id), sources first: concurrent batches that overlap then take their row locks in
    one global order and cannot deadlock. The daily aggregate is updated once, at the end, with
    the deltas of the items that landed, in key order (the same argument for its rows).
    """
    results: dict[int, IngestResult] = {}
    valid: dict[int, ArticleCreate] = {}
    for index, item in enumerate(items):
        try:
            valid[index] = ArticleCreate.model_validate(item)
        except ValidationError as error:
            results[index] = IngestResult(status="error", error=_validation_error(error, index))
    # added before any item's savepoint, so every item may use them
    sources = {
        name: article_store.get_or_add_source(session, name=name)
        for name in sorted({data.source for data in valid.values() if data.source})
    }
    touched: set[Pair] = set()
    deltas = aggregates.Deltas()
    for index in sorted(valid, key=lambda i: _identity(valid[i])):
        try:
            outcome = _store_article_safely(
                session,
                valid[index],
                context=context,
                engine=engine,
                link_stories=link_stories,
                sources=sources,
            )
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
        touched |= outcome.touched
        deltas.merge(outcome.deltas)
        results[index] = IngestResult(
            status=outcome.status,
            article_id=outcome.article.id,
            revision=outcome.article.revision,
            observations=outcome.observations,
        )
    aggregates.apply(session, deltas)
    return BatchOutcome([results[i] for i in range(len(items))], frozenset(touched))
