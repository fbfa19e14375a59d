"""Batch ingest throughput against the extractor alone, measured in the same run.

The articles are the demo corpus repeated under fresh urls (every run creates its articles).

  extraction only   build_extractor(...).extract() over the articles in a loop (the baseline:
                    what the text itself costs)
  batch ingest      POST /v1/articles/batch, 100 articles per request, through the ASGI app in
                    process (HTTP parsing and validation, dedupe, revisions, extraction, storage,
                    the daily aggregate), into a fresh database with the starter registry; twice:
                    as the server runs by default (series queued for shift detection, and the
                    background worker refreshing each once it has settled, in the same process
                    meanwhile; the details give how long the worker took after the last batch
                    to empty the queue), and with shift detection off (storage and HTTP alone
                    on top of extraction)
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from fastapi.testclient import TestClient

from app import auth
from app.cli import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.extraction import build_extractor
from app.extraction.types import ArticleText, RegistrySnapshot
from app.main import create_app
from app.registry import STARTER_REGISTRY
from app.store import shift_queue
from bench.stats import Result

BATCH = 100
ROUNDS = itertools.count()


def corpus(count: int, tag: str) -> list[dict[str, Any]]:
    base = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines()]
    out = []
    for i in range(count):
        article = dict(base[i % len(base)])
        article.pop("gold", None)
        article.pop("id", None)
        article["url"] = f"{article['url']}?bench={tag}-{i}"
        out.append(article)
    return out


def extraction_only(articles: list[dict[str, Any]]) -> Callable[[], int]:
    snapshot = RegistrySnapshot.from_dict(json.loads(STARTER_REGISTRY.read_text(encoding="utf-8")))
    extractor = build_extractor(snapshot, "rules")
    texts = [
        ArticleText(
            text=a["text"],
            published_at=datetime.fromisoformat(a["published_at"].replace("Z", "+00:00")),
            title=a.get("title"),
        )
        for a in articles
    ]

    def run() -> int:
        for text in texts:
            extractor.extract(text)
        return len(texts)

    return run


def admin_key(url: str) -> str:
    engine = make_engine(Settings(database_url=url))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            return auth.create_key(session, name="bench", scopes=["admin"])[1]
    finally:
        engine.dispose()


def batch_ingest(client: TestClient, articles: list[dict[str, Any]]) -> Callable[[], int]:
    def run() -> int:
        tag = next(ROUNDS)  # fresh urls every run, so each run really creates its articles
        fresh = [{**a, "url": f"{a['url']}&round={tag}"} for a in articles]
        for start in range(0, len(fresh), BATCH):
            response = client.post("/v1/articles/batch", json={"articles": fresh[start : start + BATCH]})
            if response.status_code != 200:
                raise RuntimeError(f"batch ingest failed: {response.status_code} {response.text[:300]}")
        return len(fresh)

    return run


def rate(run: Callable[[], int], repeats: int) -> tuple[float, list[float]]:
    """Median items per second over `repeats` runs, and every run's rate."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        items = run()
        rates.append(items / (time.perf_counter() - started))
    return statistics.median(rates), rates


def run(targets: dict[str, str], *, articles: int, repeats: int) -> list[Result]:
    """`targets`: engine -> URL of a migrated, empty database."""
    texts = corpus(articles, "run")
    base, base_runs = rate(extraction_only(texts), repeats)
    results = [
        Result(
            scenario="extraction only (rules)",
            engine="-",
            size=None,
            unit="articles/s",
            value=base,
            baseline="(baseline)",
            baseline_value=base,
            ratio=1.0,
            target="(baseline)",
            met=None,
            details={"articles": articles, "runs": [round(r, 1) for r in base_runs]},
        )
    ]
    for engine, url in targets.items():
        modes: tuple[Literal["deferred", "off"], ...] = ("deferred", "off")
        for mode in modes:
            value, runs, drain = _ingest_rate(url, texts, mode, repeats)
            ratio = value / base
            floor = 100.0 if engine == "sqlite" else 0.0
            results.append(
                Result(
                    scenario=f"batch ingest ({BATCH}/request)"
                    + (", shift detection off" if mode == "off" else ", default (shift worker in-process)"),
                    engine=engine,
                    size=None,
                    unit="articles/s",
                    value=value,
                    baseline="extraction only",
                    baseline_value=base,
                    ratio=ratio,
                    target=">= 0.5x extraction" + (", >= 100/s" if floor else ""),
                    met=ratio >= 0.5 and value >= floor,
                    details={
                        "articles": articles,
                        "shift_detection": mode,
                        "runs": [round(r, 1) for r in runs],
                        "shift_queue_drained_after_s": None if drain is None else round(drain, 2),
                    },
                )
            )
    return results


def _ingest_rate(
    url: str, texts: list[dict[str, Any]], mode: Literal["deferred", "off"], repeats: int
) -> tuple[float, list[float], float | None]:
    settings = Settings(
        database_url=url, log_level="WARNING", extraction_engine="rules", shift_detection=mode
    )
    headers = {"Authorization": f"Bearer {admin_key(url)}"}
    with TestClient(create_app(settings), headers=headers) as client:
        registry = json.loads(STARTER_REGISTRY.read_text(encoding="utf-8"))
        if client.post("/v1/registry", json=registry).status_code != 200:
            raise RuntimeError("could not load the starter registry")
        batch_ingest(client, texts[:BATCH])()  # warm-up: registry cache, first-request costs
        measured = rate(batch_ingest(client, texts), repeats)
        return (*measured, _drain_seconds(client) if mode == "deferred" else None)


def _drain_seconds(client: TestClient, timeout: float = 300.0) -> float | None:
    """How long after the last batch the background worker takes to refresh every queued series
    (the shift work the settle delay moved past the batches is not free: this is what is left)."""
    factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with session_scope(factory, write=False) as session:
            if shift_queue.count_queued(session) == 0:
                return time.perf_counter() - started
        time.sleep(0.05)
    return None
