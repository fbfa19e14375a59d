"""The aggregates of the observations: `observation_daily` (per topic, actor and UTC day) and
`observation_period` (the same sums per ISO week and per month), the deltas writes apply to them,
and the check against the observations.

The store functions that add, remove or re-count observations turn them into `Deltas` (a removed
or rejected observation counts negatively) and record them on the session; `unit_of_work` calls
`apply` once, just before the unit of work commits, in the same transaction. `apply` upserts increments (`count = count + excluded.count`) in key order,
the daily rows first and then the period rows, so two writers on PostgreSQL lock shared rows in
one order and cannot deadlock, and each holds those locks only from its last step to its commit.
A row whose count falls to 0 is deleted. Counts are exact; sums are exact up to floating-point
rounding of the increments, which `differences` tolerates (`REL_TOLERANCE`, `ABS_TOLERANCE`).

Rejected observations are not in the aggregates (they are not in timelines either).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Select, TextClause

from app.models import PERIODS, UNCOUNTED_STATUSES, Observation, ObservationDaily, ObservationPeriod
from app.store.periods import bucket_start_of, utc_day_of
from app.timelines.periods import bucket_start

Key = tuple[int, int, date]  # (topic_id, actor_id, UTC day)
PeriodKey = tuple[int, str, int, date]  # (topic_id, period, actor_id, first day)
SUM_FIELDS = ("count", "weight", "weighted_sum", "weight_sq", "weighted_sq_sum")
KEY_FIELDS = ("topic_id", "actor_id", "day")
PERIOD_KEY_FIELDS = ("topic_id", "period", "actor_id", "start")
# declarative tables are Tables
TABLE: Table = ObservationDaily.__table__  # type: ignore[assignment]
PERIOD_TABLE: Table = ObservationPeriod.__table__  # type: ignore[assignment]
BULK_ROWS = 1000  # from this many rows (or keys), the vectorised paths
REL_TOLERANCE = 1e-9
ABS_TOLERANCE = 1e-7
_NEGLIGIBLE = 1e-12  # what is left of +x - x in float arithmetic


def utc_day(value: datetime) -> date:
    return value.astimezone(UTC).date()


class Deltas:
    """Changes to the aggregate, summed per key in memory (order-free, so a batch can merge them)."""

    __slots__ = ("_sums",)

    def __init__(self) -> None:
        self._sums: dict[Key, list[float]] = {}

    def add(
        self,
        *,
        topic_id: int,
        actor_id: int,
        observed_at: datetime,
        score: float,
        confidence: float,
        sign: int,
    ) -> None:
        key = (topic_id, actor_id, utc_day(observed_at))
        sums = self._sums.get(key)
        if sums is None:
            sums = self._sums[key] = [0, 0.0, 0.0, 0.0, 0.0]
        weighted = confidence * score
        sums[0] += sign
        sums[1] += sign * confidence
        sums[2] += sign * weighted
        sums[3] += sign * confidence * confidence
        sums[4] += sign * weighted * score

    def add_rows(self, rows: Iterable[Mapping[Any, Any]], *, sign: int) -> Deltas:
        """Count `rows` (observations as mappings) in (+1) or out (-1); uncounted ones (rejected,
        suggested) are skipped."""
        for row in rows:
            if row.get("status", "auto") not in UNCOUNTED_STATUSES:
                self.add(
                    topic_id=row["topic_id"],
                    actor_id=row["actor_id"],
                    observed_at=row["observed_at"],
                    score=row["score"],
                    confidence=row["confidence"],
                    sign=sign,
                )
        return self

    def merge(self, other: Deltas) -> Deltas:
        for key, sums in other._sums.items():
            mine = self._sums.get(key)
            if mine is None:
                self._sums[key] = list(sums)
            else:
                for i, value in enumerate(sums):
                    mine[i] += value
        return self

    def rows(self) -> list[dict[str, Any]]:
        """Non-zero changes as upsert parameters, in key order."""
        out = []
        for key in sorted(self._sums):
            sums = self._sums[key]
            if sums[0] == 0 and all(abs(v) < _NEGLIGIBLE for v in sums[1:]):
                continue
            out.append(
                {**dict(zip(KEY_FIELDS, key, strict=True)), **dict(zip(SUM_FIELDS, sums, strict=True))}
            )
        return out

    def __bool__(self) -> bool:
        return bool(self._sums)


def deltas_of(rows: Sequence[Mapping[Any, Any]], *, sign: int = 1) -> Deltas:
    """The deltas of counting `rows` in (+1) or out (-1); uncounted ones (rejected, suggested) are
    skipped."""
    if len(rows) < BULK_ROWS:
        return Deltas().add_rows(rows, sign=sign)
    return deltas_of_columns(
        [row.get("status", "auto") for row in rows],
        *(
            [row[name] for row in rows]
            for name in ("topic_id", "actor_id", "observed_at", "score", "confidence")
        ),
        sign=sign,
    )


def deltas_of_columns(
    status: Sequence[str],
    topic_id: Sequence[int],
    actor_id: Sequence[int],
    observed_at: Sequence[datetime],
    score: Sequence[float],
    confidence: Sequence[float],
    *,
    sign: int = 1,
) -> Deltas:
    """`deltas_of` for rows given column by column, summed per key with numpy (for many rows)."""
    kept = np.fromiter((s not in UNCOUNTED_STATUSES for s in status), bool, len(status))
    ordinal = {value: utc_day(value).toordinal() for value in set(observed_at)}
    c = np.asarray(confidence, dtype=float)[kept]
    s = np.asarray(score, dtype=float)[kept]
    frame = pd.DataFrame(
        {
            "topic_id": np.asarray(topic_id, dtype=np.int64)[kept],
            "actor_id": np.asarray(actor_id, dtype=np.int64)[kept],
            "day": np.fromiter((ordinal[v] for v in observed_at), np.int64, len(observed_at))[kept],
            "count": 1,
            "weight": c,
            "weighted_sum": c * s,
            "weight_sq": c * c,
            "weighted_sq_sum": c * s * s,
        }
    )
    sums = frame.groupby(["topic_id", "actor_id", "day"], sort=False).sum()
    deltas = Deltas()
    for (t, a, day), values in zip(sums.index, sums.to_numpy() * sign, strict=True):
        count, *rest = values.tolist()
        deltas._sums[(int(t), int(a), date.fromordinal(int(day)))] = [int(count), *rest]
    return deltas


def _period_rows(daily: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The daily rows summed per week and month, as upsert parameters in key order."""
    sums: dict[PeriodKey, list[float]] = {}
    for row in daily:
        for period in PERIODS:
            key = (row["topic_id"], period, row["actor_id"], bucket_start(row["day"], period))
            mine = sums.setdefault(key, [0, 0.0, 0.0, 0.0, 0.0])
            for i, name in enumerate(SUM_FIELDS):
                mine[i] += row[name]
    return [
        {**dict(zip(PERIOD_KEY_FIELDS, key, strict=True)), **dict(zip(SUM_FIELDS, sums[key], strict=True))}
        for key in sorted(sums)
    ]


