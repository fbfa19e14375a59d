"""Whole-database export and import: one NDJSON stream, replayed in one transaction.

Format (`.gz` files are gzip-compressed):

    {"format": "stanceline-export", "format_version": 1, "app_version", "alembic_revision",
     "exported_at", "tables": {"source": 3, "actor": 48, ...}}      header: row counts per table
    {"row": {...}, "table": "source"}                                 one line per row, tables in
    ...                                                               dependency order, rows by key
    {"end": {"rows": 1234, "sha256": "..."}}                          trailer: content hash

Every table of the schema is exported (registry, articles and their revisions, observations,
shifts, the shift-refresh queue and the webhook outbox, so a restore resumes pending work),
except API keys: their hashes go in only with `with_keys`, since an export is often handed to
people who should not get even hashed credentials. Values are canonical JSON: datetimes as
ISO-8601 UTC with microseconds, dates as ISO dates, keys sorted, and floats as orjson writes them
(the shortest text that reads back as the same double: every float column is double precision on
both engines) with -0.0 written as 0.0, since SQLite keeps no negative zero. The content hash
covers every exported row in that form, so two databases with the same content give the same
hash whatever their engine.

Import goes into a database at the same migration, inside one transaction: ids are kept (and
PostgreSQL sequences moved past them), a non-empty target is refused unless `force` replaces its
rows, and the counts and hash are checked before commit: the file's rows must hash to its
trailer, and what the database holds afterwards, read back, to the same rows in canonical form
(a file from before -0.0 was written as 0.0 still imports; its -0.0 is stored as 0.0). Any failure
leaves the target as it was.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, cast

import orjson
from sqlalchemy import Column, Select, Table, TypeDecorator, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

import app.models  # noqa: F401  (registers every table on the metadata)
from app import __version__
from app.db import WRITE_OPTIONS, Base
from app.models import DataRevision, RegistryRevision
from app.ops import migrate

FORMAT = "stanceline-export"
FORMAT_VERSION = 1
KEY_TABLES = frozenset({"api_key"})
# one-row change counters the migrations seed: not content, so never exported; an import moves
# them past every value the target had, so no process mistakes the new content for what it cached
COUNTER_TABLES = (RegistryRevision, DataRevision)
SEEDED_TABLES = frozenset(model.__tablename__ for model in COUNTER_TABLES)
CHUNK_ROWS = 1000


class TransferError(Exception):
    """The export or import cannot go ahead; nothing was written."""


@dataclass(frozen=True)
class TransferSummary:
    rows: dict[str, int]
    sha256: str

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def export_tables(*, with_keys: bool = False) -> list[Table]:
    """The tables an export holds, parents before children."""
    return [
        t
        for t in Base.metadata.sorted_tables
        if (with_keys or t.name not in KEY_TABLES) and t.name not in SEEDED_TABLES
    ]


def _ordered(table: Table) -> Select[Any]:
    statement = select(table).order_by(*table.primary_key.columns)
    return statement.execution_options(stream_results=True, yield_per=CHUNK_ROWS)


def _encode(value: Any) -> Any:
    if isinstance(value, float):
        return 0.0 if value == 0.0 else value  # -0.0 == 0.0: one zero, the one SQLite keeps
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row_bytes(row: Mapping[Any, Any]) -> bytes:
    return orjson.dumps({name: _encode(value) for name, value in row.items()}, option=orjson.OPT_SORT_KEYS)


def _rows(connection: Connection, table: Table) -> Iterator[bytes]:
    for row in connection.execute(_ordered(table)).mappings():
        yield _row_bytes(row)


class _Digest:
    """SHA-256 over each table's name and its rows' canonical JSON, in export order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def table(self, name: str) -> None:
        self._hash.update(b"\x00table " + name.encode() + b"\n")

    def row(self, row: bytes) -> None:
        self._hash.update(row + b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def count_rows(connection: Connection, tables: Iterable[Table]) -> dict[str, int]:
    return {
        str(t.name): int(connection.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables
    }


def content_digest(connection: Connection, tables: Iterable[Table]) -> str:
    """The content hash an export of `tables` would carry, read from the database."""
    digest = _Digest()
    for table in tables:
        digest.table(table.name)
        for row in _rows(connection, table):
            digest.row(row)
    return digest.hexdigest()


def _check_revision(connection: Connection) -> str:
    revision = migrate.current_revision(connection)
    head = migrate.head_revision()
    if revision is None or revision != head:
        raise TransferError(
            f"the database is at migration {revision}, this version of Stanceline at {head}: "
            "run `stanceline db upgrade` first"
        )
    return revision


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one state of the database from its first to its last query."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        # SQLite in WAL mode: a read transaction keeps the snapshot its first read took
        with connection.begin():
            yield connection


def export_database(
    engine: Engine, out: IO[bytes], *, with_keys: bool = False, now: datetime | None = None
) -> TransferSummary:
    tables = export_tables(with_keys=with_keys)
    with _snapshot(engine) as connection:
        revision = _check_revision(connection)
        counts = count_rows(connection, tables)
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app_version": __version__,
            "alembic_revision": revision,
            "exported_at": _encode(now or datetime.now(UTC)),
            "tables": counts,
        }
        out.write(orjson.dumps(header) + b"\n")
        digest = _Digest()
        for table in tables:
            digest.table(table.name)
            prefix = b',"table":' + orjson.dumps(table.name) + b"}\n"
            for row in _rows(connection, table):
                digest.row(row)
                out.write(b'{"row":' + row + prefix)  # == orjson.dumps({"row", "table"}, sorted keys)
    trailer = {"end": {"rows": sum(counts.values()), "sha256": digest.hexdigest()}}
    out.write(orjson.dumps(trailer) + b"\n")
    return TransferSummary(counts, digest.hexdigest())


def _decoder(column: Column[Any]) -> Any:
    stored = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    try:
        kind = stored.python_type
    except NotImplementedError:
        return None
    if kind is datetime:
        return datetime.fromisoformat
    if kind is date:
        return date.fromisoformat
    return None


class _TableLoader:
    """Inserts one table's rows in chunks; self-references are filled in after every row exists."""

    def __init__(self, connection: Connection, table: Table) -> None:
        self.connection, self.table = connection, table
        self.decoders = {c.name: d for c in table.columns if (d := _decoder(c)) is not None}
        self.self_refs = [
            c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)
        ]
        # the second pass must not let `onupdate` defaults (updated_at) overwrite imported values
        self.kept_on_update = [c.name for c in table.columns if c.onupdate is not None]
        self.known = {c.name for c in table.columns}
        self.pending: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        unknown = set(row) - self.known
        if unknown:
            raise TransferError(f"table {self.table.name} has no column {', '.join(sorted(unknown))}")
        for name, value in row.items():
            if isinstance(value, float):
                row[name] = _encode(value)  # the canonical zero on every engine
        for name, decode in self.decoders.items():
            if row.get(name) is not None:
                row[name] = decode(row[name])
        links = {name: row[name] for name in self.self_refs if row.get(name) is not None}
        if links:
            kept = {name: row[name] for name in self.kept_on_update}
            key = {c.name: row[c.name] for c in self.table.primary_key.columns}
            self.links.append({"key": key, "values": {**kept, **links}})
            row.update(dict.fromkeys(links))
        self.pending.append(row)
        self.count += 1
        if len(self.pending) >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.connection.execute(self.table.insert(), self.pending)
            self.pending = []

    def finish(self) -> None:
        self.flush()
        for link in self.links:
            key = [c == link["key"][c.name] for c in self.table.primary_key.columns]
            self.connection.execute(update(self.table).where(*key).values(**link["values"]))


