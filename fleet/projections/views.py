"""The records the read side answers with: view rows, pages, projection status.

They are frozen msgspec Structs, so the daemon encodes them to JSON as they
are. Times are epoch milliseconds (UTC). Fields may be added (with defaults);
existing fields keep their names and types.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from fleet.vocabulary import CheckpointStatus, MissionStatus, Priority, WorkOrderStatus

__all__ = [
    "CheckpointList",
    "CheckpointView",
    "LaneState",
    "MissionList",
    "MissionView",
    "ProjectionError",
    "ProjectionErrorList",
    "ProjectionStatus",
    "RebuildReport",
    "WorkOrderList",
    "WorkOrderView",
]

MetadataValue = str | int | float | bool | None


class MissionView(msgspec.Struct, frozen=True, kw_only=True):
    """A mission as the ``missions`` projection sees it.

    The fields up to ``last_reason`` are the mission's folded state
    (:class:`fleet.events.MissionState`); ``closed_at`` is when it was
    completed or cancelled.

    Attributes:
        version: stream version of the last event folded in.
        event_count: events folded in (refused events are not counted).
        last_position: log position of the last event folded in.
        work_orders: work orders that name this mission (``work_orders`` projection).
        work_orders_by_status: the same, counted per status.
        checkpoints: checkpoints that name this mission (``checkpoints`` projection).
    """

    mission_id: str
    status: MissionStatus
    title: str
    description: str
    priority: Priority
    assignee: str | None
    tags: tuple[str, ...]
    metadata: dict[str, MetadataValue]
    due_at: int | None
    created_at: int
    updated_at: int
    closed_at: int | None
    summary: str
    last_reason: str | None
    version: int
    event_count: int
    last_position: int
    work_orders: int = 0
    work_orders_by_status: dict[str, int] = msgspec.field(default_factory=dict)
    checkpoints: int = 0


class WorkOrderView(msgspec.Struct, frozen=True, kw_only=True):
    """A work order as the ``work_orders`` projection sees it.

    The fields up to ``last_reason`` are its folded state
    (:class:`fleet.events.WorkOrderState`); ``closed_at`` is when it was
    completed or cancelled, ``attempt`` counts from 1.
    """

    work_order_id: str
    mission_id: str
    status: WorkOrderStatus
    title: str
    description: str
    priority: Priority
    assignee: str | None
    attempt: int
    blocked_by: str | None
    retryable: bool
    due_at: int | None
    created_at: int
    updated_at: int
    closed_at: int | None
    summary: str
    last_reason: str | None
    version: int
    event_count: int
    last_position: int


class CheckpointView(msgspec.Struct, frozen=True, kw_only=True):
    """A checkpoint as the ``checkpoints`` projection sees it.

    The fields up to ``last_reason`` are its folded state
    (:class:`fleet.events.CheckpointState`).
    """

    checkpoint_id: str
    mission_id: str
    work_order_id: str | None
    status: CheckpointStatus
    label: str
    progress: int
    message: str
    digest: str | None
    size_bytes: int | None
    verified_by: str | None
    restore_count: int
    last_restored_at: int | None
    metadata: dict[str, MetadataValue]
    expires_at: int | None
    created_at: int
    updated_at: int
    last_reason: str | None
    version: int
    event_count: int
    last_position: int


class MissionList(msgspec.Struct, frozen=True):
    """Missions in id order; ``next_after`` continues the listing (``None``: no more)."""

    missions: list[MissionView]
    next_after: str | None


class WorkOrderList(msgspec.Struct, frozen=True):
    """Work orders in id order; ``next_after`` continues the listing (``None``: no more)."""

    work_orders: list[WorkOrderView]
    next_after: str | None


class CheckpointList(msgspec.Struct, frozen=True):
    """Checkpoints in id order; ``next_after`` continues the listing (``None``: no more)."""

    checkpoints: list[CheckpointView]
    next_after: str | None


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
