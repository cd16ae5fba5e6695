"""The work-order aggregate: its state, its transition table and its fold.

Transition table (``—`` is "no stream yet"; ``=`` is "status unchanged")::

    event                 allowed in                                     leads to
    WorkOrderCreated      —                                              pending
    WorkOrderUpdated      pending, assigned, in_progress, blocked        =
    WorkOrderAssigned     pending, assigned                              assigned
    WorkOrderStarted      assigned                                       in_progress
    WorkOrderBlocked      in_progress                                    blocked
    WorkOrderUnblocked    blocked                                        in_progress
    WorkOrderCompleted    in_progress                                    completed
    WorkOrderFailed       assigned, in_progress, blocked                 failed
    WorkOrderRetried      failed                                         pending
    WorkOrderCancelled    pending, assigned, in_progress, blocked,       cancelled
                          failed

``completed`` and ``cancelled`` accept nothing. A retry starts a new attempt
(``attempt`` counts from 1) and clears the assignee.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import msgspec

from fleet.events import Aggregate, Payload, Transition
from fleet.vocabulary._constants import Priority, WorkOrderStatus
from fleet.vocabulary._work_order_events import (
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
)

__all__ = ["WORK_ORDER", "WORK_ORDER_TRANSITIONS", "WorkOrderState"]

_LIVE: Final[frozenset[WorkOrderStatus | None]] = frozenset(
    {"pending", "assigned", "in_progress", "blocked"}
)

WORK_ORDER_TRANSITIONS: Final[Mapping[type[Payload], Transition[WorkOrderStatus]]] = {
    WorkOrderCreated: Transition(frozenset({None}), "pending"),
    WorkOrderUpdated: Transition(_LIVE),
    WorkOrderAssigned: Transition(frozenset({"pending", "assigned"}), "assigned"),
    WorkOrderStarted: Transition(frozenset({"assigned"}), "in_progress"),
    WorkOrderBlocked: Transition(frozenset({"in_progress"}), "blocked"),
    WorkOrderUnblocked: Transition(frozenset({"blocked"}), "in_progress"),
    WorkOrderCompleted: Transition(frozenset({"in_progress"}), "completed"),
    WorkOrderFailed: Transition(frozenset({"assigned", "in_progress", "blocked"}), "failed"),
    WorkOrderRetried: Transition(frozenset({"failed"}), "pending"),
    WorkOrderCancelled: Transition(_LIVE | {"failed"}, "cancelled"),
}


class WorkOrderState(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A work order as its events left it.

    Attributes:
        version: stream version of the last event folded in.
        attempt: the current attempt, from 1; each retry adds one.
        blocked_by: the work order blocking this one, while blocked.
        last_reason: the reason given by the last block, failure or cancellation.
        retryable: whether the last failure said a retry may help.
    """

    version: int
    status: WorkOrderStatus
    mission_id: str
    title: str
    description: str
    priority: Priority
    due_at: int | None
    created_at: int
    updated_at: int
    assignee: str | None = None
    attempt: int = 1
    blocked_by: str | None = None
    last_reason: str | None = None
    retryable: bool = True
    summary: str = ""
    closed_at: int | None = None


def _create(payload: Payload, version: int, at: int) -> WorkOrderState:
    assert isinstance(payload, WorkOrderCreated)
    return WorkOrderState(
        version=version,
        status="pending",
        mission_id=payload.mission_id,
        title=payload.title,
        description=payload.description,
        priority=payload.priority,
        due_at=payload.due_at,
        created_at=at,
        updated_at=at,
    )


def _apply(state: WorkOrderState, payload: Payload, version: int, at: int) -> WorkOrderState:
    status = WORK_ORDER_TRANSITIONS[type(payload)].target or state.status
    next_state = msgspec.structs.replace(state, version=version, updated_at=at, status=status)
    match payload:
        case WorkOrderUpdated(title=title, description=description, priority=priority):
            return msgspec.structs.replace(
                next_state,
                title=state.title if title is None else title,
                description=state.description if description is None else description,
                priority=state.priority if priority is None else priority,
                due_at=state.due_at if payload.due_at is None else payload.due_at,
            )
        case WorkOrderAssigned(assignee=assignee):
            return msgspec.structs.replace(next_state, assignee=assignee)
        case WorkOrderBlocked(reason=reason, blocked_by=blocked_by):
            return msgspec.structs.replace(next_state, last_reason=reason, blocked_by=blocked_by)
        case WorkOrderUnblocked():
            return msgspec.structs.replace(next_state, blocked_by=None)
        case WorkOrderCompleted(summary=summary):
            return msgspec.structs.replace(next_state, summary=summary, closed_at=at)
        case WorkOrderFailed(reason=reason, retryable=retryable):
            return msgspec.structs.replace(
                next_state, last_reason=reason, retryable=retryable, blocked_by=None
            )
        case WorkOrderRetried():
            return msgspec.structs.replace(
                next_state, attempt=state.attempt + 1, assignee=None, retryable=True
            )
        case WorkOrderCancelled(reason=reason):
            return msgspec.structs.replace(
                next_state, last_reason=reason, closed_at=at, blocked_by=None
            )
        case _:
            return next_state


WORK_ORDER: Final[Aggregate[WorkOrderState]] = Aggregate(
    name="work_order",
    prefix="wo",
    state_type=WorkOrderState,
    transitions=WORK_ORDER_TRANSITIONS,
    create=_create,
    apply=_apply,
)
"""The work-order aggregate (streams ``wo-…``)."""
