"""The FastAPI application: create_app(settings) builds everything from explicit settings."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import SQLAlchemyError

from app import __version__
from app.api import actors, agreement, articles, health, keys, registry, shifts, stances, timelines, topics
from app.api import extract as extract_api
from app.api import extractor as extractor_api
from app.api import feeds as feeds_api
from app.api import jobs as jobs_api
from app.api import review as review_api
from app.api import web as web_api
from app.api.deps import ACCESS_ERRORS, ReadAccess, key_refusal
from app.api.read_cache import ReadCache, RevisionReads
from app.config import Settings, get_settings
from app.db import (
    DatabaseUnavailable,
    InlineReads,
    make_engine,
    make_inline_reader,
    make_sessionmaker,
    session_scope,
)
from app.errors import install_error_handlers
from app.extraction import configure as configure_extraction
from app.extraction import resolve_engine
from app.jobs import extraction_announcer, extraction_pool
from app.jobs.inprocess import InProcessRunner
from app.jobs.periodic import BackgroundWorker
from app.ops import metrics, migrate
from app.ops.limits import TOO_LARGE, BodySizeLimit
from app.ops.observability import REQUEST_ID_HEADER, RequestContextMiddleware, configure_logging
from app.registry.context import RegistryCache
from app.store import extraction_queue as queue_store
from app.web import install_dashboard

logger = logging.getLogger(__name__)

DESCRIPTION = """
Stanceline records which **actor** takes which **stance** on which **topic**, when, with the
sentence that shows it, and serves **timelines** of those stances.

Every error has the body `{"error": {"code", "message", "field"}}`.
"""


_startup_frozen = False


def _freeze_startup_objects() -> None:
    """What is loaded by the first start (libraries, the app) lives as long as the process: out of
    the collector's sight, a full collection no longer walks it. Those walks were the cached
    reads' tail: p99 about 110 ms under 32 connections, 8-14 ms with this (bench.http). Once per
    process: a process that builds many apps (the tests) must not freeze each one's garbage."""
    global _startup_frozen
    if _startup_frozen:
        return
    _startup_frozen = True
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_extraction(settings)  # the llm engine's endpoint, for this process
    # an engine whose optional packages are missing falls back to the rules engine, loudly
    settings = settings.model_copy(update={"extraction_engine": resolve_engine(settings.extraction_engine)})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, json=settings.log_format == "json")
        if settings.migrate_on_start if settings.migrate_on_start is not None else settings.is_sqlite:
            migrate.upgrade(settings.database_url)
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine, settings)
        inline_engine = make_engine(settings, single_connection=True)
        app.state.inline_reader = make_inline_reader(inline_engine)
        app.state.inline_reads = InlineReads(timeout=settings.db_connect_timeout_seconds)
        worker = (
            BackgroundWorker(settings, app.state.sessionmaker) if BackgroundWorker.needed(settings) else None
        )
        if worker is not None:
            worker.start()
        # without a broker, jobs run in threads of the API processes (and resume here if orphaned)
        runner = None if settings.broker_url else InProcessRunner(settings, app.state.sessionmaker)
        app.state.job_runner = runner
        if runner is not None:
            runner.resume_orphans()
        pool = extraction_pool(settings, app.state.sessionmaker)
        app.state.extraction_pool = pool
        app.state.extraction_announcer = extraction_announcer(settings, pool)
        if pool is not None:
            pool.start()
        _freeze_startup_objects()
        try:
            yield
        finally:
            if pool is not None:
                pool.stop(timeout=settings.shutdown_timeout_seconds)
            if runner is not None:
                runner.stop()
            if worker is not None:
                worker.stop()
            app.state.inline_reads.close()
            inline_engine.dispose()
            engine.dispose()

    # /docs and /redoc served from assets in the fastapi-offline package: no CDN, works with no network
    app = FastAPIOffline(title="Stanceline", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.registry_cache = RegistryCache()
    app.state.read_cache = ReadCache.for_settings(settings)
    app.state.revision_reads = RevisionReads()
    install_error_handlers(app, key_refusal=key_refusal)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout_seconds
    )
    if settings.cors_origins:  # off unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "X-Next-Cursor"],
        )
    # outermost, so every answer (413s, CORS preflights, errors) gets a request id, a log line and a count
    app.add_middleware(RequestContextMiddleware)
    for router in (
        articles.router,
        actors.router,
        topics.router,
        registry.router,
        stances.router,
        review_api.router,
        timelines.router,
        shifts.router,
        agreement.router,
        keys.router,
        feeds_api.router,
        jobs_api.router,
        extract_api.router,
        extractor_api.router,
    ):
        app.include_router(
            router, prefix="/v1", dependencies=[ReadAccess], responses={**ACCESS_ERRORS, **TOO_LARGE}
        )
    app.include_router(health.router)
    # the dashboard's own reads, under /web: the same key as the rest of the API
    app.include_router(web_api.router, dependencies=[ReadAccess], responses=ACCESS_ERRORS)

    @app.get("/metrics", include_in_schema=False)
    def get_metrics() -> Response:
        """Prometheus text exposition (no API key: keep the port private or filter it at the proxy)."""
        body, content_type = metrics.exposition()
        try:
            with session_scope(app.state.sessionmaker, write=False) as session:
                queue = queue_store.queue_state(session)
            body += metrics.queue_exposition(queue.pending, queue.failed, queue.lag_seconds())
        except (SQLAlchemyError, DatabaseUnavailable):  # the process's own metrics still count
            logger.warning("metrics.queue_unreadable", exc_info=True)
        return Response(body, media_type=content_type)

    install_dashboard(app)

    return app
