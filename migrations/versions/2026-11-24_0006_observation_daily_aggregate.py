"""observation daily aggregate and its weekly and monthly sums, backfilled from the observations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 23:00:44.236854
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of what app.store.aggregates.recomputed() selects: one row per (topic, actor,
# UTC day) over the non-rejected observations.
BACKFILL = """
INSERT INTO observation_daily
    (topic_id, actor_id, day, count, weight, weighted_sum, weight_sq, weighted_sq_sum)
SELECT topic_id, actor_id, {day} AS day, count(*), sum(confidence), sum(confidence * score),
       sum(confidence * confidence), sum(confidence * score * score)
FROM observation
WHERE status <> 'rejected'
GROUP BY topic_id, actor_id, {day}
"""
UTC_DAY = {"sqlite": "date(observed_at)", "postgresql": "CAST(timezone('UTC', observed_at) AS DATE)"}
# and of what app.store.aggregates.rebuild() sums per ISO week (Monday) and month from the days
PERIOD_BACKFILL = """
INSERT INTO observation_period
    (topic_id, period, actor_id, start, count, weight, weighted_sum, weight_sq, weighted_sq_sum)
SELECT topic_id, '{period}', actor_id, {start} AS start, sum(count), sum(weight), sum(weighted_sum),
       sum(weight_sq), sum(weighted_sq_sum)
FROM observation_daily
GROUP BY topic_id, actor_id, {start}
"""
PERIOD_START = {
    "sqlite": {"week": "date(day, 'weekday 0', '-6 days')", "month": "strftime('%Y-%m-01', day)"},
    "postgresql": {
        "week": "CAST(date_trunc('week', CAST(day AS TIMESTAMP)) AS DATE)",
        "month": "CAST(date_trunc('month', CAST(day AS TIMESTAMP)) AS DATE)",
    },
}


def upgrade() -> None:
    op.create_table(
        "observation_daily",
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("weighted_sum", sa.Float(), nullable=False),
        sa.Column("weight_sq", sa.Float(), nullable=False),
        sa.Column("weighted_sq_sum", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actor.id"], name=op.f("fk_observation_daily_actor_id_actor"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topic.id"], name=op.f("fk_observation_daily_topic_id_topic"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("topic_id", "actor_id", "day", name=op.f("pk_observation_daily")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("observation_daily", schema=None) as batch_op:
        batch_op.create_index("ix_observation_daily_actor", ["actor_id"], unique=False)
    op.create_table(
        "observation_period",
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=5), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("weighted_sum", sa.Float(), nullable=False),
        sa.Column("weight_sq", sa.Float(), nullable=False),
        sa.Column("weighted_sq_sum", sa.Float(), nullable=False),
        sa.CheckConstraint("period IN ('week', 'month')", name=op.f("ck_observation_period_period")),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actor.id"], name=op.f("fk_observation_period_actor_id_actor"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topic.id"], name=op.f("fk_observation_period_topic_id_topic"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("topic_id", "period", "actor_id", "start", name=op.f("pk_observation_period")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("observation_period", schema=None) as batch_op:
        batch_op.create_index("ix_observation_period_actor", ["actor_id"], unique=False)
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL.format(day=UTC_DAY[dialect]))
    for period, start in PERIOD_START[dialect].items():
        op.execute(PERIOD_BACKFILL.format(period=period, start=start))


def downgrade() -> None:
    with op.batch_alter_table("observation_period", schema=None) as batch_op:
        batch_op.drop_index("ix_observation_period_actor")
    op.drop_table("observation_period")
    with op.batch_alter_table("observation_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_observation_daily_actor")
    op.drop_table("observation_daily")
