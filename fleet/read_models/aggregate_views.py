"""The built-in read models: one row per mission, work order and checkpoint.

Each row is its stream folded with the aggregate's own transition table
(:meth:`fleet.events.Aggregate.evolve`), so a view always agrees with the state
the store's actors fold: same status, same fields, same rules. The folded state
is kept in the row (``state``, encoded by the aggregate) and laid out in the
other columns for queries, with two counters the projection adds:
``event_count`` (events folded in) and ``last_position`` (where the last one
sits in the log).

An event the table refuses (an illegal transition, or any event of a stream
whose creation was refused: a missing predecessor) changes nothing and is
returned as a failure, which becomes a ``projection_errors`` row; the stream's
later events are folded onto the state before it. A row whose stored state has
another encoding version than the code's is folded again from its stream's
events before new events are applied.

A stream's deletion (its ``$deleted`` record, :class:`fleet.events.StreamDeletion`)
drops its row; a soft-deleted stream started again gets a new row, folded from
the events after the deletion only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, NamedTuple

import msgspec
import sqlalchemy as sa

from fleet.core import DELETION_TYPE
from fleet.db import FIND_CHUNK, read_stream_rows
from fleet.errors import InvalidTransition, ValidationError
from fleet.events import Aggregate, Event
from fleet.projections import EventFailure, Projection
from fleet.read_models import tables
from fleet.store import row_to_event
from fleet.vocabulary import CATALOG, CHECKPOINT, MISSION, WORK_ORDER

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "BUILTIN_PROJECTIONS",
    "CHECKPOINTS",
    "MISSIONS",
    "WORK_ORDERS",
    "AggregateView",
]

BOOKKEEPING_COLUMNS: Final = ("event_count", "last_position", "state_schema", "state")
"""Columns of a view table that are not fields of the aggregate state."""


class _Stored(NamedTuple):
    state: Any
    event_count: int


class AggregateView:
    """A projection keeping one row per stream of ``aggregate`` in ``table``.

    Args:
        name: the projection's permanent name.
        aggregate: the aggregate whose events it folds.
        table: the view table: a key column for the stream id, columns named
            like fields of the aggregate state, and the bookkeeping columns.
        key: the name of the key column.

    Raises:
        ValueError: a column of ``table`` is neither the key, a state field nor
            a bookkeeping column.
    """

    def __init__(self, name: str, aggregate: Aggregate[Any], table: sa.Table, key: str) -> None:
        self._name = name
        self.aggregate = aggregate
        self.table = table
        self.key = table.c[key]
        fields = set(aggregate.state_type.__struct_fields__)
        columns = [column.name for column in table.columns]
        unknown = set(columns) - fields - {key, *BOOKKEEPING_COLUMNS}
        if unknown:
            raise ValueError(f"{table.name} has columns no state field fills: {sorted(unknown)}")
        self.state_columns: tuple[str, ...] = tuple(c for c in columns if c in fields)
        self._update = sa.update(table).where(self.key == sa.bindparam("stream_id_"))
        self._event_types = aggregate.event_types | {DELETION_TYPE}

    def __repr__(self) -> str:
        return f"<AggregateView {self._name} ({self.table.name})>"

    @property
    def name(self) -> str:
        """The projection's name."""
        return self._name

    @property
    def event_types(self) -> frozenset[str]:
        """Every event type of the aggregate, and deletions."""
        return self._event_types

    def handle(self, conn: sa.Connection, events: Sequence[Event]) -> list[EventFailure]:
        """Fold ``events`` into the rows of their streams; see the module docstring."""
        stored = self._load(conn, dict.fromkeys(event.stream_id for event in events))
        states = {stream_id: row.state for stream_id, row in stored.items()}
        counts = {stream_id: row.event_count for stream_id, row in stored.items()}
        positions: dict[str, int] = {}
        failures: list[EventFailure] = []
        deleted: set[str] = set()
        for event in events:
            stream_id = event.stream_id
            if event.type == DELETION_TYPE:
                states.pop(stream_id, None)
                counts.pop(stream_id, None)
                positions.pop(stream_id, None)
                deleted.add(stream_id)
                continue
            try:
                states[stream_id] = self.aggregate.evolve(states.get(stream_id), event)
            except InvalidTransition as exc:
                failures.append(EventFailure(event, str(exc)))
                continue
            counts[stream_id] = counts.get(stream_id, 0) + 1
            positions[stream_id] = event.position
            deleted.discard(stream_id)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for stream_id, position in positions.items():
            values = self.row_values(states[stream_id], counts[stream_id], position)
            if stream_id in stored:
                values["stream_id_"] = stream_id
                updates.append(values)
            else:
                values[self.key.name] = stream_id
                inserts.append(values)
        if inserts:
            conn.execute(sa.insert(self.table), inserts)
        if updates:
            conn.execute(self._update, updates)
        gone = [stream_id for stream_id in deleted if stream_id in stored]
        for start in range(0, len(gone), FIND_CHUNK):
            conn.execute(
                sa.delete(self.table).where(self.key.in_(gone[start : start + FIND_CHUNK]))
            )
        return failures

    def reset(self, conn: sa.Connection) -> None:
        """Delete every row of the view."""
        conn.execute(sa.delete(self.table))

    def row_values(self, state: Any, event_count: int, last_position: int) -> dict[str, Any]:
        """The columns of a row holding ``state`` (all but the key)."""
        data = msgspec.to_builtins(state)
        values = {name: data[name] for name in self.state_columns}
        values["event_count"] = event_count
        values["last_position"] = last_position
        values["state_schema"] = self.aggregate.state_schema_version
        values["state"] = self.aggregate.encode_state(state)
        return values

    def _load(self, conn: sa.Connection, stream_ids: Iterable[str]) -> dict[str, _Stored]:
        table = self.table
        found: dict[str, _Stored] = {}
        unique = list(stream_ids)
        for start in range(0, len(unique), FIND_CHUNK):
            query = sa.select(
                self.key, table.c.version, table.c.event_count, table.c.state_schema, table.c.state
            ).where(self.key.in_(unique[start : start + FIND_CHUNK]))
            for stream_id, version, event_count, state_schema, blob in conn.execute(query):
                state = self._decode(conn, stream_id, int(version), int(state_schema), bytes(blob))
                found[stream_id] = _Stored(state, int(event_count))
        return found

    def _decode(
        self, conn: sa.Connection, stream_id: str, version: int, schema: int, blob: bytes
    ) -> Any:
        if schema == self.aggregate.state_schema_version:
            try:
                return self.aggregate.decode_state(blob)
            except ValidationError:
                pass
        state: Any = None
        for row in read_stream_rows(conn, stream_id, 1, version):
            try:
                state = self.aggregate.evolve(state, row_to_event(row, CATALOG))
            except InvalidTransition:
                continue
        return state


MISSIONS: Final = AggregateView("missions", MISSION, tables.mission_view, "mission_id")
"""Missions (``mission_view``)."""

WORK_ORDERS: Final = AggregateView(
    "work_orders", WORK_ORDER, tables.work_order_view, "work_order_id"
)
"""Work orders (``work_order_view``)."""

CHECKPOINTS: Final = AggregateView(
    "checkpoints", CHECKPOINT, tables.checkpoint_view, "checkpoint_id"
)
"""Checkpoints (``checkpoint_view``)."""

BUILTIN_PROJECTIONS: Final[tuple[Projection, ...]] = (MISSIONS, WORK_ORDERS, CHECKPOINTS)
"""The read models fleet keeps by default, in the order they are reported."""
