"""Plain row records exchanged between the store and the database layer.

They are ``NamedTuple``s or plain tuples on purpose: the writer passes
thousands of them per transaction straight to the driver's ``executemany`` as
positional parameters, with no per-row conversion.

An event row has two layouts, each with its indexes named here:

* **stored** (:class:`EventRow`, :data:`EventTuple`, indexes in
  :class:`StoredColumn`): the columns of ``events`` in order, ``position`` first;
  what reads return and what is inserted.
* **pending** (:data:`PendingTuple`, indexes in :class:`PendingColumn`): the
  same columns without ``position``, as stream actors build rows before the
  writer assigns positions. A pending row becomes a stored one as
  ``(position, *pending)``, so each pending index is the stored one minus one.

Code that takes a field out of a row tuple uses these names, never a bare
number; they are plain ``int`` class attributes, so indexing with them costs
what indexing with a literal does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple

__all__ = [
    "EventRow",
    "EventTuple",
    "PendingColumn",
    "PendingTuple",
    "SnapshotRow",
    "StoredColumn",
    "StoredEventRef",
    "positioned",
]


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
order, without names (index them with :class:`StoredColumn`). Reads that return
thousands of rows hand them on like this; naming each row would cost more than
decoding it."""

PendingTuple = tuple[Any, ...]
"""An events row before it has a position: the fields of :class:`EventRow`
after ``position``, in order (index them with :class:`PendingColumn`)."""


class StoredColumn:
    """Index of each field in a stored row (:class:`EventRow`, :data:`EventTuple`)."""

    POSITION: Final = 0
    EVENT_ID: Final = 1
    STREAM_ID: Final = 2
    VERSION: Final = 3
    TYPE: Final = 4
    SCHEMA_VERSION: Final = 5
    PAYLOAD: Final = 6
    CORRELATION_ID: Final = 7
    CAUSATION_ID: Final = 8
    ACTOR: Final = 9
    OCCURRED_AT: Final = 10
    RECORDED_AT: Final = 11


class PendingColumn:
    """Index of each field in a pending row (:data:`PendingTuple`): one less than
    in :class:`StoredColumn`, since a pending row has no position."""

    EVENT_ID: Final = 0
    STREAM_ID: Final = 1
    VERSION: Final = 2
    TYPE: Final = 3
    SCHEMA_VERSION: Final = 4
    PAYLOAD: Final = 5
    CORRELATION_ID: Final = 6
    CAUSATION_ID: Final = 7
    ACTOR: Final = 8
    OCCURRED_AT: Final = 9
    RECORDED_AT: Final = 10


def positioned(rows: Sequence[PendingTuple], first: int) -> list[EventTuple]:
    """Pending ``rows`` made stored ones: their positions put in front, from ``first`` on."""
    return [(first + i, *row) for i, row in enumerate(rows)]


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
