"""Mixed load on a real server process, on both engines: reads stay fast, nothing fails and no
read is stale while articles land and reviews change the series being read.

`stanceline serve` runs in its own process on a free port over a fresh database (starter
registry, demo corpus, a write key). For STANCELINE_MIXED_LOAD_SECONDS (30 by default):

* 32 connections read timelines (GET /v1/timelines, default week window) of four actor/topic
  pairs, back to back;
* a batch of 10 articles is sent every 0.5 s (POST /v1/articles/batch: the demo texts under fresh
  urls, so each adds the demo article's observations again), whether the last one was answered
  or not, at most 4 in flight (a server that falls behind gets them late, not all at once);
* a review is sent every second (PATCH /v1/stances/{id}), whether the last one was answered or
  not: one of two observations of each series being read is rejected (it leaves the series'
  count) or, the next time round, verified (it comes back).

Every response must be 2xx. No read may be stale, checked exactly: a series' count is its
observations before the load plus the effect of the writes its snapshot includes, which are
every write answered before the read was sent, none sent after it was answered, and of those in
flight while it ran, any set that holds each write answered before another it holds was sent (see
`stale_reads`); a read whose count no such snapshot explains is stale. Each batch's effect on each series is
read from the database afterwards (which observations its articles got); a review's is -1 for a
rejection and +1 for a verification. The figures (p50/p99 read latency, requests, errors, stale
reads) are printed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app import auth
from app.cli.main import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.extraction.corpus import read_jsonl
from app.models import Actor, Observation, Topic
from app.ops import migrate
from app.registry import context as registry_context
from app.registry import edits as registry
from tests import factories, reports
from tests.conftest import ENGINES, create_database

ROOT = Path(__file__).resolve().parents[2]
# the load is the measurement: run alone, after the parallel run (scripts/test.sh)
pytestmark = pytest.mark.serial

SECONDS = float(os.environ.get("STANCELINE_MIXED_LOAD_SECONDS", "30"))
READERS = 32
BATCH_EVERY = 0.5
BATCH_SIZE = 10
BATCHES_IN_FLIGHT = 4
REVIEW_EVERY = 1.0
SERIES_READ = 4
REVIEWED_PER_SERIES = 2
STARTUP = 90.0  # seconds: a ceiling for a stuck server, not a speed check
REQUEST_TIMEOUT = 60.0

Series = tuple[str, str]  # (topic slug, actor slug)


@dataclass
class Write:
    writer: str  # "batch" or "review": each sends one request at a time
    start: float
    end: float
    deltas: dict[Series, int]  # filled in afterwards for batches
    article_ids: list[int] = field(default_factory=list)


@dataclass
class Read:
    series: Series
    start: float
    end: float
    count: int


@dataclass
class Run:
    reads: list[Read] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # of the readers' reads, in seconds
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    load_seconds: float = 0.0  # from the first write to the last answer of the load

    def answered(self, kind: str, response: httpx.Response) -> bool:
        self.statuses[f"{kind} {response.status_code}"] += 1
        if response.is_success:
            return True
        self.errors.append(
            f"{kind} {response.request.url.path}: {response.status_code} {response.text[:300]}"
        )
        return False

    def failed(self, kind: str, error: Exception) -> None:
        self.statuses[f"{kind} {type(error).__name__}"] += 1
        self.errors.append(f"{kind}: {type(error).__name__} {error}")


@dataclass(frozen=True)
class Seeded:
    url: str
    key: str
    series: list[Series]
    review_pool: list[tuple[int, Series]]  # automatic observations of the series read


def _seed(url: str) -> Seeded:
    """Migrated database with the starter registry, the demo corpus and a write key; picks the
    most observed series and their observations to review."""
    migrate.upgrade(url)
    settings = Settings(database_url=url)
    engine = make_engine(settings)
    try:
        factory = make_sessionmaker(engine)
        with session_scope(factory) as session:
            registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
        with session_scope(factory) as session:
            context = registry_context.RegistryCache().get(session)
            outcome = factories.ingest_batch(
                session, read_jsonl(DEMO_CORPUS), context=context, engine=settings.extraction_engine
            )
            assert all(r.status == "created" for r in outcome.results)
            _, key = auth.create_key(session, name="mixed load", scopes=["write"])
        with session_scope(factory) as session:
            rows = session.execute(
                select(Observation.id, Topic.slug, Actor.slug)
                .join(Topic, Topic.id == Observation.topic_id)
                .join(Actor, Actor.id == Observation.actor_id)
                .where(Observation.status == "auto")
                .order_by(Observation.id)
            ).all()
    finally:
        engine.dispose()
    counts = Counter((topic, actor) for _, topic, actor in rows)
    series = [s for s, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:SERIES_READ]]
    # two per series, so that in 30 s each is rejected and verified again, and again
    pool = [(i, (t, a)) for i, t, a in rows if (t, a) in series]
    pool = [item for s in series for item in [p for p in pool if p[1] == s][:REVIEWED_PER_SERIES]]
    return Seeded(url=url, key=key, series=series, review_pool=pool)


def _batch_deltas(url: str, writes: list[Write], series: list[Series]) -> None:
    """Each batch's effect on each series read: the observations its articles got."""
    ids = [i for w in writes for i in w.article_ids]
    engine = make_engine(Settings(database_url=url))
    try:
        with session_scope(make_sessionmaker(engine), write=False) as session:
            rows = session.execute(
                select(Observation.article_id, Topic.slug, Actor.slug, func.count())
                .join(Topic, Topic.id == Observation.topic_id)
                .join(Actor, Actor.id == Observation.actor_id)
                .where(Observation.article_id.in_(ids), Observation.status != "rejected")
                .group_by(Observation.article_id, Topic.slug, Actor.slug)
            ).all()
    finally:
        engine.dispose()
    per_article: dict[int, Counter[Series]] = defaultdict(Counter)
    for article_id, topic, actor, n in rows:
        per_article[int(article_id)][(topic, actor)] += int(n)
    for write in writes:
        total: Counter[Series] = Counter()
        for article_id in write.article_ids:
            total.update(per_article[article_id])
        write.deltas = {s: total[s] for s in series if total[s]}


