"""python -m bench.timelines [--observations N]: timeline cost as a ratio to the plain SQL bucket query.

Synthetic, seeded: one topic, 50 member states of one bloc, N observations over ~3 years.
Scenarios, each the median of --repeats runs, on SQLite and (when reachable) PostgreSQL:
  SQL bucket query (baseline)   weekly sums for all 50 actors, one GROUP BY in the database
  timeline, no roll-up          GET /v1/timelines (all actors, weekly, bands) in-process
  timeline with roll-up         GET /v1/timelines?actor=bloc&rollup=true
  roll-up + shift detection     the bloc's attributed rows through change-point detection
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from app import migrate, shifts
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.main import create_app
from app.models import Actor, ActorMembership, Observation, Topic
from app.store import timelines as timeline_store
from bench.ingest import postgres_database

TOPIC = "bench-topic"
BLOC = "bench-bloc"


def seed(url: str, observations: int, seed_value: int = 7) -> None:
    rng = np.random.default_rng(seed_value)
    engine = make_engine(Settings(database_url=url))
    factory = make_sessionmaker(engine)
    with session_scope(factory) as session:
        topic = Topic(slug=TOPIC, name="Bench topic", description="", keywords=[], examples=[])
        bloc = Actor(slug=BLOC, name="Bench bloc", kind="bloc")
        session.add_all([topic, bloc])
        session.flush()
        states = [Actor(slug=f"state-{i:02d}", name=f"State {i}", kind="state") for i in range(50)]
        session.add_all(states)
        session.flush()
        session.add_all(ActorMembership(actor_id=s.id, parent_id=bloc.id, role="member") for s in states)
        start = datetime(2023, 1, 2, tzinfo=UTC)
        days = rng.integers(0, 3 * 365, observations)
        actor_index = rng.integers(0, 50, observations)
        level = np.where(days > 500, -0.4, 0.4)  # one real shift in the bloc's level
        scores = np.clip(level + rng.normal(0, 0.4, observations), -1, 1)
        rows: list[dict[str, Any]] = [
            {
                "actor_id": states[int(a)].id,
                "topic_id": topic.id,
                "score": float(s),
                "label": "support" if s > 0.15 else "oppose" if s < -0.15 else "neutral",
                "confidence": float(rng.uniform(0.5, 1.0)),
                "observed_at": start + timedelta(days=int(d)),
                "method": "rules",
                "status": "auto",
                "shift": False,
            }
            for a, s, d in zip(actor_index, scores, days, strict=True)
        ]
        for chunk in range(0, len(rows), 20_000):
            session.execute(insert(Observation), rows[chunk : chunk + 20_000])
    engine.dispose()


def timed(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    run()  # warm-up: caches, query plans
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def scenarios(url: str, repeats: int) -> list[dict[str, Any]]:
    settings = Settings(database_url=url, log_level="WARNING", shift_detection="off")
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    with session_scope(factory, write=False) as session:
        topic_id = session.scalar(select(Topic.id).where(Topic.slug == TOPIC))
        actor_ids = list(session.scalars(select(Actor.id).where(Actor.kind == "state")))
        bloc = session.scalars(select(Actor).where(Actor.slug == BLOC)).one()
        topic = session.get(Topic, topic_id)
    assert topic_id is not None
    assert topic is not None

    def sql_buckets() -> object:
        with session_scope(factory, write=False) as session:
            return timeline_store.bucket_sums(
                session,
                topic_id=topic_id,
                actor_ids=actor_ids,
                interval="week",
                observed_from=None,
                observed_to=None,
            )

    def rollup_shifts() -> object:
        with session_scope(factory, write=False) as session:
            return shifts.detect_for(
                session, topic=topic, actors=[bloc], member_weight=settings.rollup_member_weight
            )

    out = []
    with TestClient(create_app(settings)) as client:
        base, base_max = timed(sql_buckets, repeats)
        runs: list[tuple[str, Callable[[], object]]] = [
            ("SQL bucket query (baseline)", sql_buckets),
            ("timeline, all 50 actors", lambda: client.get("/v1/timelines", params={"topic": TOPIC})),
            (
                "timeline with roll-up (bloc)",
                lambda: client.get("/v1/timelines", params={"topic": TOPIC, "actor": BLOC, "rollup": "true"}),
            ),
            ("roll-up + shift detection (bloc)", rollup_shifts),
        ]
        for name, run in runs:
            median, worst = (base, base_max) if run is sql_buckets else timed(run, repeats)
            out.append(
                {"scenario": name, "median_ms": 1000 * median, "max_ms": 1000 * worst, "ratio": median / base}
            )
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=Path("bench/results/timelines.json"))
    args = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite:///{tmp}/bench.db"}
        pg = postgres_database()
        if pg:
            targets["postgresql"] = pg
        else:
            print("PostgreSQL not reachable at 127.0.0.1:5432: its scenarios are left out")
        for name, url in targets.items():
            migrate.upgrade(url)
            seed(url, args.observations)
            results[name] = scenarios(url, args.repeats)
    for name, rows in results.items():
        print(f"\n{name}, {args.observations} observations")
        print(f"{'scenario':36} {'median ms':>10} {'max ms':>8} {'x baseline':>11}")
        for row in rows:
            print(f"{row['scenario']:36} {row['median_ms']:10.1f} {row['max_ms']:8.1f} {row['ratio']:11.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"observations": args.observations, "results": results}, indent=1))
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    main()
