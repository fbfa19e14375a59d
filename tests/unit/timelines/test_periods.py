"""One bucket boundary: the scalar and the vectorised forms of `app.timelines.periods` agree,
and buckets start on the day, the ISO week's Monday or the first of the month."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from app.timelines import periods
from app.timelines.frames import INTERVALS
from tests.unit.timelines.buckets import bucket_start as pandas_bucket_start

EPOCH = date(1970, 1, 1)
# every day of 1969-12 to 1971-01 and of 2023-12 to 2025-01 (a leap February, year ends whose
# ISO week 1 starts in December or January)
DAYS = [date(1969, 12, 1) + timedelta(days=i) for i in range(428)] + [
    date(2023, 12, 1) + timedelta(days=i) for i in range(428)
]


@pytest.mark.parametrize("interval", INTERVALS)
def test_the_scalar_and_the_vectorised_bucket_starts_agree(interval: str) -> None:
    days = np.array([(d - EPOCH).days for d in DAYS], dtype=np.int64)
    starts = periods.bucket_start_days(days, interval)
    nexts = periods.shift_bucket_days(starts, interval, 1)
    for day, start, after in zip(DAYS, starts, nexts, strict=True):
        assert EPOCH + timedelta(days=int(start)) == periods.bucket_start(day, interval)
        assert EPOCH + timedelta(days=int(after)) == periods.next_bucket_start(day, interval)


@pytest.mark.parametrize("interval", INTERVALS)
def test_a_bucket_holds_its_day_and_ends_where_the_next_starts(interval: str) -> None:
    for day in DAYS:
        start, end = periods.bucket_start(day, interval), periods.next_bucket_start(day, interval)
        assert start <= day < end
        assert periods.bucket_start(end, interval) == end
        assert periods.bucket_start(end - timedelta(days=1), interval) == start


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    assert periods.bucket_start(date(2025, 1, 1), "week") == date(2024, 12, 30)
    assert periods.bucket_start(date(2024, 12, 29), "week") == date(2024, 12, 23)  # a Sunday
    assert periods.bucket_start(date(1970, 1, 1), "week") == date(1969, 12, 29)
    assert periods.bucket_start(date(2024, 2, 29), "month") == date(2024, 2, 1)
    assert periods.next_bucket_start(date(2024, 12, 31), "month") == date(2025, 1, 1)
    assert periods.next_bucket_start(date(2024, 2, 29), "week") == date(2024, 3, 4)
    with pytest.raises(ValueError, match="unknown interval 'year'"):
        periods.bucket_start(date(2025, 1, 1), "year")


def test_timestamps_bucket_by_their_utc_day() -> None:
    stamps = pd.Series(
        [
            datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2025, 1, 1, tzinfo=UTC),
            pd.Timestamp("2025-01-01 00:30", tz="Europe/Berlin"),  # still 2024-12-31 in UTC
            datetime(1969, 12, 31, 23, tzinfo=UTC),
        ]
    )
    assert [pd.Timestamp(d * periods.DAY_NS).date() for d in periods.epoch_days(stamps)] == [
        date(2024, 12, 31),
        date(2025, 1, 1),
        date(2024, 12, 31),
        date(1969, 12, 31),
    ]
    assert periods.epoch_day(stamps[3]) == -1
    assert [s.date() for s in pandas_bucket_start(stamps, "month")] == [
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2024, 12, 1),
        date(1969, 12, 1),
    ]
