"""Stream lifecycle: a truncation point, the version of a deletion, a permanent deletion flag.

``truncate_before`` hides every event of a stream below that version from its
readers; ``deleted_version`` is the version a stream was last deleted at (its
``$deleted`` record); ``hard_deleted`` marks a stream that can never be written
again. The columns are added to ``streams``, and ``deleted`` goes: a stream
an application had marked deleted becomes a soft-deleted one, deleted at its
head (an append starts it again), and whether a stream is deleted is worked
out from these columns from now on.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("streams") as batch:
        batch.add_column(sa.Column("truncate_before", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("deleted_version", sa.BigInteger, nullable=True))
        batch.add_column(
            sa.Column("hard_deleted", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE streams SET deleted_version = (SELECT coalesce(max(version), 0) "
        "FROM events WHERE events.stream_id = streams.stream_id) WHERE deleted"
    )
    with op.batch_alter_table("streams") as batch:
        batch.drop_column("deleted")


def downgrade() -> None:
    with op.batch_alter_table("streams") as batch:
        batch.add_column(
            sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE streams SET deleted = (deleted_version IS NOT NULL OR hard_deleted)")
    with op.batch_alter_table("streams") as batch:
        batch.drop_column("hard_deleted")
        batch.drop_column("deleted_version")
        batch.drop_column("truncate_before")
