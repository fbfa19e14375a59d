"""shift: basis, reasons, office_change (why each shift is called)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00

Existing shifts get basis 'statistical' and no reasons, as the model's server defaults say (so the
columns are added in place: no table rebuild on SQLite); the next refresh of their series stores
what detection now says. office_change is NULL unless the level moved with a change of office.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("basis", sa.String(length=80), server_default="statistical", nullable=False)
        )
        batch_op.add_column(sa.Column("reasons", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("office_change", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shift", schema=None) as batch_op:
        batch_op.drop_column("office_change")
        batch_op.drop_column("reasons")
        batch_op.drop_column("basis")
