"""The tables of a fleet database, as SQLAlchemy Core metadata.

This module is the single description of the schema; the Alembic revisions in
:mod:`fleet.db.migrations` create exactly these tables, and a test compares the
two. Guarantees the rest of fleet relies on:

* ``events.position`` is the global order of the log. The writer assigns it
  explicitly (``head + 1, head + 2, ...``) while holding the write lock, so it is
  gap-free and commit-ordered. On SQLite it is an ``INTEGER PRIMARY KEY`` (an
  alias of the rowid, so ``max(position)`` and range scans cost nothing extra).
* ``UNIQUE(stream_id, version)`` is the last line of defence against two writers
  appending the same version; ``UNIQUE(event_id)`` makes retries detectable.
* Only the indexes named below exist on ``events``: each one costs append speed.
* Times are integer epoch milliseconds (UTC); payloads and snapshot states are
  the bytes the events codec produced, stored untouched.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "EVENT_COLUMNS",
    "SCHEMA_REVISION",
    "checkpoint_view",
    "checkpoints",
    "events",
    "metadata",
    "mission_view",
    "projection_errors",
    "snapshots",
    "streams",
    "work_order_view",
]

NAMING_CONVENTION: Final = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}

SCHEMA_REVISION: Final = "0003"
"""The Alembic revision that creates exactly these tables (the migrations' head).

Opening a store compares it with the database's recorded revision without
loading Alembic; a test checks it against the migration scripts."""

metadata: Final = sa.MetaData(naming_convention=NAMING_CONVENTION)

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""BIGINT everywhere, but exactly ``INTEGER`` on SQLite so the key aliases the rowid."""

Document = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

events: Final = sa.Table(
    "events",
    metadata,
    sa.Column("position", Position, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("stream_id", sa.String(128), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=True),
    sa.Column("causation_id", sa.String(64), nullable=True),
    sa.Column("actor", sa.String(128), nullable=True),
    sa.Column("occurred_at", sa.BigInteger, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("event_id"),
    sa.UniqueConstraint("stream_id", "version"),
    sa.Index(None, "type", "position"),
    sa.Index(None, "correlation_id"),
)

EVENT_COLUMNS: Final[tuple[str, ...]] = tuple(c.name for c in events.columns)
"""Column names of ``events`` in the order of :class:`fleet.db.rows.EventRow`."""

snapshots: Final = sa.Table(
    "snapshots",
    metadata,
    sa.Column("stream_id", sa.String(128), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("state", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("stream_id", "version"),
)

checkpoints: Final = sa.Table(
    "checkpoints",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

streams: Final = sa.Table(
    "streams",
    metadata,
    sa.Column("stream_id", sa.String(128), primary_key=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("max_count", sa.BigInteger, nullable=True),
    sa.Column("max_age_s", sa.BigInteger, nullable=True),
    sa.Column("metadata", Document, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)


# Read models kept by fleet.projections. Each view row is one aggregate folded with
# its transition table: ``state`` holds the folded state as the aggregate encodes it
# (``state_schema`` is its encoding version), the other columns are that state laid
# out for queries, plus what the projection counts (``event_count``: events folded
# in; ``last_position``: the position of the last one).


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

projection_errors: Final = sa.Table(
    "projection_errors",
    metadata,
    sa.Column("projection", sa.String(200), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("stream_id", sa.String(128), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(128), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("projection", "position"),
)
"""Events a projection could not apply (one row per projection and event)."""
