"""The FastAPI application: create_app(settings) builds everything from explicit settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline

from app import __version__, migrate
from app.api import actors, agreement, articles, health, registry, shifts, stances, timelines, topics
from app.background import BackgroundWorker
from app.config import Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.extraction import resolve_engine
from app.ingest import RegistryCache
from app.logs import configure_logging

DESCRIPTION = """
Stanceline records which **actor** takes which **stance** on which **topic**, when, with the
sentence that shows it, and serves **timelines** of those stances.

Every error has the body `{"error": {"code", "message", "field"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # an engine whose optional packages are missing falls back to the rules engine, loudly
    settings = settings.model_copy(update={"extraction_engine": resolve_engine(settings.extraction_engine)})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        if settings.migrate_on_start if settings.migrate_on_start is not None else settings.is_sqlite:
            migrate.upgrade(settings.database_url)
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        worker = (
            BackgroundWorker(settings, app.state.sessionmaker) if BackgroundWorker.needed(settings) else None
        )
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            engine.dispose()

    # /docs and /redoc served from assets in the fastapi-offline package: no CDN, works with no network
    app = FastAPIOffline(title="Stanceline", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.registry_cache = RegistryCache()
    install_error_handlers(app)
    for router in (
        articles.router,
        actors.router,
        topics.router,
        registry.router,
        stances.router,
        timelines.router,
        shifts.router,
        agreement.router,
    ):
        app.include_router(router, prefix="/v1")
    app.include_router(health.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app
