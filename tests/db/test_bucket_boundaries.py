"""The SQL that buckets inside queries (`app.store.periods`) and the Python that buckets
everything else (`app.timelines.periods`) agree, on SQLite and PostgreSQL, around the edges of
weeks, months and years."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Date, bindparam, select
from sqlalchemy.orm import Session

from app.models import UTCDateTime
from app.store.periods import bucket_start_of, utc_day_of
from app.timelines import periods
from app.timelines.frames import INTERVALS

# a week either side of each month's end from 2023-12 to 2025-01, plus 1969-12 to 1970-01
EDGES = [date(1970, 1, 1), *(date(y, m, 1) for y in (2024, 2025) for m in range(1, 13))]
EDGES += [date(2023, 12, 1), date(2024, 12, 1), date(2023, 1, 1), date(2021, 1, 1), date(2020, 3, 1)]
DAYS = sorted({edge + timedelta(days=i) for edge in EDGES for i in range(-8, 8)})


@pytest.mark.parametrize("interval", INTERVALS)
def test_sql_bucket_starts_of_dates_equal_the_python_ones(session: Session, interval: str) -> None:
    dialect = session.get_bind().dialect.name
    stmt = select(bucket_start_of(dialect, interval, bindparam("day", type_=Date)))
    got = {day: session.execute(stmt, {"day": day}).scalar_one() for day in DAYS}
    assert got == {day: periods.bucket_start(day, interval) for day in DAYS}


@pytest.mark.parametrize("interval", INTERVALS)
def test_sql_bucket_starts_of_timestamps_equal_the_python_ones(session: Session, interval: str) -> None:
    """As the store buckets observations: the UTC day of `observed_at`, then its bucket."""
    dialect = session.get_bind().dialect.name
    moment = bindparam("at", type_=UTCDateTime())
    stmt = select(bucket_start_of(dialect, interval, utc_day_of(dialect, moment)))
    for day in DAYS[::3]:
        for at in (
            datetime.combine(day, time(), tzinfo=UTC),
            datetime.combine(day, time(23, 59, 59, 999999), tzinfo=UTC),
        ):
            assert session.execute(stmt, {"at": at}).scalar_one() == periods.bucket_start(day, interval)
