from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, status

from app import jobs
from app.api.deps import AdminAccess, SettingsDep
from app.api.params import RowId
from app.db import SessionDep
from app.errors import InvalidInput, NotFound
from app.extraction import resolve_engine
from app.jobs import reextract
from app.models import Job
from app.pagination import CursorParam, Limit, decode_cursor, encode_cursor
from app.schemas import MAX_ID, JobRead, Page, ReextractCreate
from app.store import jobs as job_store

router = APIRouter(prefix="/jobs", tags=["jobs"])

ERRORS: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid input; the body names the field"}}


@router.post(
    "/reextract",
    dependencies=[AdminAccess],
    response_model=JobRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS,
)
def create_reextract_job(
    data: ReextractCreate,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    background_tasks: BackgroundTasks,
) -> JobRead:
    """Re-extract every stored article (or those published in [from, to)) in the background, after a
    registry or topic change or with another engine. Each article is one transaction: its unreviewed
    automatic observations are replaced; manual and reviewed ones stay. Follow it at GET /v1/jobs/{id}."""
    try:
        engine = resolve_engine(data.engine) if data.engine else settings.extraction_engine
    except ValueError as error:
        raise InvalidInput(str(error), field="engine") from error
    job = reextract.create(
        session,
        backend=jobs.backend_for(settings),
        engine=engine,
        published_from=data.published_from,
        published_to=data.published_to,
    )
    # started once the request's transaction has committed, so the job's row is there to be read
    background_tasks.add_task(
        jobs.dispatch,
        request.app.state.sessionmaker,
        job.id,
        settings=settings,
        runner=getattr(request.app.state, "job_runner", None),
    )
    return job_read(job, {})


@router.get("", response_model=Page[JobRead], responses=ERRORS)
def list_jobs(session: SessionDep, limit: Limit = 100, cursor: CursorParam = None) -> Page[JobRead]:
    """Jobs, newest first."""
    before = _before_id(cursor) if cursor is not None else None
    rows = job_store.list_jobs(session, before_id=before, limit=limit + 1)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
    reads = [job_read(j, job_store.item_counts(session, job_id=j.id)) for j in items]
    return Page[JobRead](items=reads, next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobRead, responses={404: {}})
def get_job(job_id: RowId, session: SessionDep) -> JobRead:
    """A job's state (queued, running, succeeded, failed), progress and error."""
    job = job_store.get_job(session, job_id=job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job_read(job, job_store.item_counts(session, job_id=job_id))


def job_read(job: Job, counts: dict[str, int]) -> JobRead:
    finished = sum(counts.values())
    progress = 1.0 if job.state == "succeeded" else min(1.0, finished / job.total) if job.total else 0.0
    return JobRead(
        id=job.id,
        kind=job.kind,
        state=job.state,
        backend=job.backend,
        total=job.total,
        done=counts.get("done", 0),
        missing=counts.get("missing", 0),
        failed=counts.get("failed", 0),
        progress=progress,
        error=job.error,
        params=dict(job.params),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _before_id(cursor: str) -> int:
    (last_id,) = decode_cursor(cursor, 1)
    if type(last_id) is not int or not 0 <= last_id <= MAX_ID:
        raise InvalidInput("cursor is not one this service issued", field="cursor")
    return last_id
