"""ReadCache on its own: revisions, least-recently-used eviction within its bytes, one computation
for simultaneous misses, and a waiter that outlives the request it waited on."""

from __future__ import annotations

import asyncio

import pytest

from app.api.read_cache import CachedResponse, ReadCache


def _entry(size: int, tag: str = "x") -> CachedResponse:
    return CachedResponse(tag.encode() * size, "application/json", ())


def test_an_entry_answers_only_at_its_revision() -> None:
    cache = ReadCache(1 << 20)
    cache.put("/a", (1, 1), _entry(10))
    assert cache.get("/a", (1, 1)) == _entry(10)
    assert cache.get("/a", (1, 2)) is None
    assert cache.get("/a", (2, 1)) is None
    assert cache.get("/b", (1, 1)) is None


def test_the_least_recently_used_entries_go_first_and_the_size_stays_within_bounds() -> None:
    cache = ReadCache(5_400)  # room for four entries of 1,000 bytes (each costs 1,202 with its key)
    for key in "abcd":
        cache.put(f"/{key}", (0, 0), _entry(1_000))
    assert cache.get("/a", (0, 0)) is not None  # /a is now the most recently used
    cache.put("/e", (0, 0), _entry(1_000))
    assert cache.get("/b", (0, 0)) is None
    assert [cache.get(f"/{k}", (0, 0)) is not None for k in "acde"] == [True] * 4
    assert cache.size_bytes == 4 * 1_202 <= cache.max_bytes
    cache.put("/a", (0, 1), _entry(500))  # replacing an entry releases its bytes
    assert len(cache) == 4
    assert cache.size_bytes == 3 * 1_202 + 702


def test_an_entry_larger_than_a_quarter_of_the_cache_is_not_kept() -> None:
    cache = ReadCache(4_000)
    cache.put("/small", (0, 0), _entry(100))
    cache.put("/huge", (0, 0), _entry(1_500))
    assert cache.get("/huge", (0, 0)) is None
    assert cache.get("/small", (0, 0)) is not None


def test_a_zero_sized_cache_is_off() -> None:
    assert not ReadCache(0).enabled
    assert ReadCache(1).enabled


def test_simultaneous_misses_compute_once_and_errors_are_shared_not_kept() -> None:
    async def scenario() -> None:
        cache = ReadCache(1 << 20)
        calls = 0
        release = asyncio.Event()

        def compute() -> asyncio.Future[CachedResponse]:
            async def slow() -> CachedResponse:
                nonlocal calls
                calls += 1
                await release.wait()
                return _entry(5)

            return asyncio.ensure_future(slow())

        readers = [asyncio.ensure_future(cache.get_or_compute("/a", (0, 0), compute)) for _ in range(5)]
        await asyncio.sleep(0)
        release.set()
        outcomes = await asyncio.gather(*readers)
        assert calls == 1
        assert sorted(how for _, how in outcomes) == ["miss", "shared", "shared", "shared", "shared"]
        assert {entry for entry, _ in outcomes} == {_entry(5)}
        assert await cache.get_or_compute("/a", (0, 0), compute) == (_entry(5), "hit")

        def failing() -> asyncio.Future[CachedResponse]:
            async def fail() -> CachedResponse:
                await asyncio.sleep(0)
                raise LookupError("no such topic")

            return asyncio.ensure_future(fail())

        failed = await asyncio.gather(
            *(cache.get_or_compute("/b", (0, 0), failing) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(error, LookupError) for error in failed)
        assert cache.get("/b", (0, 0)) is None

    asyncio.run(scenario())


def test_a_waiter_computes_itself_when_the_first_request_goes_away() -> None:
    async def scenario() -> None:
        cache = ReadCache(1 << 20)
        started = asyncio.Event()
        calls = 0

        def compute() -> asyncio.Future[CachedResponse]:
            async def work() -> CachedResponse:
                nonlocal calls
                calls += 1
                started.set()
                await asyncio.sleep(0.05)
                return _entry(3)

            return asyncio.ensure_future(work())

        first = asyncio.ensure_future(cache.get_or_compute("/a", (0, 0), compute))
        await started.wait()
        second = asyncio.ensure_future(cache.get_or_compute("/a", (0, 0), compute))
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        entry, how = await second
        assert (entry, how) == (_entry(3), "miss")
        assert calls == 2

    asyncio.run(scenario())
