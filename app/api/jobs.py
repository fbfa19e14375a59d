from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, status
from sqlalchemy.orm import Session

from app import jobs
from app.api.deps import INVALID_INPUT, AdminAccess, SettingsDep, or_not_found
from app.api.params import RowId
from app.config import Settings
from app.db import SessionDep
from app.errors import InvalidInput
from app.extraction import resolve_engine
from app.jobs import reextract
from app.models import Job
from app.pagination import CursorParam, Limit, decode_id_cursor, encode_cursor
from app.registry.reach import Reach
from app.schemas import JobRead, Page, ReextractCreate, ReextractionStarted
from app.store import jobs as job_store

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post(
    "/reextract",
    dependencies=[AdminAccess],
    response_model=JobRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=INVALID_INPUT,
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
    _dispatch_after_commit(job.id, request=request, background_tasks=background_tasks, settings=settings)
    return job_read(job, {})


def _dispatch_after_commit(
    job_id: int, *, request: Request, background_tasks: BackgroundTasks, settings: Settings
) -> None:
    # started once the request's transaction has committed, so the job's row is there to be read
    background_tasks.add_task(
        jobs.dispatch,
        request.app.state.sessionmaker,
        job_id,
        settings=settings,
        runner=getattr(request.app.state, "job_runner", None),
    )


class ReextractAfterWrite:
    """What a registry write (topics, actors, registry import) needs to start the re-extraction of
    the stored articles it can change, and the request's `reextract` choice."""

    def __init__(
        self,
        request: Request,
        background_tasks: BackgroundTasks,
        settings: SettingsDep,
        reextract: Annotated[
            bool,
            Query(
                description=(
                    "Re-extract, in the background, the stored articles this change can affect "
                    "(the answer's `reextraction` names the job); false: leave them as they are"
                )
            ),
        ] = True,
    ) -> None:
        self.request, self.background_tasks, self.settings = request, background_tasks, settings
        self.wanted = reextract

    def start(self, session: Session, change: Reach, *, reason: str) -> ReextractionStarted | None:
        """Record the job in the request's transaction, to start once it has committed."""
        if not self.wanted:
            return None
        job = reextract.create_for_change(
            session,
            change,
            backend=jobs.backend_for(self.settings),
            engine=self.settings.extraction_engine,
            reason=reason,
        )
        if job is None:
            return None
        _dispatch_after_commit(
            job.id, request=self.request, background_tasks=self.background_tasks, settings=self.settings
        )
        status_url = str(self.request.app.url_path_for("get_job", job_id=job.id))
        return ReextractionStarted(job_id=job.id, articles=job.total, status_url=status_url)


ReextractAfterWriteDep = Annotated[ReextractAfterWrite, Depends()]


@router.get("", response_model=Page[JobRead], responses=INVALID_INPUT)
def list_jobs(session: SessionDep, limit: Limit = 100, cursor: CursorParam = None) -> Page[JobRead]:
    """Jobs, newest first."""
    before = decode_id_cursor(cursor) if cursor is not None else None
    rows = job_store.list_jobs(session, before_id=before, limit=limit + 1)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
    reads = [job_read(j, job_store.item_counts(session, job_id=j.id)) for j in items]
    return Page[JobRead](items=reads, next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobRead, responses={404: {}})
def get_job(job_id: RowId, session: SessionDep) -> JobRead:
    """A job's state (queued, running, succeeded, failed), progress and error."""
    job = or_not_found(job_store.get_job(session, job_id=job_id), "job", job_id)
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
