"""Column contracts of the frames that flow into and out of `app.timelines`.

Observation rows (one per non-rejected observation of one topic):
    id (int), actor (str slug), observed_at (datetime64[ns, UTC]), score (float in [-1, 1]),
    confidence (float in [0, 1]), shift (bool), evidence (str | None), article_id (int | None),
    article_url (str | None).
Attributed rows: observation rows plus `series` (str slug of the target actor the row counts for).
Memberships: actor, parent (slugs), valid_from, valid_to (datetime64[ns, UTC]; NaT = open).
Bucket sums: series, bucket (datetime64[ns, UTC]), count, weight, weighted_sum, weight_sq,
    weighted_sq_sum.
"""

from __future__ import annotations

from typing import Final, Literal

import pandas as pd

Interval = Literal["day", "week", "month"]
INTERVALS: tuple[Interval, ...] = ("day", "week", "month")

ROW_COLUMNS = [
    "id", "actor", "observed_at", "score", "confidence", "shift", "evidence", "article_id", "article_url",
]  # fmt: skip
MEMBERSHIP_COLUMNS = ["actor", "parent", "valid_from", "valid_to"]
SUM_COLUMNS = ["series", "bucket", "count", "weight", "weighted_sum", "weight_sq", "weighted_sq_sum"]
UTC_NS: Final = "datetime64[ns, UTC]"


def require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise ValueError naming the missing columns of `frame`."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame is missing column(s): {', '.join(missing)}")


def utc(values: pd.Series) -> pd.Series:
    """`values` as datetime64[ns, UTC] (naive values are taken as UTC)."""
    return pd.to_datetime(values, utc=True).astype(UTC_NS)


def empty_sums() -> pd.DataFrame:
    """A bucket-sums frame with no rows and the contract's dtypes."""
    return pd.DataFrame(
        {
            "series": pd.Series(dtype="object"),
            "bucket": pd.Series(dtype=UTC_NS),
            "count": pd.Series(dtype="int64"),
            "weight": pd.Series(dtype="float64"),
            "weighted_sum": pd.Series(dtype="float64"),
            "weight_sq": pd.Series(dtype="float64"),
            "weighted_sq_sum": pd.Series(dtype="float64"),
        }
    )
