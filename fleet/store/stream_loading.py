"""Loading streams' head versions and folded state, in a worker thread.

Loading = the newest usable snapshot + every event after it. A snapshot is
usable only if its state schema version equals the aggregate's current one and
it decodes; any other snapshot is ignored (the state is rebuilt from events and
a fresh snapshot replaces it later), never trusted blindly.

A deleted stream (:mod:`fleet.store.deletion`) loads with its head and no
state; a stream started again after a soft deletion is folded from the events
after its deletion record only. Retention settings (``max_count``,
``max_age_s``, ``truncate_before``) limit what readers see, never the state an
append is checked against: an aggregate's state is that of its whole stream,
from its newest snapshot and the stored events after it, and scavenging keeps
every event after an aggregate stream's newest snapshot (see
:mod:`fleet.db.scavenging`). A stream whose first event is hidden from its
readers still has the state that event began.

Streams are loaded many at a time (:func:`load_streams`): streams without a
usable snapshot — typically new or short ones — are read with one query for
all of them, so a burst of first touches costs a few statements, not one
round trip per stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from fleet.core import now_ms
from fleet.db import (
    EventRow,
    StoredEventRef,
    find_events,
    latest_snapshots,
    load_settings_of,
    read_stream_rows,
    read_streams_rows,
    stream_head,
    stream_window,
)
from fleet.errors import StreamCorrupt, ValidationError
from fleet.store.decoding import rows_to_events

if TYPE_CHECKING:
    from fleet.db import Database, Deletion, SnapshotRow, StreamSettingsRow
    from fleet.events import Aggregate, Catalog

__all__ = ["LoadedStream", "find_stored", "load_stream", "load_streams", "load_streams_on"]

_PAGE = 1000


class LoadedStream(NamedTuple):
    """A stream as loaded: its head version, folded state, snapshot version and
    whether (and how) it is deleted."""

    head: int | None
    state: Any
    snapshot_version: int
    deleted: Deletion | None = None


def _fold_rows(
    catalog: Catalog, aggregate: Aggregate[Any], state: Any, version: int, rows: Sequence[EventRow]
) -> tuple[Any, int]:
    evolve = aggregate.evolve
    for event in rows_to_events(rows, catalog):
        state = evolve(state, event)
        version = event.version
    return state, version


def _usable(aggregate: Aggregate[Any], snapshot: SnapshotRow | None) -> Any:
    if snapshot is None or snapshot.schema_version != aggregate.state_schema_version:
        return None
    try:
        return aggregate.decode_state(bytes(snapshot.state))
    except ValidationError:
        return None


def _load_from(
    conn: sa.Connection,
    catalog: Catalog,
    stream_id: str,
    aggregate: Aggregate[Any],
    state: Any,
    version: int,
) -> LoadedStream:
    snapshot_version = version
    while True:
        rows = read_stream_rows(conn, stream_id, version + 1, _PAGE)
        state, version = _fold_rows(catalog, aggregate, state, version, rows)
        if len(rows) < _PAGE:
            return LoadedStream(version or None, state, snapshot_version)


def load_streams(
    db: Database, catalog: Catalog, streams: Sequence[tuple[str, Aggregate[Any] | None]]
) -> list[LoadedStream | StreamCorrupt]:
    """Load several streams; one stream's corrupt data fails only that stream.

    A stream whose category has no aggregate has no state: only its head
    version is read.

    Returns:
        One entry per requested stream, in order: the loaded stream, or the
        :class:`StreamCorrupt` error that explains why it cannot be loaded.
    """
    with db.read() as conn:
        return load_streams_on(conn, catalog, streams)


def load_streams_on(
    conn: sa.Connection, catalog: Catalog, streams: Sequence[tuple[str, Aggregate[Any] | None]]
) -> list[LoadedStream | StreamCorrupt]:
    """:func:`load_streams` on a connection of the caller's (inside its transaction)."""
    results: dict[str, LoadedStream | StreamCorrupt] = {}
    ids = [stream_id for stream_id, _ in streams]
    settings = load_settings_of(conn, ids)
    snapshots = latest_snapshots(conn, ids)
    fresh: dict[str, Aggregate[Any]] = {}
    for stream_id, aggregate in streams:
        saved = settings.get(stream_id)
        if saved is not None and (saved.deleted_version is not None or saved.hard_deleted):
            try:
                results[stream_id] = _load_after_deletion(
                    conn, catalog, stream_id, aggregate, snapshots.get(stream_id), saved
                )
            except ValidationError as exc:
                results[stream_id] = _corrupt(stream_id, exc)
            continue
        if aggregate is None:
            results[stream_id] = LoadedStream(stream_head(conn, stream_id), None, 0)
            continue
        state = _usable(aggregate, snapshots.get(stream_id))
        if state is None:
            fresh[stream_id] = aggregate
            continue
        version = snapshots[stream_id].version
        try:
            results[stream_id] = _load_from(conn, catalog, stream_id, aggregate, state, version)
        except ValidationError as exc:
            results[stream_id] = _corrupt(stream_id, exc)
    grouped: dict[str, list[EventRow]] = {stream_id: [] for stream_id in fresh}
    for row in read_streams_rows(conn, list(fresh)):
        grouped[row.stream_id].append(row)
    for stream_id, rows in grouped.items():
        try:
            state, version = _fold_rows(catalog, fresh[stream_id], None, 0, rows)
        except ValidationError as exc:
            results[stream_id] = _corrupt(stream_id, exc)
        else:
            results[stream_id] = LoadedStream(version or None, state, 0)
    return [results[stream_id] for stream_id, _ in streams]


def _load_after_deletion(
    conn: sa.Connection,
    catalog: Catalog,
    stream_id: str,
    aggregate: Aggregate[Any] | None,
    snapshot: SnapshotRow | None,
    settings: StreamSettingsRow,
) -> LoadedStream:
    """Load a stream that was deleted at some point (``settings`` say when).

    A deleted stream has its head and no state. A stream started again after
    a soft deletion is folded from its deletion record on: nothing before it
    counts, and no snapshot taken before it is used.
    """
    head = stream_head(conn, stream_id)
    window = stream_window(settings, head, now_ms())
    if window.deleted is not None or aggregate is None or head is None:
        return LoadedStream(head, None, 0, window.deleted)
    base = settings.deleted_version or 0
    state = _usable(aggregate, snapshot) if snapshot and snapshot.version > base else None
    version = snapshot.version if state is not None and snapshot is not None else base
    loaded = _load_from(conn, catalog, stream_id, aggregate, state, version)
    return LoadedStream(head, loaded.state, loaded.snapshot_version if state is not None else 0)


def _corrupt(stream_id: str, exc: ValidationError) -> StreamCorrupt:
    error = StreamCorrupt(stream_id, str(exc))
    error.__cause__ = exc
    return error


def load_stream(
    db: Database, catalog: Catalog, stream_id: str, aggregate: Aggregate[Any] | None
) -> LoadedStream:
    """Load one stream.

    Raises:
        StreamCorrupt: a stored event no longer decodes or folds.
    """
    (result,) = load_streams(db, catalog, [(stream_id, aggregate)])
    if isinstance(result, StreamCorrupt):
        raise result
    return result


def find_stored(db: Database, event_ids: Sequence[str]) -> list[StoredEventRef]:
    """Where the given event ids are stored (only those that are)."""
    with db.read() as conn:
        return list(find_events(conn, event_ids))
