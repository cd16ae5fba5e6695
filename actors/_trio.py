"""A one-shot event built directly on trio's low-level scheduling API.

``trio.Event`` parks its waiters in a ``ParkingLot`` (an ordered dict, a
statistics record, a closure per wait), which is most of the cost of a request's
round trip through an actor. A request has one waiter almost always, so this
event keeps that task in a slot and only makes a list for a second one. It
behaves like ``trio.Event``: ``wait`` is a checkpoint (it can be cancelled, and
it yields even when the event is already set), ``set`` wakes every waiter once.
"""

from __future__ import annotations

from typing import Any

from trio.lowlevel import Abort, Task, checkpoint, current_task, reschedule, wait_task_rescheduled


class TrioEvent:
    """A settable one-shot event for tasks of one trio run."""

    __slots__ = ("_flag", "_waiter", "_waiters")

    def __init__(self) -> None:
        self._flag = False
        self._waiter: Task | None = None
        self._waiters: list[Task] | None = None

    def is_set(self) -> bool:
        """Return True once ``set`` was called."""
        return self._flag

    def set(self) -> None:
        """Set the event and wake every task waiting for it (idempotent)."""
        if self._flag:
            return
        self._flag = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            reschedule(waiter)
        waiters = self._waiters
        if waiters:
            self._waiters = None
            for task in waiters:
                reschedule(task)

    async def wait(self) -> None:
        """Wait until the event is set; a checkpoint either way."""
        if self._flag:
            await checkpoint()
            return
        task = current_task()
        if self._waiter is None:
            self._waiter = task

            def abort(_: Any) -> Abort:
                if self._waiter is task:
                    self._waiter = None
                return Abort.SUCCEEDED

        else:
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(task)

            def abort(_: Any) -> Abort:
                if self._waiters is not None and task in self._waiters:
                    self._waiters.remove(task)
                return Abort.SUCCEEDED

        await wait_task_rescheduled(abort)
