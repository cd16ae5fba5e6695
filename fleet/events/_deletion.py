"""The record a stream's deletion leaves in the global log."""

from __future__ import annotations

from fleet.core import DELETION_TYPE
from fleet.events._envelope import Payload

__all__ = ["DELETION_TYPE", "StreamDeletion"]


class StreamDeletion(Payload, frozen=True, tag="$deleted"):
    """A stream was deleted; the store writes this, never a caller.

    Deleting a stream stores one event of this type as the stream's next
    version. Readers of the stream never see it (the stream is deleted, and a
    soft-deleted stream started again shows only what follows it); readers of
    the global log and subscribers do, in log order, so a read model can drop
    what it keeps for the stream. Every catalog decodes it.

    Attributes:
        hard: ``True`` when the stream can never be written again.
    """

    hard: bool = False