def _lines(source: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise TransferError(f"line {number} is not JSON: {error}") from error
        if not isinstance(item, dict):
            raise TransferError(f"line {number} is not a JSON object")
        yield number, item


def _read_header(lines: Iterator[tuple[int, dict[str, Any]]]) -> dict[str, int]:
    first = next(lines, None)
    if first is None:
        raise TransferError("the file is empty")
    header = first[1]
    if header.get("format") != FORMAT:
        raise TransferError("not a Stanceline export (no stanceline-export header on line 1)")
    if header.get("format_version") != FORMAT_VERSION:
        raise TransferError(f"export format version {header.get('format_version')} is not {FORMAT_VERSION}")
    head = migrate.head_revision()
    if header.get("alembic_revision") != head:
        raise TransferError(
            f"the export was taken at migration {header.get('alembic_revision')}, this version of "
            f"Stanceline is at {head}: import it with the version that exported it"
        )
    tables = header.get("tables")
    if not isinstance(tables, dict):
        raise TransferError("the header lists no tables")
    unknown = set(tables) - set(Base.metadata.tables)
    if unknown:
        raise TransferError(f"the export holds tables this schema lacks: {', '.join(sorted(unknown))}")
    return {str(name): int(count) for name, count in tables.items()}


def read_header(source: IO[bytes]) -> dict[str, int]:
    """The row counts an export's header announces; TransferError when this version cannot import it."""
    return _read_header(_lines(source))


def _clear_target(connection: Connection, tables: Sequence[Table], *, force: bool) -> None:
    occupied = [
        t.name
        for t in tables
        if t.name not in SEEDED_TABLES
        and connection.execute(select(func.count()).select_from(t)).scalar_one()
    ]
    if occupied and not force:
        raise TransferError(
            f"the target database is not empty ({', '.join(occupied)}); import into a fresh database "
            "or pass --force to replace its contents"
        )
    for table in reversed(tables):
        if table.name in SEEDED_TABLES or table.name in occupied:
            connection.execute(delete(table))


def _counters(connection: Connection) -> dict[type[RegistryRevision | DataRevision], int]:
    return {model: int(connection.scalar(select(func.max(model.revision))) or 0) for model in COUNTER_TABLES}


def _advance_counters(
    connection: Connection, before: dict[type[RegistryRevision | DataRevision], int]
) -> None:
    """Each counter one past both its value before the import and any value the export carried
    (exports from before counters were left out hold the registry's)."""
    now = datetime.now(UTC)
    for model, previous in before.items():
        loaded = int(connection.scalar(select(func.max(model.revision))) or 0)
        connection.execute(delete(model))
        connection.execute(insert(model).values(id=1, revision=max(previous, loaded) + 1, updated_at=now))


def _move_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """PostgreSQL hands out ids from sequences the explicit ids did not advance."""
    if connection.dialect.name != "postgresql":
        return
    quote = connection.dialect.identifier_preparer.quote
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f"COALESCE((SELECT MAX({quote(column.name)}) FROM {quote(table.name)}), 0) + 1, false)"
            ),
            {"table": quote(table.name), "column": column.name},
        )


