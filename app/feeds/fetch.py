"""One conditional GET of a feed: public addresses only, redirects followed by hand, failures by kind.

A fetch reaches public addresses only (unless the operator sets `feed_allow_private`), on every
redirect too: it follows at most MAX_REDIRECTS of them itself and checks each target before
sending (`app.feeds.guard`; the client of `http_client` also connects only to the addresses it
checked). A failure comes back as its kind with a fixed message (`app.schemas.FEED_ERRORS`): the
exception's text (connection refused, reset, timed out) would tell a user which internal ports
are open, so it goes to the server log only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from app import __version__
from app.config import Settings
from app.feeds import guard
from app.schemas import FEED_ERRORS, FeedErrorKind

logger = logging.getLogger(__name__)

USER_AGENT = f"Stanceline/{__version__} (feed reader)"
MAX_FEED_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def http_client(settings: Settings) -> httpx.Client:
    """The client feed polls fetch with: it connects only to addresses it checked (guard)."""
    return guard.guarded_client(
        allow_private=settings.feed_allow_private,
        timeout=settings.feed_timeout_seconds,
        headers={"User-Agent": USER_AGENT},
    )


@dataclass(frozen=True)
class Fetched:
    status: int | None
    content: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    error_kind: FeedErrorKind | None = None
    error: str | None = None  # the fixed message users see (FEED_ERRORS, or "HTTP 503"); details are logged


def _failed(url: str, status: int | None, kind: FeedErrorKind, detail: object, message: str = "") -> Fetched:
    logger.warning("feeds.fetch_failed url=%s kind=%s status=%s detail=%s", url, kind, status, detail)
    return Fetched(status, error_kind=kind, error=message or FEED_ERRORS[kind])


def fetch(
    client: httpx.Client,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    allow_private: bool = False,
) -> Fetched:
    """GET the feed with If-None-Match / If-Modified-Since, following up to MAX_REDIRECTS redirects,
    each target checked before it is requested."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    target = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            where = httpx.URL(target)
            if where.scheme not in ("http", "https"):
                return _failed(url, None, "http_error", target, "redirected to a URL that is not http(s)")
            guard.check_url(where, allow_private=allow_private)
            with client.stream("GET", where, headers=headers, follow_redirects=False) as response:
                status = response.status_code
                if status in REDIRECT_STATUSES and response.headers.get("Location"):
                    target = str(where.join(response.headers["Location"]))
                    continue
                if status == 304:
                    return Fetched(304, etag=etag, last_modified=last_modified)
                if status != 200:
                    return _failed(url, status, "http_error", target, f"HTTP {status}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_FEED_BYTES:
                        return _failed(url, 200, "too_large", f"more than {MAX_FEED_BYTES} bytes")
                return Fetched(
                    200,
                    bytes(body),
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        return _failed(url, None, "http_error", target, f"more than {MAX_REDIRECTS} redirects")
    except guard.BlockedAddress as error:
        return _failed(url, None, "blocked_address", error)
    except httpx.TimeoutException as error:
        return _failed(url, None, "timeout", repr(error))
    except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError) as error:
        # refused, reset, no such host, a broken answer, a malformed redirect
        return _failed(url, None, "unreachable", repr(error))
