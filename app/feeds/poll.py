"""Polling: a conditional GET, the entries newer than the last poll, ingest, and backoff on errors.

Each poll is: claim the feed (its next poll moves out of reach of other pollers), fetch with
If-None-Match / If-Modified-Since outside any transaction, then one transaction that ingests the
new entries (each in a savepoint, through ingest_article_safely) and records what the fetch left
to remember (ETag, Last-Modified, the latest entry seen). A crash before that commit leaves the
feed as it was: the next poll fetches and ingests the same entries again, idempotently.

Fetches reach public addresses only, redirects included (`app.feeds.fetch`); a failed poll is
kept on the feed as its kind and a fixed message, the details go to the server log.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.errors import StancelineError
from app.feeds import hints
from app.feeds.fetch import Fetched, fetch
from app.feeds.parse import Entry, ParsedFeed, parse_feed
from app.ingest import articles as ingest
from app.models import Feed, utcnow
from app.ops import metrics
from app.registry import context as registry_context
from app.schemas import ArticleCreate, FeedErrorKind, feed_error
from app.store import articles as article_store
from app.store import feeds as feed_store
from app.store.extraction_queue import PENDING

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000
MIN_LEASE_SECONDS = 600


@dataclass
class PollResult:
    feed_id: int
    outcome: str  # ingested | not_modified | failed
    http_status: int | None = None
    entries: int = 0  # in the document
    new: int = 0  # newer than the last poll (and matching the feed's topic hints)
    statuses: Counter[str] = field(default_factory=Counter)  # created, revised, unchanged, error
    copies: int = 0  # stored as syndicated copies of a story already stored
    # reviews of revised entries (see IngestResult): still stored, of those stale, and dropped
    kept_reviewed: int = 0
    stale_reviewed: int = 0
    dropped_reviewed: int = 0
    skipped_by_hints: int = 0
    queued: int = 0  # new articles stored for the extraction workers (app.jobs.extraction)
    error: str | None = None  # a fixed message for error_kind
    error_kind: FeedErrorKind | None = None


def backoff_seconds(interval: int, failures: int, *, cap: int) -> int:
    """After `failures` failures in a row: interval * 2**failures, capped (never below the interval)."""
    return int(min(interval * 2 ** min(failures, 30), max(cap, interval)))


def claim_due(
    factory: sessionmaker[Session], *, settings: Settings, now: datetime | None = None, limit: int = 100
) -> list[int]:
    """Claim up to `limit` due feeds for this poller (see feed_store.claim_feed)."""
    now = now or utcnow()
    lease = timedelta(seconds=max(MIN_LEASE_SECONDS, settings.feed_timeout_seconds * 3))
    with session_scope(factory, write=False) as session:  # most rounds find nothing: no write lock
        due = feed_store.list_due_feed_ids(session, now=now, limit=limit)
    if not due:
        return []
    with session_scope(factory) as session:
        return [
            feed_id
            for feed_id, seen in due
            if feed_store.claim_feed(session, feed_id=feed_id, seen_due=seen, lease_until=now + lease)
        ]


def poll_due(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    client: httpx.Client,
    cache: registry_context.RegistryCache,
    now: datetime | None = None,
    limit: int = 100,
) -> list[PollResult]:
    """Claim the due feeds and poll them one after the other."""
    return [
        poll_feed(factory, feed_id, settings=settings, client=client, cache=cache, now=now)
        for feed_id in claim_due(factory, settings=settings, now=now, limit=limit)
    ]


def poll_feed(
    factory: sessionmaker[Session],
    feed_id: int,
    *,
    settings: Settings,
    client: httpx.Client,
    cache: registry_context.RegistryCache,
    now: datetime | None = None,
) -> PollResult:
    """Fetch one feed and ingest its new entries; a failure is recorded on the feed with backoff."""
    with session_scope(factory, write=False) as session:
        feed = feed_store.get_feed(session, feed_id=feed_id)
    if feed is None:
        return PollResult(feed_id, "failed", error="feed no longer exists")
    fetched = fetch(
        client,
        feed.url,
        etag=feed.etag,
        last_modified=feed.last_modified,
        allow_private=settings.feed_allow_private,
    )
    now = now or utcnow()
    if fetched.error_kind is not None:
        return _record_failure(
            factory, feed_id, now, fetched.status, fetched.error_kind, fetched.error, settings=settings
        )
    parsed = parse_feed(fetched.content, feed_url=feed.url) if fetched.status == 200 else None
    if parsed is not None and parsed.problem is not None:
        logger.warning("feeds.not_a_feed feed_id=%s problem=%s", feed_id, parsed.problem)
        return _record_failure(factory, feed_id, now, fetched.status, "not_a_feed", None, settings=settings)
    try:
        ahead = _extract_ahead(factory, feed, parsed, now=now, settings=settings, cache=cache)
        with session_scope(factory, settings=settings) as session:
            result = _store_poll(
                session, feed_id, fetched, parsed, now=now, settings=settings, cache=cache, ahead=ahead
            )
    except Exception:  # the database or the ingest path failed: nothing was kept, back off
        logger.exception("feeds.store_failed feed_id=%s", feed_id)
        return _record_failure(factory, feed_id, now, fetched.status, "internal", None, settings=settings)
    logger.info(
        "feeds.polled feed_id=%s outcome=%s entries=%d new=%d statuses=%s copies=%d queued=%d "
        "kept_reviewed=%d stale_reviewed=%d dropped_reviewed=%d",
        feed_id,
        result.outcome,
        result.entries,
        result.new,
        dict(result.statuses),
        result.copies,
        result.queued,
        result.kept_reviewed,
        result.stale_reviewed,
        result.dropped_reviewed,
    )
    return result


def _extract_ahead(
    factory: sessionmaker[Session],
    feed: Feed,
    parsed: ParsedFeed | None,
    *,
    now: datetime,
    settings: Settings,
    cache: registry_context.RegistryCache,
) -> dict[str, ingest.Extraction]:
    """Extract the entries the poll will ingest before its write transaction, which then holds the
    write lock (SQLite) for the database work alone (only revisions, when new articles are left
    to the extraction workers)."""
    if parsed is None:
        return {}
    with session_scope(factory, write=False) as session:
        context = cache.get(session)
        entries, _ = _fresh_entries(session, feed, parsed, context, now=now)
        items = []
        for entry in entries:
            try:
                items.append(_article(feed, entry, now=now))
            except ValidationError:
                continue  # refused again, and counted, in the write transaction
        todo = ingest.not_stored(
            session, items, context=context, engine=settings.extraction_engine, stored_only=_defers(settings)
        )
    return ingest.extract_items_ahead(todo, context=context, engine=settings.extraction_engine)


def _defers(settings: Settings) -> bool:
    """Whether a poll leaves its new articles to the extraction workers, as POST /v1/articles
    does without `wait` (STANCELINE_INGEST_WAIT): extracting a feed's backlog in the poll would
    hold the poller (a thread of an API process, or a Celery task) for all of it."""
    return not settings.ingest_wait


def _store_poll(
    session: Session,
    feed_id: int,
    fetched: Fetched,
    parsed: ParsedFeed | None,
    *,
    now: datetime,
    settings: Settings,
    cache: registry_context.RegistryCache,
    ahead: Mapping[str, ingest.Extraction] | None = None,
) -> PollResult:
    feed = feed_store.get_feed(session, feed_id=feed_id)
    if feed is None:
        return PollResult(feed_id, "failed", fetched.status, error="feed no longer exists")
    result = PollResult(feed_id, "not_modified" if parsed is None else "ingested", fetched.status)
    if parsed is not None:
        _ingest_entries(session, feed, parsed, result, now=now, settings=settings, cache=cache, ahead=ahead)
        feed.title = parsed.title or feed.title
        feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
        latest = _latest(parsed.entries)
        if latest is not None and latest.stamp is None:
            feed.last_entry_key = latest.key
        elif (
            latest is not None
            and latest.stamp is not None
            and (feed.last_entry_at is None or latest.stamp > feed.last_entry_at)
        ):
            feed.last_entry_key, feed.last_entry_at = latest.key, latest.stamp
        feed.entries_ingested += result.statuses["created"] + result.statuses["revised"]
    feed.last_polled_at, feed.last_status = now, fetched.status
    feed.failures, feed.last_error = 0, None
    feed.next_poll_at = now + timedelta(seconds=feed.poll_interval_seconds)
    session.flush()
    return result


def _latest(entries: list[Entry]) -> Entry | None:
    """The most recent entry, or (an undated feed) the first of the document."""
    dated = [(e.stamp, e) for e in entries if e.stamp is not None]
    if dated:
        return max(dated, key=lambda pair: pair[0])[1]
    return entries[0] if entries else None


def _ingest_entries(
    session: Session,
    feed: Feed,
    parsed: ParsedFeed,
    result: PollResult,
    *,
    now: datetime,
    settings: Settings,
    cache: registry_context.RegistryCache,
    ahead: Mapping[str, ingest.Extraction] | None = None,
) -> None:
    """Entries newer than the feed's last poll, oldest first (so the first copy of a story stays
    its first article), through the idempotent ingest path."""
    result.entries = len(parsed.entries)
    context = cache.get(session)
    fresh, result.skipped_by_hints = _fresh_entries(session, feed, parsed, context, now=now)
    link = settings.story_linking != "off"
    for entry in fresh:
        result.new += 1
        try:
            data = _article(feed, entry, now=now)
            outcome = ingest.ingest_article_safely(
                session,
                data,
                context=context,
                engine=settings.extraction_engine,
                link_stories=link,
                ahead=ahead,
                defer=_defers(settings),
            )
        except (ValidationError, StancelineError) as error:
            logger.warning("feeds.entry_refused feed_id=%s key=%s error=%s", feed.id, entry.key, error)
            result.statuses["error"] += 1
            continue
        result.statuses[outcome.status] += 1
        if outcome.status == "created" and outcome.extraction == PENDING:
            result.queued += 1
        if outcome.status != "unchanged" and outcome.article.story_id is not None:
            result.copies += 1
        result.kept_reviewed += outcome.reviews.kept
        result.stale_reviewed += outcome.reviews.stale
        result.dropped_reviewed += len(outcome.reviews.dropped)
    metrics.count_articles(result.statuses.elements())


def _fresh_entries(
    session: Session,
    feed: Feed,
    parsed: ParsedFeed,
    context: registry_context.RegistryContext,
    *,
    now: datetime,
) -> tuple[list[Entry], int]:
    """The entries to ingest, oldest first, and how many new ones the feed's topic hints left out."""
    fresh = [e for e in parsed.entries if _is_new(session, e, feed.last_entry_at)]
    fresh.sort(key=lambda e: (e.stamp is None, e.stamp or now))
    kept = [
        e
        for e in fresh
        if not feed.topic_hints
        or hints.matches(context.snapshot, feed.topic_hints, f"{e.title or ''}\n{e.text}")
    ]
    return kept, len(fresh) - len(kept)


