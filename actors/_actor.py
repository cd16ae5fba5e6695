"""What an actor is: three hooks, called by the runtime one at a time."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol, TypeVar

from ._envelope import Envelope

M = TypeVar("M")
R = TypeVar("R")


class StopReason(enum.Enum):
    """Why an actor's ``on_stop`` is being called."""

    IDLE = "idle"
    """No message arrived within the system's ``idle_timeout``."""

    EVICTED = "evicted"
    """The system reached ``max_live`` and this was its least recently used idle actor."""

    SHUTDOWN = "shutdown"
    """The system is closing; every queued message has been handled."""


class Actor(Protocol[M, R]):
    """The behaviour behind one key.

    Any object with these methods is an actor; subclassing ``Actor`` inherits
    ``on_start`` and ``on_stop`` that do nothing. For one incarnation the
    runtime calls ``on_start`` once, then ``receive`` with successive batches,
    then (unless it crashed) ``on_stop`` once; never two of them at the same
    time.
    """

    async def on_start(self) -> None:
        """Load state. Finishes before the first batch is delivered.

        If it raises, the waiting requests fail with ``ActorCrashed`` and the next
        message tries a fresh incarnation.
        """
        return

    async def receive(self, batch: Sequence[Envelope[M, R]]) -> None:
        """Handle every message that was queued when the actor became free.

        Args:
            batch: The drained mailbox, oldest first, never empty. Each envelope
                must be resolved with ``reply`` or ``fail``.

        If it raises, every envelope it left unresolved fails with
        ``ActorCrashed`` and this incarnation is discarded without ``on_stop``.
        """
        ...

    async def on_stop(self, reason: StopReason) -> None:
        """Release or save state. Runs after the mailbox is empty.

        The key's next incarnation does not start until this returns. Not
        called for an incarnation that crashed.
        """
        return


class ReceivesNow(Protocol[M, R]):
    """An actor that can take a message at once, in the sender's own task.

    The runtime calls ``receive_now`` instead of queueing when the actor is
    started, waiting for mail and its mailbox is empty -- so it never runs
    beside ``on_start``, ``receive``, ``on_stop`` or another ``receive_now``.
    It must not await (it cannot: it is a plain function), and it either takes
    the envelope, resolving or deferring it, and returns True, or changes
    nothing and returns False, after which the envelope is queued as usual.
    An envelope it takes but leaves pending fails with ``NoReply``; if it
    raises, the envelope fails with ``ActorCrashed`` and the incarnation is
    discarded, as for ``receive``.
    """

    def receive_now(self, envelope: Envelope[M, R]) -> bool:
        """Handle ``envelope`` without waiting, or decline it; see the class docstring."""
        ...
