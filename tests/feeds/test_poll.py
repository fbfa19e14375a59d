"""Polling feeds served from 127.0.0.1: RSS and Atom, ETag / Last-Modified, only new entries,
syndicated copies, topic hints, and backoff on errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app import feeds
from app.db import session_scope
from app.feeds.registration import register_feed
from app.jobs import extraction
from app.models import Article, Feed, Observation
from app.registry import context as registry_context
from app.schemas import FeedCreate
from app.store import aggregates
from tests.feeds.conftest import Database, demo_articles, unique
from tests.feeds.server import Document, FeedServer, atom, rss

DEMO = demo_articles()
NOW = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def _item(article: dict[str, Any], link: str, *, html: bool = True) -> dict[str, str]:
    published = datetime.fromisoformat(article["published_at"].replace("Z", "+00:00"))
    paragraphs = article["text"].split("\n\n")
    body = "".join(f"<p>{p}</p>" for p in paragraphs) if html else article["text"]
    return {
        "title": article["title"],
        "link": link,
        "guid": link,
        "pubDate": format_datetime(published, usegmt=True),
        "description": body,
    }


def _add_feed(db: Database, url: str, **fields: Any) -> int:
    with session_scope(db.factory) as session:
        feed, _ = register_feed(session, FeedCreate(url=url, **fields), allow_private=True)
        return feed.id


def _poll(db: Database, feed_id: int, client: httpx.Client, now: datetime = NOW) -> feeds.PollResult:
    return feeds.poll_feed(
        db.factory,
        feed_id,
        settings=db.settings,
        client=client,
        cache=registry_context.RegistryCache(),
        now=now,
    )


def _feed(db: Database, feed_id: int) -> Feed:
    with session_scope(db.factory, write=False) as session:
        feed = session.get(Feed, feed_id)
        assert feed is not None
        return feed


def _articles(db: Database, prefix: str) -> list[Article]:
    with session_scope(db.factory, write=False) as session:
        stmt = select(Article).where(Article.url.startswith(prefix)).order_by(Article.id)
        return list(session.scalars(stmt))


def test_rss_entries_are_ingested_once_and_the_etag_saves_the_refetch(
    feeds_db: Database, feed_server: FeedServer, client: httpx.Client
) -> None:
    prefix = unique()
    items = [_item(DEMO[i], f"{prefix}/{i}") for i in range(3)]
    feed_server.documents["/rss.xml"] = Document(rss("Example Wire", items))
    feed_id = _add_feed(feeds_db, feed_server.url("/rss.xml"), poll_interval_seconds=600)

    first = _poll(feeds_db, feed_id, client)
    assert first.outcome == "ingested"
    assert (first.entries, first.new, first.statuses["created"]) == (3, 3, 3)
    stored = _articles(feeds_db, prefix)
    assert [a.url for a in stored] == [
        f"{prefix}/{i}" for i in sorted(range(3), key=lambda i: DEMO[i]["published_at"])
    ]
    by_url = {a.url: a for a in stored}
    assert by_url[f"{prefix}/0"].title == DEMO[0]["title"]
    assert by_url[f"{prefix}/0"].text == DEMO[0]["text"]  # HTML paragraphs back to plain paragraphs
    assert by_url[f"{prefix}/0"].published_at == datetime.fromisoformat(
        DEMO[0]["published_at"].replace("Z", "+00:00")
    )
    feed = _feed(feeds_db, feed_id)
    assert feed.etag == feed_server.documents["/rss.xml"].etag
    assert feed.last_modified == "Wed, 26 Mar 2025 09:00:00 GMT"
    assert feed.title == "Example Wire"
    assert feed.entries_ingested == 3
    assert feed.next_poll_at == NOW + timedelta(seconds=600)
    assert feed.last_entry_key == max(items, key=lambda i: DEMO[items.index(i)]["published_at"])["guid"]

    second = _poll(feeds_db, feed_id, client)
    assert second.outcome == "not_modified"
    assert feed_server.requests[-1].if_none_match == feed.etag
    assert feed_server.requests[-1].if_modified_since == feed.last_modified
    assert feed_server.requests[-1].status == 304

    # a newer entry: only it is ingested, the others are not even looked at again
    newer = {**DEMO[5], "published_at": "2025-12-01T08:00:00Z"}
    feed_server.documents["/rss.xml"] = Document(rss("Example Wire", [_item(newer, f"{prefix}/5"), *items]))
    third = _poll(feeds_db, feed_id, client)
    assert (third.entries, third.new, third.statuses["created"], third.statuses["unchanged"]) == (4, 1, 1, 0)
    assert len(_articles(feeds_db, prefix)) == 4
    assert _feed(feeds_db, feed_id).last_entry_key == f"{prefix}/5"


def test_atom_full_content_and_updated_entries(
    feeds_db: Database, feed_server: FeedServer, client: httpx.Client
) -> None:
    prefix = unique()
    article = DEMO[7]
    entry = {
        "title": article["title"],
        "link": f"{prefix}/a",
        "id": f"tag:wire.example,2025:{prefix}",
        "published": "2025-03-20T10:00:00+01:00",
        "updated": "2025-03-20T10:00:00+01:00",
        "summary": "A short teaser.",
        "content": "".join(f"<p>{p}</p>" for p in article["text"].split("\n\n")) + "<script>x()</script>",
    }
    feed_server.documents["/atom.xml"] = Document(
        atom("Atom Wire", [entry]), content_type="application/atom+xml"
    )
    feed_id = _add_feed(feeds_db, feed_server.url("/atom.xml"))
    assert _poll(feeds_db, feed_id, client).statuses["created"] == 1
    (stored,) = _articles(feeds_db, prefix)
    assert stored.text == article["text"]  # full content wins over the summary; scripts dropped
    assert stored.external_id == entry["id"]
    assert stored.published_at == datetime(2025, 3, 20, 9, 0, tzinfo=UTC)

    # the same entry updated with new text: a new revision of the same article
    changed = {
        **entry,
        "updated": "2025-03-21T08:00:00Z",
        "content": entry["content"] + "<p>France agreed.</p>",
    }
    feed_server.documents["/atom.xml"] = Document(
        atom("Atom Wire", [changed]), content_type="application/atom+xml"
    )
    result = _poll(feeds_db, feed_id, client)
    assert result.statuses["revised"] == 1
    (revised,) = _articles(feeds_db, prefix)
    assert revised.id == stored.id
    assert revised.revision == 2


def test_syndicated_copies_in_feeds_count_once(
    feeds_db: Database, feed_server: FeedServer, client: httpx.Client
) -> None:
    prefix = unique()
    story = DEMO[10]
    wire = [_item(story, f"{prefix}/wire")]
    paper = [
        _item({**story, "text": "By Staff\n\n" + story["text"]}, f"{prefix}/paper"),
        _item(DEMO[12], f"{prefix}/own"),
    ]
    feed_server.documents["/wire.xml"] = Document(rss("Wire", wire))
    feed_server.documents["/paper.xml"] = Document(rss("Paper", paper))
    wire_id = _add_feed(feeds_db, feed_server.url("/wire.xml"))
    paper_id = _add_feed(feeds_db, feed_server.url("/paper.xml"))

    assert _poll(feeds_db, wire_id, client).copies == 0
    result = _poll(feeds_db, paper_id, client)
    assert result.statuses["created"] == 2
    assert result.copies == 1
    stored = {a.url: a for a in _articles(feeds_db, prefix)}
    assert stored[f"{prefix}/paper"].story_id == stored[f"{prefix}/wire"].id
    assert stored[f"{prefix}/own"].story_id is None
    with session_scope(feeds_db.factory, write=False) as session:
        counts = dict(
            session.execute(
                select(Observation.article_id, func.count())
                .where(Observation.article_id.in_([a.id for a in stored.values()]))
                .group_by(Observation.article_id)
            ).all()
        )
    assert counts.get(stored[f"{prefix}/paper"].id, 0) == 0
    assert counts[stored[f"{prefix}/wire"].id] > 0


def test_topic_hints_keep_only_entries_on_those_topics(
    feeds_db: Database, feed_server: FeedServer, client: httpx.Client
) -> None:
    prefix = unique()
    on_topic = next(i for i, a in enumerate(DEMO) if "ground troops" in a["text"].lower())
    off_topic = {
        **DEMO[0],
        "title": "Weather",
        "text": "Rain is expected across the north of the country on Sunday.",
    }
    items = [_item(DEMO[on_topic], f"{prefix}/on"), _item(off_topic, f"{prefix}/off")]
    feed_server.documents["/hints.xml"] = Document(rss("Hints", items))
    feed_id = _add_feed(feeds_db, feed_server.url("/hints.xml"), topic_hints=["ground-troops-ukraine"])
    result = _poll(feeds_db, feed_id, client)
    assert (result.new, result.skipped_by_hints) == (1, 1)
    assert [a.url for a in _articles(feeds_db, prefix)] == [f"{prefix}/on"]


def test_a_failing_feed_backs_off_and_recovers(
    feeds_db: Database, feed_server: FeedServer, client: httpx.Client
) -> None:
    feed_server.documents["/down.xml"] = Document(b"", status=503)
    feed_id = _add_feed(feeds_db, feed_server.url("/down.xml"), poll_interval_seconds=600)
    waits = []
    now = NOW
    for _ in range(3):
        result = _poll(feeds_db, feed_id, client, now=now)
        assert result.outcome == "failed"
        feed = _feed(feeds_db, feed_id)
        waits.append((feed.next_poll_at - now).total_seconds())
        now = feed.next_poll_at
    assert waits == [1200, 2400, 4800]  # interval * 2**failures
    assert (feed.failures, feed.last_status, feed.last_error) == (3, 503, "http_error: HTTP 503")
    assert (result.error_kind, result.error) == ("http_error", "HTTP 503")

    feed_server.documents["/down.xml"] = Document(
        b"<html><body>Not a feed</body></html>", content_type="text/html"
    )
    result = _poll(feeds_db, feed_id, client, now=now)
    assert (result.error_kind, result.error) == ("not_a_feed", "not an RSS or Atom feed")
    assert _feed(feeds_db, feed_id).failures == 4

    feed_server.documents["/down.xml"] = Document(rss("Back", [_item(DEMO[1], unique() + "/x")]))
    assert _poll(feeds_db, feed_id, client, now=now).outcome == "ingested"
    feed = _feed(feeds_db, feed_id)
    assert (feed.failures, feed.last_error) == (0, None)
    assert feed.next_poll_at == now + timedelta(seconds=600)


def test_backoff_is_capped() -> None:
    assert feeds.poll.backoff_seconds(600, 1, cap=86_400) == 1200
    assert feeds.poll.backoff_seconds(600, 12, cap=86_400) == 86_400
    assert feeds.poll.backoff_seconds(600, 200, cap=60) == 600  # never below the interval


def test_unreachable_feed_is_a_failure_not_a_crash(feeds_db: Database, client: httpx.Client) -> None:
    feed_id = _add_feed(feeds_db, "http://127.0.0.1:9/nothing-listens-here.xml")
    result = _poll(feeds_db, feed_id, client)
    assert (result.outcome, result.error_kind) == ("failed", "unreachable")
    assert result.error == "the feed's host could not be reached"  # not the exception's text
    assert _feed(feeds_db, feed_id).last_error == "unreachable: the feed's host could not be reached"


def test_due_feeds_are_claimed_by_one_poller(feeds_db: Database) -> None:
    feed_id = _add_feed(feeds_db, unique("http://127.0.0.1:9") + "/due.xml")
    later = NOW + timedelta(days=3650)  # every feed of this database is due by then
    first = feeds.claim_due(feeds_db.factory, settings=feeds_db.settings, now=later, limit=10_000)
    second = feeds.claim_due(feeds_db.factory, settings=feeds_db.settings, now=later, limit=10_000)
    assert feed_id in first
    assert feed_id not in second
    assert _feed(feeds_db, feed_id).next_poll_at > later


def test_with_the_shipped_default_a_poll_queues_its_articles_for_the_extraction_workers(
    feeds_db: Database, feed_server: FeedServer, client: httpx.Client
) -> None:
    prefix = unique()
    items = [_item(DEMO[i], f"{prefix}/{i}") for i in range(3)]
    feed_server.documents["/queued.xml"] = Document(rss("Example Wire", items))
    feed_id = _add_feed(feeds_db, feed_server.url("/queued.xml"))
    # linking off: earlier tests stored these texts, and a syndicated copy has no extraction to queue
    settings = feeds_db.settings.model_copy(update={"ingest_wait": False, "story_linking": "off"})
    polled = feeds.poll_feed(
        feeds_db.factory,
        feed_id,
        settings=settings,
        client=client,
        cache=registry_context.RegistryCache(),
        now=NOW,
    )
    assert (polled.statuses["created"], polled.queued) == (3, 3)
    stored = _articles(feeds_db, prefix)
    assert {a.extraction_state for a in stored} == {"pending"}
    with session_scope(feeds_db.factory, write=False) as session:
        counted = select(func.count(Observation.id)).where(Observation.article_id.in_([a.id for a in stored]))
        assert session.scalar(counted) == 0
    done = extraction.drain(feeds_db.factory, settings=settings, cache=registry_context.RegistryCache())
    assert done.done == 3
    assert {a.extraction_state for a in _articles(feeds_db, prefix)} == {"done"}
    with session_scope(feeds_db.factory, write=False) as session:
        assert (session.scalar(counted) or 0) > 0


def test_a_poll_applies_its_aggregate_deltas_once_in_key_order(
    feeds_db: Database, feed_server: FeedServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two polls at once must lock aggregate rows in one order: each poll applies the deltas of
    all its entries together (sorted), never article by article."""
    applied: list[int] = []
    apply = aggregates.apply

    def counting(session: Any, deltas: aggregates.Deltas) -> int:
        applied.append(len(deltas.rows()))
        return apply(session, deltas)

    monkeypatch.setattr(aggregates, "apply", counting)
    prefix = unique()
    items = [_item(DEMO[i], f"{prefix}/{i}") for i in range(4)]
    feed_server.documents["/rss.xml"] = Document(rss("Example Wire", items))
    feed_id = _add_feed(feeds_db, feed_server.url("/rss.xml"))
    result = _poll(feeds_db, feed_id, client)
    assert result.statuses["created"] == 4
    with session_scope(feeds_db.factory, write=False) as session:
        observed = session.scalar(
            select(func.count()).select_from(Observation).join(Article).where(Article.url.like(f"{prefix}/%"))
        )
        assert aggregates.differences(session) == []
    assert feeds_db.settings.ingest_wait  # the tests' setting: the poll extracts its entries itself
    assert observed
    assert len([n for n in applied if n]) == 1  # one apply holding every entry's rows
