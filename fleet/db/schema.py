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
    "NAMING_CONVENTION",
    "SCHEMA_REVISION",
    "Document",
    "checkpoints",
    "events",
    "metadata",
    "projection_errors",
    "snapshots",
    "streams",
]

NAMING_CONVENTION: Final = {
    "pk": "pk_%(table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
}

SCHEMA_REVISION: Final = "0004"
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
    sa.Column("max_count", sa.BigInteger, nullable=True),
    sa.Column("max_age_s", sa.BigInteger, nullable=True),
    sa.Column("metadata", Document, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("truncate_before", sa.BigInteger, nullable=True),
    sa.Column("deleted_version", sa.BigInteger, nullable=True),
    sa.Column("hard_deleted", sa.Boolean, nullable=False, server_default=sa.false()),
)
"""Per-stream settings: deletion, retention and a free-form document (see
:mod:`fleet.db.stream_settings`); a stream without a row has none."""


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