def import_database(engine: Engine, source: IO[bytes], *, force: bool = False) -> TransferSummary:
    lines = _lines(source)
    expected = _read_header(lines)
    tables = [t for t in Base.metadata.sorted_tables if t.name in expected]
    try:
        with engine.connect() as connection:
            connection.execution_options(**WRITE_OPTIONS)
            with connection.begin():
                _check_revision(connection)
                counters = _counters(connection)
                _clear_target(connection, tables, force=force)
                summary = _load(connection, lines, tables, expected)
                _move_sequences(connection, tables)
                _advance_counters(connection, counters)
    except SQLAlchemyError as error:
        # the driver's own message, without SQLAlchemy's dump of a whole chunk of parameters
        cause = getattr(error, "orig", None) or error
        message = str(cause).splitlines()[0][:500] if str(cause) else type(cause).__name__
        raise TransferError(f"the database refused the import: {message}") from error
    return summary


def _load(
    connection: Connection,
    lines: Iterator[tuple[int, dict[str, Any]]],
    tables: Sequence[Table],
    expected: dict[str, int],
) -> TransferSummary:
    loaders = {t.name: _TableLoader(connection, t) for t in tables}
    current: _TableLoader | None = None
    trailer: dict[str, Any] | None = None
    # the rows as the file has them (what its exporter hashed) and in canonical form (what the
    # database must give back); they differ only for a file from before -0.0 was written as 0.0
    as_written, canonical = _FileDigest(tables), _FileDigest(tables)
    for number, item in lines:
        if trailer is not None:
            raise TransferError(f"line {number} follows the end marker")
        if "end" in item:
            trailer = item["end"] if isinstance(item["end"], dict) else {}
            continue
        loader = loaders.get(str(item.get("table")))
        row = item.get("row")
        if loader is None or not isinstance(row, dict):
            raise TransferError(f"line {number} is not a row of a table named in the header")
        if loader is not current:
            if current is not None:
                current.finish()  # parents complete before their children arrive
            current = loader
        as_written.row(loader.table.name, orjson.dumps(row, option=orjson.OPT_SORT_KEYS))
        canonical.row(loader.table.name, _row_bytes(row))
        try:
            loader.add(row)
        except (ValueError, TypeError) as error:
            raise TransferError(f"line {number}: {error}") from error
    if current is not None:
        current.finish()
    if trailer is None:
        raise TransferError("the file ends before its end marker: it is truncated")
    counts = {name: loader.count for name, loader in loaders.items()}
    if counts != expected:
        wrong = {name: (counts[name], expected[name]) for name in expected if counts[name] != expected[name]}
        raise TransferError(f"rows read differ from the header's counts (read, header): {wrong}")
    if as_written.hexdigest() != trailer.get("sha256"):
        raise TransferError("the file does not hash to the export's sha256: its rows were changed or damaged")
    digest = content_digest(connection, tables)
    if digest != canonical.hexdigest():
        raise TransferError(
            "the imported content does not hash to the export's rows: the database changed values"
        )
    return TransferSummary(counts, digest)


class _FileDigest:
    """A `_Digest` fed the rows of an export file as they come: each table's marker before its rows,
    every table of the export in order (an empty one too), as the exporter hashed them."""

    def __init__(self, tables: Sequence[Table]) -> None:
        self._digest = _Digest()
        self._names = [str(t.name) for t in tables]
        self._next = 0  # the first table whose marker is still to come
        self._current: str | None = None

    def row(self, table: str, row: bytes) -> None:
        if table != self._current:
            try:
                position = self._names.index(table, self._next)
            except ValueError:
                raise TransferError(f"the rows of table {table} are out of the export's order") from None
            for name in self._names[self._next : position + 1]:
                self._digest.table(name)
            self._next, self._current = position + 1, table
        self._digest.row(row)

    def hexdigest(self) -> str:
        for name in self._names[self._next :]:
            self._digest.table(name)
        self._next = len(self._names)
        return self._digest.hexdigest()


def open_export(name: Path, mode: str, *, path: Path | None = None) -> IO[bytes]:
    """An export for binary reading or writing: gzip when `name` ends in .gz (writing) or the bytes
    say so (reading). `path`, when given, is where the bytes go instead of `name`."""
    if mode not in ("rb", "wb"):
        raise ValueError(f"mode {mode!r}")
    path = path or name
    if mode == "wb":
        return cast(IO[bytes], gzip.open(path, "wb")) if name.suffix == ".gz" else path.open("wb")
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    return cast(IO[bytes], gzip.open(path, "rb")) if compressed else path.open("rb")
