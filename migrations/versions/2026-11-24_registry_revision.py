"""registry revision

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 21:08:00.449556
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "registry_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_revision")),
    )
    # the one row every registry write bumps
    op.bulk_insert(table, [{"id": 1, "revision": 0, "updated_at": datetime(2026, 1, 1, tzinfo=UTC)}])


def downgrade() -> None:
    op.drop_table("registry_revision")
