"""Per-stream settings kept in the ``streams`` table: a soft-delete flag, retention
limits and a free-form JSON document.

A stream has a row here only once settings were saved for it; its events do
not need one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa

from fleet.db.schema import streams

__all__ = ["StreamSettingsRow", "load_stream_settings", "save_stream_settings"]


class StreamSettingsRow(NamedTuple):
    """One row of ``streams``."""

    stream_id: str
    deleted: bool
    max_count: int | None
    max_age_s: int | None
    metadata: dict[str, Any] | None
    created_at: int
    updated_at: int


def load_stream_settings(conn: sa.Connection, stream_id: str) -> StreamSettingsRow | None:
    """The saved settings of ``stream_id``, or ``None``."""
    row = conn.execute(sa.select(streams).where(streams.c.stream_id == stream_id)).first()
    if row is None:
        return None
    return StreamSettingsRow(
        row.stream_id,
        bool(row.deleted),
        row.max_count,
        row.max_age_s,
        row.metadata,
        row.created_at,
        row.updated_at,
    )


def save_stream_settings(conn: sa.Connection, settings: StreamSettingsRow) -> None:
    """Create or replace the settings of ``settings.stream_id`` (keeps ``created_at``).

    Call it inside :meth:`fleet.db.Database.write_transaction` (it writes).
    """
    values = settings._asdict()
    changed = {k: v for k, v in values.items() if k not in ("stream_id", "created_at")}
    updated = conn.execute(
        sa.update(streams).where(streams.c.stream_id == settings.stream_id).values(changed)
    )
    if updated.rowcount == 0:
        conn.execute(sa.insert(streams).values(values))
