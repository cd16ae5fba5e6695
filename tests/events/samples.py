"""One valid payload of every event type, and helpers to build states in any status."""

from __future__ import annotations

from typing import Any

import msgspec

from fleet.events import Event, EventMetadata, Payload
from fleet.vocabulary import (
    CheckpointCompleted,
    CheckpointCreated,
    CheckpointDiscarded,
    CheckpointExpired,
    CheckpointFailed,
    CheckpointProgressRecorded,
    CheckpointRestored,
    CheckpointVerified,
    MissionActivated,
    MissionArchived,
    MissionAssigned,
    MissionCancelled,
    MissionCompleted,
    MissionCreated,
    MissionDeactivated,
    MissionMetadataUpdated,
    MissionPriorityChanged,
    MissionStatusChanged,
    MissionUnassigned,
    MissionUpdated,
    WorkOrderAssigned,
    WorkOrderBlocked,
    WorkOrderCancelled,
    WorkOrderCompleted,
    WorkOrderCreated,
    WorkOrderFailed,
    WorkOrderRetried,
    WorkOrderStarted,
    WorkOrderUnblocked,
    WorkOrderUpdated,
    generate_mission_id,
    generate_work_order_id,
)

MISSION_ID = generate_mission_id()
WORK_ORDER_ID = generate_work_order_id()
DIGEST = "sha256:" + "ab" * 32

SAMPLES: dict[type[Payload], Payload] = {
    p.__class__: p
    for p in [
        MissionCreated(
            title="Ship the store",
            description="All of phase 0",
            priority="high",
            tags=("phase-0", "store"),
            due_at=1_800_000_000_000,
            metadata={"team": "core", "budget": 3, "ratio": 0.5, "urgent": True, "note": None},
        ),
        MissionUpdated(title="Ship the event store"),
        MissionActivated(note="go"),
        MissionDeactivated(reason="waiting on review"),
        MissionAssigned(assignee="agent-7"),
        MissionUnassigned(reason="rotated"),
        MissionCompleted(summary="done"),
        MissionCancelled(reason="superseded"),
        MissionPriorityChanged(priority="critical", reason="customer waiting"),
        MissionStatusChanged(status="paused", reason="manual correction"),
        MissionMetadataUpdated(updates={"team": "platform"}, removed=("note",)),
        MissionArchived(reason="quarter closed"),
        WorkOrderCreated(mission_id=MISSION_ID, title="Write codec", priority="low"),
        WorkOrderUpdated(priority="high"),
        WorkOrderAssigned(assignee="agent.codec@fleet"),
        WorkOrderStarted(),
        WorkOrderBlocked(reason="needs schema", blocked_by=WORK_ORDER_ID),
        WorkOrderUnblocked(note="schema landed"),
        WorkOrderCompleted(summary="merged"),
        WorkOrderFailed(reason="tests red", retryable=True),
        WorkOrderRetried(reason="flaky"),
        WorkOrderCancelled(reason="not needed"),
        CheckpointCreated(
            mission_id=MISSION_ID, label="before migration", work_order_id=WORK_ORDER_ID
        ),
        CheckpointProgressRecorded(progress=40, message="copying"),
        CheckpointCompleted(digest=DIGEST, size_bytes=1024),
        CheckpointFailed(reason="disk full"),
        CheckpointRestored(restored_by="agent-7", reason="rollback"),
        CheckpointVerified(verified_by="reviewer"),
        CheckpointExpired(),
        CheckpointDiscarded(reason="obsolete"),
    ]
}


def recorded(payload: Payload, version: int = 1, stream_id: str = MISSION_ID, at: int = 1) -> Event:
    """Wrap a payload as if the store had recorded it."""
    return Event(
        event_id="evt-" + "0" * 26,
        type=payload.event_type,
        stream_id=stream_id,
        version=version,
        position=version,
        schema_version=payload.schema_version,
        occurred_at=at,
        recorded_at=at,
        metadata=EventMetadata(),
        payload=payload,
    )


def with_status(state: Any, status: str) -> Any:
    """Return ``state`` with its status forced, to test a transition from anywhere."""
    return msgspec.structs.replace(state, status=status)
