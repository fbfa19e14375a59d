"""The Celery tasks' own logic, executed eagerly (no broker): a chunk whose articles fail is
retried and, past its retries, records the failures on the job; the plan task hands out chunks
and closes the job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.db import session_scope
from app.ingest import articles as ingest
from app.jobs import broker, reextract, tasks, worker
from app.store import jobs as job_store
from tests.jobs.conftest import Database


@pytest.fixture
def eager(jobs_db: Database) -> Iterator[Database]:
    settings = jobs_db.settings.model_copy(update={"broker_url": "memory://", "job_max_retries": 2})
    app = broker.make_celery(settings)
    app.set_current()
    worker.configure(settings)
    yield jobs_db
    worker.configure(jobs_db.settings)


def _job(db: Database) -> int:
    with session_scope(db.factory) as session:
        return reextract.create(session, backend="celery", engine="rules").id


def test_a_failing_chunk_is_retried_then_its_failures_are_recorded(
    eager: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = _job(eager)
    (chunk,) = list(reextract.plan(eager.factory, job_id, chunk_size=100))
    broken = chunk[3]
    calls: list[int] = []
    real = ingest.reextract_article

    def reextract_article(session: Session, article_id: int, **kwargs: Any) -> ingest.Reextraction:
        if article_id == broken:
            calls.append(article_id)
            raise RuntimeError("no luck")
        return real(session, article_id, **kwargs)

    monkeypatch.setattr(reextract.ingest, "reextract_article", reextract_article)
    tasks.reextract_chunk.apply(args=(job_id, chunk))
    assert len(calls) == 3, "the first run and two retries"
    with session_scope(eager.factory, write=False) as session:
        job = job_store.get_job(session, job_id=job_id)
        counts = job_store.item_counts(session, job_id=job_id)
    assert job is not None
    assert counts == {"done": len(chunk) - 1, "failed": 1}
    assert job.state == "failed"
    assert job.error is not None
    assert f"article {broken}: RuntimeError: no luck" in job.error


def test_the_plan_task_queues_chunks_and_the_job_closes_when_they_are_done(
    eager: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[int, list[int]]] = []
    monkeypatch.setattr(tasks.reextract_chunk, "apply_async", lambda args, queue: sent.append(args))
    job_id = _job(eager)
    tasks.plan_reextract.apply(args=(job_id,))
    assert [len(ids) for _, ids in sent] == [5, 5, 5, 5, 2]  # job_chunk_size=5 over 22 articles
    for _, ids in sent:
        tasks.reextract_chunk.apply(args=(job_id, ids))
    with session_scope(eager.factory, write=False) as session:
        job = job_store.get_job(session, job_id=job_id)
    assert job is not None
    assert (job.state, job.total) == ("succeeded", 22)
