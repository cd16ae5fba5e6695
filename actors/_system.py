"""The actor system: routes requests to keyed cells and bounds how many are alive.

Bookkeeping, all in the system's own task, never across an ``await``:

* ``_cells`` maps each key to its live cell; a request for an unmapped key spawns
  one. A key has at most one live cell, plus retired ones still finishing; a new
  cell waits for the key's last retired cell (``_stopping``) before it starts.
* ``_idle`` holds the live cells that are waiting for mail, oldest first. It
  feeds both passivation (the reaper retires its head once it has been idle for
  ``idle_timeout``) and the ``max_live`` cap (the head is evicted first). Busy
  cells are never stopped for the cap; if more than ``max_live`` are busy at
  once, the excess is evicted as soon as each goes idle.
* Closing retires every live cell; leaving the ``async with`` waits until each
  has drained its mailbox and run ``on_stop``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, cast

import anyio

from ._actor import Actor, StopReason
from ._backend import Backend, Event, Spawn
from ._cell import Cell
from ._envelope import _FAILED, _PENDING, Envelope, Pending
from ._errors import MailboxFull, NoReply, SystemClosed
from ._statistics import ActorStatistics, Counters

K = TypeVar("K", bound=Hashable)
M = TypeVar("M")
R = TypeVar("R")


MAX_PARKED_WORKERS = 256


class _ParkedWorker(Generic[K, M, R]):
    """A task whose cell has finished, waiting to drive the next spawned cell.

    Starting a task through anyio costs far more than handing a cell to a task
    that already exists, so finished tasks wait here (up to
    ``MAX_PARKED_WORKERS``) instead of ending. Woken with no cell, the task ends.
    """

    __slots__ = ("cell", "predecessor", "wakeup")

    def __init__(self, wakeup: Event) -> None:
        self.wakeup = wakeup
        self.cell: Cell[K, M, R] | None = None
        self.predecessor: Event | None = None

    def hand_over(self, cell: Cell[K, M, R], predecessor: Event | None) -> None:
        self.cell = cell
        self.predecessor = predecessor
        self.wakeup.set()


class ActorSystem(Generic[K, M, R]):
    """A set of keyed actors sharing one factory. Create it with ``open_actor_system``.

    Guarantees:
        * Messages to one key are handled one batch at a time, in the order the
          requests were queued, each by exactly one incarnation.
        * An actor never sees a message before its ``on_start`` has returned,
          and a key's new incarnation never starts before the previous one's
          ``on_stop`` has returned.
        * A crash fails only the crashing actor's in-flight requests.
    """

    def __init__(
        self,
        backend: Backend,
        spawn: Spawn,
        factory: Callable[[K], Actor[M, R]],
        *,
        mailbox_size: int,
        idle_timeout: float | None,
        max_live: int | None,
        name: str,
        on_crash: Callable[[K, BaseException], object] | None,
    ) -> None:
        self._new_event = backend.event
        self._now = backend.now
        self._spawn_task = spawn
        self._factory = factory
        self._mailbox_size = mailbox_size
        self._idle_timeout = idle_timeout
        self._max_live = max_live
        self._on_crash = on_crash
        self._cells: dict[K, Cell[K, M, R]] = {}
        self._idle: OrderedDict[K, Cell[K, M, R]] = OrderedDict()
        self._stopping: dict[K, Cell[K, M, R]] = {}
        self._parked: list[_ParkedWorker[K, M, R]] = []
        self._running = 0
        self._closed = False
        self._reaper_scope = anyio.CancelScope()
        self._reaper_wakeup: Event | None = None
        self._all_stopped: Event | None = None
        self.counters = Counters()
        self.name = name

    @property
    def closed(self) -> bool:
        """True once the system has stopped accepting requests."""
        return self._closed

    async def ask(self, key: K, message: M) -> R:
        """Send ``message`` to the actor for ``key`` and wait for its answer.

        Spawns the actor if the key has none. If its mailbox is full, waits for
        space first (backpressure); a request cancelled while waiting for space
        is withdrawn, one already in the mailbox is still handled.

        Returns:
            The value the actor replied with.

        Raises:
            SystemClosed: The system is closing or closed.
            ActorCrashed: The actor raised while handling this request.
            NoReply: The actor returned without answering.
            Exception: Whatever the actor passed to ``Envelope.fail``.
        """
        cell = self._cells.get(key)
        if cell is None:
            cell = self._spawn(key)
        envelope: Envelope[M, R] = Envelope(message, self._new_event())
        receive_now = cell.receive_now
        if (
            receive_now is None
            or cell.wakeup is None
            or not self._now_taken(cell, receive_now, envelope)
        ):
            if len(cell.mailbox) < cell.capacity:
                self._enqueue(cell, envelope)
            else:
                cell.overflow.append(envelope)
        # envelope.wait(), one coroutine frame less: an answer given already is seen at once.
        try:
            await envelope._event.wait()
        except BaseException:
            envelope._abandoned = True
            raise
        if envelope._state == _FAILED:
            raise cast(BaseException, envelope._error)
        return cast(R, envelope._value)

    def ask_nowait(self, key: K, message: M) -> Pending[R]:
        """Queue ``message`` for ``key`` without waiting; await the result for the answer.

        Returns:
            A handle whose ``wait()`` (or ``await``) gives what ``ask`` would.

        Raises:
            MailboxFull: The actor's mailbox is at ``mailbox_size``; nothing was queued.
            SystemClosed: The system is closing or closed.
        """
        cell = self._cells.get(key)
        if cell is None:
            cell = self._spawn(key)
        elif len(cell.mailbox) >= cell.capacity:
            raise MailboxFull(f"mailbox of actor {key!r} is full ({cell.capacity} messages)")
        envelope: Envelope[M, R] = Envelope(message, self._new_event())
        self._enqueue(cell, envelope)
        return envelope

    def statistics(self) -> ActorStatistics:
        """Return a snapshot of the system's counters and queues (O(live actors))."""
        depths = [len(cell.mailbox) for cell in self._cells.values()]
        counters = self.counters
        return ActorStatistics(
            live_actors=len(self._cells),
            stopping_actors=self._running - len(self._cells),
            mailbox_depth=sum(depths),
            max_mailbox_depth=max(depths, default=0),
            blocked_senders=sum(len(cell.overflow) for cell in self._cells.values()),
            messages_processed=counters.messages,
            batches=counters.batches,
            spawned=counters.spawned,
            crashes=counters.crashes,
            passivations=counters.passivations,
            evictions=counters.evictions,
        )

    def _now_taken(
        self,
        cell: Cell[K, M, R],
        receive_now: Callable[[Envelope[M, R]], bool],
        envelope: Envelope[M, R],
    ) -> bool:
        """Offer ``envelope`` to the idle ``cell``'s actor in the caller's task.

        Only called while the cell's task waits for mail (its mailbox is
        empty), so the step is serialised with every other one: ``receive_now``
        cannot await. A step taken counts as a batch and keeps the cell from
        looking idle to passivation and the ``max_live`` cap.
        """
        try:
            taken = receive_now(envelope)
        except Exception as error:
            cell.discard()
            cell.crashed([envelope], error)
            return True
        if not taken:
            return False
        counters = self.counters
        counters.batches += 1
        counters.messages += 1
        if envelope._state == _PENDING:
            envelope.fail(NoReply(cell.key))
        self._idle.move_to_end(cell.key)
        if self._idle_timeout is not None:
            cell.idle_since = self._now()
        return True

    def _enqueue(self, cell: Cell[K, M, R], envelope: Envelope[M, R]) -> None:
        cell.mailbox.append(envelope)
        if cell.wakeup is not None:
            del self._idle[cell.key]
            cell.wake()

    def _spawn(self, key: K) -> Cell[K, M, R]:
        if self._closed:
            raise SystemClosed(f"actor system {self.name!r} is closed")
        if self._max_live is not None and len(self._cells) >= self._max_live and self._idle:
            self._evict()
        cell = Cell(self, key, self._factory, self._mailbox_size, self._new_event)
        predecessor = self._stopping.get(key)
        self._cells[key] = cell
        self._running += 1
        self.counters.spawned += 1
        finished = None if predecessor is None else predecessor.finished
        if self._parked:
            self._parked.pop().hand_over(cell, finished)
        else:
            self._spawn_task(self._work, cell, finished, name=f"{self.name}.worker")
        return cell

    async def _work(self, cell: Cell[K, M, R], predecessor: Event | None) -> None:
        while True:
            await cell.run(predecessor)
            if self._closed or len(self._parked) >= MAX_PARKED_WORKERS:
                return
            worker: _ParkedWorker[K, M, R] = _ParkedWorker(self._new_event())
            self._parked.append(worker)
            await worker.wakeup.wait()
            if worker.cell is None:
                return
            cell, predecessor = worker.cell, worker.predecessor

    def _evict(self) -> None:
        _, cell = self._idle.popitem(last=False)
        self.counters.evictions += 1
        self._retire(cell, StopReason.EVICTED)

    def _retire(self, cell: Cell[K, M, R], reason: StopReason) -> None:
        key = cell.key
        del self._cells[key]
        self._idle.pop(key, None)
        cell.stop_reason = reason
        cell.finished = self._new_event()
        self._stopping[key] = cell
        cell.wake()

    def cell_idle(self, cell: Cell[K, M, R]) -> None:
        """Record that ``cell`` is waiting for mail; may retire it or another."""
        if self._idle_timeout is not None:
            cell.idle_since = self._now()
            wakeup = self._reaper_wakeup
            if wakeup is not None:
                self._reaper_wakeup = None
                wakeup.set()
        self._idle[cell.key] = cell
        if self._max_live is not None and len(self._cells) > self._max_live:
            self._evict()

    def cell_finished(self, cell: Cell[K, M, R]) -> None:
        """Unregister ``cell`` once its task has ended, for whatever reason."""
        key = cell.key
        self._running -= 1
        if self._cells.get(key) is cell:
            del self._cells[key]
            self._idle.pop(key, None)
        if self._stopping.get(key) is cell:
            del self._stopping[key]
        if cell.finished is not None:
            cell.finished.set()
        if self._running == 0 and self._all_stopped is not None:
            self._all_stopped.set()

    def report_crash(self, key: K, error: BaseException) -> None:
        """Pass an actor's exception to the ``on_crash`` callback, if any."""
        if self._on_crash is not None:
            self._on_crash(key, error)

    async def _reap(self, idle_timeout: float) -> None:
        with self._reaper_scope:
            while True:
                if not self._idle:
                    self._reaper_wakeup = wakeup = self._new_event()
                    await wakeup.wait()
                    continue
                cell = next(iter(self._idle.values()))
                delay = cell.idle_since + idle_timeout - self._now()
                if delay > 0:
                    await anyio.sleep(delay)
                    continue
                self.counters.passivations += 1
                self._retire(cell, StopReason.IDLE)

    def _close(self) -> None:
        self._closed = True
        self._reaper_scope.cancel()
        while self._parked:
            self._parked.pop().wakeup.set()
        for cell in list(self._cells.values()):
            self._retire(cell, StopReason.SHUTDOWN)

    async def _wait_stopped(self) -> None:
        if self._running:
            self._all_stopped = stopped = self._new_event()
            await stopped.wait()