def apply(session: Session, deltas: Deltas) -> int:
    """Add `deltas` to both aggregates (sorted upserts, then drop emptied rows); returns the daily
    keys changed."""
    rows = deltas.rows()
    if rows:
        _upsert(session, TABLE, KEY_FIELDS, rows)
        _upsert(session, PERIOD_TABLE, PERIOD_KEY_FIELDS, _period_rows(rows))
    return len(rows)


def _upsert(session: Session, table: Table, keys: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    columns = (*keys, *SUM_FIELDS)
    if dialect == "postgresql" and len(rows) >= BULK_ROWS:
        # one statement over arrays instead of an upsert per key; ORDER BY keeps the lock order
        session.execute(_unnest_upsert(table.name, keys), {c: [row[c] for row in rows] for c in columns})
    elif len(rows) >= BULK_ROWS:  # SQLite: the driver's executemany, without per-row parameter handling
        session.connection().exec_driver_sql(
            _sqlite_upsert(table.name, keys),
            [tuple(_plain(row[c]) for c in columns) for row in rows],
        )
    else:
        upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
        upsert = upsert.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={f: table.c[f] + upsert.excluded[f] for f in SUM_FIELDS},
        )
        session.execute(upsert, rows)
    shrunk = [{f"k_{k}": row[k] for k in keys} for row in rows if row["count"] < 0]
    if shrunk:
        session.execute(
            delete(table).where(*(table.c[k] == bindparam(f"k_{k}") for k in keys), table.c.count <= 0),
            shrunk,
        )


def _plain(value: Any) -> Any:
    """A value as SQLite stores it (dates as ISO text, as SQLAlchemy's Date writes them)."""
    return value.isoformat() if isinstance(value, date) else value


def _increments(name: str) -> str:
    return ", ".join(f"{f} = {name}.{f} + excluded.{f}" for f in SUM_FIELDS)


def _sqlite_upsert(name: str, keys: tuple[str, ...]) -> str:
    columns = (*keys, *SUM_FIELDS)
    return (
        f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {_increments(name)}"
    )


_ARRAY_TYPES = {"topic_id": "integer[]", "actor_id": "integer[]", "count": "integer[]"}
_ARRAY_TYPES |= {"day": "date[]", "start": "date[]", "period": "text[]"}


def _unnest_upsert(name: str, keys: tuple[str, ...]) -> TextClause:
    columns = (*keys, *SUM_FIELDS)
    arrays = ", ".join(f"CAST(:{c} AS {_ARRAY_TYPES.get(c, 'float8[]')})" for c in columns)
    order = ", ".join(str(i + 1) for i in range(len(keys)))
    return text(
        f"INSERT INTO {name} ({', '.join(columns)}) SELECT * FROM unnest({arrays}) ORDER BY {order} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {_increments(name)}"
    )


