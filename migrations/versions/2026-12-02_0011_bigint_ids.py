"""64-bit ids: every id and id-holding column BIGINT on PostgreSQL, with bigint sequences

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:00:00

PostgreSQL: each table is altered once (all its id columns in one ALTER TABLE, so one rewrite per
table, under an exclusive lock: on a large database, plan for it), and each serial sequence is
made bigint too, or it would still stop at 2^31 - 1. SQLite: nothing to do, its INTEGER is already
64-bit and a primary key must stay INTEGER to be the rowid.

Downgrading refuses (PostgreSQL's "integer out of range") once an id has passed 2^31 - 1.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its id columns: the primary key's and every column holding an id (foreign keys, and
# job_item.article_id, which keeps the id of an article that may since have gone)
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "registry_revision": ("id",),
    "data_revision": ("id",),
    "source": ("id",),
    "article": ("id", "source_id", "story_id"),
    "article_revision": ("id", "article_id"),
    "actor": ("id",),
    "actor_alias": ("id", "actor_id"),
    "actor_membership": ("id", "actor_id", "parent_id"),
    "topic": ("id", "parent_id"),
    "observation": ("id", "actor_id", "topic_id", "article_id"),
    "shift": ("id", "topic_id", "actor_id"),
    "webhook_delivery": ("id",),
    "shift_refresh": ("topic_id", "actor_id"),
    "api_key": ("id",),
    "observation_daily": ("topic_id", "actor_id"),
    "observation_period": ("topic_id", "actor_id"),
    "article_fingerprint": ("article_id",),
    "article_fingerprint_band": ("article_id",),
    "feed": ("id",),
    "job": ("id",),
    "job_item": ("job_id", "article_id"),
}


def _alter(sql_type: str) -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table, columns in ID_COLUMNS.items():
        changes = ", ".join(f'ALTER COLUMN "{column}" TYPE {sql_type}' for column in columns)
        op.execute(f'ALTER TABLE "{table}" {changes}')
    pairs = ", ".join(
        f"('{table}', '{column}')" for table, columns in ID_COLUMNS.items() for column in columns
    )
    # the sequences behind serial columns (pg_get_serial_sequence: NULL for a column without one)
    op.execute(
        f"""
        DO $$
        DECLARE sequence_name text;
        BEGIN
            FOR sequence_name IN
                SELECT pg_get_serial_sequence(t, c) FROM (VALUES {pairs}) AS ids(t, c)
            LOOP
                IF sequence_name IS NOT NULL THEN
                    EXECUTE format('ALTER SEQUENCE %s AS {sql_type}', sequence_name);
                END IF;
            END LOOP;
        END $$
        """
    )


def upgrade() -> None:
    _alter("BIGINT")


def downgrade() -> None:
    _alter("INTEGER")
