"""observation.status: `suggested` (the llm engine's suggestions mode)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 09:00:00

The status CHECK constraint admits `suggested`: an automatic observation waiting for a reviewer,
counted in no aggregate until it is verified or corrected (as `rejected` is never counted), so
there is nothing to backfill. On SQLite the constraint is replaced by rebuilding the table (batch
mode, which carries the other named CHECK constraints, indexes and foreign keys over); on
PostgreSQL in place. A downgrade deletes the suggestions: they count in nothing, so the
aggregates stay as they are, and the old constraint could not hold them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_observation_status"
BEFORE = "status IN ('auto', 'verified', 'corrected', 'rejected')"
AFTER = "status IN ('auto', 'verified', 'corrected', 'rejected', 'suggested')"


def _replace(condition: str) -> None:
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_="check")
        batch_op.create_check_constraint(op.f(NAME), condition)


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM observation WHERE status = 'suggested'"))
    _replace(BEFORE)
