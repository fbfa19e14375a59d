"""Observation bulk insert rate: the service's bulk path against the driver alone, same rows.

  driver (baseline)  SQLite: sqlite3 executemany of ready-made tuples in one transaction;
                     PostgreSQL: psycopg COPY of the same tuples
  service            `observation_store.add_observations` on the rows as ingest builds them
                     (dicts of Python values: conversion included) and the aggregate upsert of their
                     deltas when the unit of work commits

Each run starts from an empty observation table with its indexes (a fresh SQLite file, or
TRUNCATE on PostgreSQL), with one topic and 50 actors registered.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.models import Actor, Topic
from app.ops import migrate
from app.store import observations as observation_store
from bench.corpus import postgres_database
from bench.stats import Result

COLUMNS = [
    "actor_id", "topic_id", "score", "label", "confidence", "observed_at", "evidence", "shift",
    "method", "extractor_version", "status", "created_at", "updated_at",
]  # fmt: skip


def _registry(url: str) -> tuple[list[int], int]:
    engine = make_engine(Settings(database_url=url))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            topic = Topic(slug="insert-topic", name="Insert topic", description="", keywords=[], examples=[])
            actors = [Actor(slug=f"insert-actor-{i}", name=f"Actor {i}", kind="state") for i in range(50)]
            session.add_all([topic, *actors])
            session.flush()
            return [a.id for a in actors], topic.id
    finally:
        engine.dispose()


def observation_rows(count: int, actor_ids: list[int], topic_id: int, seed: int) -> list[dict[str, Any]]:
    """Rows shaped as ingest builds them (aware UTC datetimes at midnight, as extraction dates them)."""
    rng = np.random.default_rng(seed)
    days = [datetime(2023, 1, 2, tzinfo=UTC) + timedelta(days=d) for d in range(1095)]
    day = rng.integers(0, len(days), count).tolist()
    actor = rng.integers(0, len(actor_ids), count).tolist()
    score = np.round(rng.uniform(-1, 1, count), 4).tolist()
    confidence = np.round(rng.uniform(0.4, 1, count), 3).tolist()
    evidence = (
        "European leaders are taking a step back from sending ground troops to Ukraine, officials said."
    )
    return [
        {
            "actor_id": actor_ids[a],
            "topic_id": topic_id,
            "score": s,
            "label": "support" if s > 0.15 else "oppose" if s < -0.15 else "neutral",
            "confidence": c,
            "observed_at": days[d],
            "evidence": evidence,
            "shift": False,
            "method": "rules",
            "extractor_version": "bench",
            "status": "auto",
        }
        for a, s, c, d in zip(actor, score, confidence, day, strict=True)
    ]


def _driver_tuples(rows: list[dict[str, Any]], dialect: str) -> list[tuple[Any, ...]]:
    """The same rows as the driver takes them: SQLite's DATETIME text, or aware datetimes for COPY."""
    now = datetime.now(UTC)
    if dialect == "sqlite":
        stamp = now.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        day_text = {
            d: d.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            for d in {r["observed_at"] for r in rows}
        }
        return [
            (*(r[c] for c in COLUMNS[:5]), day_text[r["observed_at"]], r["evidence"], 0, r["method"],
             r["extractor_version"], r["status"], stamp, stamp)
            for r in rows
        ]  # fmt: skip
    return [(*(r[c] for c in COLUMNS[:11]), now, now) for r in rows]


class Target:
    """A database for one engine whose observation table can be emptied between runs."""

    def __init__(self, engine: str, scratch: Path) -> None:
        self.engine, self.scratch, self.runs = engine, scratch, 0
        self.url = self.fresh()

    def fresh(self) -> str:
        """An empty observation table (a new SQLite file, or TRUNCATE on PostgreSQL)."""
        if self.engine == "sqlite":
            self.runs += 1
            url = f"sqlite:///{self.scratch / f'insert-{self.runs}.db'}"
            migrate.upgrade(url)
            _registry(url)
            return url
        if self.runs == 0:
            url, _ = postgres_database("sl_bench_inserts", fresh=True)
            migrate.upgrade(url)
            _registry(url)
            self.runs = 1
            return url
        engine = make_engine(Settings(database_url=self.url))
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE observation, observation_daily"))
        engine.dispose()
        return self.url


def _service(url: str, rows: list[dict[str, Any]]) -> float:
    engine = make_engine(Settings(database_url=url))
    try:
        started = time.perf_counter()
        with session_scope(make_sessionmaker(engine)) as session:
            observation_store.add_observations(session, rows=rows)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def _driver(url: str, tuples: list[tuple[Any, ...]], dialect: str) -> float:
    engine = make_engine(Settings(database_url=url))
    raw = engine.raw_connection()
    listed = ", ".join(COLUMNS)
    try:
        started = time.perf_counter()
        cursor: Any = raw.cursor()
        if dialect == "sqlite":
            cursor.execute("BEGIN")
            marks = ", ".join("?" for _ in COLUMNS)
            cursor.executemany(f"INSERT INTO observation ({listed}) VALUES ({marks})", tuples)
            cursor.execute("COMMIT")
        else:
            with cursor.copy(f"COPY observation ({listed}) FROM STDIN") as copy:
                for values in tuples:
                    copy.write_row(values)
            raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()


def _median_rate(count: int, timed: Callable[[], float], repeats: int) -> tuple[float, list[float]]:
    rates = [count / timed() for _ in range(repeats)]
    return statistics.median(rates), rates


def run(engines: list[str], *, rows: int, repeats: int, seed: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="stanceline-bench-") as scratch:
        return [
            _measure(Target(engine, Path(scratch)), rows=rows, repeats=repeats, seed=seed)
            for engine in engines
        ]


def _measure(target: Target, *, rows: int, repeats: int, seed: int) -> Result:
    with make_engine(Settings(database_url=target.url)).connect() as connection:
        actor_ids = [int(i) for i in connection.execute(text("SELECT id FROM actor ORDER BY id")).scalars()]
        topic_id = int(connection.execute(text("SELECT id FROM topic")).scalar_one())
    data = observation_rows(rows, actor_ids, topic_id, seed)
    tuples = _driver_tuples(data, target.engine)
    base, base_runs = _median_rate(rows, lambda: _driver(target.fresh(), tuples, target.engine), repeats)
    value, runs = _median_rate(rows, lambda: _service(target.fresh(), data), repeats)
    ratio = value / base
    return Result(
        scenario="observation bulk insert",
        engine=target.engine,
        size=None,
        unit="rows/s",
        value=value,
        baseline="sqlite3 executemany" if target.engine == "sqlite" else "psycopg COPY",
        baseline_value=base,
        ratio=ratio,
        target=">= 0.5x driver",
        met=ratio >= 0.5,
        details={
            "rows": rows,
            "service_runs": [round(r) for r in runs],
            "driver_runs": [round(r) for r in base_runs],
            "includes": "dict-to-driver conversion and the daily aggregate's deltas and upserts",
        },
    )
