"""What a projection is: a name, the events it wants, a handler and a reset.

A projection turns events into read-model rows. Fleet calls its handler with a
SQLAlchemy connection that is inside an open write transaction and a batch of
events in position order; the projection's checkpoint is written in the same
transaction (see :mod:`fleet.projections.batch`), so the rows and the
checkpoint commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple, Protocol

import sqlalchemy as sa

from fleet.db import LogFilter
from fleet.errors import ProjectionNotFound
from fleet.events import Event

__all__ = [
    "CHECKPOINT_PREFIX",
    "EventFailure",
    "Projection",
    "checkpoint_name",
    "find_projection",
    "projections_by_name",
    "wanted_events",
]

CHECKPOINT_PREFIX: Final = "projection:"
"""A projection's checkpoint is the row ``projection:<name>`` of the ``checkpoints`` table."""


class EventFailure(NamedTuple):
    """An event a projection could not apply, and why (one line for the error row)."""

    event: Event
    message: str


class Projection(Protocol):
    """A read model kept from the event log.

    Implementations must keep nothing outside the database between calls: a
    batch whose transaction rolls back is handed over again, and the rows it
    wrote are gone.
    """

    @property
    def name(self) -> str:
        """A permanent name: it keys the checkpoint and the error rows."""
        ...

    @property
    def event_types(self) -> frozenset[str] | None:
        """The event types the projection reads (``None``: every event).

        Every event includes the ``$deleted`` records of deleted streams
        (:class:`~fleet.events.StreamDeletion`); name
        :data:`~fleet.core.DELETION_TYPE` among the types to get them too.
        """
        ...

    def handle(self, conn: sa.Connection, events: Sequence[Event]) -> Sequence[EventFailure]:
        """Apply ``events`` (in position order, each exactly once) to the read model.

        Args:
            conn: a connection inside the open write transaction; do not commit.
            events: events after the projection's checkpoint, of its types.

        Returns:
            The events the read model refused (an event that breaks a
            transition table, say), each with its reason. The other events
            were applied; the refused ones are recorded as projection errors.

        Raises:
            Exception: anything unexpected. The batch is then rolled back and
                applied again one event at a time, so only the events that
                raise are recorded as errors.
        """
        ...

    def reset(self, conn: sa.Connection) -> None:
        """Delete every row of the read model (before a rebuild), inside the transaction."""
        ...


def checkpoint_name(name: str) -> str:
    """The ``checkpoints`` row that holds the projection ``name``'s position."""
    return CHECKPOINT_PREFIX + name


def projections_by_name(projections: Sequence[Projection]) -> Mapping[str, Projection]:
    """Index projections by name.

    Raises:
        ValueError: two projections share a name.
    """
    found: dict[str, Projection] = {}
    for projection in projections:
        if projection.name in found:
            raise ValueError(f"two projections are named {projection.name!r}")
        found[projection.name] = projection
    return found


def find_projection(projections: Sequence[Projection], name: str) -> Projection:
    """Return the projection called ``name``.

    Raises:
        ProjectionNotFound: none of ``projections`` has that name.
    """
    for projection in projections:
        if projection.name == name:
            return projection
    raise ProjectionNotFound(name)


def wanted_events(projection: Projection) -> LogFilter:
    """The filter that selects the events of the log ``projection`` reads.

    Raises:
        ValidationError: the projection names an event type that is not registered.
    """
    types = projection.event_types
    return LogFilter() if types is None else LogFilter(event_types=sorted(types))
