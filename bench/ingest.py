"""Ingest throughput, reported as a ratio to the extractor alone measured in the same run.

Scenarios (the same articles each time: the demo corpus repeated under fresh urls):
  extraction only   - build_extractor(...).extract() in a loop (the baseline)
  batch ingest      - POST /v1/articles/batch (100 per request) in-process, SQLite and PostgreSQL
  single ingest     - POST /v1/articles one by one, SQLite
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app import migrate
from app.cli import DEMO_CORPUS
from app.config import Settings
from app.extraction import build_extractor
from app.extraction.types import ArticleText, RegistrySnapshot
from app.main import create_app
from app.registry import STARTER_REGISTRY

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def corpus(count: int, tag: str) -> list[dict[str, Any]]:
    base = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines()]
    out = []
    for i in range(count):
        article = dict(base[i % len(base)])
        article.pop("gold", None)
        article["url"] = f"{article['url']}?bench={tag}-{i}"
        out.append(article)
    return out


def timed(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    """Median seconds over `repeats` runs, and the item count one run handles."""
    times, items = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        items = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), items


def extraction_only(articles: list[dict[str, Any]]) -> Callable[[], int]:
    snapshot = RegistrySnapshot.from_dict(json.loads(STARTER_REGISTRY.read_text(encoding="utf-8")))
    extractor = build_extractor(snapshot)
    texts = [
        ArticleText(text=a["text"], published_at=datetime.fromisoformat(a["published_at"])) for a in articles
    ]

    def run() -> int:
        for text in texts:
            extractor.extract(text)
        return len(texts)

    return run


ROUNDS = itertools.count()


def ingest_run(url: str, articles: list[dict[str, Any]], batch: int | None) -> Callable[[], int]:
    def run() -> int:
        tag = next(ROUNDS)  # fresh urls every run, so each run really creates its articles
        fresh = [{**a, "url": f"{a['url']}&round={tag}"} for a in articles]
        with TestClient(create_app(Settings(database_url=url, log_level="WARNING"))) as client:
            client.post("/v1/registry", json=json.loads(STARTER_REGISTRY.read_text(encoding="utf-8")))
            if batch:
                for start in range(0, len(fresh), batch):
                    response = client.post(
                        "/v1/articles/batch", json={"articles": fresh[start : start + batch]}
                    )
                    assert response.status_code == 200
            else:
                for article in fresh:
                    assert client.post("/v1/articles", json=article).status_code == 201
        return len(fresh)

    return run


def postgres_database() -> str | None:
    admin = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute("DROP DATABASE IF EXISTS stanceline_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE stanceline_bench")
    except psycopg.Error:
        return None
    return make_url(POSTGRES_URL).set(database="stanceline_bench").render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("bench/results/ingest.json"))
    args = parser.parse_args()
    articles = corpus(args.articles, "run")
    results: list[dict[str, Any]] = []

    base_seconds, count = timed(extraction_only(articles), args.repeats)
    results.append({"scenario": "extraction only (baseline)", "seconds": base_seconds, "articles": count})
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(sqlite_url)
        scenarios: list[tuple[str, str, int | None]] = [
            ("batch ingest, SQLite", sqlite_url, 100),
            ("single ingest, SQLite", sqlite_url, None),
        ]
        pg_url = postgres_database()
        if pg_url:
            migrate.upgrade(pg_url)
            scenarios.append(("batch ingest, PostgreSQL", pg_url, 100))
        else:
            print("PostgreSQL not reachable at 127.0.0.1:5432: its scenario is left out")
        for name, url, batch in scenarios:
            seconds, count = timed(ingest_run(url, articles, batch), args.repeats)
            results.append({"scenario": name, "seconds": seconds, "articles": count})

    print(f"{'scenario':32} {'articles/s':>11} {'ms/article':>11} {'x baseline time':>16}")
    for row in results:
        row["articles_per_s"] = row["articles"] / row["seconds"]
        row["ratio_to_baseline"] = row["seconds"] / base_seconds
        print(
            f"{row['scenario']:32} {row['articles_per_s']:11.0f} {1000 * row['seconds'] / row['articles']:11.2f}"
            f" {row['ratio_to_baseline']:16.2f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"articles": args.articles, "results": results}, indent=1))
    print(f"written to {args.json}")
