"""RSS and Atom feeds: registration, polling (conditional GET, backoff) and entry ingest.

`parse` turns a document into entries, `fetch` GETs a feed (public addresses only: `guard`),
`poll` fetches, picks the new entries and ingests them through the same idempotent path as
POST /v1/articles (syndicated copies linked to their story), `registration` adds and updates feeds.
"""

from __future__ import annotations

from app.feeds.fetch import http_client
from app.feeds.poll import PollResult, claim_due, poll_due, poll_feed

__all__ = ["PollResult", "claim_due", "http_client", "poll_due", "poll_feed"]
