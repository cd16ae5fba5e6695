"""Fleet's fixed vocabulary: version, id prefixes, statuses and priorities.

Values here are permanent: they are written into stored events and ids, so a
value may be added but never renamed or removed.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

FLEETTOOLS_VERSION: Final = "0.1.0"

ID_PREFIXES: Final[dict[str, str]] = {
    "mission": "msn",
    "work_order": "wo",
    "checkpoint": "chk",
    "event": "evt",
}
"""The prefix of each kind of id, without the ``-`` separator."""

StreamPrefix = Literal["chk", "msn", "wo"]
"""A prefix whose ids name an aggregate stream."""

STREAM_PREFIXES: Final[frozenset[str]] = frozenset(get_args(StreamPrefix))
"""Prefixes whose ids name an aggregate stream."""

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

EVENT_TYPE_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "mission": (
        "MissionCreated",
        "MissionUpdated",
        "MissionActivated",
        "MissionDeactivated",
        "MissionAssigned",
        "MissionUnassigned",
        "MissionCompleted",
        "MissionCancelled",
        "MissionPriorityChanged",
        "MissionStatusChanged",
        "MissionMetadataUpdated",
        "MissionArchived",
    ),
    "work_order": (
        "WorkOrderCreated",
        "WorkOrderUpdated",
        "WorkOrderAssigned",
        "WorkOrderStarted",
        "WorkOrderBlocked",
        "WorkOrderUnblocked",
        "WorkOrderCompleted",
        "WorkOrderFailed",
        "WorkOrderRetried",
        "WorkOrderCancelled",
    ),
    "checkpoint": (
        "CheckpointCreated",
        "CheckpointProgressRecorded",
        "CheckpointCompleted",
        "CheckpointFailed",
        "CheckpointRestored",
        "CheckpointVerified",
        "CheckpointExpired",
        "CheckpointDiscarded",
    ),
}
"""The permanent event type names of each aggregate, in declaration order."""