def recomputed(session: Session) -> Select[*tuple[Any, ...]]:
    """The aggregate as it should be, computed from the observations (the migration's backfill)."""
    day = utc_day_of(session.get_bind().dialect.name, Observation.observed_at).label("day")
    c, s = Observation.confidence, Observation.score
    return (
        select(
            Observation.topic_id,
            Observation.actor_id,
            day,
            func.count().label("count"),
            func.sum(c).label("weight"),
            func.sum(c * s).label("weighted_sum"),
            func.sum(c * c).label("weight_sq"),
            func.sum(c * s * s).label("weighted_sq_sum"),
        )
        .where(Observation.status.not_in(UNCOUNTED_STATUSES))
        .group_by(Observation.topic_id, Observation.actor_id, day)
    )


def rebuild(session: Session) -> int:
    """Replace both aggregates by their recomputation (the migration's backfill); returns the
    daily rows written. Callers go through `unit_of_work.rebuild_aggregates`, which marks the data changed."""
    session.execute(delete(PERIOD_TABLE))
    session.execute(delete(TABLE))
    session.execute(insert(TABLE).from_select([*KEY_FIELDS, *SUM_FIELDS], recomputed(session)))
    dialect = session.get_bind().dialect.name
    for period in PERIODS:
        first = bucket_start_of(dialect, period, TABLE.c.day)
        by_period = select(
            TABLE.c.topic_id,
            literal(period),
            TABLE.c.actor_id,
            first,
            *(func.sum(TABLE.c[f]) for f in SUM_FIELDS),
        ).group_by(TABLE.c.topic_id, TABLE.c.actor_id, first)
        session.execute(insert(PERIOD_TABLE).from_select([*PERIOD_KEY_FIELDS, *SUM_FIELDS], by_period))
    return count_rows(session)


@dataclass(frozen=True)
class Difference:
    kind: str  # missing (recomputed, not stored) | extra (stored, not recomputed) | different
    table: str
    key: tuple[Any, ...]
    stored: tuple[float, ...] | None
    expected: tuple[float, ...] | None

    def describe(self) -> str:
        names = KEY_FIELDS if self.table == TABLE.name else PERIOD_KEY_FIELDS
        where = f"{self.table} " + " ".join(
            f"{name} {value.isoformat() if isinstance(value, date) else value}"
            for name, value in zip(names, self.key, strict=True)
        )
        if self.stored is None:
            return f"missing {where}: expected {_fmt(self.expected)}"
        if self.expected is None:
            return f"extra {where}: stored {_fmt(self.stored)}"
        return f"different {where}: stored {_fmt(self.stored)}, expected {_fmt(self.expected)}"


def _fmt(values: tuple[float, ...] | None) -> str:
    assert values is not None
    return ", ".join(f"{name}={value:.9g}" for name, value in zip(SUM_FIELDS, values, strict=True))


def _by_key(
    session: Session, stmt: Select[*tuple[Any, ...]], keys: tuple[str, ...]
) -> dict[tuple[Any, ...], tuple[float, ...]]:
    out: dict[tuple[Any, ...], tuple[float, ...]] = {}
    for row in session.execute(stmt).mappings():
        key = tuple(_as_date(row[k]) if k in ("day", "start") else row[k] for k in keys)
        out[key] = tuple(float(row[f]) for f in SUM_FIELDS)
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _same(stored: tuple[float, ...], expected: tuple[float, ...]) -> bool:
    return stored[0] == expected[0] and all(
        math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
        for a, b in zip(stored[1:], expected[1:], strict=True)
    )


def _compare(
    table: str,
    stored: dict[tuple[Any, ...], tuple[float, ...]],
    expected: dict[tuple[Any, ...], tuple[float, ...]],
) -> list[Difference]:
    out = []
    for key in sorted(expected.keys() | stored.keys()):
        mine, theirs = stored.get(key), expected.get(key)
        if mine is None:
            out.append(Difference("missing", table, key, None, theirs))
        elif theirs is None:
            out.append(Difference("extra", table, key, mine, None))
        elif not _same(mine, theirs):
            out.append(Difference("different", table, key, mine, theirs))
    return out


def differences(session: Session) -> list[Difference]:
    """Every row where a stored aggregate and its recomputation from the observations disagree
    (the periods are summed from the recomputed days)."""
    expected = _by_key(session, recomputed(session), KEY_FIELDS)
    periods: dict[tuple[Any, ...], list[float]] = {}
    for (topic_id, actor_id, day), sums in expected.items():
        for period in PERIODS:
            key = (topic_id, period, actor_id, bucket_start(day, period))
            mine = periods.setdefault(key, [0.0] * len(SUM_FIELDS))
            for i, value in enumerate(sums):
                mine[i] += value
    stored = _by_key(session, select(*(TABLE.c[k] for k in (*KEY_FIELDS, *SUM_FIELDS))), KEY_FIELDS)
    stored_periods = _by_key(
        session, select(*(PERIOD_TABLE.c[k] for k in (*PERIOD_KEY_FIELDS, *SUM_FIELDS))), PERIOD_KEY_FIELDS
    )
    expected_periods = {key: tuple(sums) for key, sums in periods.items()}
    return _compare(TABLE.name, stored, expected) + _compare(
        PERIOD_TABLE.name, stored_periods, expected_periods
    )


def count_rows(session: Session) -> int:
    """Rows of the daily aggregate."""
    return int(session.scalar(select(func.count()).select_from(ObservationDaily)) or 0)
