"""Retrying a read-decide-append that lost a race with another process.

Inside one process, :meth:`EventStore.execute` needs no retry: the stream's
actor serialises deciding and appending. A writer in another process (or an
``append`` with an exact expected version) can still lose the race;
:func:`retry_on_conflict` re-runs the whole operation — which must re-read and
re-decide — after a short, jittered, exponentially growing pause.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from fleet.errors import ConcurrencyError

__all__ = ["retry_on_conflict"]

T = TypeVar("T")


async def retry_on_conflict(
    operation: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    base_delay: float = 0.005,
    max_delay: float = 0.5,
    rng: random.Random | None = None,
) -> T:
    """Run ``operation`` until it does not raise a :class:`ConcurrencyError`.

    Args:
        operation: re-reads, re-decides and appends with an expected version.
        attempts: runs at most this many times (≥ 1).
        base_delay: the first pause's upper bound in seconds; doubles each time.
        max_delay: no pause is longer than this.
        rng: source of jitter (for reproducible tests).

    Returns:
        What the first successful run returned.

    Raises:
        ConcurrencyError: the last attempt still conflicted.
        ValueError: ``attempts`` < 1.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    jitter = rng or random.Random()
    for attempt in range(attempts - 1):
        try:
            return await operation()
        except ConcurrencyError:
            bound = min(max_delay, base_delay * (2**attempt))
            await anyio.sleep(jitter.uniform(0, bound))
    return await operation()
