"""Handing a call from a worker thread to the event loop (trio or asyncio).

The writer and the change watch run threads of their own; what they learn is
acted on in the event loop, through the :data:`Post` that :func:`poster`
returns there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Post", "poster"]


class Post(Protocol):
    """Run ``fn(*args)`` soon in the event loop; callable from any thread, never waits.

    After the loop has finished, the call is dropped.
    """

    def __call__(self, fn: Callable[..., object], *args: Any) -> None: ...


def poster() -> Post:
    """A :class:`Post` into the event loop this is called in (trio or asyncio)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        import trio

        token = trio.lowlevel.current_trio_token()

        def post_to_trio(fn: Callable[..., object], *args: Any) -> None:
            try:
                token.run_sync_soon(fn, *args)
            except trio.RunFinishedError:
                return

        return post_to_trio

    def post_to_asyncio(fn: Callable[..., object], *args: Any) -> None:
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            return

    return post_to_asyncio
