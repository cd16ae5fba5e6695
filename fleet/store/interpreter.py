"""Process-wide interpreter settings that open stores tune while their writers run.

Two settings matter to a store's throughput:

* the young-generation threshold of the cyclic garbage collector: every append
  allocates short-lived objects, and each young collection rescans everything
  still in flight;
* the thread switch interval: the writer thread gives the GIL up around every
  database call, and when the event loop's thread is busy the writer waits up
  to one interval to get it back, several times per commit.

Both are shared by the whole process. The first writer to start applies the
value it was configured with (never loosening a stricter setting already in
place); the interpreter's own value comes back when the last writer stops,
unless someone else changed it in the meantime.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

__all__ = ["ProcessSetting", "gc_threshold", "switch_interval"]

T = TypeVar("T")


class ProcessSetting(Generic[T]):
    """One interpreter setting, applied while at least one user holds it."""

    def __init__(self, read: Callable[[], T], write: Callable[[T], None]) -> None:
        self._read = read
        self._write = write
        self._lock = threading.Lock()
        self._users = 0
        self._saved: T | None = None
        self._applied: T | None = None

    def _acquire(self, adjust: Callable[[T], T] | None) -> bool:
        """Count one more holder; the first applies ``adjust(current value)``.

        ``None`` leaves the setting alone and holds nothing (returns ``False``).
        """
        if adjust is None:
            return False
        with self._lock:
            self._users += 1
            if self._users == 1:
                self._saved = current = self._read()
                self._applied = adjust(current)
                self._write(self._applied)
        return True

    @contextmanager
    def held(self, adjust: Callable[[T], T] | None) -> Iterator[None]:
        """Hold the setting for the block; the first holder applies ``adjust(current value)``.

        ``None`` leaves the setting alone. When the last holder leaves, the value
        the first one found comes back, unless someone else changed it meanwhile.
        """
        holding = self._acquire(adjust)
        try:
            yield
        finally:
            if holding:
                self._release()

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._saved is not None:
                if self._read() == self._applied:
                    self._write(self._saved)
                self._saved = self._applied = None


def _set_gc_threshold(value: tuple[int, ...]) -> None:
    gc.set_threshold(*value)


gc_threshold: ProcessSetting[tuple[int, ...]] = ProcessSetting(gc.get_threshold, _set_gc_threshold)
"""``gc.get_threshold()`` / ``gc.set_threshold()``."""

switch_interval: ProcessSetting[float] = ProcessSetting(
    sys.getswitchinterval, sys.setswitchinterval
)
"""``sys.getswitchinterval()`` / ``sys.setswitchinterval()``, in seconds."""


def young_threshold(threshold: int) -> Callable[[tuple[int, ...]], tuple[int, ...]] | None:
    """An adjustment raising the youngest generation's threshold to ``threshold`` (0: none)."""
    if threshold <= 0:
        return None
    return lambda current: (max(threshold, current[0]), *current[1:])


def shorter_interval(milliseconds: float) -> Callable[[float], float] | None:
    """An adjustment lowering the switch interval to ``milliseconds`` (0: none)."""
    if milliseconds <= 0:
        return None
    return lambda current: min(current, milliseconds / 1000)