def stale_reads(run: Run, base: dict[Series, int]) -> list[str]:
    """Reads whose count no snapshot explains.

    A read's snapshot holds every write answered before the read was sent, none sent after it
    was answered, and of those in flight while it ran any set that is closed under "answered
    before sent": a write answered before another was sent committed before it (a sequential
    writer's writes, or a batch that ended before the next began)."""
    stale = []
    for read in run.reads:
        touching = [w for w in run.writes if w.deltas.get(read.series)]
        definite = base[read.series] + sum(w.deltas[read.series] for w in touching if w.end < read.start)
        in_flight = [w for w in touching if w.end >= read.start and w.start < read.end]
        earlier = [{j for j, b in enumerate(in_flight) if b.end < a.start} for a in in_flight]
        allowed = set()
        for chosen in itertools.product((False, True), repeat=len(in_flight)):
            held = {i for i, taken in enumerate(chosen) if taken}
            if all(earlier[i] <= held for i in held):
                allowed.add(definite + sum(in_flight[i].deltas[read.series] for i in held))
        if read.count not in allowed:
            stale.append(
                f"{read.series} read at {read.start:.3f}-{read.end:.3f}: count {read.count}, "
                f"expected one of {sorted(allowed)}"
            )
    return stale


def _count(body: dict[str, Any], actor: str) -> int:
    points = next((s["points"] for s in body["series"] if s["actor"] == actor), [])
    return sum(int(p["count"]) for p in points)


def _articles() -> Iterator[dict[str, Any]]:
    """The demo texts again and again, each time under a url never used."""
    corpus = read_jsonl(DEMO_CORPUS)
    for n in itertools.count():
        demo = corpus[n % len(corpus)]
        item = {k: demo[k] for k in ("title", "text", "published_at", "source", "language") if k in demo}
        yield {**item, "url": f"https://load.example.org/{n}/{demo['url'].rsplit('/', 1)[-1]}"}


