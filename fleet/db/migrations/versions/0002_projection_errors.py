"""Projection errors: the events each projection could not apply.

Fleets before the read models had their own migration branch also created the
built-in views in this revision; a database made then keeps them, and the read
models' branch records them as its own without creating them again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projection_errors",
        sa.Column("projection", sa.String(200), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("stream_id", sa.String(128), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("projection", "position", name="pk_projection_errors"),
    )


def downgrade() -> None:
    op.drop_table("projection_errors")
    op.execute("DELETE FROM checkpoints WHERE name LIKE 'projection:%'")
