"""`stanceline ingest` killed with SIGKILL half-way (its extraction workers with it): every stored
article is either extracted whole or still pending, and running it again stores and extracts the
rest with no duplicates (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import orjson
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from app.cli.main import DEMO_CORPUS
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.extraction import build_extractor
from app.extraction.types import ArticleText, RegistrySnapshot
from app.models import Article, Observation
from app.ops import migrate
from app.registry import edits as registry
from app.schemas import ArticleCreate
from tests.conftest import create_database

ARTICLES = 1000
KILL_AT = ARTICLES // 2


@cache
def _corpus() -> tuple[dict[str, object], ...]:
    """1,000 distinct articles: the demo corpus's first paragraphs (where most claims are), copied
    under new urls with a line of their own."""
    demo = [json.loads(line) for line in DEMO_CORPUS.read_text(encoding="utf-8").splitlines()]
    rows = []
    for n in range(ARTICLES):
        article = dict(demo[n % len(demo)])
        article.pop("gold", None)
        article["url"] = f"{article['url']}?copy={n}"
        lead = "\n\n".join(str(article["text"]).split("\n\n")[:3])
        article["text"] = f"{lead}\n\nCopy {n}."
        rows.append(article)
    return tuple(rows)


@cache
def _expected_observations() -> dict[str, int]:
    """What one uninterrupted ingest stores per url (extraction is deterministic)."""
    rows = _corpus()
    snapshot = RegistrySnapshot.from_dict(orjson.loads(registry.STARTER_REGISTRY.read_bytes()))
    extractor = build_extractor(snapshot, "rules")
    expected = {}
    for row in rows:
        data = ArticleCreate.model_validate(row)
        found = extractor.extract(
            ArticleText(text=data.text, published_at=data.published_at, title=data.title)
        )
        expected[str(row["url"])] = len(found)
    return expected


def _stored(engine: Engine, *, pending: bool = False) -> dict[str, int]:
    """Observations per stored article url (`pending`: of the articles still waiting for extraction)."""
    stmt = (
        select(Article.url, func.count(Observation.id))
        .outerjoin(Observation, Observation.article_id == Article.id)
        .group_by(Article.id, Article.url)
    )
    if pending:
        stmt = stmt.where(Article.extraction_state == "pending")
    with engine.connect() as connection:
        return {str(url): int(count) for url, count in connection.execute(stmt)}


def _ingest(url: str, corpus: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STANCELINE_EXTRACTION_ENGINE": "rules", "STANCELINE_SHIFT_DETECTION": "deferred"}
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "ingest",
        str(corpus),
        "--batch-size",
        "25",
        "--database-url",
        url,
    ]
    # a session of its own: its extraction workers are in its process group, and only it is killed
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _group_ends(group: int, timeout: float = 15.0) -> bool:
    """Whether every process of `group` (the killed command's extraction workers) is gone in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _check_kill_and_resume(url: str, tmp_path: Path) -> None:
    corpus = tmp_path / "articles.jsonl"
    corpus.write_text("\n".join(json.dumps(row) for row in _corpus()), encoding="utf-8")
    expected = _expected_observations()
    migrate.upgrade(url)
    engine = make_engine(Settings(database_url=url))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
        process = _ingest(url, corpus)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with engine.connect() as connection:
                if (connection.scalar(select(func.count()).select_from(Article)) or 0) >= KILL_AT:
                    break
            time.sleep(0.02)
        assert process.poll() is None, "the ingest finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait()
        # the orphaned extraction workers see their parent's pipe end, finish the article in hand, stop
        assert _group_ends(process.pid), "extraction workers outlived the killed command"
        # read in this order, an article extracted between the two reads is not taken for partial
        waiting = _stored(engine, pending=True)
        after_kill = _stored(engine)
        partial = sum(1 for u, n in after_kill.items() if n != expected[u] and u not in waiting)
        assert KILL_AT <= len(after_kill) < ARTICLES
        assert partial == 0
        assert all(n == 0 for n in waiting.values())

        resumed = _ingest(url, corpus)
        assert resumed.wait(timeout=300) == 0
        final = _stored(engine)
        with engine.connect() as connection:
            articles = connection.scalar(select(func.count()).select_from(Article))
            observations = connection.scalar(select(func.count()).select_from(Observation))
        assert final == expected
        assert articles == ARTICLES
        assert observations == sum(expected.values())
        print(
            f"\ncrash safety ({url.split(':', 1)[0]}): killed with {len(after_kill)} of {ARTICLES} articles "
            f"stored ({len(waiting)} waiting for extraction), partial articles found: {partial}; after the rerun {articles} articles, "
            f"{observations} observations, duplicates: {observations - sum(expected.values())}"
        )
    finally:
        engine.dispose()


def test_sqlite_kill_and_resume(tmp_path: Path) -> None:
    _check_kill_and_resume(f"sqlite:///{tmp_path / 'crash.db'}", tmp_path)


def test_postgresql_kill_and_resume(tmp_path: Path) -> None:
    url, drop = create_database("postgresql", tmp_path)
    try:
        _check_kill_and_resume(url, tmp_path)
    finally:
        drop()
