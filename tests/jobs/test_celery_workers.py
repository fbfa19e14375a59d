"""Re-extraction on real Celery workers (two processes, Redis on 127.0.0.1:6379, PostgreSQL): one
worker is killed with SIGKILL mid-way, the other finishes, and every article is re-extracted
exactly once with no duplicate observation.

The killed worker's unacknowledged chunk goes back to the queue once the broker's visibility
timeout (6 s here) has passed (acks_late); the chunk's finished articles are skipped on the
second run (their job_item rows committed with their observations), its unfinished ones done.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.cli.main import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.jobs import broker, reextract
from app.models import Job, JobItem, Observation
from app.ops import migrate
from app.registry import context as registry_context
from app.registry import edits as registry
from tests import factories
from tests.jobs.conftest import REDIS_URL

ARTICLES = 500
KILL_AFTER = 150  # articles finished before one worker is killed (on its next chunk)
VISIBILITY_TIMEOUT = 6
ROOT = Path(__file__).resolve().parents[2]


def _corpus() -> list[dict[str, object]]:
    """500 distinct articles: the demo corpus's first paragraphs under new urls, a line of their own."""
    demo = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line]
    rows = []
    for n in range(ARTICLES):
        article = dict(demo[n % len(demo)])
        article.pop("gold", None)
        article["url"] = f"{article['url']}?celery={n}"
        lead = "\n\n".join(str(article["text"]).split("\n\n")[:3])
        article["text"] = f"{lead}\n\nCopy {n}."
        rows.append(article)
    return rows


def _seed(factory: sessionmaker[Session]) -> dict[int, int]:
    """Registry and articles; returns the automatic observations stored per article."""
    with session_scope(factory) as session:
        registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
    rows = _corpus()
    for start in range(0, len(rows), 250):
        with session_scope(factory) as session:
            context = registry_context.load_registry_context(session)
            outcome = factories.ingest_batch(
                session, rows[start : start + 250], context=context, engine="rules"
            )
            assert all(r.status == "created" for r in outcome.results)
    return _per_article(factory)


def _per_article(factory: sessionmaker[Session]) -> dict[int, int]:
    with session_scope(factory, write=False) as session:
        stmt = select(Observation.article_id, func.count()).where(Observation.method != "manual")
        return {int(a): int(n) for a, n in session.execute(stmt.group_by(Observation.article_id))}


def _start_worker(env: dict[str, str], queue: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    command = broker.worker_command(sys.executable, queue=queue, name=name)
    with log.open("wb") as out:
        # its own process group: SIGKILL takes the worker and its pool process, as a lost machine would
        return subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_ready(logs: list[Path], deadline: float) -> None:
    while time.monotonic() < deadline:
        if all("ready." in log.read_text(errors="replace") for log in logs):
            return
        time.sleep(0.1)
    raise AssertionError(
        "workers did not start:\n" + "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
    )


def _state(factory: sessionmaker[Session], job_id: int) -> tuple[str, int]:
    with session_scope(factory, write=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        done = session.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job_id))
        return job.state, int(done or 0)


def _task_ids(log: Path, event: str) -> set[str]:
    """Chunk task ids a worker's log says it `received` or that `succeeded` there."""
    return set(re.findall(rf"reextract\.chunk\[([0-9a-f-]+)\] {event}", log.read_text(errors="replace")))


