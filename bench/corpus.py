"""A synthetic, seeded corpus of any size in SQLite or PostgreSQL, cached between runs.

Shape (`CorpusShape`): 5 topics, 50 states (27 of them members of one bloc, which also speaks
for itself now and then), 3 years of days; each observation picks its topic, actor and day
uniformly, so every (topic, actor) series holds about size / 250 observations and one topic about
size / 5. Each series has one level shift; 2% of observations are rejected, a fifth are timed
within the day (manual coding), and each carries an evidence sentence of the usual length.

Observations go in through the driver's fastest path (sqlite3 executemany in big chunks,
PostgreSQL COPY), with the observation indexes built after the load, and the daily aggregate is
then built by `app.store.aggregates.rebuild` (the migration's backfill query) and checked with
`aggregates.differences`, as `stanceline db check` does. A finished corpus is kept (SQLite file
under bench/.cache, PostgreSQL database named after size, seed and schema) and reused when the
same size, seed and migration head are asked for again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import Table, text
from sqlalchemy.engine import Engine, make_url

from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.models import Actor, ActorMembership, Observation, Topic
from app.ops import migrate
from app.store import aggregates

VERSION = 2
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHUNK = 500_000
EVIDENCE = [
    "European leaders are taking a step back from sending ground troops to Ukraine, officials said.",
    "The minister said the government was ready to put troops on the ground if a ceasefire held.",
    "Officials repeated that the country would never accept foreign forces on its territory.",
    "The prime minister told parliament that training missions would continue through the winter.",
    "A spokesman said monitoring of any ceasefire line would need a clear international mandate.",
    "The defence ministry ruled out deploying soldiers but offered air policing and logistics.",
    "In a joint statement the leaders pledged to keep supplying air defence systems.",
    "The president said long-range missiles would not be sent for now, citing escalation risks.",
]


@dataclass(frozen=True)
class CorpusShape:
    topics: int = 5
    states: int = 50
    bloc_members: int = 27
    days: int = 1095
    start: date = date(2023, 1, 2)


@dataclass(frozen=True)
class Corpus:
    engine: str
    url: str
    size: int
    seed: int
    topic: str  # the topic the timeline scenarios read
    actor: str  # the actor of the one-series scenario (a typical series: size / 250 observations)
    bloc: str
    build_seconds: float | None  # None when it came from the cache


SHAPE = CorpusShape()
OBSERVATION: Table = Observation.__table__  # type: ignore[assignment]  # declarative tables are Tables
TOPIC, ACTOR, BLOC = "bench-topic-0", "bench-state-00", "bench-bloc"


def _admin(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_reachable(url: str = POSTGRES_URL) -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(_admin(url), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return (
            f"PostgreSQL not reachable at {make_url(url).host}:{make_url(url).port or 5432} ({error})".strip()
        )


def postgres_database(name: str, *, fresh: bool, url: str = POSTGRES_URL) -> tuple[str, bool]:
    """The URL of database `name` (dropped and recreated when `fresh`) and whether it existed."""
    with psycopg.connect(_admin(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False), exists


def _key(size: int, seed: int) -> str:
    return f"n{size}_s{seed}_v{VERSION}_m{migrate.head_revision()}"


def ensure(engine: str, size: int, seed: int, *, log: Any = print) -> Corpus:
    """The cached corpus for (engine, size, seed), built first if missing."""
    key = _key(size, seed)
    started = time.perf_counter()
    if engine == "sqlite":
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        path = CACHE_DIR / f"corpus_{key}.db"
        url = f"sqlite:///{path}"
        built = not path.exists()
        if built:
            partial = path.with_suffix(".building")
            for leftover in CACHE_DIR.glob(f"{partial.name}*"):
                leftover.unlink()
            log(f"building the {size:,}-observation corpus in {path.name} ...")
            build(f"sqlite:///{partial}", size, seed)
            partial.rename(path)
    else:
        name = f"sl_bench_{key}"
        url, exists = postgres_database(name, fresh=False)
        built = not exists
        if built:
            log(f"building the {size:,}-observation corpus in PostgreSQL database {name} ...")
            partial_url, _ = postgres_database(f"{name}_building", fresh=True)
            build(partial_url, size, seed)
            with psycopg.connect(_admin(POSTGRES_URL), autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}_building" RENAME TO "{name}"')
    seconds = time.perf_counter() - started if built else None
    return Corpus(engine, url, size, seed, TOPIC, ACTOR, BLOC, seconds)


def build(url: str, size: int, seed: int, shape: CorpusShape = SHAPE) -> None:
    migrate.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    try:
        actor_ids, topic_ids = _registry(engine, shape)
        indexes = list(OBSERVATION.indexes)
        with engine.begin() as connection:
            for index in indexes:
                index.drop(connection)
        rng = np.random.default_rng(seed)
        levels = _series_levels(rng, len(topic_ids), len(actor_ids), shape)
        for offset in range(0, size, CHUNK):
            frame = _observations(rng, min(CHUNK, size - offset), actor_ids, topic_ids, levels, shape)
            _load(engine, frame)
        with engine.begin() as connection:
            for index in indexes:
                index.create(connection)
        with session_scope(make_sessionmaker(engine)) as session:
            aggregates.rebuild(session)
        with session_scope(make_sessionmaker(engine), write=False) as session:
            wrong = aggregates.differences(session)
        if wrong:
            raise RuntimeError(f"the built aggregate differs from the observations: {wrong[0].describe()}")
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def _registry(engine: Engine, shape: CorpusShape) -> tuple[list[int], list[int]]:
    """Topics, the states and the bloc; returns actor ids (states, then the bloc) and topic ids."""
    with session_scope(make_sessionmaker(engine)) as session:
        topics = [
            Topic(slug=f"bench-topic-{i}", name=f"Bench topic {i}", description="", keywords=[], examples=[])
            for i in range(shape.topics)
        ]
        states = [
            Actor(slug=f"bench-state-{i:02d}", name=f"State {i}", kind="state") for i in range(shape.states)
        ]
        bloc = Actor(slug=BLOC, name="Bench bloc", kind="bloc")
        session.add_all([*topics, *states, bloc])
        session.flush()
        session.add_all(
            ActorMembership(actor_id=s.id, parent_id=bloc.id, role="member")
            for s in states[: shape.bloc_members]
        )
        return [s.id for s in states] + [bloc.id], [t.id for t in topics]


def _series_levels(rng: np.random.Generator, topics: int, actors: int, shape: CorpusShape) -> np.ndarray:
    """Per (topic, actor): level before, level after, and the day of the shift between them."""
    before = rng.uniform(-0.8, 0.8, (topics, actors))
    after = np.clip(
        before + rng.choice([-1, 1], (topics, actors)) * rng.uniform(0.2, 0.9, (topics, actors)), -1, 1
    )
    day = rng.integers(shape.days // 5, 4 * shape.days // 5, (topics, actors))
    return np.stack([before, after, day.astype(float)])


def _observations(
    rng: np.random.Generator,
    count: int,
    actor_ids: list[int],
    topic_ids: list[int],
    levels: np.ndarray,
    shape: CorpusShape,
) -> pd.DataFrame:
    topic = rng.integers(0, len(topic_ids), count)
    # the bloc (last actor) speaks for itself in 2% of observations
    actor = np.where(rng.random(count) < 0.02, len(actor_ids) - 1, rng.integers(0, len(actor_ids) - 1, count))
    day = rng.integers(0, shape.days, count)
    seconds = np.where(rng.random(count) < 0.2, rng.integers(0, 86_400, count), 0)
    level = np.where(day < levels[2, topic, actor], levels[0, topic, actor], levels[1, topic, actor])
    score = np.round(np.clip(level + rng.normal(0, 0.35, count), -1, 1), 4)
    observed = (
        np.datetime64(shape.start, "s") + day.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    )
    status = np.where(
        rng.random(count) < 0.02, "rejected", np.where(rng.random(count) < 0.03, "verified", "auto")
    )
    return pd.DataFrame(
        {
            "actor_id": np.asarray(actor_ids)[actor],
            "topic_id": np.asarray(topic_ids)[topic],
            "score": score,
            "label": np.where(score > 0.15, "support", np.where(score < -0.15, "oppose", "neutral")),
            "confidence": np.round(rng.uniform(0.4, 1.0, count), 3),
            "observed_at": observed,
            "evidence": np.asarray(EVIDENCE)[rng.integers(0, len(EVIDENCE), count)],
            "shift": False,
            "method": "rules",
            "extractor_version": "bench",
            "status": status,
        }
    )


def _load(engine: Engine, frame: pd.DataFrame) -> None:
    """One chunk through the driver: executemany (SQLite) or COPY (PostgreSQL)."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    stamps = np.datetime_as_string(frame["observed_at"].to_numpy(dtype="datetime64[us]"), unit="us")
    columns = [*frame.columns, "created_at", "updated_at"]
    listed = ", ".join(columns)
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            # SQLAlchemy's SQLite DATETIME text: "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC
            frame = frame.assign(
                observed_at=np.char.replace(stamps, "T", " "), shift=0, created_at=now, updated_at=now
            )
            cursor = raw.cursor()
            marks = ", ".join("?" for _ in columns)
            cursor.execute("BEGIN")  # the engine's connections run pysqlite in autocommit mode
            cursor.executemany(
                f"INSERT INTO observation ({listed}) VALUES ({marks})",
                list(frame[columns].itertuples(index=False, name=None)),
            )
            cursor.execute("COMMIT")
            return
        else:
            now += "+00"
            frame = frame.assign(
                observed_at=np.char.add(stamps, "+00"), shift="f", created_at=now, updated_at=now
            )
            body = frame[columns].to_csv(sep="\t", header=False, index=False)
            with raw.cursor() as cursor, cursor.copy(f"COPY observation ({listed}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                copy.write(body)
        raw.commit()
    finally:
        raw.close()
