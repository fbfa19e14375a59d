"""`stanceline ingest` (and the demo's load): store the articles at storage speed, extract them in
worker processes, with a progress bar for each.

Storing is what POST /v1/articles/batch does without `wait`: new articles go to the extraction
queue. The command then extracts them (or, with --no-wait, leaves them to the server's workers)
and shows both bars until both are full.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from app.config import Settings
    from app.jobs.pool import ExtractionPool

# below this many queued articles, extracting in this process beats starting worker processes
# (each loads the parser: a few seconds)
IN_PROCESS_BELOW = 100
PROGRESS_SECONDS = 0.25


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def ingest_rows(
    settings: Settings,
    rows: list[dict[str, Any]],
    *,
    batch_size: int,
    label: str,
    console: Console,
    wait: bool = True,
    workers: int | None = None,
) -> Counter[str]:
    """Store `rows` in batches of `batch_size`, then (with `wait`) extract what they queued with
    `workers` processes (None: one per core; this process alone for a small load). The tally
    counts statuses, `observations`, `extracted` and `extraction_failed`."""
    from app.db import make_engine, make_sessionmaker
    from app.ops import migrate

    migrate.upgrade(settings.database_url)
    engine = make_engine(settings)
    factory = make_sessionmaker(engine, settings)
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    pool: ExtractionPool | None = None
    try:
        with Progress(*columns, console=console) as progress:
            stored_bar = progress.add_task(f"{label}: stored", total=len(rows))
            extracted_bar = progress.add_task(f"{label}: extracted", total=0)
            processes = workers if workers is not None else default_workers()
            if wait and processes > 0 and len(rows) >= IN_PROCESS_BELOW:
                from app.jobs.pool import ExtractionPool

                pool = ExtractionPool(settings, factory, processes=processes)
                pool.start()
            tally, queued = _store(settings, factory, rows, batch_size, progress, stored_bar, pool)
            progress.update(extracted_bar, total=len(queued))
            if wait:
                tally.update(_extract(settings, factory, queued, progress, extracted_bar, pool))
        from app.jobs import periodic as background

        # every series this command queued, refreshed once, and the webhooks that produced
        background.run_once(settings, factory, settle=False)
    finally:
        if pool is not None:
            pool.stop()
        engine.dispose()
    return tally


def _store(
    settings: Settings,
    factory: sessionmaker[Session],
    rows: list[dict[str, Any]],
    batch_size: int,
    progress: Progress,
    bar: TaskID,
    pool: ExtractionPool | None,
) -> tuple[Counter[str], list[int]]:
    from app.db import session_scope
    from app.ingest import articles as ingest
    from app.registry import context as registry_context
    from app.store.extraction_queue import PENDING

    tally: Counter[str] = Counter()
    warnings: dict[str, str] = {}  # the registry's (an empty one), once each
    cache = registry_context.RegistryCache()
    queued: list[int] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        batch = ingest.validate_batch(chunk)
        # revisions are extracted before the write transaction, which then holds SQLite's lock briefly
        ahead = ingest.prepare(
            partial(session_scope, factory, write=False),
            list(batch.articles.values()),
            cache=cache,
            engine=settings.extraction_engine,
            defer=True,
        )
        with session_scope(factory) as session:
            context = cache.get(session)
            warnings.update((w.code, w.message) for w in registry_context.registry_warnings(context))
            outcome = ingest.store_batch(
                session,
                batch,
                context=context,
                engine=settings.extraction_engine,
                link_stories=settings.story_linking == "all",
                ahead=ahead,
                defer=True,
            )
        for offset, result in enumerate(outcome.results):
            tally[result.status] += 1
            if result.error is not None:
                field = (result.error.field or "").split(".", 1)[-1]
                progress.console.print(
                    f"[yellow]line {start + offset + 1}:[/yellow] {result.error.message} ({field})"
                )
            tally["observations"] += result.observations or 0
            # a pending article stored by an earlier run that did not finish is waited for too
            if result.extraction == PENDING and result.article_id is not None:
                queued.append(result.article_id)
        if pool is not None:
            pool.announce(queued)
        progress.advance(bar, len(chunk))
    for message in warnings.values():
        progress.console.print(f"[yellow]warning: {escape(message)}[/yellow]", soft_wrap=True)
    return tally, queued


def _extract(
    settings: Settings,
    factory: sessionmaker[Session],
    queued: Sequence[int],
    progress: Progress,
    bar: TaskID,
    pool: ExtractionPool | None,
) -> Counter[str]:
    """Wait for the queued articles' extraction (by `pool`, or by this process), advancing `bar`."""
    from app.jobs import extraction
    from app.registry import context as registry_context

    if pool is None:
        cache = registry_context.RegistryCache()
        extraction.drain(factory, settings=settings, cache=cache, on_article=_advancing(progress, bar))
    while True:
        states = _states(factory, queued)
        progress.update(bar, completed=sum(1 for state in states.values() if state != "pending"))
        if all(state != "pending" for state in states.values()):
            break
        if pool is None:  # only retries waiting out their backoff are left
            extraction.drain(factory, settings=settings, cache=registry_context.RegistryCache())
        time.sleep(PROGRESS_SECONDS)
    counts = Counter(states.values())
    return Counter(
        {
            "extracted": counts.get("done", 0),
            "extraction_failed": counts.get("failed", 0),
            "observations": _observations(factory, queued),
        }
    )


def _advancing(progress: Progress, bar: TaskID) -> Callable[[str], None]:
    def advance(outcome: str) -> None:
        if outcome in ("done", "failed"):
            progress.advance(bar)

    return advance


CHUNK = 500


def _states(factory: sessionmaker[Session], article_ids: Sequence[int]) -> dict[int, str]:
    from app.db import session_scope
    from app.store import extraction_queue as queue_store

    found: dict[int, str] = {}
    with session_scope(factory, write=False) as session:
        for start in range(0, len(article_ids), CHUNK):
            found.update(queue_store.states(session, article_ids=article_ids[start : start + CHUNK]))
    return found


def _observations(factory: sessionmaker[Session], article_ids: Sequence[int]) -> int:
    from app.db import session_scope
    from app.store import observations as observation_store

    total = 0
    with session_scope(factory, write=False) as session:
        for start in range(0, len(article_ids), CHUNK):
            total += observation_store.count_observations_of(
                session, article_ids=article_ids[start : start + CHUNK]
            )
    return total
