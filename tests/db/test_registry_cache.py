"""The per-process registry cache hands every thread the same context object for a revision:
an extraction done ahead of a write is reused only under the very context it was done with."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db import make_sessionmaker, session_scope
from app.registry import context as registry_context
from app.store import unit_of_work

THREADS = 8


def test_threads_missing_a_cold_cache_together_get_one_context(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = registry_context.load_registry_context
    loads = []

    def slow_load(session: Session, *, revision: int | None = None) -> registry_context.RegistryContext:
        loads.append(revision)
        time.sleep(0.05)  # long enough for every thread to miss the cache before the first load ends
        return real(session, revision=revision)

    monkeypatch.setattr(registry_context, "load_registry_context", slow_load)
    cache = registry_context.RegistryCache()
    factory = make_sessionmaker(engine)
    start = threading.Barrier(THREADS)

    def get(_: int) -> registry_context.RegistryContext:
        with session_scope(factory, write=False) as session:
            start.wait()
            return cache.get(session)

    with ThreadPoolExecutor(THREADS) as pool:
        contexts = list(pool.map(get, range(THREADS)))
    assert len({id(c) for c in contexts}) == 1
    assert len(loads) == 1


def test_a_registry_write_gives_a_new_context(engine: Engine) -> None:
    cache = registry_context.RegistryCache()
    factory = make_sessionmaker(engine)
    with session_scope(factory, write=False) as session:
        before = cache.get(session)
    with session_scope(factory) as session:
        unit_of_work.bump_registry_revision(session)
    with session_scope(factory, write=False) as session:
        after = cache.get(session)
        again = cache.get(session)
    assert after is not before
    assert after.revision == before.revision + 1
    assert again is after
