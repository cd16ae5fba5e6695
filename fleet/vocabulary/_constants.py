"""The built-in vocabulary's fixed values: statuses and priorities.

Values here are written into stored events, so a value may be added but never
renamed or removed.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "CHECKPOINT_STATUSES",
    "MISSION_STATUSES",
    "PRIORITIES",
    "WORK_ORDER_STATUSES",
    "CheckpointStatus",
    "MissionStatus",
    "Priority",
    "WorkOrderStatus",
]

Priority = Literal["low", "medium", "high", "critical"]
PRIORITIES: Final[tuple[Priority, ...]] = ("low", "medium", "high", "critical")

MissionStatus = Literal["pending", "active", "paused", "completed", "cancelled", "archived"]
MISSION_STATUSES: Final[tuple[MissionStatus, ...]] = (
    "pending",
    "active",
    "paused",
    "completed",
    "cancelled",
    "archived",
)

WorkOrderStatus = Literal[
    "pending", "assigned", "in_progress", "blocked", "completed", "failed", "cancelled"
]
WORK_ORDER_STATUSES: Final[tuple[WorkOrderStatus, ...]] = (
    "pending",
    "assigned",
    "in_progress",
    "blocked",
    "completed",
    "failed",
    "cancelled",
)

CheckpointStatus = Literal["in_progress", "completed", "failed", "verified", "expired", "discarded"]
CHECKPOINT_STATUSES: Final[tuple[CheckpointStatus, ...]] = (
    "in_progress",
    "completed",
    "failed",
    "verified",
    "expired",
    "discarded",
)
