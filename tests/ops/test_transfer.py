"""`stanceline export --all` / `stanceline import`: a database round-trips with nothing lost.

The source holds the starter registry, the demo corpus with its shifts, a revised article, a
manual stance, a review, an API key, a webhook delivery, a queued shift refresh and a topic whose
parent has a higher id. Checks are independent of the transfer module's own hash: per-table row
counts, a per-table hash of every row read back through the ORM tables, and the two exports
compared line by line.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from app import auth, review
from app.cli.main import DEMO_CORPUS, cli
from app.config import Settings
from app.db import Base, make_engine, make_sessionmaker, session_scope
from app.extraction.claim_model import default_model
from app.extraction.corpus import read_jsonl
from app.ingest import articles as ingest
from app.models import Feed, Job, JobItem, ShiftRefresh, Topic, WebhookDelivery
from app.ops import migrate, transfer
from app.registry import context as registry_context
from app.registry import edits as registry
from app.schemas import ArticleCreate, ObservationCreate, ObservationUpdate
from app.store import extractor_models, unit_of_work
from app.store import observations as observation_store
from tests import factories
from tests.conftest import create_database

runner = CliRunner()
Fingerprint = dict[str, tuple[int, str]]


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes brand-new empty databases of a kind; drops them afterwards."""
    drops: list[Callable[[], None]] = []

    def make(kind: str) -> str:
        url, drop = create_database(kind, tmp_path)
        drops.append(drop)
        return url

    yield make
    for drop in drops:
        drop()


def build_source(url: str) -> None:
    migrate.upgrade(url)
    settings = Settings(database_url=url, shift_detection="sync")
    engine = make_engine(settings)
    factory = make_sessionmaker(engine, settings)
    try:
        with session_scope(factory) as session:
            registry.import_registry(session, registry.read_registry_file(registry.STARTER_REGISTRY))
        with session_scope(factory) as session:
            context = registry_context.load_registry_context(session)
            factories.ingest_batch(session, list(read_jsonl(DEMO_CORPUS)), context=context, engine="rules")

        with session_scope(factory) as session:
            context = registry_context.load_registry_context(session)
            first = next(iter(read_jsonl(DEMO_CORPUS)))
            revised = ArticleCreate.model_validate({**first, "text": first["text"] + " France agreed."})
            assert (
                ingest.ingest_article(session, revised, context=context, engine="rules").status == "revised"
            )
            review.add_manual_observation(
                session,
                ObservationCreate(
                    actor="italy",
                    topic="ground-troops-ukraine",
                    score=-1,
                    observed_at=datetime(2025, 3, 6, tzinfo=UTC),
                    evidence="L'Italie n'enverra pas de troupes — «non» 🇮🇹 \u202b\u0645\u0631\u062d\u0628\u0627\u202c",
                    speaker="Meloni office",
                ),
            )
            automatic = observation_store.list_article_observations(session, article_id=2)[0]
            review.review_observation(session, automatic.id, ObservationUpdate(score=-0.5, note="checked"))
            auth.create_key(session, name="ops", scopes=["admin"])
            session.add(
                WebhookDelivery(
                    url="https://hooks.example/stanceline",
                    event="shift.detected",
                    payload={"event": "shift.detected", "shift": {"id": 1, "delta": -0.6123456789012345}},
                    attempts=2,
                    last_error="HTTP 503",
                )
            )
            child = Topic(
                slug="child-first",
                name="Child",
                description="",
                keywords=["a"],
                examples=[],
                weak_keywords=["hive", "smoker"],
                excluded_phrases=["hive mind", "Smoker's cough"],
                relevance_threshold=0.35,
            )
            parent = Topic(slug="parent-later", name="Parent", description="", keywords=[], examples=[])
            session.add(child)
            session.flush()
            session.add(parent)
            session.flush()
            child.parent_id = parent.id
            session.add(ShiftRefresh(topic_id=parent.id, actor_id=1))
            # feeds, jobs and syndicated stories: a fingerprinted wire story and its copy, a feed, a job
            for suffix in ("?wire", "?copy"):
                wire = ArticleCreate.model_validate({**first, "url": first["url"] + suffix})
                ingest.ingest_article(session, wire, context=context, engine="rules", link_stories=True)
            session.add(Feed(url="https://feeds.example/rss.xml", poll_interval_seconds=900, etag='"e1"'))
            job = Job(kind="reextract", backend="inprocess", params={"up_to_id": 1}, total=1)
            session.add(job)
            session.flush()
            session.add(JobItem(job_id=job.id, article_id=1, status="done"))
            # a trained claim model (stanceline train), with its figures
            model = default_model()
            extractor_models.add_model(
                session,
                sha=model.sha,
                body=model.to_bytes().decode(),
                figures={"after": {"f1": 0.5}},
                active=True,
            )
    finally:
        engine.dispose()


