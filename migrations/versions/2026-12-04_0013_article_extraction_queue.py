"""article: extraction_state, _attempts, _error, _queued_at, _lease_until (extraction after ingest)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:00:00

An ingest stores the article and leaves its extraction to worker processes (app.jobs.extraction):
the article row is the queue. NULL state is an article stored before this migration, extracted in
its ingest ("done"). The partial index holds only the articles waiting, so that workers find them
at once however many are stored; another the failed ones, counted by /readyz and /metrics.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op



revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("extraction_state = 'pending'")
FAILED = sa.text("extraction_state = 'failed'")


def upgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extraction_state", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("extraction_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("extraction_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("extraction_queued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("extraction_lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_article_extraction_pending",
        "article",
        ["id"],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    # failed ones are counted by every /readyz and /metrics call
    op.create_index(
        "ix_article_extraction_failed", "article", ["id"], sqlite_where=FAILED, postgresql_where=FAILED
    )


def downgrade() -> None:
    op.drop_index("ix_article_extraction_failed", table_name="article")
    op.drop_index("ix_article_extraction_pending", table_name="article")
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("extraction_lease_until")
        batch_op.drop_column("extraction_queued_at")
        batch_op.drop_column("extraction_error")
        batch_op.drop_column("extraction_attempts")
        batch_op.drop_column("extraction_state")
