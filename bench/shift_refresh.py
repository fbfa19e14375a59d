"""Shift refresh per touched series against the SQL bucket query: `python -m bench.shift_refresh`.

A fresh SQLite database holds the three development sets' gold coding (sparse series: 1 to 50
observations, roll-ups included) and one dense series (`--dense` observations of one actor, two
levels). For every (topic, actor) series with observations, `refresh_shifts` on that one series
(detection on it and every roll-up it counts for, reconciled with the shift table, rolled back) and
the raw weekly bucket query over the same actors (through sqlite3 alone) are timed in turns; the
table gives the median of each and their ratio, for the sparse series together and the dense one.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
from sqlalchemy import select

from app import review
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.models import ActorMembership, Observation
from app.ops import migrate
from app.registry import edits as registry
from app.schemas import ObservationCreate, RegistryImport
from app.shifts import refresh as shifts
from bench.shift_recall import DATA, SETS, read_jsonl, stance_body
from bench.stats import interleaved
from bench.timelines import RAW_WEEK, SUMS


def _load(url: str, dense: int) -> None:
    engine = make_engine(Settings(database_url=url))
    with session_scope(make_sessionmaker(engine)) as session:
        for name in SETS:
            registry.import_registry(
                session,
                RegistryImport.model_validate(orjson.loads((DATA / name / "registry.json").read_bytes())),
            )
            for gold in read_jsonl(DATA / name / "gold.jsonl"):
                review.add_manual_observation(session, ObservationCreate.model_validate(stance_body(gold)))
        rng = np.random.default_rng(3)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for i in range(dense):
            level = 0.6 if i < dense // 2 else -0.2
            score = float(np.clip(level + rng.normal(0, 0.3), -1, 1))
            review.add_manual_observation(
                session,
                ObservationCreate(
                    actor="china",
                    topic="nato-five-percent-target",
                    score=round(score, 3),
                    observed_at=start + timedelta(hours=6 * i),
                    confidence=0.8,
                ),
            )
    engine.dispose()


def _series(session_factory: object) -> list[tuple[int, int, list[int], int]]:
    """(topic, actor, actors the refresh reads, observations) of every coded series."""
    with session_scope(session_factory, write=False) as session:  # type: ignore[arg-type]
        pairs = session.execute(
            select(Observation.topic_id, Observation.actor_id)
            .distinct()
            .order_by(Observation.topic_id, Observation.actor_id)
        ).all()
        out = []
        for topic_id, actor_id in pairs:
            members = list(
                session.scalars(select(ActorMembership.actor_id).where(ActorMembership.parent_id == actor_id))
            )
            count = session.query(Observation).filter_by(topic_id=topic_id, actor_id=actor_id).count()
            out.append((topic_id, actor_id, [actor_id, *members], count))
        return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense", type=int, default=2000, help="observations of the dense series")
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds per series")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "refresh.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        settings = Settings(database_url=url, shift_detection="off", migrate_on_start=False)
        _load(url, args.dense)
        engine = make_engine(settings)
        factory = make_sessionmaker(engine)
        raw = sqlite3.connect(str(path))
        week = RAW_WEEK["sqlite"]
        ratios: dict[str, list[float]] = {"sparse": [], "dense": []}
        medians: dict[str, list[tuple[float, float]]] = {"sparse": [], "dense": []}
        sync = settings.model_copy(update={"shift_detection": "sync"})
        for topic_id, actor_id, actors, count in _series(factory):
            marks = ", ".join("?" for _ in actors)
            sql = (
                f"SELECT actor_id, {week} AS bucket, {SUMS} FROM observation WHERE topic_id = ? "
                f"AND actor_id IN ({marks}) AND status <> 'rejected' GROUP BY actor_id, bucket ORDER BY actor_id, bucket"
            )

            def refresh(topic_id: int = topic_id, actor_id: int = actor_id) -> None:
                with factory() as session:
                    shifts.refresh_shifts(session, touched=[(topic_id, actor_id)], settings=sync)
                    session.rollback()

            def bucket(sql: str = sql, actors: list[int] = actors, topic_id: int = topic_id) -> None:
                raw.execute(sql, (topic_id, *actors)).fetchall()

            timings = interleaved(
                {"refresh": refresh, "raw": bucket}, count=args.rounds, budget_seconds=2.0, warmup=1
            )
            kind = "dense" if count >= args.dense else "sparse"
            pair = (timings["refresh"].median_ms, timings["raw"].median_ms)
            medians[kind].append(pair)
            ratios[kind].append(pair[0] / pair[1])
        raw.close()
        engine.dispose()
    print("| series | n | refresh, median ms | raw bucket query, median ms | ratio (median of series) |")
    print("|---|---:|---:|---:|---:|")
    for kind, pairs in medians.items():
        if not pairs:
            continue
        print(
            f"| {kind} | {len(pairs)} | {statistics.median(p[0] for p in pairs):.1f} "
            f"| {statistics.median(p[1] for p in pairs):.2f} | {statistics.median(ratios[kind]):.0f}x |"
        )


if __name__ == "__main__":
    main()
