"""Adding a feed, or changing the one already registered under the same url. Flush, never commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.errors import InvalidInput, UnknownReference
from app.feeds import guard
from app.models import Feed, utcnow
from app.schemas import FeedCreate
from app.store import feeds as feed_store
from app.store import topics as topic_store


def register_feed(session: Session, data: FeedCreate, *, allow_private: bool = False) -> tuple[Feed, bool]:
    """The feed (created, or updated in place when its url is known) and whether it is new.

    A changed feed is due at once with its failure count cleared: new hints, a shorter interval or
    a fixed url take effect on the next round. Unless `allow_private` (STANCELINE_FEED_ALLOW_PRIVATE),
    a url whose host is a loopback, private or otherwise non-public address written out (or
    localhost) is refused here; a host name is checked each time a poll resolves it.
    """
    if not allow_private and guard.is_blocked_literal(data.url):
        raise InvalidInput(
            "url: the host is not a public address (feeds may not reach loopback, private, link-local "
            "or reserved addresses)",
            field="url",
        )
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
