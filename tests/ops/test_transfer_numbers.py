"""Floats cross engines in an export: -0.0 (which PostgreSQL keeps and SQLite does not) is written
as 0.0, every float column is double precision, so 0.1 or 1/3 read back bit for bit, and an
export taken on one engine imports into the other with the same content and the same hash."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Float, create_engine, select, text

from app.config import Settings
from app.db import Base, make_engine, make_sessionmaker, session_scope
from app.models import Observation, Shift, WebhookDelivery
from app.ops import migrate
from tests.conftest import create_database
from tests.factories import make_actor, make_observation, make_shift, make_topic
from tests.ops.test_transfer import assert_same_export, export, import_

# what each observation's score and confidence hold; -0.0 first
SCORES = [-0.0, 0.1, 1 / 3, -0.6123456789012345, 5e-324, -1.0, 1.0]
CONFIDENCES = [0.1, 0.7, 2 / 3, 1.0, 0.0, 0.30000000000000004, 0.5]
PAYLOAD = {"delta": -0.0, "level": 0.1}  # JSON keeps its own text on both engines, -0.0 included


def _database(kind: str, tmp_path: Path, drops: list[Callable[[], None]]) -> str:
    url, drop = create_database(kind, tmp_path)
    drops.append(drop)
    migrate.upgrade(url)
    return url


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes brand-new migrated databases of a kind; drops them afterwards."""
    drops: list[Callable[[], None]] = []
    yield lambda kind: _database(kind, tmp_path, drops)
    for drop in drops:
        drop()


@pytest.fixture(scope="module")
def postgresql_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[bytes]]]:
    """A PostgreSQL database holding the floats (read only by the tests) and its export."""
    drops: list[Callable[[], None]] = []
    directory = tmp_path_factory.mktemp("numbers")
    url = _database("postgresql", directory, drops)
    populate(url)
    yield url, export(url, directory / "postgresql.ndjson")
    for drop in drops:
        drop()


def populate(url: str) -> None:
    engine = make_engine(Settings(database_url=url, shift_detection="off"))
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            actor, topic = make_actor(session, "zero-actor"), make_topic(session, "zero-topic")
            for score, confidence in zip(SCORES, CONFIDENCES, strict=True):
                make_observation(session, actor=actor, topic=topic, score=score, confidence=confidence)
            make_shift(session, actor=actor, topic=topic, before=0.1, after=0.1, delta=-0.0, confidence=0.1)
            session.add(
                WebhookDelivery(url="https://hooks.example/", event="shift.detected", payload=PAYLOAD)
            )
    finally:
        engine.dispose()


