"""Giving freed memory back to the operating system, for the daemon only.

CPython frees large objects (an event's text, a page of rows) with the C
library's ``free``; glibc keeps freed memory in per-thread arenas for reuse
rather than returning it, so a daemon whose worker threads once decoded a
large backlog stays as large as its largest moment. :func:`trim_periodically`
asks glibc (``malloc_trim``) to release what is free, every ``interval``
seconds. It changes the whole process, which is why only ``fleet serve`` runs
it; on a C library without ``malloc_trim`` it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

import anyio
import anyio.to_thread

__all__ = ["trim_periodically"]


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:  # pragma: no cover - every Linux has a C library
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - musl, macOS
        return None
    return trim


async def trim_periodically(interval: float) -> None:
    """Return free heap memory to the system every ``interval`` seconds, until cancelled."""
    trim = _malloc_trim()
    if trim is None:  # pragma: no cover - see _malloc_trim
        return
    while True:
        await anyio.sleep(interval)
        await anyio.to_thread.run_sync(trim, 0)
