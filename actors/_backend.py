"""Native primitives of the running event loop, looked up once per system.

anyio's ``Event`` and ``current_time`` dispatch to the backend on every call,
which costs more than the rest of a request's bookkeeping. The runtime needs only
a settable one-shot event, the loop's clock and a place to start tasks, so the
system picks native ones when it opens: ``asyncio.Event``, the loop's ``time``
and an anyio task group under asyncio; under trio its clock, a nursery and
:class:`~actors._trio.TrioEvent`, a leaner twin of ``trio.Event`` on trio's
low-level API. (anyio's task groups wrap every task in a coroutine and a cancel
scope of their own, and an actor's task passes through that coroutine each time
it wakes.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import anyio


class Event(Protocol):
    """The subset of ``trio.Event``/``asyncio.Event`` the runtime relies on."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self) -> Awaitable[object]: ...


class Spawn(Protocol):
    """Starts ``fn(*args)`` as a task of the group it belongs to."""

    def __call__(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any, name: object = None
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class Backend:
    """Factories bound to the event loop that is running now.

    Attributes:
        event: Creates an unset one-shot event.
        now: The loop's clock (the one ``anyio.sleep`` and trio's ``MockClock`` use).
        task_group: Opens a group of tasks (a trio nursery, an anyio task group
            elsewhere) and gives the function that starts one. Leaving it waits
            for them; cancelling the enclosing scope cancels them; an exception
            in one cancels the others and propagates in an exception group.
    """

    event: Callable[[], Event]
    now: Callable[[], float]
    task_group: Callable[[], AbstractAsyncContextManager[Spawn]]


def current_backend() -> Backend:
    """Return the primitives of the running loop (trio or asyncio).

    Must be called from inside a task run by anyio.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        import trio

        from ._trio import TrioEvent

        # The clock's own method: trio.current_time looks the clock up on every call.
        return Backend(
            event=TrioEvent,
            now=trio.lowlevel.current_clock().current_time,
            task_group=_trio_nursery,
        )
    return Backend(event=asyncio.Event, now=loop.time, task_group=_anyio_task_group)


@asynccontextmanager
async def _trio_nursery() -> AsyncIterator[Spawn]:
    import trio

    # The anyio task group around the nursery holds no tasks: it turns a group
    # made only of cancellations back into one, as anyio's task groups do, so
    # cancelling the enclosing scope raises the same thing on both backends.
    async with anyio.create_task_group(), trio.open_nursery() as nursery:
        yield _spawner(nursery.start_soon)


@asynccontextmanager
async def _anyio_task_group() -> AsyncIterator[Spawn]:
    async with anyio.create_task_group() as group:
        yield _spawner(group.start_soon)


def _spawner(start_soon: Callable[..., object]) -> Spawn:
    """``start_soon`` of a nursery or task group, as a :class:`Spawn`."""

    def spawn(fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any, name: object = None) -> None:
        start_soon(fn, *args, name=name)

    return spawn