async def _load(base_url: str, seeded: Seeded, seconds: float) -> tuple[Run, dict[Series, int]]:
    run = Run()
    headers = {"Authorization": f"Bearer {seeded.key}"}
    timeout = httpx.Timeout(REQUEST_TIMEOUT)
    paths = {s: f"/v1/timelines?topic={s[0]}&actor={s[1]}" for s in seeded.series}
    limits = httpx.Limits(max_connections=READERS, max_keepalive_connections=READERS)
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout, limits=limits) as readers,
        httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout) as writers,
    ):

        async def read(series: Series) -> Read | None:
            start = time.monotonic()
            try:
                response = await readers.get(paths[series])
            except httpx.HTTPError as error:
                run.failed("read", error)
                return None
            end = time.monotonic()
            if not run.answered("read", response):
                return None
            return Read(series, start, end, _count(response.json(), series[1]))

        base = {}
        for series in seeded.series:  # before any write
            first = await read(series)
            assert first is not None, run.errors
            base[series] = first.count
        deadline = time.monotonic() + seconds

        async def reader(n: int) -> None:
            for i in itertools.count(n):
                if time.monotonic() >= deadline:
                    return
                done = await read(seeded.series[i % len(seeded.series)])
                if done is not None:
                    run.reads.append(done)
                    run.latencies.append(done.end - done.start)

        async def batch(body: dict[str, Any], slots: asyncio.Semaphore) -> None:
            start = time.monotonic()
            try:
                response = await writers.post("/v1/articles/batch", json=body)
            except httpx.HTTPError as error:
                run.failed("batch", error)
                return
            finally:
                slots.release()
            end = time.monotonic()
            if run.answered("batch", response):
                results = response.json()["results"]
                if any(r["status"] != "created" for r in results):
                    run.errors.append(f"batch: an article was not created: {json.dumps(results)[:300]}")
                ids = [int(r["article_id"]) for r in results if r["article_id"] is not None]
                run.writes.append(Write("batch", start, end, {}, ids))

        async def batches() -> None:
            """One batch every BATCH_EVERY seconds whether the last one was answered or not, at
            most BATCHES_IN_FLIGHT at a time (a server that falls behind gets them late)."""
            articles = _articles()
            slots = asyncio.Semaphore(BATCHES_IN_FLIGHT)
            sent = []
            for tick in itertools.count():
                due = deadline - seconds + tick * BATCH_EVERY
                if due >= deadline:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await slots.acquire()
                if time.monotonic() >= deadline:
                    slots.release()
                    break
                body = {"articles": [next(articles) for _ in range(BATCH_SIZE)]}
                sent.append(asyncio.create_task(batch(body, slots)))
            await asyncio.gather(*sent)

        rejected: set[int] = set()
        turns: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

        async def review(observation_id: int, series: Series) -> None:
            # one review of an observation at a time: whether it rejects or restores depends on the last
            async with turns[observation_id]:
                undo = observation_id in rejected
                start = time.monotonic()
                try:
                    response = await writers.patch(
                        f"/v1/stances/{observation_id}", json={"status": "verified" if undo else "rejected"}
                    )
                except httpx.HTTPError as error:
                    run.failed("review", error)
                    return
                end = time.monotonic()
                if run.answered("review", response):
                    rejected.symmetric_difference_update({observation_id})
                    run.writes.append(Write("review", start, end, {series: 1 if undo else -1}))

        async def reviews() -> None:
            """One review every REVIEW_EVERY seconds, whether the last one was answered or not."""
            pool = itertools.cycle(seeded.review_pool)
            sent = []
            for tick in itertools.count(1):
                due = deadline - seconds + tick * REVIEW_EVERY
                if due >= deadline:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                sent.append(asyncio.create_task(review(*next(pool))))
            await asyncio.gather(*sent)

        await asyncio.gather(*(reader(n) for n in range(READERS)), batches(), reviews())
        run.load_seconds = time.monotonic() - (deadline - seconds)
        # once everything is answered, every series shows every write
        for series in seeded.series:
            last = await read(series)
            if last is not None:
                run.reads.append(last)
    return run, base


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited early with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not come up: {log.read_text()[-2000:]}")


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    url, drop = create_database(request.param, tmp_path)
    try:
        yield request.param, url
    finally:
        drop()


