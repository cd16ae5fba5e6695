"""Built-in views: one row per mission, work order and checkpoint.

The first revision of the ``read_models`` branch. A database that fleet's own
revision 0002 gave these tables (before the read models had a branch of their
own) records this revision without running it.

Revision ID: rm0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "rm0001"
down_revision = None
branch_labels = ("read_models",)
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _view_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("event_count", sa.BigInteger, nullable=False),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        sa.Column("state_schema", sa.Integer, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "mission_view",
        sa.Column("mission_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("tags", Document, nullable=False),
        sa.Column("metadata", Document, nullable=False),
        sa.Column("due_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("closed_at", sa.BigInteger, nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("last_reason", sa.Text, nullable=True),
        *_view_columns(),
        sa.PrimaryKeyConstraint("mission_id", name="pk_mission_view"),
    )
    op.create_index("ix_mission_view_status_mission_id", "mission_view", ["status", "mission_id"])
    op.create_table(
        "work_order_view",
        sa.Column("work_order_id", sa.String(128), nullable=False),
        sa.Column("mission_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(128), nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("blocked_by", sa.String(128), nullable=True),
        sa.Column("retryable", sa.Boolean, nullable=False),
        sa.Column("due_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("closed_at", sa.BigInteger, nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("last_reason", sa.Text, nullable=True),
        *_view_columns(),
        sa.PrimaryKeyConstraint("work_order_id", name="pk_work_order_view"),
    )
    op.create_index(
        "ix_work_order_view_status_work_order_id", "work_order_view", ["status", "work_order_id"]
    )
    op.create_index(
        "ix_work_order_view_mission_id_work_order_id",
        "work_order_view",
        ["mission_id", "work_order_id"],
    )
    op.create_table(
        "checkpoint_view",
        sa.Column("checkpoint_id", sa.String(128), nullable=False),
        sa.Column("mission_id", sa.String(128), nullable=False),
        sa.Column("work_order_id", sa.String(128), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("digest", sa.String(80), nullable=True),
        sa.Column("size_bytes", sa.BigInteger, nullable=True),
        sa.Column("verified_by", sa.String(128), nullable=True),
        sa.Column("restore_count", sa.Integer, nullable=False),
        sa.Column("last_restored_at", sa.BigInteger, nullable=True),
        sa.Column("metadata", Document, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("last_reason", sa.Text, nullable=True),
        *_view_columns(),
        sa.PrimaryKeyConstraint("checkpoint_id", name="pk_checkpoint_view"),
    )
    op.create_index(
        "ix_checkpoint_view_status_checkpoint_id", "checkpoint_view", ["status", "checkpoint_id"]
    )
    op.create_index(
        "ix_checkpoint_view_mission_id_checkpoint_id",
        "checkpoint_view",
        ["mission_id", "checkpoint_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_checkpoint_view_mission_id_checkpoint_id", table_name="checkpoint_view")
    op.drop_index("ix_checkpoint_view_status_checkpoint_id", table_name="checkpoint_view")
    op.drop_table("checkpoint_view")
    op.drop_index("ix_work_order_view_mission_id_work_order_id", table_name="work_order_view")
    op.drop_index("ix_work_order_view_status_work_order_id", table_name="work_order_view")
    op.drop_table("work_order_view")
    op.drop_index("ix_mission_view_status_mission_id", table_name="mission_view")
    op.drop_table("mission_view")
    op.execute(
        "DELETE FROM checkpoints WHERE name IN "
        "('projection:missions', 'projection:work_orders', 'projection:checkpoints')"
    )
    op.execute(
        "DELETE FROM projection_errors WHERE projection IN "
        "('missions', 'work_orders', 'checkpoints')"
    )
