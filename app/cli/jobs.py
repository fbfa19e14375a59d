"""`stanceline feeds ...` and `stanceline jobs ...`: feeds from a terminal or cron, jobs with a
progress bar read from the job table (the same jobs GET /v1/jobs/{id} reports)."""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app.cli.common import DatabaseOption, console, extracting, fail

# the commands import what they use when they run: `stanceline --help` stays light
if TYPE_CHECKING:
    import httpx
    from sqlalchemy.orm import Session, sessionmaker

    from app.config import Settings
    from app.registry import context as registry_context
    from app.schemas import JobRead

feeds_cli = typer.Typer(help="RSS and Atom feeds.", no_args_is_help=True)
jobs_cli = typer.Typer(
    help="Background jobs (Celery with STANCELINE_BROKER_URL, else in-process).", no_args_is_help=True
)

FOLLOW_SECONDS = 0.5


def register(cli: typer.Typer) -> None:
    cli.add_typer(feeds_cli, name="feeds")
    cli.add_typer(jobs_cli, name="jobs")


def _settings(database_url: str | None) -> Settings:
    from app.config import get_settings

    settings = get_settings()
    return settings.model_copy(update={"database_url": database_url} if database_url else {})


def _factory(settings: Settings) -> sessionmaker[Session]:
    from app.db import make_engine, make_sessionmaker
    from app.ops import migrate

    migrate.upgrade(settings.database_url)
    return make_sessionmaker(make_engine(settings), settings)


@feeds_cli.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="The RSS or Atom document's URL")],
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Topic hint (repeatable)")] = None,
    interval: Annotated[int, typer.Option(min=60, help="Seconds between polls")] = 900,
    database_url: DatabaseOption = None,
) -> None:
    """Register a feed (or update the one with this url)."""
    from app.db import session_scope
    from app.errors import StancelineError
    from app.feeds.registration import register_feed
    from app.schemas import FeedCreate, FeedRead

    settings = _settings(database_url)
    factory = _factory(settings)
    try:
        data = FeedCreate(url=url, topic_hints=topic or [], poll_interval_seconds=interval)
        with session_scope(factory) as session:
            feed, created = register_feed(session, data, allow_private=settings.feed_allow_private)
            read = FeedRead.model_validate(feed)
    except (StancelineError, ValueError) as error:
        raise fail(str(error)) from error
    console.print(f"feed {read.id} {'added' if created else 'updated'}: {read.url}")


@feeds_cli.command("list")
def feeds_list(database_url: DatabaseOption = None) -> None:
    """Every feed and its polling state."""
    from app.db import session_scope
    from app.schemas import FeedRead
    from app.store import feeds as feed_store

    factory = _factory(_settings(database_url))
    with session_scope(factory, write=False) as session:
        rows = [FeedRead.model_validate(f) for f in feed_store.list_feeds(session, limit=100_000)]
    table = Table("id", "url", "hints", "every", "last poll", "status", "failures", "next poll", "ingested")
    for f in rows:
        table.add_row(
            str(f.id),
            f.url,
            ",".join(f.topic_hints),
            f"{f.poll_interval_seconds}s",
            _when(f.last_polled_at),
            f"{f.last_status or ''} {f.last_error or ''}".strip(),
            str(f.failures),
            _when(f.next_poll_at),
            str(f.entries_ingested),
        )
    # a terminal's own width; piped (scripts, tests), wide enough for urls not to be cut
    Console(width=None if sys.stdout.isatty() else 220).print(table)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


