"""The twelve mission events.

A mission is the top-level unit of work. Its stream (``msn-…``) starts with
:class:`MissionCreated`; the legal order of the others is the transition table in
:mod:`fleet.vocabulary._mission`. Schema history:

* ``MissionCreated`` v1 stored ``priority`` as an integer 1-4 and had no ``tags``;
  v2 (current) stores the priority name. See :mod:`fleet.vocabulary._upcasters`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec

from fleet.events import Payload
from fleet.vocabulary._constants import Priority
from fleet.vocabulary._fields import (
    AgentName,
    Description,
    EpochMs,
    Metadata,
    MetadataKeys,
    Note,
    Reason,
    Tags,
    Title,
)

__all__ = [
    "MISSION_EVENTS",
    "MissionActivated",
    "MissionArchived",
    "MissionAssigned",
    "MissionCancelled",
    "MissionCompleted",
    "MissionCreated",
    "MissionDeactivated",
    "MissionMetadataUpdated",
    "MissionPayload",
    "MissionPriorityChanged",
    "MissionStatusChanged",
    "MissionUnassigned",
    "MissionUpdated",
]

ReopenableStatus = Literal["pending", "active", "paused"]
"""The statuses :class:`MissionStatusChanged` may set; terminal ones have their own events."""


class MissionPayload(Payload, frozen=True):
    """Base of the payloads appended to mission (``msn-…``) streams."""


class MissionCreated(MissionPayload, frozen=True, tag="MissionCreated"):
    """A mission was created; always the first event of its stream."""

    nonblank: ClassVar[tuple[str, ...]] = ("title",)
    schema_version: ClassVar[int] = 2

    title: Title
    description: Description = ""
    priority: Priority = "medium"
    tags: Tags = ()
    due_at: EpochMs | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)


class MissionUpdated(MissionPayload, frozen=True, tag="MissionUpdated"):
    """The mission's title, description or due date changed; at least one is given."""

    nonblank: ClassVar[tuple[str, ...]] = ("title",)

    title: Title | None = None
    description: Description | None = None
    due_at: EpochMs | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.title is None and self.description is None and self.due_at is None:
            raise ValueError("MissionUpdated must change title, description or due_at")


class MissionActivated(MissionPayload, frozen=True, tag="MissionActivated"):
    """Work on the mission started or resumed."""

    note: Note = ""


class MissionDeactivated(MissionPayload, frozen=True, tag="MissionDeactivated"):
    """Work on the mission was paused."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason | None = None


class MissionAssigned(MissionPayload, frozen=True, tag="MissionAssigned"):
    """The mission was given to an owner, replacing any previous one."""

    assignee: AgentName


class MissionUnassigned(MissionPayload, frozen=True, tag="MissionUnassigned"):
    """The mission's owner was removed."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason | None = None


class MissionCompleted(MissionPayload, frozen=True, tag="MissionCompleted"):
    """The mission reached its goal."""

    summary: Description = ""


class MissionCancelled(MissionPayload, frozen=True, tag="MissionCancelled"):
    """The mission was abandoned before completion."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason


class MissionPriorityChanged(MissionPayload, frozen=True, tag="MissionPriorityChanged"):
    """The mission's priority changed."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    priority: Priority
    reason: Reason | None = None


class MissionStatusChanged(MissionPayload, frozen=True, tag="MissionStatusChanged"):
    """An administrative correction between the non-terminal statuses."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    status: ReopenableStatus
    reason: Reason


class MissionMetadataUpdated(MissionPayload, frozen=True, tag="MissionMetadataUpdated"):
    """Free-form metadata keys were set or removed; a key may not be in both."""

    updates: Metadata = msgspec.field(default_factory=dict)
    removed: MetadataKeys = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.updates and not self.removed:
            raise ValueError("MissionMetadataUpdated must set or remove at least one key")
        both = sorted(self.updates.keys() & set(self.removed))
        if both:
            raise ValueError(f"keys both set and removed: {', '.join(both)}")


class MissionArchived(MissionPayload, frozen=True, tag="MissionArchived"):
    """A finished mission was put away; nothing may be appended afterwards."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason | None = None


MISSION_EVENTS: tuple[type[MissionPayload], ...] = (
    MissionCreated,
    MissionUpdated,
    MissionActivated,
    MissionDeactivated,
    MissionAssigned,
    MissionUnassigned,
    MissionCompleted,
    MissionCancelled,
    MissionPriorityChanged,
    MissionStatusChanged,
    MissionMetadataUpdated,
    MissionArchived,
)
"""Every mission payload type, in declaration order."""
