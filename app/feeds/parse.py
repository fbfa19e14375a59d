"""RSS and Atom documents to plain entries (feedparser), HTML reduced to text. No I/O here."""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from time import struct_time
from typing import Any

import feedparser

from app.schemas import MAX_TEXT_CHARS

MAX_URL = 2048
MAX_EXTERNAL_ID = 512
MAX_TITLE = 2000
MAX_TEXT = MAX_TEXT_CHARS  # what ArticleCreate accepts: a longer entry is cut, not refused


@dataclass(frozen=True)
class Entry:
    key: str  # what identifies the entry in its feed: its id, else its link
    url: str | None
    external_id: str | None
    title: str | None
    text: str
    published_at: datetime | None  # when it was published (or, lacking that, updated)
    stamp: datetime | None  # its latest date (published or updated): what "newer" compares


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: list[Entry]  # in document order
    problem: str | None  # why the document is unusable (not a feed, or broken with no entries)


_BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "section",
        "article",
    }
)
_SKIPPED = frozenset({"script", "style", "head", "noscript", "template"})


class _TextOnly(HTMLParser):
    """Text of an HTML fragment, with a paragraph break at every block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(fragment: str) -> str:
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    text = html.unescape("".join(parser.parts))
    paragraphs = (re.sub(r"[ \t\r\f\v\u00a0]+", " ", p).strip() for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(" ".join(p.split("\n")).strip() for p in paragraphs if p.strip())


def _utc(value: struct_time | None) -> datetime | None:
    """feedparser's parsed dates are UTC struct_times."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _full_text(entry: Any) -> str:
    """The entry's full content when the feed carries it, else its summary (as text)."""
    for content in entry.get("content") or ():
        value = content.get("value") or ""
        if value.strip():
            return strip_html(value) if "html" in (content.get("type") or "html") else value.strip()
    summary = entry.get("summary") or entry.get("description") or ""
    return strip_html(summary)


def _external_id(entry_id: str | None, feed_url: str) -> str | None:
    """The entry's id as the article's external id. Ids that are not URIs ("1234") are only unique
    within their feed, so they are qualified by the feed's url; an overlong one is hashed."""
    if not entry_id:
        return None
    value = entry_id if re.match(r"^[a-zA-Z][\w+.-]*:", entry_id) else f"{feed_url}#{entry_id}"
    if len(value) > MAX_EXTERNAL_ID:
        value = "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


def parse_feed(content: bytes, *, feed_url: str) -> ParsedFeed:
    document = feedparser.parse(content)
    entries = [_entry(raw, feed_url) for raw in document.entries]
    kept = [entry for entry in entries if entry is not None]
    problem = None
    if not document.get("version") and not kept:
        reason = document.get("bozo_exception")
        problem = f"not an RSS or Atom feed ({reason})" if reason else "not an RSS or Atom feed"
    title = strip_html(document.feed.get("title") or "") or None
    return ParsedFeed(title=title, entries=kept, problem=problem)


def _entry(raw: Any, feed_url: str) -> Entry | None:
    url = (raw.get("link") or "").strip() or None
    if url is not None and (len(url) > MAX_URL or not re.match(r"^https?://", url)):
        url = None
    entry_id = (raw.get("id") or "").strip() or None
    external_id = _external_id(entry_id, feed_url)
    title = strip_html(raw.get("title") or "")[:MAX_TITLE] or None
    text = _full_text(raw)[:MAX_TEXT] or (title or "")
    if not text.strip() or (url is None and external_id is None):
        return None
    # dict.get: feedparser's own get() maps a missing updated_parsed to published_parsed, with a warning
    published = _utc(dict.get(raw, "published_parsed"))
    updated = _utc(dict.get(raw, "updated_parsed"))
    stamps = [d for d in (published, updated) if d is not None]
    return Entry(
        key=entry_id or url or "",
        url=url,
        external_id=external_id,
        title=title,
        text=text,
        published_at=published or updated,
        stamp=max(stamps) if stamps else None,
    )