@feeds_cli.command("poll")
def feeds_poll(
    once: Annotated[bool, typer.Option("--once", help="One round of the due feeds, then exit")] = False,
    every_feed: Annotated[bool, typer.Option("--all", help="Poll every active feed now, due or not")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Poll due feeds and ingest their new entries: one round with --once (for cron), else a round
    every STANCELINE_FEED_POLL_SECONDS until interrupted."""
    from app import feeds
    from app.db import session_scope
    from app.models import utcnow
    from app.registry import context as registry_context
    from app.store import feeds as feed_store

    settings = extracting(_settings(database_url))  # what the poll queued is extracted here
    factory = _factory(settings)
    cache = registry_context.RegistryCache()
    with feeds.http_client(settings) as client:
        while True:
            if every_feed:
                with session_scope(factory) as session:
                    feed_store.make_all_due(session, now=utcnow())
            claimed = feeds.claim_due(factory, settings=settings, limit=100_000)
            _poll_round(factory, claimed, settings=settings, client=client, cache=cache)
            every_feed = False
            if once:
                return
            time.sleep(settings.feed_poll_seconds)


def _poll_round(
    factory: sessionmaker[Session],
    claimed: list[int],
    *,
    settings: Settings,
    client: httpx.Client,
    cache: registry_context.RegistryCache,
) -> None:
    from app import feeds

    created = failed = copies = queued = 0
    columns = (TextColumn("polling feeds"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("feeds", total=len(claimed))
        for feed_id in claimed:
            result = feeds.poll_feed(factory, feed_id, settings=settings, client=client, cache=cache)
            created += result.statuses["created"]
            copies += result.copies
            queued += result.queued
            if result.outcome == "failed":
                failed += 1
                progress.console.print(f"[yellow]feed {feed_id}:[/yellow] {result.error}", soft_wrap=True)
            progress.advance(task)
    console.print(
        f"{len(claimed)} feeds polled, {failed} failed; {created} articles created "
        f"({copies} of them syndicated copies)"
    )
    if queued:
        _extract_queued(factory, settings=settings, cache=cache)


def _extract_queued(
    factory: sessionmaker[Session], *, settings: Settings, cache: registry_context.RegistryCache
) -> None:
    """A poll from a shell (cron) extracts what it queued before it ends, as `stanceline ingest`
    does: it may be the only process of the deployment."""
    from app.jobs import extraction
    from app.jobs import periodic as background

    columns = (TextColumn("extracting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("extracting", total=None)
        outcome = extraction.drain(
            factory, settings=settings, cache=cache, on_article=lambda _: progress.advance(task)
        )
    background.run_once(settings, factory, settle=False)
    console.print(f"{outcome.done} articles extracted, {outcome.failed} failed, {outcome.retry} to retry")


@jobs_cli.command("reextract")
def jobs_reextract(
    engine: Annotated[str | None, typer.Option(help="Default: STANCELINE_EXTRACTION_ENGINE")] = None,
    published_from: Annotated[datetime | None, typer.Option("--from", help="Articles published from")] = None,
    published_to: Annotated[datetime | None, typer.Option("--to", help="... and before")] = None,
    detach: Annotated[bool, typer.Option("--detach", help="With a broker: queue it and exit")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Re-extract stored articles as a job: on the Celery workers when STANCELINE_BROKER_URL is set,
    else here, one transaction per article; either way with a progress bar."""
    from app import jobs
    from app.db import session_scope
    from app.extraction import resolve_engine
    from app.jobs import reextract

    settings = extracting(_settings(database_url))
    try:
        engine_name = resolve_engine(engine) if engine else settings.extraction_engine
    except ValueError as error:
        raise fail(str(error)) from error
    factory = _factory(settings)
    with session_scope(factory) as session:
        job = reextract.create(
            session,
            backend=jobs.backend_for(settings),
            engine=engine_name,
            published_from=_aware(published_from),
            published_to=_aware(published_to),
        )
        job_id = job.id
    console.print(f"job {job_id}: re-extraction of {job.total} articles ({jobs.backend_for(settings)})")
    run_job(factory, job_id, settings=settings, wait=not (detach and settings.broker_url))


def run_job(factory: sessionmaker[Session], job_id: int, *, settings: Settings, wait: bool = True) -> None:
    """Start a committed job: on the Celery workers when STANCELINE_BROKER_URL is set, else in a
    thread here; with `wait`, follow it with a progress bar until it ends (exit 1 if it failed).

    Without a broker and without `wait` the job stays queued: an API process started later runs it.
    """
    from app import jobs
    from app.jobs import inprocess

    if settings.broker_url:
        jobs.dispatch(factory, job_id, settings=settings, runner=None)
        if wait:
            _follow(factory, job_id)
        return
    if not wait:
        console.print(
            f"job {job_id} is queued: with no broker (STANCELINE_BROKER_URL) an API process runs it "
            f"when it starts; `stanceline jobs show {job_id}` reports it",
            soft_wrap=True,
        )
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=inprocess.execute, args=(factory, job_id), kwargs={"settings": settings, "stop": stop}
    )
    thread.start()
    try:
        _follow(factory, job_id, thread=thread)
    except KeyboardInterrupt:
        stop.set()
        thread.join()
        console.print(f"interrupted: job {job_id} is queued again; an API process resumes it")
        raise typer.Exit(code=130) from None


def _aware(value: datetime | None) -> datetime | None:
    return value.astimezone() if value is not None and value.tzinfo is None else value


@jobs_cli.command("show")
def jobs_show(
    job_id: Annotated[int, typer.Argument(help="The job's id")],
    follow: Annotated[bool, typer.Option("--follow", help="Progress bar until it ends")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """A job's state and progress (as GET /v1/jobs/{id})."""
    factory = _factory(_settings(database_url))
    if follow:
        _follow(factory, job_id)
        return
    read = _read(factory, job_id)
    console.print_json(read.model_dump_json())


def _read(factory: sessionmaker[Session], job_id: int) -> JobRead:
    from app.api.jobs import job_read
    from app.db import session_scope
    from app.store import jobs as job_store

    with session_scope(factory, write=False) as session:
        job = job_store.get_job(session, job_id=job_id)
        if job is None:
            raise fail(f"job {job_id} does not exist")
        return job_read(job, job_store.item_counts(session, job_id=job_id))


def _follow(factory: sessionmaker[Session], job_id: int, *, thread: threading.Thread | None = None) -> None:
    """A progress bar from the job's row and items, until the job ends (exit 1 if it failed)."""
    columns = (TextColumn(f"job {job_id}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        read = _read(factory, job_id)
        task = progress.add_task("job", total=read.total)
        while True:
            read = _read(factory, job_id)
            progress.update(task, total=read.total, completed=read.done + read.missing + read.failed)
            if read.state in ("succeeded", "failed"):
                break
            if thread is not None and not thread.is_alive() and read.state == "queued":
                break  # interrupted in-process run
            time.sleep(FOLLOW_SECONDS)
    console.print(
        f"job {job_id} {read.state}: {read.done} re-extracted, {read.missing} missing, {read.failed} failed"
        + (f"; {read.error}" if read.error else ""),
        soft_wrap=True,
    )
    if read.state == "failed":
        raise typer.Exit(code=1)
