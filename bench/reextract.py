"""Re-extraction throughput on real Celery workers: one worker process, then two, against the
extractor alone in this process, all measured in the same run.

  python -m bench.reextract [--articles 500] [--chunk 25] [--json PATH]

Needs PostgreSQL (STANCELINE_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test;
a database `stanceline_bench_reextract` is created afresh) and Redis (STANCELINE_TEST_REDIS_URL,
default redis://127.0.0.1:6379/13). The articles are the demo corpus under fresh urls. A job's
rate is its articles over the time from its start to its end as the job table records them
(workers started and warmed up first): each article's re-extraction is a transaction of its own
with its job item, so this is the end-to-end cost of the task path, not of extraction alone.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import redis
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app import jobs
from app.cli.main import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.ingest import articles as ingest
from app.jobs import broker, reextract
from app.models import Job
from app.ops import migrate
from app.registry import context as registry_context
from app.registry import edits as registry
from app.registry.edits import STARTER_REGISTRY
from bench.ingest import extraction_only, rate

POSTGRES_URL = os.environ.get(
    "STANCELINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("STANCELINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
DATABASE = "stanceline_bench_reextract"
ROOT = Path(__file__).resolve().parents[1]


def corpus(count: int) -> list[dict[str, Any]]:
    base = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines() if line]
    out = []
    for i in range(count):
        article = dict(base[i % len(base)])
        article.pop("gold", None)
        article.pop("id", None)
        article["url"] = f"{article['url']}?reextract-bench={i}"
        out.append(article)
    return out


def fresh_database() -> str:
    admin = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return make_url(POSTGRES_URL).set(database=DATABASE).render_as_string(hide_password=False)


def seed(factory: sessionmaker[Session], articles: list[dict[str, Any]]) -> None:
    with session_scope(factory) as session:
        registry.import_registry(session, registry.read_registry_file(STARTER_REGISTRY))
    for start in range(0, len(articles), 250):
        with session_scope(factory) as session:
            context = registry_context.load_registry_context(session)
            batch = ingest.validate_batch(articles[start : start + 250])
            ingest.store_batch(session, batch, context=context, engine="rules")


@contextmanager
def workers(count: int, env: dict[str, str], queue: str, logs: Path) -> Iterator[None]:
    processes = []
    paths = [logs / f"worker-{count}-{n}.log" for n in range(count)]
    try:
        for n, path in enumerate(paths):
            command = broker.worker_command(sys.executable, queue=queue, name=f"bench{count}-{n}-{queue}")
            with path.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        command,
                        env=env,
                        cwd=ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + 60
        while not all("ready." in p.read_text(errors="replace") for p in paths):
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start; see {logs}")
            time.sleep(0.1)
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def forget_queue(queue: str) -> None:
    """The run's queue and kombu's bookkeeping of it."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{queue}*"))
    if keys:
        client.delete(*keys)
    members = [m for m in client.zrange("_kombu.binding_deadlines", 0, -1) if isinstance(m, bytes)]
    stale = [m for m in members if queue.encode() in m]
    if stale:
        client.zrem("_kombu.binding_deadlines", *stale)


def run_job(factory: sessionmaker[Session], settings: Settings) -> tuple[int, float]:
    """Re-extract every article as one job; returns (articles, seconds from start to finish)."""
    with session_scope(factory) as session:
        job_id = reextract.create(session, backend="celery", engine="rules").id
    jobs.dispatch(factory, job_id, settings=settings, runner=None)
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        with session_scope(factory, write=False) as session:
            job = session.get(Job, job_id)
            assert job is not None
            if job.state in ("succeeded", "failed"):
                if job.state == "failed" or job.started_at is None or job.finished_at is None:
                    raise RuntimeError(f"job {job_id} failed: {job.error}")
                return job.total, (job.finished_at - job.started_at).total_seconds()
        time.sleep(0.2)
    raise RuntimeError(f"job {job_id} did not finish")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--chunk", type=int, default=25, help="articles per task")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    url = fresh_database()
    migrate.upgrade(url)
    queue = f"stanceline-bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        database_url=url,
        broker_url=REDIS_URL,
        job_queue=queue,
        job_chunk_size=args.chunk,
        log_level="WARNING",
    )
    env = {
        **os.environ,
        "STANCELINE_DATABASE_URL": url,
        "STANCELINE_BROKER_URL": REDIS_URL,
        "STANCELINE_JOB_QUEUE": queue,
        "STANCELINE_JOB_CHUNK_SIZE": str(args.chunk),
        "STANCELINE_EXTRACTION_ENGINE": "rules",
        "STANCELINE_SHIFT_DETECTION": "deferred",
        "STANCELINE_LOG_LEVEL": "INFO",
    }
    articles = corpus(args.articles)
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"stanceline-bench-{queue}"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        baseline, _ = rate(extraction_only(articles), 1)
        seed(factory, articles)
        figures: dict[str, Any] = {
            "articles": args.articles,
            "chunk": args.chunk,
            "extraction_only": baseline,
        }
        for count in (1, 2):
            with workers(count, env, queue, logs):
                total, seconds = run_job(factory, settings)
            figures[f"workers_{count}"] = total / seconds
        forget_queue(queue)
    finally:
        engine.dispose()
    one, two = figures["workers_1"], figures["workers_2"]
    print(
        f"re-extraction of {args.articles} articles on PostgreSQL, {args.chunk} per task ({os.cpu_count()} cores)"
    )
    print(f"  extraction only, in process  {baseline:8.1f} articles/s  (baseline)")
    print(f"  1 worker process             {one:8.1f} articles/s  {one / baseline:.2f}x baseline")
    print(
        f"  2 worker processes           {two:8.1f} articles/s  {two / baseline:.2f}x baseline, {two / one:.2f}x one worker"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
