"""Small synchronous queries the store's actors run on a connection they hold.

Each function takes a :class:`sqlalchemy.Connection` from
:meth:`fleet.db.Database.read` or from a :class:`fleet.db.WriteTransaction`
and runs one statement; none of them commits. Driver errors are translated by
the block that handed out the connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa

from fleet.db.reads import fetch_event_rows, read_stream_page
from fleet.db.rows import EventRow, SnapshotRow, StoredEventRef
from fleet.db.schema import events, snapshots

__all__ = [
    "find_events",
    "latest_snapshot",
    "latest_snapshots",
    "prune_snapshots",
    "read_stream_rows",
    "read_streams_rows",
    "save_snapshot",
    "stream_head",
]

FIND_CHUNK: Final = 500
"""Event ids looked up per statement (keeps well below SQLite's parameter limit)."""

_STREAM_HEAD: Final = sa.select(sa.func.max(events.c.version)).where(
    events.c.stream_id == sa.bindparam("stream_id")
)
_LATEST_SNAPSHOT: Final = (
    sa.select(snapshots)
    .where(snapshots.c.stream_id == sa.bindparam("stream_id"))
    .order_by(snapshots.c.version.desc())
    .limit(1)
)


def stream_head(conn: sa.Connection, stream_id: str) -> int | None:
    """Return the highest version stored for ``stream_id``, or ``None`` if it has no events.

    Answered from the ``(stream_id, version)`` unique index alone.
    """
    value = conn.execute(_STREAM_HEAD, {"stream_id": stream_id}).scalar_one()
    return None if value is None else int(value)


def stream_heads(conn: sa.Connection, stream_ids: Iterable[str]) -> dict[str, int]:
    """Return the highest stored version of each of ``stream_ids`` that has events.

    Answered from the ``(stream_id, version)`` unique index, ``FIND_CHUNK``
    streams per statement.
    """
    heads: dict[str, int] = {}
    unique = list(dict.fromkeys(stream_ids))
    for start in range(0, len(unique), FIND_CHUNK):
        chunk = unique[start : start + FIND_CHUNK]
        query = (
            sa.select(events.c.stream_id, sa.func.max(events.c.version))
            .where(events.c.stream_id.in_(chunk))
            .group_by(events.c.stream_id)
        )
        heads.update((stream, int(version)) for stream, version in conn.execute(query))
    return heads


def find_events(conn: sa.Connection, event_ids: Sequence[str]) -> list[StoredEventRef]:
    """Return where each of ``event_ids`` that is already stored lives.

    Ids that are not stored are simply absent from the result, which is ordered
    by position. Used to recognise a retried append.
    """
    found: list[StoredEventRef] = []
    unique = list(dict.fromkeys(event_ids))
    for start in range(0, len(unique), FIND_CHUNK):
        chunk = unique[start : start + FIND_CHUNK]
        query = sa.select(
            events.c.event_id, events.c.stream_id, events.c.version, events.c.position
        ).where(events.c.event_id.in_(chunk))
        found.extend(StoredEventRef(*row) for row in conn.execute(query))
    found.sort(key=lambda ref: ref.position)
    return found


def read_stream_rows(
    conn: sa.Connection, stream_id: str, from_version: int, limit: int
) -> list[EventRow]:
    """Return up to ``limit`` events of a stream with ``version >= from_version``, in order."""
    return list(map(EventRow._make, read_stream_page(conn, stream_id, from_version, limit, False)))


def save_snapshot(conn: sa.Connection, snapshot: SnapshotRow) -> None:
    """Store a snapshot; saving the same (stream, version) again replaces its state.

    Call it inside :meth:`fleet.db.Database.write_transaction` (it writes).
    """
    key = (snapshots.c.stream_id == snapshot.stream_id) & (snapshots.c.version == snapshot.version)
    conn.execute(sa.delete(snapshots).where(key))
    conn.execute(sa.insert(snapshots).values(snapshot._asdict()))


def latest_snapshot(conn: sa.Connection, stream_id: str) -> SnapshotRow | None:
    """Return the snapshot with the highest version for ``stream_id``, or ``None``."""
    row = conn.execute(_LATEST_SNAPSHOT, {"stream_id": stream_id}).first()
    return None if row is None else SnapshotRow(*row)


def latest_snapshots(conn: sa.Connection, stream_ids: Sequence[str]) -> dict[str, SnapshotRow]:
    """Return the newest snapshot of each of ``stream_ids`` that has one."""
    found: dict[str, SnapshotRow] = {}
    unique = list(dict.fromkeys(stream_ids))
    for start in range(0, len(unique), FIND_CHUNK):
        chunk = unique[start : start + FIND_CHUNK]
        for row in conn.execute(sa.select(snapshots).where(snapshots.c.stream_id.in_(chunk))):
            snapshot = SnapshotRow(*row)
            current = found.get(snapshot.stream_id)
            if current is None or snapshot.version > current.version:
                found[snapshot.stream_id] = snapshot
    return found


def read_streams_rows(conn: sa.Connection, stream_ids: Sequence[str]) -> list[EventRow]:
    """Return every event of the given streams, ordered by stream and version.

    For loading many short streams at once; long streams are better read one by
    one with :func:`read_stream_rows` from their snapshot on.
    """
    found: list[EventRow] = []
    unique = list(dict.fromkeys(stream_ids))
    for start in range(0, len(unique), FIND_CHUNK):
        chunk = unique[start : start + FIND_CHUNK]
        names = [f"stream_{i}" for i in range(len(chunk))]

        def build(names: list[str] = names) -> sa.Select[Any]:
            return (
                sa.select(events)
                .where(events.c.stream_id.in_([sa.bindparam(name) for name in names]))
                .order_by(events.c.stream_id, events.c.version)
            )

        values = dict(zip(names, chunk, strict=True))
        found.extend(
            map(EventRow._make, fetch_event_rows(conn, ("streams", len(chunk)), build, values))
        )
    return found


def prune_snapshots(conn: sa.Connection, keep: int) -> int:
    """Delete all but the newest ``keep`` snapshots of every stream; return how many went.

    Call it inside :meth:`fleet.db.Database.write_transaction` (it writes).
    """
    newer = snapshots.alias("newer")
    newer_count = (
        sa.select(sa.func.count())
        .where(newer.c.stream_id == snapshots.c.stream_id, newer.c.version > snapshots.c.version)
        .scalar_subquery()
    )
    result = conn.execute(sa.delete(snapshots).where(newer_count >= keep))
    return int(result.rowcount)
