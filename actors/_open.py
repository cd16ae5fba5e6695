"""Opening an actor system: the ``async with`` block it lives in.

Kept apart from :mod:`actors._system` so that module holds no generator and
compiles with mypyc (see ``fleet.compiled``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from typing import TypeVar

from ._actor import Actor
from ._backend import current_backend
from ._system import ActorSystem

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")
R = TypeVar("R")


@asynccontextmanager
async def open_actor_system(
    factory: Callable[[K], Actor[M, R]],
    *,
    mailbox_size: int = 1024,
    idle_timeout: float | None = 30.0,
    max_live: int | None = 10_000,
    name: str = "actors",
    on_crash: Callable[[K, BaseException], object] | None = None,
) -> AsyncIterator[ActorSystem[K, M, R]]:
    """Run an actor system for the duration of an ``async with`` block.

    Leaving the block, normally or by an exception, closes the system: new
    requests raise ``SystemClosed``, every queued request (including senders
    blocked on a full mailbox) is still handled, each live actor's ``on_stop``
    runs with ``StopReason.SHUTDOWN``, and only then does the block exit. If the
    enclosing scope is cancelled instead, actors are cancelled without
    ``on_stop`` and unanswered requests fail with ``SystemClosed``.

    Args:
        factory: Builds the actor for a key; called once per incarnation.
        mailbox_size: Most messages queued per actor, and so the largest batch.
        idle_timeout: Seconds an actor may wait for mail before it is stopped
            with ``StopReason.IDLE``; ``None`` keeps idle actors alive.
        max_live: Most actors bound to keys; beyond it the least recently used
            idle actor is stopped with ``StopReason.EVICTED``. ``None`` for no cap.
        name: Names the system in task names and error messages.
        on_crash: Called with the key and the exception whenever ``on_start``,
            ``receive`` or ``on_stop`` raises (for logging). Must not raise.

    Yields:
        The running system.

    Raises:
        ValueError: A limit is out of range.
    """
    if mailbox_size < 1:
        raise ValueError(f"mailbox_size must be at least 1, not {mailbox_size}")
    if idle_timeout is not None and idle_timeout < 0:
        raise ValueError(f"idle_timeout must not be negative, not {idle_timeout}")
    if max_live is not None and max_live < 1:
        raise ValueError(f"max_live must be at least 1, not {max_live}")
    backend = current_backend()
    async with backend.task_group() as spawn:
        system: ActorSystem[K, M, R] = ActorSystem(
            backend,
            spawn,
            factory,
            mailbox_size=mailbox_size,
            idle_timeout=idle_timeout,
            max_live=max_live,
            name=name,
            on_crash=on_crash,
        )
        if idle_timeout is not None:
            spawn(system._reap, idle_timeout, name=f"{name}.reaper")
        try:
            yield system
        finally:
            system._close()
            await system._wait_stopped()