def test_reads_stay_fresh_and_error_free_while_articles_and_reviews_land(
    database: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    kind, url = database
    seeded = _seed(url)
    port = _free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "STANCELINE_LOG_LEVEL": "WARNING",
        "STANCELINE_LOG_FORMAT": "json",
        # a ceiling for a stuck database, not a speed check: on a slow or shared machine a write
        # behind 32 readers can wait longer than the 15 s default for a pooled connection, and the
        # 503 it then gets is the designed answer to overload, not the loss or staleness tested here
        "STANCELINE_DB_STATEMENT_TIMEOUT_SECONDS": "90",
    }
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--database-url", url],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_up(base_url, server, log)
            run, base = asyncio.run(_load(base_url, seeded, SECONDS))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    _batch_deltas(url, [w for w in run.writes if w.writer == "batch"], seeded.series)
    stale = stale_reads(run, base)
    latencies = sorted(1000 * s for s in run.latencies)
    batches = [w for w in run.writes if w.writer == "batch"]
    reviews = [w for w in run.writes if w.writer == "review"]
    added = Counter[Series]()
    for write in run.writes:
        added.update(write.deltas)
    figures = {
        "engine": kind,
        "seconds": round(run.load_seconds, 1),
        "reads": len(run.reads),
        "reads_per_second": round(len(run.latencies) / run.load_seconds, 1),
        "read_p50_ms": round(_percentile(latencies, 50), 1) if latencies else None,
        "read_p99_ms": round(_percentile(latencies, 99), 1) if latencies else None,
        "batches": len(batches),
        "articles": sum(len(w.article_ids) for w in batches),
        "batch_p50_ms": round(statistics.median(1000 * (w.end - w.start) for w in batches), 1)
        if batches
        else None,
        "reviews": len(reviews),
        "errors": len(run.errors),
        "stale_reads": len(stale),
        "statuses": dict(sorted(run.statuses.items())),
        "series": {f"{t}/{a}": {"before": base[(t, a)], "change": added[(t, a)]} for t, a in seeded.series},
    }
    if reports.under_xdist_worker(request.config):
        reports.publish(request.config, f"mixed load ({kind})", [json.dumps(figures)])
    else:
        with capsys.disabled():
            print(f"\nmixed load: {json.dumps(figures)}")
    assert not run.errors, run.errors[:10]
    assert not stale, stale[:10]
    assert len(run.reads) > READERS, "the readers barely ran"
    assert batches, "no batch landed"
    assert reviews, "no review landed"
    assert any(added.values()), "the batches never touched a series read"


def test_the_stale_check_accepts_exactly_the_counts_some_snapshot_explains() -> None:
    series = ("t", "a")
    run = Run(
        writes=[
            Write("batch", 0.0, 1.0, {series: 5}),
            Write("batch", 2.0, 3.0, {series: 5}),
            Write("review", 0.5, 2.5, {series: -1}),
        ]
    )

    def verdict(start: float, end: float, count: int) -> bool:
        run.reads = [Read(series, start, end, count)]
        return not stale_reads(run, {series: 10})

    assert verdict(-1.0, -0.5, 10)  # before every write
    assert not verdict(-1.0, -0.5, 15)  # a write not yet sent
    assert verdict(1.5, 1.8, 15)  # after the first batch; the review in flight or not
    assert verdict(1.5, 1.8, 14)
    assert not verdict(1.5, 1.8, 10)  # misses the answered batch: stale
    assert verdict(2.6, 2.7, 14)  # the review answered, the second batch in flight
    assert verdict(2.6, 2.7, 19)
    assert not verdict(2.6, 2.7, 15)  # misses the answered review: stale
    assert verdict(0.2, 4.0, 10)  # one long read: any prefix of each writer's writes
    assert verdict(0.2, 4.0, 20)
    assert not verdict(0.2, 4.0, 11)  # no snapshot holds the review without the first batch
    assert verdict(4.0, 4.1, 19)
    assert not verdict(4.0, 4.1, 20)
    # two batches in flight together: either may commit first
    run.writes = [Write("batch", 0.0, 2.0, {series: 5}), Write("batch", 1.0, 3.0, {series: 2})]
    assert {c for c in range(5, 25) if verdict(1.5, 1.6, c)} == {10, 12, 15, 17}
    assert {c for c in range(5, 25) if verdict(2.5, 2.6, c)} == {15, 17}
    # a write another one waited for is in every snapshot that holds the later one
    run.writes = [Write("batch", 0.0, 1.0, {series: 5}), Write("batch", 1.5, 3.0, {series: 2})]
    assert {c for c in range(5, 25) if verdict(0.5, 2.0, c)} == {10, 15, 17}
    # writes that touch other series do not count
    run.writes = [Write("batch", 0.0, 1.0, {("t", "b"): 5})]
    assert {c for c in range(5, 25) if verdict(2.0, 2.1, c)} == {10}
