"""Plain row records exchanged between the store and the database layer.

They are ``NamedTuple``s on purpose: the writer passes thousands of them per
transaction straight to the driver's ``executemany`` as positional parameters,
with no per-row conversion.
"""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["EventRow", "EventTuple", "PendingRow", "SnapshotRow", "StoredEventRef"]


class EventRow(NamedTuple):
    """One row of ``events``, fields in column order."""

    position: int
    event_id: str
    stream_id: str
    version: int
    type: str
    schema_version: int
    payload: bytes
    correlation_id: str | None
    causation_id: str | None
    actor: str | None
    occurred_at: int
    recorded_at: int


EventTuple = tuple[Any, ...]
"""An events row as the driver returns it: the fields of :class:`EventRow`, in
order, without names. Reads that return thousands of rows hand them on like
this; naming each row would cost more than decoding it."""


PendingRow = tuple[Any, ...]
"""An events row not yet committed: the fields of :class:`EventRow` after
``position``, in order (its position is given when its batch commits)."""


class StoredEventRef(NamedTuple):
    """Where an already stored event lives: used to recognise a retried append."""

    event_id: str
    stream_id: str
    version: int
    position: int


class SnapshotRow(NamedTuple):
    """One row of ``snapshots``: a stream's folded state as of ``version``."""

    stream_id: str
    version: int
    schema_version: int
    state: bytes
    created_at: int
