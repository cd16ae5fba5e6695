"""One incarnation chain of one key: its mailbox and the task that drives it.

A cell's task loops: wait until the mailbox is non-empty, start the actor if it
has none, take the whole mailbox as one batch, hand it to ``receive``, resolve
whatever was left unanswered, repeat. Rules:

* The mailbox holds at most ``capacity`` envelopes. Senders that find it full
  queue in ``overflow`` (their ``ask`` is still waiting); when a batch is taken,
  overflow moves into the mailbox in arrival order, dropping requests whose
  caller gave up. Per-key FIFO order therefore holds across the two queues.
* A crash discards the actor; the next batch starts a fresh one with a new
  ``on_start``. ``on_stop`` is never called on a crashed actor.
* An actor that implements ``receive_now`` may take a message in its sender's
  task while the cell waits for mail (see ``ActorSystem.ask``); the cell's
  task is then still parked, so the two never run at once.
* Once retired (``stop_reason`` set, no longer bound to the key), the cell
  drains what is queued, calls ``on_stop`` and ends. A successor for the same key
  waits for ``finished`` before starting.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

from ._actor import Actor, StopReason
from ._backend import Event
from ._envelope import _PENDING, Envelope
from ._errors import ActorCrashed, NoReply, SystemClosed
from ._statistics import Counters

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")
R = TypeVar("R")


class Host(Protocol[K, M, R]):
    """What a cell needs from the system that owns it."""

    counters: Counters

    def cell_idle(self, cell: Cell[K, M, R]) -> None: ...

    def cell_finished(self, cell: Cell[K, M, R]) -> None: ...

    def report_crash(self, key: K, error: BaseException) -> None: ...


class Cell(Generic[K, M, R]):
    """The mailbox and lifecycle of one key's actor."""

    __slots__ = (
        "_factory",
        "_host",
        "_inflight",
        "_new_event",
        "actor",
        "capacity",
        "finished",
        "idle_since",
        "key",
        "mailbox",
        "overflow",
        "receive_now",
        "stop_reason",
        "wakeup",
    )

    def __init__(
        self,
        host: Host[K, M, R],
        key: K,
        factory: Callable[[K], Actor[M, R]],
        capacity: int,
        new_event: Callable[[], Event],
    ) -> None:
        self._host = host
        self._factory = factory
        self._new_event = new_event
        self._inflight: list[Envelope[M, R]] = []
        self.key = key
        self.capacity = capacity
        self.mailbox: list[Envelope[M, R]] = []
        self.overflow: deque[Envelope[M, R]] = deque()
        self.actor: Actor[M, R] | None = None
        self.receive_now: Callable[[Envelope[M, R]], bool] | None = None
        """The started actor's ``receive_now``, if it has one."""
        self.wakeup: Event | None = None
        self.stop_reason: StopReason | None = None
        self.finished: Event | None = None
        self.idle_since = 0.0

    def wake(self) -> None:
        """Wake the task if it is waiting for messages."""
        wakeup = self.wakeup
        if wakeup is not None:
            self.wakeup = None
            wakeup.set()

    async def run(self, predecessor: Event | None) -> None:
        """Drive the cell until it is retired and drained, or cancelled.

        Args:
            predecessor: Set when the key's previous incarnation has finished
                ``on_stop``; nothing starts before that.
        """
        try:
            if predecessor is not None:
                await predecessor.wait()
            while True:
                if not self.mailbox:
                    reason = self.stop_reason
                    if reason is not None:
                        await self._stop(reason)
                        return
                    self.wakeup = wakeup = self._new_event()
                    self._host.cell_idle(self)
                    await wakeup.wait()
                    continue
                actor = self.actor
                if actor is None:
                    actor = await self._start()
                    if actor is None:
                        continue
                # Delivery, inline: a coroutine of its own would be created per batch.
                batch = self._inflight = self._drain()
                counters = self._host.counters
                counters.batches += 1
                counters.messages += len(batch)
                try:
                    await actor.receive(batch)
                except Exception as error:
                    self.discard()
                    self.crashed(batch, error)
                else:
                    for envelope in batch:
                        if envelope._state == _PENDING:
                            envelope.fail(NoReply(self.key))
                self._inflight = []
        finally:
            self._fail_queued()
            self._host.cell_finished(self)

    def _drain(self) -> list[Envelope[M, R]]:
        batch = self.mailbox
        mailbox: list[Envelope[M, R]] = []
        self.mailbox = mailbox
        overflow = self.overflow
        while overflow and len(mailbox) < self.capacity:
            envelope = overflow.popleft()
            if not envelope._abandoned:
                mailbox.append(envelope)
        return batch

    async def _start(self) -> Actor[M, R] | None:
        try:
            actor = self._factory(self.key)
            await actor.on_start()
        except Exception as error:
            self.crashed(self._drain(), error)
            return None
        self.actor = actor
        self.receive_now = getattr(actor, "receive_now", None)
        return actor

    def discard(self) -> None:
        """Drop the current incarnation (it crashed); the next batch starts a new one."""
        self.actor = None
        self.receive_now = None

    def crashed(self, batch: list[Envelope[M, R]], error: Exception) -> None:
        """Fail what ``batch`` left pending with ``ActorCrashed`` and report ``error``."""
        self._host.counters.crashes += 1
        for envelope in batch:
            if envelope._state == _PENDING:
                envelope.fail(ActorCrashed(self.key, error))
        self._host.report_crash(self.key, error)

    async def _stop(self, reason: StopReason) -> None:
        actor = self.actor
        if actor is None:
            return
        self.discard()
        try:
            await actor.on_stop(reason)
        except Exception as error:
            self._host.counters.crashes += 1
            self._host.report_crash(self.key, error)

    def _fail_queued(self) -> None:
        for queue in (self._inflight, self.mailbox, self.overflow):
            for envelope in queue:
                if envelope._state == _PENDING:
                    envelope.fail(SystemClosed("actor system stopped before answering"))
