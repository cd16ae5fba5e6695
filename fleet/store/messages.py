"""Messages a stream actor understands, and the prepared form of an event.

Everything here is built by the store's public methods *before* a request is
queued: payloads are validated and encoded, ids are checked, so an actor only
decides versions and order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from fleet.events import EventMetadata, JsonPayload, Payload
from fleet.store.expected_version import ExpectedVersion

if TYPE_CHECKING:
    from actors import Envelope
    from fleet.store.multi_append import MultiAppend

__all__ = [
    "AppendRequest",
    "DeleteRequest",
    "ExecuteRequest",
    "PartRequest",
    "PreparedEvent",
    "Redo",
]


class PreparedEvent(msgspec.Struct, frozen=True, gc=False):
    """A validated, encoded event waiting for a version.

    A frozen Struct made once per event on the append path (cheaper to make
    than a named tuple); it refers only to data, never back to its holders.
    """

    event_id: str
    type: str
    schema_version: int
    data: bytes
    payload: Payload | JsonPayload
    metadata: EventMetadata
    occurred_at: int


class AppendRequest(msgspec.Struct, frozen=True, gc=False):
    """Append ``events`` if the stream meets ``expected``."""

    expected: ExpectedVersion
    events: Sequence[PreparedEvent]
    explicit_ids: bool
    """True when the caller chose the event ids (a retry is possible)."""
    prepared_at: int
    """When the events were prepared (epoch ms): their time, and the time they
    are recorded at when the actor takes the request in the caller's task."""


class ExecuteRequest(NamedTuple):
    """Run ``decide(state)`` against the stream's current state and append its events."""

    decide: Callable[[Any], Sequence[Any]]
    metadata: EventMetadata | None


class PartRequest(NamedTuple):
    """One stream's share of an atomic multi-stream append."""

    coordinator: MultiAppend
    share: int
    """This stream's place among the shares (sorted by stream id)."""
    expected: ExpectedVersion
    events: Sequence[PreparedEvent]


class DeleteRequest(NamedTuple):
    """Delete the stream (see :mod:`fleet.store.deletion`)."""

    hard: bool
    expected: ExpectedVersion


class Redo(NamedTuple):
    """Requests sent back to their actor because the stream moved under them.

    Their bundle failed on a conflict (or behind one), or the actor's refusal
    turned out to rest on a head the database had already passed. The actor
    reloads the stream, answers exact retries with their original result,
    refuses partial overlaps, and processes the rest once more.
    """

    envelopes: Sequence[Envelope[Any, Any]]
    error: BaseException
    """The answer if the requests can no longer be processed (the store is closing)."""
    attempt: int
    """How many times these requests were processed before (1 for the first redo)."""