def _article(feed: Feed, entry: Entry, *, now: datetime) -> ArticleCreate:
    return ArticleCreate.model_validate(
        {
            "url": entry.url,
            "external_id": entry.external_id,
            "title": entry.title,
            "text": entry.text,
            "published_at": entry.published_at or now,
            "source": (feed.title or feed.url)[:200],
        }
    )


def _is_new(session: Session, entry: Entry, last_at: datetime | None) -> bool:
    """Dated entries: newer than the latest seen. Undated ones: not stored yet (their date would be
    the poll's, so ingesting them again would make a new revision every time)."""
    if entry.stamp is not None:
        return last_at is None or entry.stamp > last_at
    return not article_store.find_articles_by_identity(session, url=entry.url, external_id=entry.external_id)


def _record_failure(
    factory: sessionmaker[Session],
    feed_id: int,
    now: datetime,
    status: int | None,
    kind: FeedErrorKind,
    message: str | None,
    *,
    settings: Settings,
) -> PollResult:
    """Back the feed off and keep the failure's kind and fixed message (details are in the log)."""
    stored = feed_error(kind, message)[:MAX_ERROR_CHARS]
    with session_scope(factory) as session:
        feed = feed_store.get_feed(session, feed_id=feed_id)
        if feed is not None:
            feed.failures += 1
            wait = backoff_seconds(
                feed.poll_interval_seconds, feed.failures, cap=settings.feed_max_backoff_seconds
            )
            feed.next_poll_at = now + timedelta(seconds=wait)
            feed.last_polled_at, feed.last_status, feed.last_error = now, status, stored
            logger.warning(
                "feeds.failed feed_id=%s failures=%d retry_in=%ds error=%s",
                feed_id,
                feed.failures,
                wait,
                stored,
            )
    return PollResult(feed_id, "failed", status, error=stored.partition(": ")[2], error_kind=kind)
