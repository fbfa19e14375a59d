"""Ingest and extraction throughput against the extractor alone, measured in the same run.

The articles are the demo corpus repeated under fresh urls, every sentence made unique (so that
no process's parse cache holds it: each run creates and extracts new text).

  extraction only   build_extractor(...).extract() over the articles in a loop, in this process
                    (the baseline: what the text itself costs on one core)
  stored            POST /v1/articles/batch, 100 articles per request, through the ASGI app in
                    process, as the server runs by default: each article stored and queued for
                    extraction, one extraction worker process draining the queue meanwhile
  ?wait=true        the same batches extracted in the request (as every ingest was before the
                    queue), with the shift worker in-process
  end to end        a backlog posted to a server with 1 and then 2 extraction worker processes
                    (started and warm): from the first batch posted to the last article extracted
"""

from __future__ import annotations

import itertools
import json
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app import auth
from app.cli.main import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.extraction import build_extractor, nlp
from app.extraction.types import ArticleText, RegistrySnapshot
from app.main import create_app
from app.registry.edits import STARTER_REGISTRY
from app.store import extraction_queue, shift_queue
from bench.stats import Result

BATCH = 100
ROUNDS = itertools.count()


def corpus(count: int, tag: str) -> list[dict[str, Any]]:
    """`count` articles: the demo corpus repeated, each copy's sentences made its own (so that no
    process finds them in its parse cache)."""
    base = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines()]
    out = []
    for i in range(count):
        article = dict(base[i % len(base)])
        article.pop("gold", None)
        article.pop("id", None)
        article["url"] = f"{article['url']}?bench={tag}-{i}"
        article["text"] = _unparsed(article["text"], f"{tag}-{i}")
        out.append(article)
    return out


def _unparsed(text: str, mark: str) -> str:
    """`text` with every sentence ending in a short phrase of its own: the same claims, sentences
    no parse cache holds."""
    return re.sub(r"\.(\s)", f", report {mark}.\\1", text)


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
        nlp.clear_cache()  # every pass parses afresh, as the workers do with new articles
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


def batch_ingest(client: TestClient, articles: list[dict[str, Any]], *, wait: bool) -> Callable[[], int]:
    path = f"/v1/articles/batch?wait={str(wait).lower()}"

    def run() -> int:
        tag = next(ROUNDS)  # fresh urls and sentences every run, so each run really creates its articles
        fresh = [
            {**a, "url": f"{a['url']}&round={tag}", "text": _unparsed(a["text"], f"{tag}")} for a in articles
        ]
        for start in range(0, len(fresh), BATCH):
            response = client.post(path, json={"articles": fresh[start : start + BATCH]})
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
        # ?wait=true first: the stored runs leave a backlog (which the end-to-end warm-up works off),
        # and a backlog would make the shift worker settle longer during the ?wait=true runs
        waited = _waited_rate(url, engine, texts, repeats, base)
        results += [_stored_rate(url, engine, texts, repeats, base), waited]
        one = _end_to_end(url, engine, texts, 1, base, None)
        results += [one, _end_to_end(url, engine, texts, 2, base, one.value)]
    return results


def _row(
    scenario: str, engine: str, value: float, base: float, target: str, met: bool, **details: Any
) -> Result:
    return Result(
        scenario=scenario,
        engine=engine,
        size=None,
        unit="articles/s",
        value=value,
        baseline="extraction only",
        baseline_value=base,
        ratio=value / base,
        target=target,
        met=met,
        details=details,
    )


def _stored_rate(url: str, engine: str, texts: list[dict[str, Any]], repeats: int, base: float) -> Result:
    """Articles stored per second, extraction queued (the server's default, its extraction worker
    running meanwhile)."""
    settings = _settings(url, workers=1)
    with _client(settings) as client:
        batch_ingest(client, texts[:BATCH], wait=False)()  # warm-up: registry cache, first-request costs
        value, runs = rate(batch_ingest(client, texts, wait=False), repeats)
    return _row(
        f"batch ingest ({BATCH}/request), stored, extraction queued (default)",
        engine,
        value,
        base,
        ">= 5x extraction",
        value >= 5 * base,
        articles=len(texts),
        runs=[round(r, 1) for r in runs],
    )


def _waited_rate(url: str, engine: str, texts: list[dict[str, Any]], repeats: int, base: float) -> Result:
    """?wait=true: extracted in the request, as every ingest was before the extraction queue."""
    settings = _settings(url, workers=0)
    with _client(settings) as client:
        batch_ingest(client, texts[:BATCH], wait=True)()
        value, runs = rate(batch_ingest(client, texts, wait=True), repeats)
        drain = _drain_seconds(client)
    return _row(
        f"batch ingest ({BATCH}/request), ?wait=true (extracted in the request)",
        engine,
        value,
        base,
        ">= 0.5x extraction",
        value >= 0.5 * base,
        articles=len(texts),
        runs=[round(r, 1) for r in runs],
        shift_queue_drained_after_s=None if drain is None else round(drain, 2),
    )


def _end_to_end(
    url: str, engine: str, texts: list[dict[str, Any]], workers: int, base: float, one_worker: float | None
) -> Result:
    """From the first batch posted to the last article extracted, with `workers` extraction
    processes already started (their parser loaded): the rate at which a backlog is worked off."""
    settings = _settings(url, workers=workers)
    with _client(settings) as client:
        factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
        batch_ingest(client, texts[: 4 * workers], wait=False)()  # starts the workers, loads their parser
        if not _drained(factory, timeout=120):
            raise RuntimeError("the extraction workers did not start")
        started = time.perf_counter()
        batch_ingest(client, texts, wait=False)()
        if not _drained(factory, timeout=1800):
            raise RuntimeError("the extraction backlog was not worked off")
        value = len(texts) / (time.perf_counter() - started)
    per_worker = 0.8 * base * workers
    target, met = f">= 0.8x extraction x {workers}", value >= per_worker
    details: dict[str, Any] = {"articles": len(texts), "workers": workers}
    if one_worker is not None:
        details["vs_one_worker"] = round(value / one_worker, 2)
        target += f", >= 1.6x one worker ({details['vs_one_worker']:.2f}x)"
        met = met and value >= 1.6 * one_worker
    return _row(
        f"end to end (stored and extracted), {workers} extraction worker{'s' if workers > 1 else ''}",
        engine,
        value,
        base,
        target,
        met,
        **details,
    )


def _settings(url: str, *, workers: int) -> Settings:
    return Settings(
        database_url=url,
        log_level="WARNING",
        extraction_engine="rules",
        extraction_workers=workers,
        extraction_poll_seconds=0.05,
        ingest_wait=False,
    )


@contextmanager
def _client(settings: Settings) -> Iterator[TestClient]:
    headers = {"Authorization": f"Bearer {admin_key(settings.database_url)}"}
    with TestClient(create_app(settings), headers=headers) as client:
        registry = json.loads(STARTER_REGISTRY.read_text(encoding="utf-8"))
        if client.post("/v1/registry?reextract=false", json=registry).status_code != 200:
            raise RuntimeError("could not load the starter registry")
        yield client


def _drained(factory: sessionmaker[Session], *, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with session_scope(factory, write=False) as session:
            if extraction_queue.queue_state(session).pending == 0:
                return True
        time.sleep(0.02)
    return False


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
