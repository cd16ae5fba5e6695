"""The mission aggregate: its state, its transition table and its fold.

Transition table (``—`` is "no stream yet"; ``=`` is "status unchanged")::

    event                    allowed in                              leads to
    MissionCreated           —                                       pending
    MissionUpdated           pending, active, paused                 =
    MissionActivated         pending, paused                         active
    MissionDeactivated       active                                  paused
    MissionAssigned          pending, active, paused                 =
    MissionUnassigned        pending, active, paused                 =
    MissionCompleted         active                                  completed
    MissionCancelled         pending, active, paused                 cancelled
    MissionPriorityChanged   pending, active, paused                 =
    MissionStatusChanged     pending, active, paused                 payload's status (must differ)
    MissionMetadataUpdated   pending, active, paused, completed,     =
                             cancelled
    MissionArchived          completed, cancelled                    archived

``completed`` and ``cancelled`` are final except for metadata and archiving;
``archived`` accepts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import msgspec

from fleet.errors import InvalidTransition
from fleet.events import Aggregate, Payload, Transition
from fleet.vocabulary._constants import MissionStatus, Priority
from fleet.vocabulary._mission_events import (
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
)

__all__ = ["MISSION", "MISSION_TRANSITIONS", "MissionState"]

_OPEN: Final[frozenset[MissionStatus | None]] = frozenset({"pending", "active", "paused"})

MISSION_TRANSITIONS: Final[Mapping[type[Payload], Transition[MissionStatus]]] = {
    MissionCreated: Transition(frozenset({None}), "pending"),
    MissionUpdated: Transition(_OPEN),
    MissionActivated: Transition(frozenset({"pending", "paused"}), "active"),
    MissionDeactivated: Transition(frozenset({"active"}), "paused"),
    MissionAssigned: Transition(_OPEN),
    MissionUnassigned: Transition(_OPEN),
    MissionCompleted: Transition(frozenset({"active"}), "completed"),
    MissionCancelled: Transition(_OPEN, "cancelled"),
    MissionPriorityChanged: Transition(_OPEN),
    MissionStatusChanged: Transition(_OPEN),
    MissionMetadataUpdated: Transition(_OPEN | {"completed", "cancelled"}),
    MissionArchived: Transition(frozenset({"completed", "cancelled"}), "archived"),
}


class MissionState(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A mission as its events left it.

    Attributes:
        version: stream version of the last event folded in.
        status: where the mission is in its life cycle.
        created_at: ``occurred_at`` of ``MissionCreated``.
        updated_at: ``occurred_at`` of the last event.
        closed_at: when it was completed or cancelled, if it was.
    """

    version: int
    status: MissionStatus
    title: str
    description: str
    priority: Priority
    tags: tuple[str, ...]
    due_at: int | None
    metadata: dict[str, str | int | float | bool | None]
    assignee: str | None
    created_at: int
    updated_at: int
    closed_at: int | None = None
    summary: str = ""
    last_reason: str | None = None


def _create(payload: Payload, version: int, at: int) -> MissionState:
    assert isinstance(payload, MissionCreated)
    return MissionState(
        version=version,
        status="pending",
        title=payload.title,
        description=payload.description,
        priority=payload.priority,
        tags=payload.tags,
        due_at=payload.due_at,
        metadata=dict(payload.metadata),
        assignee=None,
        created_at=at,
        updated_at=at,
    )


def _apply(state: MissionState, payload: Payload, version: int, at: int) -> MissionState:
    status = MISSION_TRANSITIONS[type(payload)].target or state.status
    next_state = msgspec.structs.replace(state, version=version, updated_at=at, status=status)
    match payload:
        case MissionUpdated(title=title, description=description, due_at=due_at):
            return msgspec.structs.replace(
                next_state,
                title=state.title if title is None else title,
                description=state.description if description is None else description,
                due_at=state.due_at if due_at is None else due_at,
            )
        case MissionAssigned(assignee=assignee):
            return msgspec.structs.replace(next_state, assignee=assignee)
        case MissionUnassigned():
            return msgspec.structs.replace(next_state, assignee=None)
        case MissionCompleted(summary=summary):
            return msgspec.structs.replace(next_state, closed_at=at, summary=summary)
        case MissionCancelled(reason=reason):
            return msgspec.structs.replace(next_state, closed_at=at, last_reason=reason)
        case MissionPriorityChanged(priority=priority):
            return msgspec.structs.replace(next_state, priority=priority)
        case MissionStatusChanged(status=target, reason=reason):
            if target == state.status:
                raise InvalidTransition("mission", state.status, payload.event_type)
            return msgspec.structs.replace(next_state, status=target, last_reason=reason)
        case MissionMetadataUpdated(updates=updates, removed=removed):
            merged = {k: v for k, v in state.metadata.items() if k not in removed}
            merged.update(updates)
            return msgspec.structs.replace(next_state, metadata=merged)
        case MissionDeactivated(reason=reason) | MissionArchived(reason=reason):
            return msgspec.structs.replace(next_state, last_reason=reason)
        case _:
            return next_state


MISSION: Final[Aggregate[MissionState]] = Aggregate(
    name="mission",
    prefix="msn",
    state_type=MissionState,
    transitions=MISSION_TRANSITIONS,
    create=_create,
    apply=_apply,
)
"""The mission aggregate (streams ``msn-…``)."""
