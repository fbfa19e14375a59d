"""A feed server on 127.0.0.1 for the tests: documents by path, ETag / Last-Modified with 304s,
chosen failure statuses, redirects, and a log of what each request sent."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Document:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    last_modified: str | None = "Wed, 26 Mar 2025 09:00:00 GMT"
    location: str | None = None  # with a 3xx status: where it redirects to

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Seen:
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    status: int


@dataclass
class FeedServer:
    documents: dict[str, Document] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def start(self) -> FeedServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                doc = owner.documents.get(self.path)
                inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
                if doc is None:
                    status = 404
                elif doc.status != 200:
                    status = doc.status
                elif inm == doc.etag:
                    status = 304
                else:
                    status = 200
                # logged before answering: the client may look at the log as soon as it has the answer
                owner.requests.append(Seen(self.path, inm, ims, status))
                self.send_response(status)
                if status != 200 or doc is None:
                    if doc is not None and doc.location is not None:
                        self.send_header("Location", doc.location)
                    if status != 304:
                        self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_header("Content-Type", doc.content_type)
                self.send_header("Content-Length", str(len(doc.body)))
                self.send_header("ETag", doc.etag)
                if doc.last_modified:
                    self.send_header("Last-Modified", doc.last_modified)
                self.end_headers()
                self.wfile.write(doc.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        ).start()  # quick to stop
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    """An RSS 2.0 document; each item: title, link, guid, pubDate, description (HTML, escaped here)."""
    from xml.sax.saxutils import escape

    parts = [
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(title)}</title>"
    ]
    for item in items:
        parts.append("<item>")
        for tag in ("title", "link", "guid", "pubDate", "description"):
            if tag in item:
                parts.append(f"<{tag}>{escape(item[tag])}</{tag}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def atom(title: str, entries: list[dict[str, str]]) -> bytes:
    """An Atom document; each entry: title, link, id, published, updated, content (HTML)."""
    from xml.sax.saxutils import escape

    parts = [
        f"<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>{escape(title)}</title>"
    ]
    for entry in entries:
        parts.append("<entry>")
        parts.append(f"<title>{escape(entry['title'])}</title>")
        parts.append(f"<link href='{escape(entry['link'])}'/>")
        parts.append(f"<id>{escape(entry['id'])}</id>")
        for tag in ("published", "updated"):
            if tag in entry:
                parts.append(f"<{tag}>{entry[tag]}</{tag}>")
        if "content" in entry:
            parts.append(f"<content type='html'>{escape(entry['content'])}</content>")
        if "summary" in entry:
            parts.append(f"<summary>{escape(entry['summary'])}</summary>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")
