"""The ten work-order events.

A work order is one unit of work inside a mission; its stream is ``wo-…`` and
:class:`WorkOrderCreated` names the mission it belongs to. The legal order of the
events is the transition table in :mod:`fleet.vocabulary._work_order`.
"""

from __future__ import annotations

from typing import ClassVar

from fleet.events import Payload
from fleet.vocabulary._constants import Priority
from fleet.vocabulary._fields import (
    AgentName,
    Description,
    EpochMs,
    MissionIdField,
    Note,
    Reason,
    Title,
    WorkOrderIdField,
)

__all__ = [
    "WORK_ORDER_EVENTS",
    "WorkOrderAssigned",
    "WorkOrderBlocked",
    "WorkOrderCancelled",
    "WorkOrderCompleted",
    "WorkOrderCreated",
    "WorkOrderFailed",
    "WorkOrderPayload",
    "WorkOrderRetried",
    "WorkOrderStarted",
    "WorkOrderUnblocked",
    "WorkOrderUpdated",
]


class WorkOrderPayload(Payload, frozen=True):
    """Base of the payloads appended to work-order (``wo-…``) streams."""


class WorkOrderCreated(WorkOrderPayload, frozen=True, tag="WorkOrderCreated"):
    """A work order was created in a mission; always the first event of its stream."""

    nonblank: ClassVar[tuple[str, ...]] = ("title",)

    mission_id: MissionIdField
    title: Title
    description: Description = ""
    priority: Priority = "medium"
    due_at: EpochMs | None = None


class WorkOrderUpdated(WorkOrderPayload, frozen=True, tag="WorkOrderUpdated"):
    """The title, description, priority or due date changed; at least one is given."""

    nonblank: ClassVar[tuple[str, ...]] = ("title",)

    title: Title | None = None
    description: Description | None = None
    priority: Priority | None = None
    due_at: EpochMs | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.title, self.description, self.priority, self.due_at) == (None,) * 4:
            raise ValueError("WorkOrderUpdated must change title, description, priority or due_at")


class WorkOrderAssigned(WorkOrderPayload, frozen=True, tag="WorkOrderAssigned"):
    """The work order was given to an agent, replacing any previous one."""

    assignee: AgentName


class WorkOrderStarted(WorkOrderPayload, frozen=True, tag="WorkOrderStarted"):
    """The assignee began the work."""

    note: Note = ""


class WorkOrderBlocked(WorkOrderPayload, frozen=True, tag="WorkOrderBlocked"):
    """Work stopped until something outside it is resolved."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason
    blocked_by: WorkOrderIdField | None = None


class WorkOrderUnblocked(WorkOrderPayload, frozen=True, tag="WorkOrderUnblocked"):
    """The blocker was resolved and work resumed."""

    note: Note = ""


class WorkOrderCompleted(WorkOrderPayload, frozen=True, tag="WorkOrderCompleted"):
    """The work is done."""

    summary: Description = ""


class WorkOrderFailed(WorkOrderPayload, frozen=True, tag="WorkOrderFailed"):
    """The attempt failed; ``retryable`` says whether trying again may help."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason
    retryable: bool = True


class WorkOrderRetried(WorkOrderPayload, frozen=True, tag="WorkOrderRetried"):
    """A failed work order was put back to pending for another attempt."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason | None = None


class WorkOrderCancelled(WorkOrderPayload, frozen=True, tag="WorkOrderCancelled"):
    """The work order was abandoned."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason


WORK_ORDER_EVENTS: tuple[type[WorkOrderPayload], ...] = (
    WorkOrderCreated,
    WorkOrderUpdated,
    WorkOrderAssigned,
    WorkOrderStarted,
    WorkOrderBlocked,
    WorkOrderUnblocked,
    WorkOrderCompleted,
    WorkOrderFailed,
    WorkOrderRetried,
    WorkOrderCancelled,
)
"""Every work-order payload type, in declaration order."""
