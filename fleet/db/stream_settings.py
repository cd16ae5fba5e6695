"""Per-stream settings kept in the ``streams`` table: deletion, retention limits
and a free-form JSON document, and what they let readers see.

A stream has a row here only once settings were saved for it; its events do
not need one. :func:`stream_window` turns a row into the part of the stream
readers see; every read of a stream goes through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa

from fleet.db.schema import streams

__all__ = [
    "Deletion",
    "StreamSettingsRow",
    "StreamWindow",
    "deleted_settings",
    "load_settings_of",
    "load_stream_settings",
    "save_stream_settings",
    "stream_window",
    "streams_with_settings",
]

Deletion = Literal["soft", "hard"]
"""How a stream was deleted: ``soft`` (an append starts it again) or ``hard``."""


class StreamSettingsRow(NamedTuple):
    """One row of ``streams``."""

    stream_id: str
    max_count: int | None
    max_age_s: int | None
    metadata: dict[str, Any] | None
    created_at: int
    updated_at: int
    truncate_before: int | None = None
    hard_deleted: bool = False
    deleted_version: int | None = None


def _row(row: Any) -> StreamSettingsRow:
    return StreamSettingsRow(
        row.stream_id,
        row.max_count,
        row.max_age_s,
        row.metadata,
        row.created_at,
        row.updated_at,
        row.truncate_before,
        bool(row.hard_deleted),
        row.deleted_version,
    )


def load_stream_settings(conn: sa.Connection, stream_id: str) -> StreamSettingsRow | None:
    """The saved settings of ``stream_id``, or ``None``."""
    row = conn.execute(sa.select(streams).where(streams.c.stream_id == stream_id)).first()
    return None if row is None else _row(row)


def load_settings_of(
    conn: sa.Connection, stream_ids: Sequence[str]
) -> dict[str, StreamSettingsRow]:
    """The saved settings of those of ``stream_ids`` that have any, by stream id."""
    found: dict[str, StreamSettingsRow] = {}
    for start in range(0, len(stream_ids), 500):
        chunk = list(stream_ids[start : start + 500])
        query = sa.select(streams).where(streams.c.stream_id.in_(chunk))
        for row in conn.execute(query):
            found[row.stream_id] = _row(row)
    return found


def streams_with_settings(conn: sa.Connection, after: str | None, limit: int) -> list[str]:
    """Up to ``limit`` ids of streams with saved settings, after ``after``, in id order."""
    query = sa.select(streams.c.stream_id).order_by(streams.c.stream_id).limit(limit)
    if after is not None:
        query = query.where(streams.c.stream_id > after)
    return list(conn.execute(query).scalars())


def deleted_settings(
    stream_id: str, old: StreamSettingsRow | None, version: int, hard: bool, now: int
) -> StreamSettingsRow:
    """The settings of ``stream_id`` (``old`` ones, or none yet) once its deletion
    record is stored at ``version``: the other settings are kept."""
    if old is None:
        old = StreamSettingsRow(stream_id, None, None, None, now, now)
    return old._replace(updated_at=now, hard_deleted=hard, deleted_version=version)


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


class StreamWindow(NamedTuple):
    """The part of a stream its readers see.

    Attributes:
        deleted: ``None`` for a live stream; ``"soft"`` or ``"hard"`` for a
            deleted one, which readers do not see at all.
        first_version: events below this version are hidden (truncation and
            ``max_count``).
        recorded_from: events recorded before this time (epoch ms) are hidden
            (``max_age_s``); ``None``: no age limit.
    """

    deleted: Deletion | None
    first_version: int
    recorded_from: int | None


OPEN_WINDOW = StreamWindow(None, 1, None)


def stream_window(settings: StreamSettingsRow | None, head: int | None, now: int) -> StreamWindow:
    """What readers of a stream at version ``head`` see at time ``now`` (epoch ms).

    A hard-deleted stream is deleted for good. A soft-deleted one is deleted
    until an event is appended after its deletion record (``deleted_version``);
    from then on readers see only the events after the record. ``max_count``
    keeps the newest events, ``truncate_before`` hides those below it,
    ``max_age_s`` those older; the strictest wins.
    """
    if settings is None:
        return OPEN_WINDOW
    first = settings.truncate_before or 1
    deleted_at = settings.deleted_version
    if deleted_at is not None:
        first = max(first, deleted_at + 1)
    if settings.hard_deleted:
        return StreamWindow("hard", first, None)
    if deleted_at is not None and (head or 0) <= deleted_at:
        return StreamWindow("soft", first, None)
    if settings.max_count is not None and head is not None:
        first = max(first, head - settings.max_count + 1)
    recorded_from = None if settings.max_age_s is None else now - settings.max_age_s * 1000
    return StreamWindow(None, first, recorded_from)
