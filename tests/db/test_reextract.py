from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app import db
from app.cli.main import cli
from app.ingest import articles as ingest
from app.jobs import reextract as reextract_jobs
from app.models import Observation
from app.registry import context as registry_context
from app.registry.edits import STARTER_REGISTRY
from tests.factories import article_payload, make_article

pytestmark = pytest.mark.usefixtures("starter_registry")

TEXT = (
    "PARIS, March 26 - European leaders are taking a step back from sending ground troops to Ukraine. "
    "Russia has repeatedly said it would never accept foreign troops in Ukraine. "
    "Britain has trained thousands of Ukrainian recruits and said it would keep training them."
)


def _observations(session: Session, article_id: int) -> list[Observation]:
    stmt = select(Observation).where(Observation.article_id == article_id).order_by(Observation.id)
    return list(session.scalars(stmt))


def test_reextract_keeps_manual_and_reviewed_and_adds_no_twins(session: Session) -> None:
    article = make_article(session, text=TEXT).article
    automatic = _observations(session, article.id)
    assert len(automatic) >= 3
    verified, rejected, untouched = automatic[0], automatic[1], automatic[2:]
    verified.status, rejected.status = "verified", "rejected"
    session.add(
        Observation(
            actor_id=verified.actor_id,
            topic_id=verified.topic_id,
            article_id=article.id,
            score=0.5,
            label="support",
            confidence=1.0,
            observed_at=verified.observed_at,
            method="manual",
            status="verified",
        )
    )
    session.flush()
    untouched_ids = {o.id for o in untouched}

    context = registry_context.load_registry_context(session)
    done = ingest.reextract_article(session, article.id, context=context, engine="rules")
    session.expire_all()
    after = _observations(session, article.id)

    assert done.removed == len(untouched)
    assert done.added == len(untouched)
    assert {o.id for o in after}.isdisjoint(untouched_ids)
    kept = [(o.status, o.method) for o in after if o.status != "auto"]
    assert sorted(kept) == [("rejected", "rules"), ("verified", "manual"), ("verified", "rules")]
    keys = [(o.actor_id, o.topic_id, o.observed_at.date()) for o in after if o.method != "manual"]
    assert len(keys) == len(set(keys)), "no automatic twin next to a reviewed observation"
    assert all(o.extractor_version for o in after if o.method != "manual")


def test_reextract_command_walks_every_article(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    runner = CliRunner()
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(orjson.dumps(article_payload(text=TEXT)) for _ in range(3)))
    assert (
        runner.invoke(cli, ["registry", "load", str(STARTER_REGISTRY), "--database-url", url]).exit_code == 0
    )
    assert runner.invoke(cli, ["ingest", str(feed), "--database-url", url]).exit_code == 0
    result = runner.invoke(cli, ["reextract", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "re-extracted 3 articles" in result.output
    unknown = runner.invoke(cli, ["reextract", "--database-url", url, "--engine", "oracle"])
    assert unknown.exit_code == 2


def test_reextract_command_extracts_before_each_write_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`stanceline reextract` extracts each article with no transaction open, and takes the write
    transaction (SQLite's write lock) only to store what it extracted."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    runner = CliRunner()
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\n".join(orjson.dumps(article_payload(text=TEXT)) for _ in range(2)))
    assert (
        runner.invoke(cli, ["registry", "load", str(STARTER_REGISTRY), "--database-url", url]).exit_code == 0
    )
    assert runner.invoke(cli, ["ingest", str(feed), "--database-url", url]).exit_code == 0

    log: list[str] = []
    real_scope, real_extract = db.session_scope, ingest._extract

    @contextmanager
    def scope(factory: Any, *, write: bool = True) -> Iterator[Session]:
        log.append("begin" if write else "read")
        with real_scope(factory, write=write) as session:
            yield session
        log.append("end" if write else "read-end")

    def extract(text: Any, **kwargs: Any) -> Any:
        log.append("extract")
        return real_extract(text, **kwargs)

    monkeypatch.setattr(db, "session_scope", scope)
    monkeypatch.setattr(reextract_jobs, "session_scope", scope)
    monkeypatch.setattr(ingest, "_extract", extract)
    result = runner.invoke(cli, ["reextract", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert log.count("extract") == 2
    inside = False
    for event in log:
        inside = {"begin": True, "end": False}.get(event, inside)
        assert not (inside and event == "extract"), f"extraction inside the write transaction: {log}"
