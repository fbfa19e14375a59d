"""topic: weak_keywords, excluded_phrases, relevance_threshold (topic knowledge as registry data)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:45:00

Existing topics get empty lists and no threshold. The list columns keep a server default of '[]'
(as the model declares), so they are added in place: no table rebuild on SQLite.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("weak_keywords", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("excluded_phrases", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("relevance_threshold", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.drop_column("relevance_threshold")
        batch_op.drop_column("excluded_phrases")
        batch_op.drop_column("weak_keywords")