def fingerprint(url: str) -> Fingerprint:
    """Per table: the row count and a hash of every row (sorted by key, canonical JSON); the
    change counters are not content (an import moves them on: see test_an_import_moves_the_change_counters_on)."""
    engine = create_engine(url)
    out: Fingerprint = {}
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                if table.name in transfer.SEEDED_TABLES:
                    continue
                rows = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
                blob = json.dumps(
                    [dict(row) for row in rows], sort_keys=True, default=str, ensure_ascii=False
                )
                out[table.name] = (len(rows), hashlib.sha256(blob.encode()).hexdigest())
    finally:
        engine.dispose()
    return out


def relevance_fields(url: str) -> dict[str, tuple[list[str], list[str], float | None]]:
    """Each topic's weak keywords, excluded phrases and relevance threshold, read back by slug."""
    engine = create_engine(url)
    topic = Base.metadata.tables["topic"]
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    topic.c.slug, topic.c.weak_keywords, topic.c.excluded_phrases, topic.c.relevance_threshold
                )
            ).all()
    finally:
        engine.dispose()
    return {slug: (weak, excluded, threshold) for slug, weak, excluded, threshold in rows}


def export(url: str, out: Path, *extra: str) -> list[bytes]:
    result = runner.invoke(cli, ["export", "--all", "--out", str(out), "--database-url", url, *extra])
    assert result.exit_code == 0, result.output
    opener: Any = gzip.open if out.suffix == ".gz" else open
    with opener(out, "rb") as stream:
        return list(stream.read().splitlines())


def import_(url: str, source: Path, *extra: str) -> Any:
    return runner.invoke(cli, ["import", str(source), "--database-url", url, *extra])


def assert_same_export(first: list[bytes], second: list[bytes]) -> None:
    """Identical line for line, apart from the header's exported_at."""
    header_a, header_b = orjson.loads(first[0]), orjson.loads(second[0])
    assert header_a.pop("exported_at")
    assert header_b.pop("exported_at")
    assert header_a == header_b
    assert first[1:] == second[1:]


def new_article_id(url: str) -> int:
    """Ingest one more article: ids (PostgreSQL sequences included) carry on past the imported ones."""
    settings = Settings(database_url=url, shift_detection="off")
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            context = registry_context.load_registry_context(session)
            data = ArticleCreate.model_validate(
                {
                    "url": "https://example.org/after-import",
                    "text": "France said it would send troops.",
                    "published_at": "2025-04-01T00:00:00Z",
                    "source": "Meridian Wire",
                }
            )
            outcome = ingest.ingest_article(session, data, context=context, engine="rules")
            return outcome.article.id
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_export_import_export_round_trip_loses_nothing(
    kind: str, new_database: Callable[[str], str], tmp_path: Path
) -> None:
    source, target = new_database(kind), new_database(kind)
    build_source(source)
    before = fingerprint(source)
    assert all(count > 0 for count, _ in before.values()), before  # every table holds something to lose

    first = export(source, tmp_path / "first.ndjson.gz", "--with-keys")
    result = import_(target, tmp_path / "first.ndjson.gz")
    assert result.exit_code == 0, result.output
    second = export(target, tmp_path / "second.ndjson", "--with-keys")

    assert fingerprint(target) == before
    assert_same_export(first, second)
    assert relevance_fields(target) == relevance_fields(source)
    assert relevance_fields(target)["child-first"] == (
        ["hive", "smoker"],
        ["hive mind", "Smoker's cough"],
        0.35,
    )
    assert relevance_fields(target)["ground-troops-ukraine"][1]  # the starter pack's excluded phrases
    header, trailer = orjson.loads(first[0]), orjson.loads(first[-1])
    assert header["tables"] == {name: count for name, (count, _) in before.items()}
    assert trailer["end"]["rows"] == len(first) - 2 == sum(count for count, _ in before.values())
    assert new_article_id(target) == before["article"][0] + 1


def test_sqlite_database_moves_to_postgresql(new_database: Callable[[str], str], tmp_path: Path) -> None:
    source = new_database("sqlite")
    target = new_database("postgresql")
    build_source(source)
    first = export(source, tmp_path / "sqlite.ndjson", "--with-keys")
    result = import_(target, tmp_path / "sqlite.ndjson")
    assert result.exit_code == 0, result.output
    assert fingerprint(target) == fingerprint(source)
    assert relevance_fields(target) == relevance_fields(source)
    assert_same_export(first, export(target, tmp_path / "postgresql.ndjson", "--with-keys"))
    assert new_article_id(target) == fingerprint(source)["article"][0] + 1


def test_api_keys_stay_out_unless_asked_for(new_database: Callable[[str], str], tmp_path: Path) -> None:
    source = new_database("sqlite")
    build_source(source)
    result = runner.invoke(cli, ["export", "--all", "--database-url", source])  # to standard output
    assert result.exit_code == 0, result.output
    lines = result.stdout_bytes.splitlines()
    header = orjson.loads(lines[0])
    assert "api_key" not in header["tables"]
    assert not any(b'"table":"api_key"' in line for line in lines)
    assert b"key_hash" not in result.stdout_bytes
    with_keys = export(source, tmp_path / "keys.ndjson", "--with-keys")
    assert orjson.loads(with_keys[0])["tables"]["api_key"] == 1
    # an import without keys leaves the target's own keys alone
    target = new_database("sqlite")
    (tmp_path / "nokeys.ndjson").write_bytes(result.stdout_bytes)
    assert import_(target, tmp_path / "nokeys.ndjson").exit_code == 0
    assert fingerprint(target)["api_key"][0] == 0


