"""article: extracted_registry_revision, extractor_version (what its extraction was made with)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:00:00

Both nullable, added in place (no table rebuild on SQLite). Articles stored before this migration
get NULL, "unknown": a re-ingest of the same text re-extracts such an article only when it has no
automatic observation (it was most likely stored before any registry was loaded); the others are
taken as current, and `stanceline jobs reextract` refreshes them all if wanted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extracted_registry_revision", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("extractor_version", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("extractor_version")
        batch_op.drop_column("extracted_registry_revision")
