"""Jobs without a broker: POST /v1/jobs/reextract runs in a thread of the API process, reports its
progress at GET /v1/jobs/{id}, retries failing articles with backoff, records the ones that keep
failing, applies nothing by halves, and is safe to run again or resume."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli.main import cli
from app.config import Settings
from app.db import session_scope
from app.ingest import articles as ingest
from app.jobs import inprocess, reextract
from app.main import create_app
from app.models import Job, JobItem, Observation, utcnow
from app.registry import context as registry_context
from app.store import jobs as job_store
from tests.factories import admin_headers
from tests.jobs.conftest import Database

DEADLINE_SECONDS = 60


def _automatic(db: Database) -> dict[int, set[int]]:
    """Observation ids of automatic observations, per article."""
    with session_scope(db.factory, write=False) as session:
        rows = session.execute(
            select(Observation.article_id, Observation.id).where(Observation.status == "auto")
        ).all()
    found: dict[int, set[int]] = {}
    for article_id, observation_id in rows:
        found.setdefault(int(article_id), set()).add(int(observation_id))
    return found


def _new_job(db: Database) -> int:
    with session_scope(db.factory) as session:
        return reextract.create(session, backend="inprocess", engine="rules").id


def _job(db: Database, job_id: int) -> tuple[Job, dict[str, int]]:
    with session_scope(db.factory, write=False) as session:
        job = job_store.get_job(session, job_id=job_id)
        assert job is not None
        return job, job_store.item_counts(session, job_id=job_id)


def _wait_for_end(read: Any) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        body = read()
        if body["state"] in ("succeeded", "failed"):
            return dict(body)
        time.sleep(0.1)
    raise AssertionError(f"job did not finish in {DEADLINE_SECONDS}s: {body}")


def test_a_reextract_job_runs_in_the_api_process_and_reports_progress(jobs_db: Database) -> None:
    with session_scope(jobs_db.factory) as session:
        reviewed = session.scalars(select(Observation).order_by(Observation.id).limit(1)).one()
        reviewed.status = "verified"
        reviewed_id = reviewed.id
    before = _automatic(jobs_db)
    app = create_app(jobs_db.settings.model_copy(update={"migrate_on_start": False}))
    with TestClient(app, headers=admin_headers(jobs_db.url)) as client:
        created = client.post("/v1/jobs/reextract", json={})
        assert created.status_code == 202, created.text
        job = created.json()
        assert (job["kind"], job["backend"], job["total"]) == ("reextract", "inprocess", 22)
        assert job["state"] in ("queued", "running")
        final = _wait_for_end(lambda: client.get(f"/v1/jobs/{job['id']}").json())
        assert client.get("/v1/jobs").json()["items"][0]["id"] == job["id"]
    assert final["state"] == "succeeded", final
    assert (final["done"], final["failed"], final["missing"], final["progress"]) == (22, 0, 0, 1.0)
    assert final["started_at"] <= final["finished_at"]
    after = _automatic(jobs_db)
    for article_id, ids in after.items():
        assert ids.isdisjoint(before.get(article_id, set())), "every automatic observation was replaced"
    with session_scope(jobs_db.factory, write=False) as session:
        assert session.get(Observation, reviewed_id) is not None, "reviewed observations stay"


def test_bad_requests_and_unknown_jobs(client: TestClient) -> None:
    refused = client.post("/v1/jobs/reextract", json={"engine": "oracle"})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "engine"
    missing = client.get("/v1/jobs/999999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "job_not_found"


def test_failing_articles_are_retried_then_recorded_and_nothing_is_half_applied(
    jobs_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    article_ids = sorted(_automatic(jobs_db))
    broken, flaky = article_ids[0], article_ids[1]
    calls: dict[int, int] = {}
    real = ingest.reextract_article

    def reextract_article(session: Session, article_id: int, **kwargs: Any) -> ingest.Reextraction:
        calls[article_id] = calls.get(article_id, 0) + 1
        done = real(session, article_id, **kwargs)  # the work is done, then the article fails
        if article_id == broken or (article_id == flaky and calls[article_id] == 1):
            raise RuntimeError(f"extractor crashed on {article_id}")
        return done

    monkeypatch.setattr(reextract.ingest, "reextract_article", reextract_article)
    before = _automatic(jobs_db)
    job_id = _new_job(jobs_db)
    settings = jobs_db.settings.model_copy(update={"job_retry_backoff_max_seconds": 1, "job_max_retries": 1})
    inprocess.execute(jobs_db.factory, job_id, settings=settings)

    job, counts = _job(jobs_db, job_id)
    assert job.state == "failed"
    assert counts == {"done": 21, "failed": 1}
    assert job.error is not None
    assert f"article {broken}: RuntimeError: extractor crashed on {broken}" in job.error
    assert calls[broken] == settings.job_max_retries + 1, "first attempt plus every retry"
    assert calls[flaky] == 2
    assert _automatic(jobs_db).get(broken) == before.get(broken), "the failed article kept its observations"


def test_a_chunk_run_again_skips_what_it_finished(jobs_db: Database) -> None:
    job_id = _new_job(jobs_db)
    chunks = list(reextract.plan(jobs_db.factory, job_id, chunk_size=100))
    assert len(chunks) == 1
    cache = registry_context.RegistryCache()
    run = {"settings": jobs_db.settings, "cache": cache, "record_failures": True}
    first = reextract.run_chunk(jobs_db.factory, job_id, chunks[0], **run)
    observed = _automatic(jobs_db)
    second = reextract.run_chunk(jobs_db.factory, job_id, chunks[0], **run)
    assert (first.done, first.skipped) == (22, 0)
    assert (second.done, second.skipped) == (0, 22)
    assert _automatic(jobs_db) == observed
    assert reextract.finish_if_complete(jobs_db.factory, job_id, settings=jobs_db.settings)
    with session_scope(jobs_db.factory, write=False) as session:
        per_article = session.execute(
            select(JobItem.article_id, func.count())
            .where(JobItem.job_id == job_id)
            .group_by(JobItem.article_id)
        ).all()
    assert len(per_article) == 22
    assert {count for _, count in per_article} == {1}


def test_an_interrupted_job_goes_back_to_the_queue_and_is_resumed(jobs_db: Database) -> None:
    job_id = _new_job(jobs_db)
    stop = threading.Event()
    stop.set()
    inprocess.execute(jobs_db.factory, job_id, settings=jobs_db.settings, stop=stop)
    job, counts = _job(jobs_db, job_id)
    assert (job.state, counts) == ("queued", {})

    runner = inprocess.InProcessRunner(jobs_db.settings, jobs_db.factory)
    assert job_id not in runner.resume_orphans(), "a fresh heartbeat means someone may still run it"
    with session_scope(jobs_db.factory) as session:
        stale = utcnow() - timedelta(seconds=inprocess.STALE_SECONDS + 1)
        session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=stale))
    try:
        assert job_id in runner.resume_orphans()
        assert job_id not in runner.resume_orphans(), "claimed once"
        final = _wait_for_end(lambda: _read(jobs_db, job_id))
    finally:
        runner.stop()
    assert final["state"] == "succeeded"
    assert final["done"] == 22


def _read(db: Database, job_id: int) -> dict[str, Any]:
    job, counts = _job(db, job_id)
    return {"state": job.state, "done": counts.get("done", 0)}


def test_the_command_line_runs_and_shows_a_job(jobs_db: Database) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["jobs", "reextract", "--database-url", jobs_db.url])
    assert result.exit_code == 0, result.output
    assert "re-extraction of 22 articles (inprocess)" in result.output
    assert "succeeded: 22 re-extracted, 0 missing, 0 failed" in result.output
    job_id = int(result.output.split("job ", 1)[1].split(":", 1)[0])
    shown = runner.invoke(cli, ["jobs", "show", str(job_id), "--database-url", jobs_db.url])
    assert shown.exit_code == 0
    assert '"state": "succeeded"' in shown.output
    assert runner.invoke(cli, ["jobs", "show", "999999", "--database-url", jobs_db.url]).exit_code == 2


def test_settings_choose_the_backend() -> None:
    from app import jobs

    assert jobs.backend_for(Settings()) == "inprocess"
    assert jobs.backend_for(Settings(broker_url="redis://127.0.0.1:6379/0")) == "celery"
