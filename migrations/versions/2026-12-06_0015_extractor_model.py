"""extractor_model: claim models trained for this deployment (`stanceline train`)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00

One row per trained model: the model file (JSON), its SHA-256, what training measured, and
whether the learned engine uses it. No row is active on a new database: the engine uses the
model shipped with the package.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "extractor_model",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extractor_model")),
    )


def downgrade() -> None:
    op.drop_table("extractor_model")
