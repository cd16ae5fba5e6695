"""The eight checkpoint events.

A checkpoint is a saved, restorable point in a mission's (and optionally one work
order's) progress; its stream is ``chk-…``. The legal order of the events is the
transition table in :mod:`fleet.vocabulary._checkpoint`.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from fleet.events import Payload
from fleet.vocabulary._fields import (
    AgentName,
    ByteCount,
    Digest,
    EpochMs,
    Label,
    Metadata,
    MissionIdField,
    Note,
    Percent,
    Reason,
    WorkOrderIdField,
)

__all__ = [
    "CHECKPOINT_EVENTS",
    "CheckpointCompleted",
    "CheckpointCreated",
    "CheckpointDiscarded",
    "CheckpointExpired",
    "CheckpointFailed",
    "CheckpointPayload",
    "CheckpointProgressRecorded",
    "CheckpointRestored",
    "CheckpointVerified",
]


class CheckpointPayload(Payload, frozen=True):
    """Base of the payloads appended to checkpoint (``chk-…``) streams."""


class CheckpointCreated(CheckpointPayload, frozen=True, tag="CheckpointCreated"):
    """Capturing a checkpoint began; always the first event of its stream."""

    nonblank: ClassVar[tuple[str, ...]] = ("label",)

    mission_id: MissionIdField
    label: Label
    work_order_id: WorkOrderIdField | None = None
    expires_at: EpochMs | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)


class CheckpointProgressRecorded(CheckpointPayload, frozen=True, tag="CheckpointProgressRecorded"):
    """Capture progress, as a percentage 0-100."""

    progress: Percent
    message: Note = ""


class CheckpointCompleted(CheckpointPayload, frozen=True, tag="CheckpointCompleted"):
    """Capture finished; the content is identified by its digest."""

    digest: Digest
    size_bytes: ByteCount


class CheckpointFailed(CheckpointPayload, frozen=True, tag="CheckpointFailed"):
    """Capture failed; the checkpoint cannot be restored."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason


class CheckpointRestored(CheckpointPayload, frozen=True, tag="CheckpointRestored"):
    """Work was rolled back to this checkpoint; a checkpoint may be restored many times."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    restored_by: AgentName | None = None
    reason: Reason | None = None


class CheckpointVerified(CheckpointPayload, frozen=True, tag="CheckpointVerified"):
    """Someone checked the captured content and vouches for it."""

    verified_by: AgentName


class CheckpointExpired(CheckpointPayload, frozen=True, tag="CheckpointExpired"):
    """The checkpoint outlived its retention and may no longer be restored."""


class CheckpointDiscarded(CheckpointPayload, frozen=True, tag="CheckpointDiscarded"):
    """The checkpoint was deliberately thrown away."""

    nonblank: ClassVar[tuple[str, ...]] = ("reason",)

    reason: Reason | None = None


CHECKPOINT_EVENTS: tuple[type[CheckpointPayload], ...] = (
    CheckpointCreated,
    CheckpointProgressRecorded,
    CheckpointCompleted,
    CheckpointFailed,
    CheckpointRestored,
    CheckpointVerified,
    CheckpointExpired,
    CheckpointDiscarded,
)
"""Every checkpoint payload type, in declaration order."""
