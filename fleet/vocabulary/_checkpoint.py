"""The checkpoint aggregate: its state, its transition table and its fold.

Transition table (``—`` is "no stream yet"; ``=`` is "status unchanged")::

    event                        allowed in                                leads to
    CheckpointCreated            —                                         in_progress
    CheckpointProgressRecorded   in_progress                               =
    CheckpointCompleted          in_progress                               completed
    CheckpointFailed             in_progress                               failed
    CheckpointRestored           completed, verified                       =
    CheckpointVerified           completed                                 verified
    CheckpointExpired            in_progress, completed, verified          expired
    CheckpointDiscarded          in_progress, completed, failed,           discarded
                                 verified, expired

Only a ``completed`` or ``verified`` checkpoint can be restored; ``discarded``
accepts nothing. Completing sets progress to 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import msgspec

from fleet.events import Aggregate, Payload, Transition
from fleet.vocabulary._checkpoint_events import (
    CheckpointCompleted,
    CheckpointCreated,
    CheckpointDiscarded,
    CheckpointExpired,
    CheckpointFailed,
    CheckpointProgressRecorded,
    CheckpointRestored,
    CheckpointVerified,
)
from fleet.vocabulary._constants import CheckpointStatus

__all__ = ["CHECKPOINT", "CHECKPOINT_TRANSITIONS", "CheckpointState"]

_RESTORABLE: Final[frozenset[CheckpointStatus | None]] = frozenset({"completed", "verified"})

CHECKPOINT_TRANSITIONS: Final[Mapping[type[Payload], Transition[CheckpointStatus]]] = {
    CheckpointCreated: Transition(frozenset({None}), "in_progress"),
    CheckpointProgressRecorded: Transition(frozenset({"in_progress"})),
    CheckpointCompleted: Transition(frozenset({"in_progress"}), "completed"),
    CheckpointFailed: Transition(frozenset({"in_progress"}), "failed"),
    CheckpointRestored: Transition(_RESTORABLE),
    CheckpointVerified: Transition(frozenset({"completed"}), "verified"),
    CheckpointExpired: Transition(_RESTORABLE | {"in_progress"}, "expired"),
    CheckpointDiscarded: Transition(
        _RESTORABLE | {"in_progress", "failed", "expired"}, "discarded"
    ),
}


class CheckpointState(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A checkpoint as its events left it.

    Attributes:
        version: stream version of the last event folded in.
        progress: capture progress, 0-100.
        digest: content digest, once completed.
        restore_count: how many times work was rolled back to it.
        last_reason: the reason given by the last failure, restore or discard.
    """

    version: int
    status: CheckpointStatus
    mission_id: str
    work_order_id: str | None
    label: str
    expires_at: int | None
    metadata: dict[str, str | int | float | bool | None]
    created_at: int
    updated_at: int
    progress: int = 0
    message: str = ""
    digest: str | None = None
    size_bytes: int | None = None
    verified_by: str | None = None
    restore_count: int = 0
    last_restored_at: int | None = None
    last_reason: str | None = None


def _create(payload: Payload, version: int, at: int) -> CheckpointState:
    assert isinstance(payload, CheckpointCreated)
    return CheckpointState(
        version=version,
        status="in_progress",
        mission_id=payload.mission_id,
        work_order_id=payload.work_order_id,
        label=payload.label,
        expires_at=payload.expires_at,
        metadata=dict(payload.metadata),
        created_at=at,
        updated_at=at,
    )


def _apply(state: CheckpointState, payload: Payload, version: int, at: int) -> CheckpointState:
    status = CHECKPOINT_TRANSITIONS[type(payload)].target or state.status
    next_state = msgspec.structs.replace(state, version=version, updated_at=at, status=status)
    match payload:
        case CheckpointProgressRecorded(progress=progress, message=message):
            return msgspec.structs.replace(next_state, progress=progress, message=message)
        case CheckpointCompleted(digest=digest, size_bytes=size_bytes):
            return msgspec.structs.replace(
                next_state, progress=100, digest=digest, size_bytes=size_bytes
            )
        case CheckpointVerified(verified_by=verified_by):
            return msgspec.structs.replace(next_state, verified_by=verified_by)
        case CheckpointRestored(reason=reason):
            return msgspec.structs.replace(
                next_state,
                restore_count=state.restore_count + 1,
                last_restored_at=at,
                last_reason=reason if reason is not None else state.last_reason,
            )
        case CheckpointFailed(reason=reason) | CheckpointDiscarded(reason=reason):
            return msgspec.structs.replace(next_state, last_reason=reason)
        case _:
            return next_state


CHECKPOINT: Final[Aggregate[CheckpointState]] = Aggregate(
    name="checkpoint",
    prefix="chk",
    state_type=CheckpointState,
    transitions=CHECKPOINT_TRANSITIONS,
    create=_create,
    apply=_apply,
)
"""The checkpoint aggregate (streams ``chk-…``)."""
