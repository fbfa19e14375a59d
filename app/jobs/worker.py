"""What a Celery worker process holds: its settings, a database engine and caches, built lazily
in each pool process (never inherited across a fork)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session, sessionmaker

from app import extraction, feeds
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.registry import context as registry_context


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    factory: sessionmaker[Session]
    cache: registry_context.RegistryCache
    http: httpx.Client


_settings: Settings | None = None
_runtime: tuple[int, Runtime] | None = None


def configure(settings: Settings) -> None:
    """Called once by the worker's entry module (app.jobs.celery_app)."""
    global _settings, _runtime
    _settings, _runtime = settings, None
    extraction.configure(settings)  # the llm engine's endpoint (pool processes inherit it)


def runtime() -> Runtime:
    global _runtime
    if _settings is None:
        raise RuntimeError(
            "app.jobs.worker.configure() was not called: start workers with -A app.jobs.celery_app"
        )
    if _runtime is None or _runtime[0] != os.getpid():
        engine = make_engine(_settings)
        _runtime = (
            os.getpid(),
            Runtime(
                _settings,
                make_sessionmaker(engine, _settings),
                registry_context.RegistryCache(),
                feeds.http_client(_settings),
            ),
        )
    return _runtime[1]
