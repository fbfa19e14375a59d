"""Timeline scenarios on a corpus: the service in-process against the raw SQL bucket query on the
raw observation table, timed in turns in the same run.

  one actor x topic   GET /v1/timelines?topic=T&actor=A&interval=week   vs   weekly GROUP BY over
                      the observations of that series (index on topic, actor, observed_at)
  all actors, topic   GET /v1/timelines?topic=T&interval=week             vs   weekly GROUP BY
                      actor over every observation of the topic
  bloc roll-up        GET /v1/timelines?topic=T&actor=bloc&rollup=true     vs   the same raw query
                      over the bloc's members (informational: no target)

The raw query runs through the driver itself (sqlite3 / psycopg) and fetches every row; the
service answers through the ASGI app (routing, validation, SQL, levels, JSON) without a socket.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.main import create_app
from app.models import Actor, ActorMembership, Topic
from bench.corpus import Corpus
from bench.stats import Result, Timings, interleaved

RAW_WEEK = {
    "sqlite": "date(observed_at, 'weekday 0', '-6 days')",
    "postgresql": "date_trunc('week', observed_at AT TIME ZONE 'UTC')",
}
SUMS = "count(*), sum(confidence), sum(confidence * score), sum(confidence * confidence), sum(confidence * score * score)"


class RawQueries:
    """The weekly bucket query on the observation table, through the driver alone."""

    def __init__(self, corpus: Corpus) -> None:
        self.engine = corpus.engine
        url = make_url(corpus.url)
        if corpus.engine == "sqlite":
            self.sqlite = sqlite3.connect(str(url.database), check_same_thread=False)
        else:
            self.postgres = psycopg.connect(
                url.set(drivername="postgresql").render_as_string(hide_password=False)
            )
        self.week = RAW_WEEK[corpus.engine]
        self.mark = "?" if corpus.engine == "sqlite" else "%s"

    def run(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self.engine == "sqlite":
            return self.sqlite.execute(sql, params).fetchall()
        with self.postgres.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        self.postgres.rollback()
        return rows

    def series(self, topic_id: int, actor_ids: list[int]) -> list[Any]:
        marks = ", ".join(self.mark for _ in actor_ids)
        sql = (
            f"SELECT actor_id, {self.week} AS bucket, {SUMS} FROM observation "
            f"WHERE topic_id = {self.mark} AND actor_id IN ({marks}) AND status <> 'rejected' "
            "GROUP BY actor_id, bucket ORDER BY actor_id, bucket"
        )
        return self.run(sql, (topic_id, *actor_ids))

    def topic(self, topic_id: int) -> list[Any]:
        sql = (
            f"SELECT actor_id, {self.week} AS bucket, {SUMS} FROM observation "
            f"WHERE topic_id = {self.mark} AND status <> 'rejected' "
            "GROUP BY actor_id, bucket ORDER BY actor_id, bucket"
        )
        return self.run(sql, (topic_id,))

    def close(self) -> None:
        if self.engine == "sqlite":
            self.sqlite.close()
        else:
            self.postgres.close()


def _ids(corpus: Corpus) -> tuple[int, int, list[int]]:
    engine = make_engine(Settings(database_url=corpus.url))
    try:
        with session_scope(make_sessionmaker(engine), write=False) as session:
            topic_id = session.scalars(select(Topic.id).where(Topic.slug == corpus.topic)).one()
            actor_id = session.scalars(select(Actor.id).where(Actor.slug == corpus.actor)).one()
            bloc_id = session.scalars(select(Actor.id).where(Actor.slug == corpus.bloc)).one()
            members = list(
                session.scalars(select(ActorMembership.actor_id).where(ActorMembership.parent_id == bloc_id))
            )
    finally:
        engine.dispose()
    return topic_id, actor_id, [bloc_id, *members]


def _ok(client: TestClient, params: dict[str, str]) -> Callable[[], object]:
    response = client.get("/v1/timelines", params=params)
    if response.status_code != 200:
        raise RuntimeError(f"timeline request failed: {response.status_code} {response.text[:300]}")
    return lambda: client.get("/v1/timelines", params=params)


def run(corpus: Corpus, *, count: int, budget_seconds: float) -> list[Result]:
    topic_id, actor_id, bloc_and_members = _ids(corpus)
    settings = Settings(
        database_url=corpus.url,
        log_level="WARNING",
        shift_detection="off",
        public_read=True,
        migrate_on_start=False,
        # every request computes its timeline: this measures the computation, not the cache
        # (bench.http measures the server as it runs by default, cache on, and with it off)
        read_cache_mb=0,
    )
    raw = RawQueries(corpus)
    results = []
    try:
        with TestClient(create_app(settings)) as client:
            week = {"topic": corpus.topic, "interval": "week"}
            one = interleaved(
                {
                    "service": _ok(client, {**week, "actor": corpus.actor}),
                    "raw": lambda: raw.series(topic_id, [actor_id]),
                },
                count=count,
                budget_seconds=budget_seconds,
            )
            results.append(
                _slower(
                    "timeline, one actor x topic",
                    corpus,
                    one,
                    target=2.0,
                    rows=len(raw.series(topic_id, [actor_id])),
                )
            )
            every = interleaved(
                {"service": _ok(client, week), "raw": lambda: raw.topic(topic_id)},
                count=count,
                budget_seconds=budget_seconds,
            )
            # the issue sets this target at 10M observations; smaller corpora are reported against it
            results.append(
                _faster(
                    "timeline, all actors of a topic",
                    corpus,
                    every,
                    target=10.0,
                    binding=corpus.size >= 10**7,
                )
            )
            rolled = interleaved(
                {
                    "service": _ok(client, {**week, "actor": corpus.bloc, "rollup": "true"}),
                    "raw": lambda: raw.series(topic_id, bloc_and_members),
                },
                count=count,
                budget_seconds=budget_seconds,
            )
            results.append(_slower("timeline, bloc roll-up (27 members)", corpus, rolled, target=None))
    finally:
        raw.close()
    return results


def _details(timings: dict[str, Timings]) -> dict[str, Any]:
    return {
        "service_median_ms": round(timings["service"].median_ms, 2),
        "service_p99_ms": round(timings["service"].p99_ms, 2),
        "raw_median_ms": round(timings["raw"].median_ms, 2),
        "raw_p99_ms": round(timings["raw"].p99_ms, 2),
        "median_ratio": round(timings["service"].median_ms / timings["raw"].median_ms, 3),
        "samples": len(timings["service"].samples),
    }


def _slower(
    name: str, corpus: Corpus, timings: dict[str, Timings], *, target: float | None, rows: int = 0
) -> Result:
    """Service p99 as a multiple of the raw query's p99 (target: at most `target`)."""
    ratio = timings["service"].p99_ms / timings["raw"].p99_ms
    return _against_raw(
        name,
        corpus,
        timings,
        target=f"p99 <= {target:g}x raw" if target else "(none)",
        met=ratio <= target if target else None,
        details={"raw_buckets": rows} if rows else {},
    )


def _faster(
    name: str, corpus: Corpus, timings: dict[str, Timings], *, target: float, binding: bool
) -> Result:
    """How many times faster than the raw query the service's p99 is (target: at least `target`,
    checked only when `binding`)."""
    speedup = timings["raw"].p99_ms / timings["service"].p99_ms
    return _against_raw(
        name,
        corpus,
        timings,
        target=f"p99 >= {target:g}x faster than raw" + ("" if binding else " (at 10M)"),
        met=speedup >= target if binding else None,
        details={"speedup": round(speedup, 2)},
    )


def _against_raw(
    name: str,
    corpus: Corpus,
    timings: dict[str, Timings],
    *,
    target: str,
    met: bool | None,
    details: dict[str, Any],
) -> Result:
    """The service's p99 against the raw query's, as a ratio."""
    return Result(
        scenario=name,
        engine=corpus.engine,
        size=corpus.size,
        unit="ms",
        value=timings["service"].p99_ms,
        baseline="raw SQL bucket query",
        baseline_value=timings["raw"].p99_ms,
        ratio=timings["service"].p99_ms / timings["raw"].p99_ms,
        target=target,
        met=met,
        details={**_details(timings), **details},
    )
