"""Finished responses of the read endpoints, kept per process while their data is current.

A cached read (timelines, compare, network, topics, actors, stances, shifts) is a function of the
registry, the data and the server's settings, and of nothing else: not of the API key that asks
(it only decides whether the request gets here) nor of the time it is asked at. Every commit
that changes what these reads show bumps the data revision and every registry write the registry
revision (`app.store.unit_of_work`), in the writer's own transaction. So a response computed at
revisions R stays exact for as long as the database is at R, whichever process wrote: a request
reads the two counters (one indexed read, on the process's inline-read thread, `app.db.InlineReads`)
and answers from memory when the URL was computed at them.

Misses are computed in the thread pool, once per URL and revision however many requests ask at
the same moment, with the session of the request that asked first. Responses carry an ETag made
of the revisions, so a client that sends it back in `If-None-Match` gets a 304 without a body.
The cache holds at most `read_cache_mb` (0: off).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.config import Settings
from app.db import InlineReader, read_inline
from app.ops import metrics
from app.store import unit_of_work

if TYPE_CHECKING:
    from app.ingest.articles import ReadScope

# what the OpenAPI document says of a cached read's conditional answer
CACHED_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match ETag is current (no body)"}
}
Revision = tuple[int, int]  # (registry revision, data revision)
# headers the cache rebuilds itself
_OWN_HEADERS = frozenset({"content-length", "content-type", "etag", "cache-control"})


@dataclass(frozen=True)
class CachedResponse:
    body: bytes
    media_type: str | None
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, response: Response) -> CachedResponse:
        headers = tuple((k, v) for k, v in response.headers.items() if k.lower() not in _OWN_HEADERS)
        return cls(bytes(response.body), response.media_type, headers)

    def response(self, etag: str) -> Response:
        return Response(self.body, media_type=self.media_type, headers={**dict(self.headers), **_tags(etag)})


def _tags(etag: str) -> dict[str, str]:
    # no-cache: a client may keep the body but asks again, and gets a 304 while it is current
    return {"ETag": etag, "Cache-Control": "no-cache"}


class ReadCache:
    """Least recently used responses by URL, each valid at one revision, within `max_bytes`."""

    def __init__(self, max_bytes: int, *, fingerprint: str = "") -> None:
        self.max_bytes = max_bytes
        self._fingerprint = fingerprint
        self._entries: OrderedDict[str, tuple[Revision, CachedResponse]] = OrderedDict()
        self._size = 0
        self._pending: dict[tuple[str, Revision], asyncio.Future[CachedResponse]] = {}

    @classmethod
    def for_settings(cls, settings: Settings) -> ReadCache:
        # what else shapes a cached read: the code and the settings it reads
        shaping = f"{__version__}|{settings.rollup_member_weight}|{settings.timeline_max_buckets}"
        return cls(
            settings.read_cache_mb * 1024 * 1024, fingerprint=hashlib.sha256(shaping.encode()).hexdigest()[:8]
        )

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def size_bytes(self) -> int:
        return self._size

    def __len__(self) -> int:
        return len(self._entries)

    def etag(self, revision: Revision) -> str:
        return f'W/"{self._fingerprint}.{revision[0]}.{revision[1]}"'

    def get(self, key: str, revision: Revision) -> CachedResponse | None:
        found = self._entries.get(key)
        if found is None or found[0] != revision:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: str, revision: Revision, entry: CachedResponse) -> None:
        self._drop(key)
        cost = _cost(key, entry)
        if cost > self.max_bytes // 4:  # one huge export would push out everything else
            return
        self._entries[key] = (revision, entry)
        self._size += cost
        while self._size > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        found = self._entries.pop(key, None)
        if found is not None:
            self._size -= _cost(key, found[1])

    async def get_or_compute(
        self, key: str, revision: Revision, compute: Callable[[], asyncio.Future[CachedResponse]]
    ) -> tuple[CachedResponse, str]:
        """The entry for `key` at `revision` and how it was had: hit, miss, or shared (another
        request was computing it)."""
        hit = self.get(key, revision)
        if hit is not None:
            return hit, "hit"
        flight = (key, revision)
        pending = self._pending.get(flight)
        if pending is not None:
            try:
                # shielded: this request going away must not cancel what the first one computes
                return await asyncio.shield(pending), "shared"
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not pending.cancelled() or (current is not None and current.cancelling()):
                    raise
                # the request computing it went away (its session with it): compute it here
        future = compute()
        self._pending[flight] = future
        future.add_done_callback(lambda done: self._landed(flight, done))
        # not shielded: the computation uses this request's session, which must outlive it
        return await future, "miss"

    def _landed(self, flight: tuple[str, Revision], done: asyncio.Future[CachedResponse]) -> None:
        if self._pending.get(flight) is done:
            del self._pending[flight]
        if done.cancelled() or done.exception() is not None:  # exception(): retrieved, never logged as lost
            return
        self.put(flight[0], flight[1], done.result())


class _RevisionRead:
    def __init__(self) -> None:
        self.begun = False  # set on the reading thread just before its query
        self.task: asyncio.Future[Revision] | None = None


class RevisionReads:
    """The (registry, data) revisions for the requests of one process, read once for all the
    requests waiting at the same moment.

    A request joins a read only while that read has not begun (its query runs after the request
    arrived, so it sees every commit made before): under load, many requests share one query and
    one hop to the inline-read thread instead of queueing one each behind it. A read that has
    begun is never joined; the next request starts a new one. The read is a task of its own, so
    a request that goes away cancels it for nobody.
    """

    def __init__(self) -> None:
        self._read: _RevisionRead | None = None

    async def current(self, request: Request, reader: InlineReader) -> Revision:
        read = self._read
        if read is None or read.begun or read.task is None or read.task.done():
            read = self._read = _RevisionRead()
            started = read

            def query(session: Session) -> Revision:
                started.begun = True
                return unit_of_work.current(session)

            read.task = asyncio.ensure_future(read_inline(request, reader, query))
            read.task.add_done_callback(_retrieved)
        return await asyncio.shield(read.task)


def _retrieved(task: asyncio.Future[Revision]) -> None:
    # every waiter gets the error; with none left (all went away) it is not logged as lost
    if not task.cancelled():
        task.exception()


def _cost(key: str, entry: CachedResponse) -> int:
    return len(entry.body) + len(key) + 200  # the body, the key and the bookkeeping around them


def json_response(document: BaseModel) -> Response:
    """`document` as FastAPI sends a handler's response model (by alias), serialised in one step."""
    return Response(document.model_dump_json(by_alias=True), media_type="application/json")


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    return wanted is not None and (wanted.strip() == "*" or etag in (t.strip() for t in wanted.split(",")))