def _in_flight(log: Path) -> set[str]:
    return _task_ids(log, "received") - _task_ids(log, "succeeded")


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_reextraction_survives_a_killed_worker_and_runs_each_article_once(
    postgres_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(postgres_url)
    queue = f"stanceline-test-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        database_url=postgres_url,
        broker_url=REDIS_URL,
        job_queue=queue,
        broker_visibility_timeout_seconds=VISIBILITY_TIMEOUT,
        job_chunk_size=10,
        log_level="WARNING",
    )
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    env = {
        **os.environ,
        "STANCELINE_DATABASE_URL": postgres_url,
        "STANCELINE_BROKER_URL": REDIS_URL,
        "STANCELINE_JOB_QUEUE": queue,
        "STANCELINE_BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_TIMEOUT),
        "STANCELINE_JOB_CHUNK_SIZE": "10",
        "STANCELINE_EXTRACTION_ENGINE": "rules",
        "STANCELINE_SHIFT_DETECTION": "deferred",
        "STANCELINE_LOG_LEVEL": "INFO",
    }
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [
        _start_worker(env, queue, f"a-{queue}", logs[0]),
        _start_worker(env, queue, f"b-{queue}", logs[1]),
    ]
    try:
        expected = _seed(factory)  # while the workers start
        assert sum(expected.values()) > ARTICLES, "the corpus gives the extractor something to do"
        _wait_ready(logs, time.monotonic() + 60)
        with session_scope(factory, write=False) as session:
            last_before = int(session.scalar(select(func.max(Observation.id))) or 0)
        with session_scope(factory) as session:
            job_id = reextract.create(session, backend="celery", engine="rules").id
        started = time.monotonic()
        jobs.dispatch(factory, job_id, settings=settings, runner=None)

        deadline = time.monotonic() + 90
        state, done = _state(factory, job_id)
        while done < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.05)
            state, done = _state(factory, job_id)
        # kill the worker just after it has taken a new chunk, so it dies holding one
        seen = _in_flight(logs[0])
        while time.monotonic() < deadline and not (_in_flight(logs[0]) - seen):
            time.sleep(0.01)
        _kill(workers[0])
        killed_at = _state(factory, job_id)[1]
        assert 0 < killed_at < ARTICLES, "the kill came mid-way"
        while state not in ("succeeded", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            state, done = _state(factory, job_id)
        elapsed = time.monotonic() - started
        assert state == "succeeded", (state, done, logs[1].read_text(errors="replace")[-3000:])

        with session_scope(factory, write=False) as session:
            items = session.execute(
                select(JobItem.article_id, JobItem.status, func.count())
                .where(JobItem.job_id == job_id)
                .group_by(JobItem.article_id, JobItem.status)
            ).all()
            key = (
                Observation.article_id,
                Observation.actor_id,
                Observation.topic_id,
                Observation.observed_at,
                Observation.evidence_start,
                Observation.evidence_end,
            )
            duplicate_groups = session.execute(
                select(*key, func.count()).group_by(*key).having(func.count() > 1)
            ).all()
            oldest_automatic = session.scalar(
                select(func.min(Observation.id)).where(Observation.method != "manual")
            )
        extra_items = sum(count - 1 for _, _, count in items)
        print(
            f"\ncelery kill test: {ARTICLES} articles, worker killed after {killed_at}, job done in "
            f"{elapsed:.1f}s; articles re-extracted more than once: {extra_items}, "
            f"duplicate observations: {len(duplicate_groups)}"
        )
        # the chunk the killed worker held was handed to the survivor and finished there
        in_flight = _in_flight(logs[0])
        assert in_flight, "the killed worker was holding a chunk"
        assert in_flight <= _task_ids(logs[1], "succeeded")
        assert len(items) == ARTICLES
        assert {status for _, status, _ in items} == {"done"}
        assert extra_items == 0
        assert duplicate_groups == []
        assert _per_article(factory) == expected, "each article holds exactly one extraction's observations"
        assert oldest_automatic is not None
        assert oldest_automatic > last_before, "every article was re-extracted, none skipped"
    finally:
        for worker in workers:
            _kill(worker)
        engine.dispose()
        _forget_queue(queue)


def _forget_queue(queue: str) -> None:
    """The run's queue and kombu's bookkeeping of it, so runs leave nothing behind in Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{queue}*"))
    if keys:
        client.delete(*keys)
    for member in client.zrange("_kombu.binding_deadlines", 0, -1):
        if queue.encode() in member:
            client.zrem("_kombu.binding_deadlines", member)
