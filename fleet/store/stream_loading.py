"""Loading a stream's head and folded state, in a worker thread.

Loading = the newest usable snapshot + every event after it. A snapshot is
usable only if its state schema version equals the aggregate's current one and
it decodes; any other snapshot is ignored (the state is rebuilt from events and
a fresh snapshot replaces it later), never trusted blindly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from fleet.db import StoredEventRef, find_events, latest_snapshot, read_stream_rows
from fleet.errors import ValidationError
from fleet.store.decoding import row_to_event

if TYPE_CHECKING:
    from fleet.db import Database
    from fleet.events import Aggregate, Event

__all__ = ["LoadedStream", "find_stored", "load_events", "load_stream"]

_PAGE = 1000


class LoadedStream(NamedTuple):
    """A stream as loaded: its head version, folded state and snapshot version."""

    head: int | None
    state: Any
    snapshot_version: int


def load_stream(db: Database, stream_id: str, aggregate: Aggregate[Any]) -> LoadedStream:
    """Fold ``stream_id`` from its newest usable snapshot and the events after it."""
    with db.read() as conn:
        state: Any = None
        version = 0
        snapshot = latest_snapshot(conn, stream_id)
        if snapshot is not None and snapshot.schema_version == aggregate.state_schema_version:
            try:
                state = aggregate.decode_state(bytes(snapshot.state))
                version = snapshot.version
            except ValidationError:
                state = None
        snapshot_version = version
        evolve = aggregate.evolve
        while True:
            rows = read_stream_rows(conn, stream_id, version + 1, _PAGE)
            for row in rows:
                state = evolve(state, row_to_event(row))
                version = row.version
            if len(rows) < _PAGE:
                break
    return LoadedStream(version or None, state, snapshot_version)


def load_events(db: Database, stream_id: str, from_version: int) -> list[Event]:
    """Every event of ``stream_id`` from ``from_version`` on, decoded, oldest first."""
    found: list[Event] = []
    with db.read() as conn:
        while True:
            rows = read_stream_rows(conn, stream_id, from_version, _PAGE)
            found.extend(row_to_event(row) for row in rows)
            if len(rows) < _PAGE:
                return found
            from_version = rows[-1].version + 1


def find_stored(db: Database, event_ids: Sequence[str]) -> list[StoredEventRef]:
    """Where the given event ids are stored (only those that are)."""
    with db.read() as conn:
        return list(find_events(conn, event_ids))
