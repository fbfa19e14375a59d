"""Cached reads share one revision read among the requests waiting for it, but never join a read
that has already begun: an answer is never older than a commit made before its request arrived."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from app.api.read_cache import RevisionReads


class _Database:
    """A data revision that tests move, read on a thread as the inline reads are."""

    def __init__(self) -> None:
        self.revision = 1
        self.queries = 0
        self.release = threading.Event()

    def current(self) -> tuple[int, int]:
        seen = self.revision  # what the query's snapshot holds: the revision when it began
        self.release.wait(5)
        self.queries += 1
        return (0, seen)


class _InlineReads:
    def __init__(self, database: _Database) -> None:
        self.database = database

    async def run(self, reader: Any, work: Callable[[Any], Any]) -> Any:
        session = SimpleNamespace(database=self.database)
        return await asyncio.to_thread(work, session)


def _request(database: _Database) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(inline_reads=_InlineReads(database))))


def test_requests_waiting_together_share_one_read_and_later_ones_see_later_commits(
    monkeypatch: Any,
) -> None:
    database = _Database()
    monkeypatch.setattr("app.api.read_cache.unit_of_work.current", lambda session: session.database.current())

    async def scenario() -> None:
        reads = RevisionReads()
        request = _request(database)
        first = asyncio.ensure_future(reads.current(request, None))
        await asyncio.sleep(0.05)  # the read has begun: it waits on the database
        database.revision = 2  # a commit after that read began
        later = [asyncio.ensure_future(reads.current(request, None)) for _ in range(20)]
        await asyncio.sleep(0.05)
        database.release.set()
        assert await first == (0, 1)
        # none of the later requests was given the read that began before the commit
        assert {await task for task in later} == {(0, 2)}
        assert database.queries == 2  # twenty requests, one read between them
        assert await reads.current(request, None) == (0, 2)
        assert database.queries == 3

    asyncio.run(scenario())
