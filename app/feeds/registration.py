"""Adding a feed, or changing the one already registered under the same url. Flush, never commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.errors import UnknownReference
from app.models import Feed, utcnow
from app.schemas import FeedCreate
from app.store import feeds as feed_store
from app.store import topics as topic_store


def register_feed(session: Session, data: FeedCreate) -> tuple[Feed, bool]:
    """The feed (created, or updated in place when its url is known) and whether it is new.

    A changed feed is due at once with its failure count cleared: new hints, a shorter interval or
    a fixed url take effect on the next round.
    """
    known = topic_store.ids_by_slug(session, slugs=data.topic_hints)
    for index, slug in enumerate(data.topic_hints):
        if slug not in known:
            raise UnknownReference("topic", slug, field=f"topic_hints[{index}]")
    hints = list(dict.fromkeys(data.topic_hints))
    feed = feed_store.get_feed_by_url(session, url=data.url)
    created = feed is None
    if feed is None:
        feed = Feed(url=data.url, failures=0, entries_ingested=0)
        session.add(feed)
    feed.topic_hints = hints
    feed.poll_interval_seconds = data.poll_interval_seconds
    feed.active = data.active
    feed.next_poll_at, feed.failures = utcnow(), 0
    session.flush()
    return feed, created
