"""The records the built-in read models answer with: view rows and pages.

They are frozen msgspec Structs, so the daemon encodes them to JSON as they
are. Times are epoch milliseconds (UTC). Fields may be added (with defaults);
existing fields keep their names and types.
"""

from __future__ import annotations

import msgspec

from fleet.vocabulary import CheckpointStatus, MissionStatus, Priority, WorkOrderStatus

__all__ = [
    "CheckpointList",
    "CheckpointView",
    "MissionList",
    "MissionView",
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