async def cached_read(
    request: Request, reader: InlineReader, read_scope: ReadScope, compute: Callable[[Session], Response]
) -> Response:
    """`compute(session)`'s response, from the process's cache while the data it read is current.

    The revisions are read through `reader` (`read_inline`) before `compute` reads the data in the
    thread pool, in a unit of work of its own from `read_scope` (a hit opens none): the data is at
    least as new as the revisions it is kept under, so an entry can be stale only at revisions
    that have already passed. Only what `compute` returns is kept; an error it raises reaches the
    caller, and any request that was waiting for the same computation.
    """

    def computed() -> Response:
        with read_scope() as session:
            return compute(session)

    cache: ReadCache = request.app.state.read_cache
    if not cache.enabled:
        return await run_in_threadpool(computed)
    revisions: RevisionReads = request.app.state.revision_reads
    revision = await revisions.current(request, reader)
    etag = cache.etag(revision)
    if _not_modified(request, etag):
        metrics.count_read_cache("not_modified")
        return Response(status_code=304, headers=_tags(etag))
    key = f"{request.url.path}?{request.url.query}"

    def computing() -> asyncio.Future[CachedResponse]:
        return asyncio.ensure_future(run_in_threadpool(lambda: CachedResponse.of(computed())))

    entry, outcome = await cache.get_or_compute(key, revision, computing)
    metrics.count_read_cache(outcome)
    return entry.response(etag)
