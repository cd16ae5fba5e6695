"""Every event type fleet knows, by name and by family.

The registry is fixed at import time: the three family modules declare their
payload classes and this module indexes them. Names are permanent; a type is
never removed, so every stored event keeps a class to decode into.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, TypeGuard

from fleet.errors import ValidationError
from fleet.events._checkpoint_events import (
    CHECKPOINT_EVENTS,
    CheckpointCompleted,
    CheckpointCreated,
    CheckpointDiscarded,
    CheckpointExpired,
    CheckpointFailed,
    CheckpointPayload,
    CheckpointProgressRecorded,
    CheckpointRestored,
    CheckpointVerified,
)
from fleet.events._envelope import Payload
from fleet.events._mission_events import (
    MISSION_EVENTS,
    MissionActivated,
    MissionArchived,
    MissionAssigned,
    MissionCancelled,
    MissionCompleted,
    MissionCreated,
    MissionDeactivated,
    MissionMetadataUpdated,
    MissionPayload,
    MissionPriorityChanged,
    MissionStatusChanged,
    MissionUnassigned,
    MissionUpdated,
)
from fleet.events._work_order_events import (
    WORK_ORDER_EVENTS,
    WorkOrderAssigned,
    WorkOrderBlocked,
    WorkOrderCancelled,
    WorkOrderCompleted,
    WorkOrderCreated,
    WorkOrderFailed,
    WorkOrderPayload,
    WorkOrderRetried,
    WorkOrderStarted,
    WorkOrderUnblocked,
    WorkOrderUpdated,
)

__all__ = [
    "EVENT_TYPES",
    "FAMILIES",
    "AnyPayload",
    "Family",
    "family_of",
    "is_checkpoint_payload",
    "is_event_type",
    "is_mission_payload",
    "is_work_order_payload",
    "payload_type",
    "unknown_event_type",
]

Family = Literal["mission", "work_order", "checkpoint"]

AnyPayload = (
    MissionCreated
    | MissionUpdated
    | MissionActivated
    | MissionDeactivated
    | MissionAssigned
    | MissionUnassigned
    | MissionCompleted
    | MissionCancelled
    | MissionPriorityChanged
    | MissionStatusChanged
    | MissionMetadataUpdated
    | MissionArchived
    | WorkOrderCreated
    | WorkOrderUpdated
    | WorkOrderAssigned
    | WorkOrderStarted
    | WorkOrderBlocked
    | WorkOrderUnblocked
    | WorkOrderCompleted
    | WorkOrderFailed
    | WorkOrderRetried
    | WorkOrderCancelled
    | CheckpointCreated
    | CheckpointProgressRecorded
    | CheckpointCompleted
    | CheckpointFailed
    | CheckpointRestored
    | CheckpointVerified
    | CheckpointExpired
    | CheckpointDiscarded
)
"""The tagged union of every payload type; msgspec picks the member by ``"type"``."""

FAMILIES: Final[Mapping[Family, tuple[type[Payload], ...]]] = MappingProxyType(
    {
        "mission": MISSION_EVENTS,
        "work_order": WORK_ORDER_EVENTS,
        "checkpoint": CHECKPOINT_EVENTS,
    }
)
"""Each family's payload types, in declaration order."""

EVENT_TYPES: Final[Mapping[str, type[Payload]]] = MappingProxyType(
    {cls.event_type: cls for classes in FAMILIES.values() for cls in classes}
)
"""Every payload type by its permanent event type name."""

_FAMILY_OF: Final[Mapping[str, Family]] = MappingProxyType(
    {cls.event_type: family for family, classes in FAMILIES.items() for cls in classes}
)


def is_event_type(name: object) -> TypeGuard[str]:
    """Tell whether ``name`` is the name of a registered event type."""
    return isinstance(name, str) and name in EVENT_TYPES


def payload_type(type_name: str) -> type[Payload]:
    """Return the payload class registered under ``type_name``.

    Raises:
        ValidationError: no event type has that name.
    """
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise unknown_event_type(type_name)
    return cls


def unknown_event_type(type_name: str) -> ValidationError:
    """Return the error that reports ``type_name`` as not a registered event type."""
    return ValidationError(
        f"unknown event type {type_name!r}",
        [("type", f"unknown event type {type_name!r}")],
    )


def family_of(type_name: str) -> Family:
    """Return the family (``mission``, ``work_order``, ``checkpoint``) of an event type.

    Raises:
        ValidationError: no event type has that name.
    """
    payload_type(type_name)
    return _FAMILY_OF[type_name]


def is_mission_payload(payload: object) -> TypeGuard[MissionPayload]:
    """Tell whether ``payload`` is one of the mission events."""
    return isinstance(payload, MissionPayload)


def is_work_order_payload(payload: object) -> TypeGuard[WorkOrderPayload]:
    """Tell whether ``payload`` is one of the work-order events."""
    return isinstance(payload, WorkOrderPayload)


def is_checkpoint_payload(payload: object) -> TypeGuard[CheckpointPayload]:
    """Tell whether ``payload`` is one of the checkpoint events."""
    return isinstance(payload, CheckpointPayload)
