"""A real uvicorn server on a free 127.0.0.1 port, over a SQLite file holding the demo data.

The demo database (starter registry + demo corpus, shifts computed at once) is built once and
copied for each server, so a test that writes does not change what another one sees.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from app import auth
from app.cli.main import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.extraction.corpus import read_jsonl
from app.main import create_app
from app.ops import migrate
from app.registry import context as registry_context
from app.registry import edits as registry
from app.schemas import RegistryImport
from tests import factories

STARTUP_SECONDS = 30


def _settings(url: str, *, public_read: bool = True) -> Settings:
    # shifts recomputed inside each write, so a review shows on the next read
    return Settings(
        database_url=url,
        shift_detection="sync",
        public_read=public_read,
        migrate_on_start=False,
        log_level="WARNING",
    )


def seed_database(
    path: Path, registry_data: RegistryImport, articles: Sequence[Any]
) -> tuple[Settings, list[int | None]]:
    """A fresh SQLite file at `path` holding `registry_data` and `articles` (ingested as a batch;
    its shifts computed when it commits: the settings' detection is sync); the settings and each
    article's id."""
    url = f"sqlite:///{path}"
    settings = _settings(url)
    migrate.upgrade(url)
    engine = make_engine(settings)
    try:
        factory = make_sessionmaker(engine, settings)
        with session_scope(factory) as session:
            registry.import_registry(session, registry_data)
        with session_scope(factory) as session:
            context = registry_context.RegistryCache().get(session)
            outcome = factories.ingest_batch(
                session, articles, context=context, engine=settings.extraction_engine
            )
    finally:
        engine.dispose()  # the last connection checkpoints the WAL into the file
    return settings, [result.article_id for result in outcome.results]


def build_demo_database(path: Path) -> Path:
    """`stanceline demo` without the server: a fresh file with the registry and the demo corpus."""
    seed_database(path, registry.read_registry_file(registry.STARTER_REGISTRY), read_jsonl(DEMO_CORPUS))
    return path


def copy_database(template: Path, directory: Path) -> Path:
    target = directory / template.name
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{template}{suffix}")
        if source.exists():
            shutil.copyfile(source, Path(f"{target}{suffix}"))
    return target


def create_key(database: Path, scope: str = "write") -> str:
    engine = make_engine(_settings(f"sqlite:///{database}"))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            _, plain = auth.create_key(session, name=f"browser tests ({scope})", scopes=[scope])
    finally:
        engine.dispose()
    return plain


class LiveServer:
    def __init__(
        self,
        database: Path,
        configure: Callable[[FastAPI], None] | None = None,
        *,
        public_read: bool = True,
    ) -> None:
        self.database = database
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))  # a free port, held until uvicorn takes the socket
        self.port: int = self._socket.getsockname()[1]
        app = create_app(_settings(f"sqlite:///{database}", public_read=public_read))
        if configure is not None:
            configure(app)
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="live-server", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@contextmanager
def live_server(
    database: Path, configure: Callable[[FastAPI], None] | None = None, *, public_read: bool = True
) -> Iterator[LiveServer]:
    server = LiveServer(database, configure, public_read=public_read)
    server.start()
    try:
        yield server
    finally:
        server.stop()
