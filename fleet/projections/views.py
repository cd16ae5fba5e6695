"""The records the projection machinery answers with: status, errors, rebuild reports.

They are frozen msgspec Structs, so the daemon encodes them to JSON as they
are. Times are epoch milliseconds (UTC). Fields may be added (with defaults);
existing fields keep their names and types.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "LaneState",
    "ProjectionError",
    "ProjectionErrorList",
    "ProjectionStatus",
    "RebuildReport",
]


LaneState = Literal["starting", "catching_up", "live", "rebuilding", "retrying", "stopped"]
"""What a projection is doing in a running :class:`~fleet.projections.ProjectionRunner`."""


class ProjectionStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where a projection stands.

    Attributes:
        name: the projection.
        position: its checkpoint: every event it wants up to here is applied.
        head: the newest position in the log.
        lag: events it wants after its checkpoint (still to apply).
        errors: events it recorded as errors since its last rebuild.
        updated_at: when the checkpoint last moved (``None``: never).
        state: what its runner is doing (``None``: no runner in this process).
        last_error: why the runner last had to retry, if it did.
    """

    name: str
    position: int
    head: int
    lag: int
    errors: int
    updated_at: int | None = None
    state: LaneState | None = None
    last_error: str | None = None


class ProjectionError(msgspec.Struct, frozen=True, kw_only=True):
    """An event a projection could not apply."""

    projection: str
    position: int
    stream_id: str
    event_id: str
    event_type: str
    message: str
    recorded_at: int


class ProjectionErrorList(msgspec.Struct, frozen=True):
    """Errors in position order; ``next_after`` continues the listing (``None``: no more)."""

    errors: list[ProjectionError]
    next_after: int | None


class RebuildReport(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a rebuild.

    Attributes:
        name: the projection.
        events: events replayed.
        errors: events recorded as errors.
        position: the checkpoint when the rebuild finished.
    """

    name: str
    events: int
    errors: int
    position: int