def stored(url: str) -> tuple[list[float], list[float], float, dict[str, float]]:
    """Scores and confidences (by id), the shift's delta, the webhook payload, as the database gives them."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Observation.score, Observation.confidence).order_by(Observation.id)
            ).all()
            delta = connection.execute(select(Shift.delta)).scalar_one()
            payload = connection.execute(select(WebhookDelivery.payload)).scalar_one()
    finally:
        engine.dispose()
    return [r.score for r in rows], [r.confidence for r in rows], delta, payload


def same_bits(a: list[float], b: list[float]) -> bool:
    return [x.hex() for x in a] == [y.hex() for y in b]


def legacy_export(lines: list[bytes]) -> list[bytes]:
    """The export as the previous version wrote it from PostgreSQL: -0.0 as -0.0, hashed so."""
    header = orjson.loads(lines[0])
    out = [lines[0]]
    digest = hashlib.sha256()
    rows = lines[1:-1]
    for table in header["tables"]:  # the header lists the tables in export order
        digest.update(b"\x00table " + table.encode() + b"\n")
        suffix = b',"table":' + orjson.dumps(table) + b"}"
        for line in rows:
            if not line.endswith(suffix):
                continue
            item = orjson.loads(line)
            if table in ("observation", "shift"):
                column = "score" if table == "observation" else "delta"
                if item["row"][column] == 0.0:
                    item["row"][column] = -0.0
            row = orjson.dumps(item["row"], option=orjson.OPT_SORT_KEYS)
            digest.update(row + b"\n")
            out.append(b'{"row":' + row + suffix)
    end = orjson.loads(lines[-1])
    end["end"]["sha256"] = digest.hexdigest()
    return [*out, orjson.dumps(end)]


def test_float_columns_are_double_precision_on_postgresql(postgresql_source: tuple[str, list[bytes]]) -> None:
    engine = create_engine(postgresql_source[0])
    floats = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Float)
    }
    assert ("observation", "score") in floats
    try:
        with engine.connect() as connection:
            types = {
                (row.table_name, row.column_name): row.data_type
                for row in connection.execute(
                    text(
                        "SELECT table_name, column_name, data_type FROM information_schema.columns "
                        "WHERE table_schema = current_schema()"
                    )
                )
            }
    finally:
        engine.dispose()
    assert {key: types[key] for key in floats} == dict.fromkeys(floats, "double precision")


def test_a_postgresql_export_with_negative_zero_imports_into_sqlite(
    postgresql_source: tuple[str, list[bytes]], new_database: Callable[[str], str], tmp_path: Path
) -> None:
    source, first = postgresql_source
    scores, _confidences, delta, payload = stored(source)
    assert math.copysign(1.0, scores[0]) == -1.0  # PostgreSQL keeps the sign: the case is real
    assert math.copysign(1.0, delta) == -1.0

    rows = [orjson.loads(line)["row"] for line in first[1:-1]]
    assert [r["score"] for r in rows if "score" in r] == [0.0, *SCORES[1:]]
    assert not any(b'"score":-0.0' in line for line in first)
    assert any(b'"delta":0.0,' in line and b'"table":"shift"' in line for line in first)
    (tmp_path / "postgresql.ndjson").write_bytes(b"\n".join(first) + b"\n")
    target = new_database("sqlite")
    result = import_(target, tmp_path / "postgresql.ndjson")
    assert result.exit_code == 0, result.output

    assert_same_export(first, export(target, tmp_path / "sqlite.ndjson"))
    got_scores, got_confidences, got_delta, got_payload = stored(target)
    assert same_bits(got_scores, [0.0, *SCORES[1:]])
    assert same_bits(got_confidences, CONFIDENCES)
    assert (got_delta, math.copysign(1.0, got_delta)) == (0.0, 1.0)
    assert got_payload == payload == PAYLOAD
    assert math.copysign(1.0, got_payload["delta"]) == -1.0  # inside JSON: kept as written


def test_a_sqlite_export_imports_into_postgresql(new_database: Callable[[str], str], tmp_path: Path) -> None:
    source, target = new_database("sqlite"), new_database("postgresql")
    populate(source)
    first = export(source, tmp_path / "sqlite.ndjson")
    result = import_(target, tmp_path / "sqlite.ndjson")
    assert result.exit_code == 0, result.output
    assert_same_export(first, export(target, tmp_path / "postgresql.ndjson"))
    assert stored(target) == stored(source)
    assert same_bits(stored(target)[0], [0.0, *SCORES[1:]])
    assert same_bits(stored(target)[1], CONFIDENCES)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_export_that_wrote_negative_zero_still_imports(
    kind: str, postgresql_source: tuple[str, list[bytes]], new_database: Callable[[str], str], tmp_path: Path
) -> None:
    current = postgresql_source[1]
    legacy = legacy_export(current)
    assert any(b'"score":-0.0' in line for line in legacy)
    assert orjson.loads(legacy[-1]) != orjson.loads(current[-1])  # hashed over -0.0
    (tmp_path / "legacy.ndjson").write_bytes(b"\n".join(legacy) + b"\n")

    target = new_database(kind)
    result = import_(target, tmp_path / "legacy.ndjson")
    assert result.exit_code == 0, result.output
    scores, _, delta, _ = stored(target)
    assert same_bits(scores, [0.0, *SCORES[1:]])  # stored as the canonical zero on every engine
    assert math.copysign(1.0, delta) == 1.0
    assert_same_export(current, export(target, tmp_path / "again.ndjson"))
