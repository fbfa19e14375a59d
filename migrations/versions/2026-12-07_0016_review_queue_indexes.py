"""observation: two partial indexes in review-queue order (`GET /v1/review/queue`)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 09:00:00

The queue lists unreviewed automatic observations by uncertainty, `1 - abs(2 * confidence - 1)`,
highest first, then the newest `observed_at`, then id. Without an index every page sorts all the
unreviewed rows: 290-360 ms per page on a million observations, on either engine, and ten times
that at ten million. With these a page is an index range read (1-3 ms), for the whole queue and
for one topic's. Partial on the unreviewed statuses, so a review takes its row out.

The expression and the status list are written as the queue's query writes them (constants in
the SQL, not bound): that is how SQLite and PostgreSQL see that the index serves the query.
Alembic cannot reflect expression indexes on SQLite, so a later batch rebuild of `observation`
there must create these two again (tests/db/test_review_queue_indexes.py checks they exist).
On PostgreSQL the build locks the table against writes while it runs (a few seconds per million
observations).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNCERTAINTY = sa.text("(1 - abs(2 * confidence - 1)) DESC")
UNREVIEWED = sa.text("status IN ('auto', 'suggested')")


def upgrade() -> None:
    op.create_index(
        "ix_observation_review_queue",
        "observation",
        [UNCERTAINTY, sa.text("observed_at DESC"), "id"],
        sqlite_where=UNREVIEWED,
        postgresql_where=UNREVIEWED,
    )
    op.create_index(
        "ix_observation_review_queue_topic",
        "observation",
        ["topic_id", UNCERTAINTY, sa.text("observed_at DESC"), "id"],
        sqlite_where=UNREVIEWED,
        postgresql_where=UNREVIEWED,
    )


def downgrade() -> None:
    op.drop_index("ix_observation_review_queue_topic", table_name="observation")
    op.drop_index("ix_observation_review_queue", table_name="observation")
