"""Native primitives of the running event loop, looked up once per system.

anyio's ``Event`` and ``current_time`` dispatch to the backend on every call,
which costs more than the rest of a request's bookkeeping. The runtime needs only
a settable one-shot event and the loop's clock, so the system picks native ones
when it opens: ``asyncio.Event`` and the loop's ``time`` under asyncio; under
trio its clock and :class:`~actors._trio.TrioEvent`, a leaner twin of
``trio.Event`` on trio's low-level API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


class Event(Protocol):
    """The subset of ``trio.Event``/``asyncio.Event`` the runtime relies on."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self) -> Awaitable[object]: ...


@dataclass(frozen=True, slots=True)
class Backend:
    """Factories bound to the event loop that is running now.

    Attributes:
        event: Creates an unset one-shot event.
        now: The loop's clock (the one ``anyio.sleep`` and trio's ``MockClock`` use).
    """

    event: Callable[[], Event]
    now: Callable[[], float]


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
        return Backend(event=TrioEvent, now=trio.lowlevel.current_clock().current_time)
    return Backend(event=asyncio.Event, now=loop.time)