def test_export_needs_all(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["export", "--out", str(tmp_path / "x.ndjson")])
    assert result.exit_code == 2
    assert "--all" in result.output
    assert not (tmp_path / "x.ndjson").exists()


def test_a_non_empty_database_is_refused_and_force_replaces_it(
    new_database: Callable[[str], str], tmp_path: Path
) -> None:
    source, target = new_database("sqlite"), new_database("sqlite")
    build_source(source)
    export(source, tmp_path / "dump.ndjson", "--with-keys")
    build_source(target)  # same shape, other timestamps: a different database
    occupied = fingerprint(target)
    assert occupied != fingerprint(source)

    refused = import_(target, tmp_path / "dump.ndjson")
    assert refused.exit_code == 2
    assert "not empty" in refused.output
    assert fingerprint(target) == occupied

    forced = import_(target, tmp_path / "dump.ndjson", "--force")
    assert forced.exit_code == 0, forced.output
    assert fingerprint(target) == fingerprint(source)


def counters(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return unit_of_work.current(connection)
    finally:
        engine.dispose()


def test_an_import_moves_the_change_counters_on(new_database: Callable[[str], str], tmp_path: Path) -> None:
    """A server that cached reads of the target before must not take the imported content for
    what it cached: both counters end past their values before the import and in the export's
    source."""
    source, target = new_database("sqlite"), new_database("sqlite")
    build_source(source)
    lines = export(source, tmp_path / "dump.ndjson")
    assert not any(
        b'"table":"registry_revision"' in line or b'"table":"data_revision"' in line for line in lines
    )
    build_source(target)
    before, exported = counters(target), counters(source)
    assert min(before + exported) > 0
    assert import_(target, tmp_path / "dump.ndjson", "--force").exit_code == 0
    after = counters(target)
    assert after[0] > max(before[0], exported[0])
    assert after[1] > max(before[1], exported[1])


def _tamper_value(lines: list[bytes]) -> list[bytes]:
    """Change one observation's score: the counts still match, the hash does not."""
    out = list(lines)
    index = next(i for i, line in enumerate(out) if b'"table":"observation"' in line)
    item = orjson.loads(out[index])
    item["row"]["score"] = 0.123
    out[index] = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    return out


def _dangling_reference(lines: list[bytes]) -> list[bytes]:
    """An observation of an article that is not in the file: the database refuses it."""
    out = list(lines)
    index = max(i for i, line in enumerate(out) if b'"table":"observation"' in line)
    item = orjson.loads(out[index])
    item["row"]["article_id"] = 999_999
    out[index] = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    return out


def _drop_last_row(lines: list[bytes]) -> list[bytes]:
    return [*lines[:-2], lines[-1]]


def _truncate(lines: list[bytes]) -> list[bytes]:
    return lines[: len(lines) // 2]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_tamper_value, "does not hash"),
        (_dangling_reference, "refused"),
        (_drop_last_row, "header's counts"),
        (_truncate, "truncated"),
    ],
)
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_failed_import_writes_nothing(
    kind: str,
    damage: Callable[[list[bytes]], list[bytes]],
    message: str,
    new_database: Callable[[str], str],
    tmp_path: Path,
    built_sqlite_export: list[bytes],
) -> None:
    target = new_database(kind)
    migrate.upgrade(target)
    empty = fingerprint(target)
    broken = tmp_path / "broken.ndjson"
    broken.write_bytes(b"\n".join(damage(built_sqlite_export)) + b"\n")
    result = import_(target, broken)
    assert result.exit_code == 2
    assert message in result.output
    assert fingerprint(target) == empty


@pytest.fixture(scope="module")
def built_sqlite_export(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    directory = tmp_path_factory.mktemp("export")
    url, _ = create_database("sqlite", directory)
    build_source(url)
    return export(url, directory / "dump.ndjson", "--with-keys")


def test_foreign_files_are_refused_before_the_database_is_touched(tmp_path: Path) -> None:
    target_path = tmp_path / "untouched.db"
    other = tmp_path / "other.ndjson"
    other.write_text('{"hello": "world"}\n')
    result = import_(f"sqlite:///{target_path}", other)
    assert result.exit_code == 2
    assert "not a Stanceline export" in result.output
    assert not target_path.exists()
    header = {"format": "stanceline-export", "format_version": 1, "alembic_revision": "0001", "tables": {}}
    other.write_bytes(orjson.dumps(header) + b"\n")
    result = import_(f"sqlite:///{target_path}", other)
    assert result.exit_code == 2
    assert "migration 0001" in result.output
    assert not target_path.exists()
