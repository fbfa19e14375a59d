"""Prometheus metrics: HTTP requests, ingest outcomes and extraction time, served at /metrics.

One process keeps its metrics in prometheus_client's default registry. Several uvicorn workers
need prometheus_client's multiprocess mode: set `PROMETHEUS_MULTIPROC_DIR` to a directory before
the server starts; every worker then writes its samples there and /metrics, answered by any
worker, adds them up. prometheus_client chooses the mode when it is first imported, so the
variable cannot be switched on later in a running process.

Every metric has labels, so no sample file is written before the first event (the directory may
be created and cleaned after import). Label values are bounded: routes are templates
(`/v1/articles/{article_id}`), never raw paths.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"  # requests no route answers (404s): one label value, whatever the path

HTTP_REQUESTS = Counter(
    "stanceline_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "stanceline_http_request_duration_seconds",
    "Time from request to the end of the response, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
INGEST_ARTICLES = Counter(
    "stanceline_ingest_articles",
    "Articles received for ingest, by outcome (created, unchanged, revised, error)",
    ["status"],
)
INGEST_OBSERVATIONS = Counter(
    "stanceline_ingest_observations",
    "Observations written by extraction (ingest and re-extraction), by engine",
    ["engine"],
)
READ_CACHE = Counter(
    "stanceline_read_cache",
    "Cached timeline reads, by outcome: hit, miss, shared (waited for another request's "
    "computation) or not_modified (304 to a current If-None-Match)",
    ["result"],
)
EXTRACTED_ARTICLES = Counter(
    "stanceline_extracted_articles",
    "Queued articles the extraction workers finished, by outcome: done, retry (failed, to be "
    "tried again after a backoff) or failed (given up)",
    ["outcome"],
)
EXTRACTION_SECONDS = Histogram(
    "stanceline_extraction_seconds",
    "Extraction time per article, by engine",
    ["engine"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROCESS_ENV)
    return Path(value) if value else None


def prepare_multiprocess_dir() -> Path | None:
    """Create the multiprocess directory and drop sample files a previous run left behind.

    Called once by `stanceline serve` before any worker starts: stale files would add a dead
    run's counts to the new one's.
    """
    directory = multiprocess_dir()
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    return directory


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric and its content type."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_DURATION.labels(method=method, route=route).observe(seconds)


def count_read_cache(result: str) -> None:
    READ_CACHE.labels(result=result).inc()


def count_articles(statuses: Iterable[str]) -> None:
    for status in statuses:
        INGEST_ARTICLES.labels(status=status).inc()


def clock() -> float:
    """A monotonic start time for `observe_extraction`."""
    return time.perf_counter()


def observe_extraction(engine: str, started: float) -> None:
    """One article extracted with `engine`, started at `started` (from `clock()`)."""
    EXTRACTION_SECONDS.labels(engine=engine).observe(time.perf_counter() - started)


def count_extracted(outcome: str) -> None:
    EXTRACTED_ARTICLES.labels(outcome=outcome).inc()


def queue_exposition(pending: int, failed: int, lag_seconds: float) -> bytes:
    """The extraction queue's gauges, read from the database when /metrics is asked (one query,
    the same for every process, so they are not kept per process)."""
    lines = [
        "# HELP stanceline_extraction_queue_depth Articles waiting for extraction",
        "# TYPE stanceline_extraction_queue_depth gauge",
        f"stanceline_extraction_queue_depth {pending}",
        "# HELP stanceline_extraction_lag_seconds How long the oldest waiting article has waited",
        "# TYPE stanceline_extraction_lag_seconds gauge",
        f"stanceline_extraction_lag_seconds {lag_seconds:.3f}",
        "# HELP stanceline_extraction_failed_articles Articles whose extraction failed past its retries",
        "# TYPE stanceline_extraction_failed_articles gauge",
        f"stanceline_extraction_failed_articles {failed}",
    ]
    return ("\n".join(lines) + "\n").encode()


def count_observations(engine: str, stored: int) -> None:
    INGEST_OBSERVATIONS.labels(engine=engine).inc(stored)
