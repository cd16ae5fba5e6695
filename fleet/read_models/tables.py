"""The tables of Fleet's built-in read models, as SQLAlchemy Core metadata.

Each view row is one aggregate folded with its transition table: ``state``
holds the folded state as the aggregate encodes it (``state_schema`` is its
encoding version), the other columns are that state laid out for queries, plus
what the projection counts (``event_count``: events folded in;
``last_position``: the position of the last one).

The tables are created by the read models' own migration branch
(:data:`fleet.read_models.MIGRATIONS`), not by fleet's own chain; a test
compares the two.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from fleet.db import schema

__all__ = ["checkpoint_view", "metadata", "mission_view", "work_order_view"]

metadata: Final = sa.MetaData(naming_convention=schema.NAMING_CONVENTION)
"""The read models' tables only (fleet's own are in :data:`fleet.db.schema.metadata`)."""

Document: Final = schema.Document


def _view_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("event_count", sa.BigInteger, nullable=False),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        sa.Column("state_schema", sa.Integer, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
    ]


mission_view: Final = sa.Table(
    "mission_view",
    metadata,
    sa.Column("mission_id", sa.String(128), primary_key=True),
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
    sa.Index(None, "status", "mission_id"),
)

work_order_view: Final = sa.Table(
    "work_order_view",
    metadata,
    sa.Column("work_order_id", sa.String(128), primary_key=True),
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
    sa.Index(None, "status", "work_order_id"),
    sa.Index(None, "mission_id", "work_order_id"),
)

checkpoint_view: Final = sa.Table(
    "checkpoint_view",
    metadata,
    sa.Column("checkpoint_id", sa.String(128), primary_key=True),
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
    sa.Index(None, "status", "checkpoint_id"),
    sa.Index(None, "mission_id", "checkpoint_id"),
)
