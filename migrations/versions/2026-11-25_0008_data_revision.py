"""data revision: the counter that tells processes their cached timeline reads went stale

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 02:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "data_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_revision")),
    )
    # the one row every commit that changes observations or their aggregates bumps
    op.bulk_insert(table, [{"id": 1, "revision": 0, "updated_at": datetime(2026, 1, 1, tzinfo=UTC)}])


def downgrade() -> None:
    op.drop_table("data_revision")
