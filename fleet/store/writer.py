"""The group-commit writer: the only task that writes events.

Stream actors hand it bundles — the encoded rows of one or more appends to one
stream, or of one atomic multi-stream append — and go on with their next
requests without waiting. The writer owns one worker thread and the database's
write connection; its loop:

1. waits until at least one bundle is queued;
2. takes every bundle queued by then, up to ``max_batch_events`` events — no
   timers: whatever queued up during the previous commit forms the next batch;
3. commits all their rows in one call (:meth:`fleet.db.Database.commit`): the
   backend gives them the positions after the log's head, in one transaction,
   its own cheapest way;
4. hands the outcomes back to the event loop, where each bundle answers its
   callers — only after the commit returned.

The thread starts a commit as soon as the first bundle arrives, while the event
loop goes on preparing the next ones, so encoding and committing overlap.

Guarantees:

* A bundle is reported committed only if its rows were committed; positions
  are consecutive within a bundle and gap-free across commits.
* If the batch fails because of its rows (a uniqueness conflict, a constraint
  or trigger), it is retried with each bundle in its own savepoint: the guilty
  bundles fail with their own error and their neighbours are committed.
* A bundle built on top of a failed bundle of the same stream (its versions
  follow the failed ones) is never written: it fails as :class:`Superseded`,
  and its stream's actor redoes its requests after reloading.
* If the database itself is unavailable (locked, full, read-only, unreachable),
  every bundle of the batch fails with :class:`StoreUnavailable`.
* If the connection breaks while the commit is on its way (PostgreSQL), the
  outcome is learned by looking the batch's event ids up on a fresh
  connection, once the write lock the broken transaction held is had (the
  server may still be running its ``COMMIT``): a batch found stored is
  reported committed at the positions found, one not found fails with
  :class:`StoreUnavailable`. Only when the database cannot be reached for a
  few seconds, or the lock is not had within five seconds, does
  every bundle fail with :class:`CommitUnknown` (a retry with the same event
  ids is then safe). The same holds for the commit of a batch's fallback
  transaction: its bundles refused before the commit keep their own errors.
* :meth:`Writer.close` stops intake, commits everything already queued and
  ends the loop.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, Protocol

import anyio
import anyio.to_thread

from fleet.db import PendingColumn, PendingTuple, SnapshotRow, positioned, stream_heads
from fleet.errors import (
    AppendFailed,
    CommitUnknown,
    ConcurrencyError,
    FleetError,
    StoreClosed,
    StoreError,
    StoreUnavailable,
    Superseded,
)
from fleet.store import interpreter
from fleet.store.posting import Post, poster

if TYPE_CHECKING:
    from fleet.db import Database, WriteTransaction

__all__ = [
    "Bundle",
    "CommitNotice",
    "Writer",
    "WriterStatistics",
    "next_epoch",
]

_LOOKUP_PAUSES_S: Final = (0.0, 0.2, 0.5, 1.0, 2.0)
"""Pauses before each look-up of a batch whose commit had an unknown outcome."""

_SETTLE_WAIT_S = 5.0
"""The longest wait for the write lock before a look-up of a batch whose commit had
an unknown outcome: a commit still running after it is reported :class:`CommitUnknown`."""


_epochs = iter(range(1, 1 << 62))
_epoch_lock = threading.Lock()


def next_epoch() -> int:
    """A process-wide increasing number: no two actor incarnations or reloads share one."""
    with _epoch_lock:
        return next(_epochs)


class Bundle(Protocol):
    """Rows that commit together or not at all, and who to tell the outcome."""

    rows: list[PendingTuple]
    snapshots: list[SnapshotRow]
    owners: tuple[tuple[object, int], ...]
    """``(actor, epoch)`` of each stream whose versions the rows continue. An epoch
    is unique per actor incarnation and reload (see :func:`next_epoch`)."""

    def committed(self, first_position: int) -> None:
        """Called in the event loop once the rows are committed."""

    def failed(self, error: BaseException) -> None:
        """Called in the event loop when nothing of the bundle was stored."""


class CommitNotice:
    """A committed range of positions, published to listeners after each commit."""

    __slots__ = ("first_position", "last_position", "rows")

    def __init__(self, first_position: int, last_position: int, rows: list[PendingTuple]) -> None:
        self.first_position = first_position
        self.last_position = last_position
        self.rows = rows


class WriterStatistics:
    """Counters since the writer started (read-only snapshot).

    ``batches`` counts the groups of bundles taken together; ``transactions``
    the transactions that committed (one per batch when all goes well);
    ``fallbacks`` the batches that needed another way after their first
    transaction failed (the head moved, or a bundle's rows were refused).
    """

    __slots__ = (
        "batches",
        "bundles",
        "events",
        "failed_bundles",
        "fallbacks",
        "queued_bundles",
        "transactions",
    )

    def __init__(
        self,
        batches: int,
        bundles: int,
        events: int,
        failed_bundles: int,
        queued_bundles: int,
        transactions: int = 0,
        fallbacks: int = 0,
    ) -> None:
        self.batches = batches
        self.bundles = bundles
        self.events = events
        self.failed_bundles = failed_bundles
        self.queued_bundles = queued_bundles
        self.transactions = transactions
        self.fallbacks = fallbacks

    @property
    def mean_batch_events(self) -> float:
        """Mean number of events per committed transaction."""
        return self.events / self.batches if self.batches else 0.0


class Writer:
    """Group-commit writer over a :class:`fleet.db.Database`; see the module docstring."""

    def __init__(
        self,
        db: Database,
        max_batch_events: int,
        listeners: Sequence[Callable[[CommitNotice], None]] = (),
    ) -> None:
        self._db = db
        self._max_batch_events = max_batch_events
        self._max_queued_events = 4 * max_batch_events
        self._queue: deque[Bundle] = deque()
        self._snapshots: deque[SnapshotRow] = deque()
        self._queued_events = 0
        self._space: anyio.Event | None = None
        self._signal = threading.Event()
        self._thread_idle = True
        self._closed = False
        self._failed_epochs: dict[int, int] = {}
        self._listeners = list(listeners)
        self._batch_observers: list[Callable[[int, float], None]] = []
        self._batches = 0
        self._bundles = 0
        self._events = 0
        self._failed = 0
        self._transactions = 0
        self._fallbacks = 0

    def add_listener(self, listener: Callable[[CommitNotice], None]) -> None:
        """Call ``listener`` (synchronously, in the event loop) after every commit."""
        self._listeners.append(listener)

    def observe_batches(self, observer: Callable[[int, float], None]) -> Callable[[], None]:
        """Call ``observer(events, seconds)`` (in the event loop) after every committed batch.

        ``seconds`` is the time the transaction took on the writer thread, from
        its begin to the end of its commit. Returns a function that stops the calls.
        """
        self._batch_observers.append(observer)

        def stop() -> None:
            if observer in self._batch_observers:
                self._batch_observers.remove(observer)

        return stop

    def publish(self, notice: CommitNotice) -> None:
        """Tell the listeners of rows committed outside the writer (a stream's deletion)."""
        for listener in tuple(self._listeners):
            listener(notice)

    def remove_listener(self, listener: Callable[[CommitNotice], None]) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def statistics(self) -> WriterStatistics:
        """Counters of batches, bundles and events committed so far."""
        return WriterStatistics(
            self._batches,
            self._bundles,
            self._events,
            self._failed,
            len(self._queue),
            self._transactions,
            self._fallbacks,
        )

    async def submit(self, bundle: Bundle) -> None:
        """Queue ``bundle`` for a coming commit; its outcome is reported to the bundle.

        Waits only while more than four batches' worth of events are queued or
        being committed (backpressure when the database is slower than the appenders).

        Raises:
            StoreClosed: the writer no longer accepts work; nothing was queued.
        """
        while not self.offer(bundle):
            if self._space is None:
                self._space = anyio.Event()
            await self._space.wait()

    def offer(self, bundle: Bundle) -> bool:
        """Queue ``bundle`` if fewer than four batches' worth of events wait; never waits.

        Returns:
            True when the bundle was queued; False, with nothing queued, when
            :meth:`submit` would have to wait for room.

        Raises:
            StoreClosed: the writer no longer accepts work; nothing was queued.
        """
        if self._closed:
            raise StoreClosed("the store is closed; the append was not accepted")
        if self._queued_events >= self._max_queued_events:
            return False
        self._queued_events += len(bundle.rows)
        self._queue.append(bundle)
        if self._thread_idle:
            self._signal.set()
        return True

    def queue_snapshot(self, snapshot: SnapshotRow) -> None:
        """Write ``snapshot`` with the next transaction (best effort; never waits).

        A snapshot that cannot be written is dropped: snapshots only speed up loading.
        """
        self._snapshots.append(snapshot)
        self._signal.set()

    def close(self) -> None:
        """Stop accepting bundles; the thread commits what is queued, then ends."""
        self._closed = True
        self._signal.set()
        if self._space is not None:
            self._space.set()

    async def run(self) -> None:
        """Run the writer thread until :meth:`close`, then until the queue is empty.

        Meanwhile the young-generation GC threshold and the thread switch
        interval are those of the database's configuration
        (``store.gc_threshold``, ``store.switch_interval_ms``; see
        :mod:`fleet.store.interpreter`).
        """
        settings = self._db.config.store
        with (
            interpreter.gc_threshold.held(interpreter.young_threshold(settings.gc_threshold or 0)),
            interpreter.switch_interval.held(
                interpreter.shorter_interval(settings.switch_interval_ms or 0)
            ),
        ):
            await self._run()

    async def _run(self) -> None:
        finished = anyio.Event()
        post = poster()
        thread = threading.Thread(
            target=self._thread_main, args=(post, finished.set), name="fleet-writer", daemon=True
        )
        thread.start()
        try:
            await finished.wait()
        finally:
            self.close()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(thread.join)

    def _thread_main(self, post: Post, finished: Callable[[], None]) -> None:
        try:
            while True:
                self._signal.wait()
                self._signal.clear()
                self._thread_idle = False
                while True:
                    if not (self._queue or self._snapshots):
                        # Announce idleness before the last look, so a bundle queued
                        # from now on signals the thread.
                        self._thread_idle = True
                        if not (self._queue or self._snapshots):
                            break
                        self._thread_idle = False
                    batch, superseded = self._take_batch()
                    snapshots = [self._snapshots.popleft() for _ in range(len(self._snapshots))]
                    started = time.perf_counter()
                    outcomes = self._commit(batch, snapshots) if batch or snapshots else []
                    took = time.perf_counter() - started
                    self._remember_failures(batch, outcomes)
                    post(self._finish, batch, outcomes, superseded, took)
                if self._closed and not self._queue:
                    return
        finally:
            post(finished)

    def _take_batch(self) -> tuple[list[Bundle], list[tuple[Bundle, BaseException]]]:
        queue = self._queue
        batch: list[Bundle] = []
        superseded: list[tuple[Bundle, BaseException]] = []
        size = 0
        limit = self._max_batch_events
        while queue and (not batch or size + len(queue[0].rows) <= limit):
            bundle = queue.popleft()
            reason = self._superseded(bundle)
            if reason is not None:
                superseded.append((bundle, reason))
                self._remember_failures([bundle], [reason])
                continue
            size += len(bundle.rows)
            batch.append(bundle)
        return batch, superseded

    def _superseded(self, bundle: Bundle) -> BaseException | None:
        failed = self._failed_epochs
        for owner, epoch in bundle.owners:
            if epoch <= failed.get(id(owner), 0):
                return Superseded("not written: an earlier append to the stream failed")
        return None

    def _remember_failures(
        self, batch: Sequence[Bundle], outcomes: Sequence[int | BaseException]
    ) -> None:
        failed = self._failed_epochs
        for bundle, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                for owner, epoch in bundle.owners:
                    failed[id(owner)] = max(epoch, failed.get(id(owner), 0))
            elif failed:
                for owner, epoch in bundle.owners:
                    if failed.get(id(owner), epoch) < epoch:
                        del failed[id(owner)]

    def _finish(
        self,
        batch: list[Bundle],
        outcomes: list[int | BaseException],
        superseded: list[tuple[Bundle, BaseException]],
        took: float = 0.0,
    ) -> None:
        """Report outcomes (in the event loop) and publish commit notices."""
        done = sum(len(bundle.rows) for bundle in batch)
        done += sum(len(bundle.rows) for bundle, _ in superseded)
        self._queued_events -= done
        if self._space is not None and self._queued_events < self._max_queued_events:
            self._space.set()
            self._space = None
        for bundle, reason in superseded:
            self._failed += 1
            bundle.failed(reason)
        if not batch:
            return
        self._batches += 1
        notices: list[CommitNotice] = []
        for bundle, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self._failed += 1
                bundle.failed(outcome)
            else:
                self._bundles += 1
                self._events += len(bundle.rows)
                bundle.committed(outcome)
                notices.append(CommitNotice(outcome, outcome + len(bundle.rows) - 1, bundle.rows))
        listeners = tuple(self._listeners)
        for notice in notices:
            for listener in listeners:
                listener(notice)
        if notices:
            events = sum(len(notice.rows) for notice in notices)
            for observer in tuple(self._batch_observers):
                observer(events, took)

    def _commit(
        self, batch: list[Bundle], snapshots: list[SnapshotRow]
    ) -> list[int | BaseException]:
        """Commit a batch (writer thread). Never raises: returns one outcome per bundle."""
        backend = self._db.backend
        rereads = backend.head_rereads
        snapshots = snapshots + [snapshot for bundle in batch for snapshot in bundle.snapshots]
        rows = batch[0].rows if len(batch) == 1 else [row for b in batch for row in b.rows]
        try:
            position = self._db.commit(rows, snapshots)
        except CommitUnknown as exc:
            return self._learn_outcome(batch, exc)
        except StoreUnavailable as exc:
            return [exc] * len(batch)
        except Exception as exc:
            if len(batch) <= 1:
                return [_as_fleet_error(exc)] * len(batch)
            self._fallbacks += 1
            return self._commit_isolated(batch)
        if backend.head_rereads != rereads:
            self._fallbacks += 1
        self._transactions += 1
        return _firsts(batch, position)

    def _learn_outcome(
        self, batch: list[Bundle], unknown: CommitUnknown
    ) -> list[int | BaseException]:
        """After a commit of unknown outcome, look the batch up to learn whether it is stored.

        A batch is one transaction: either every bundle's first event is
        stored (each bundle is reported at the position found) or none is.
        """
        found = self._look_up(batch, unknown)
        if isinstance(found, CommitUnknown):
            return [found] * len(batch)
        if not found:
            return [_nothing_stored(unknown)] * len(batch)
        self._transactions += 1
        return [found.get(_first_event_id(bundle), unknown) for bundle in batch]

    def _look_up(
        self, bundles: list[Bundle], unknown: CommitUnknown
    ) -> dict[str, int] | CommitUnknown:
        """Where the first events of ``bundles``, committed with an unknown outcome, are stored.

        The look-up waits for the write lock (at most :data:`_SETTLE_WAIT_S`),
        so the commit has really ended when it reads; a database out of reach
        is tried again after each of :data:`_LOOKUP_PAUSES_S`.

        Returns:
            The positions found by event id (empty when nothing was stored),
            or the :class:`CommitUnknown` to report when the outcome could not
            be learned.
        """
        firsts = [_first_event_id(bundle) for bundle in bundles]
        last: BaseException = unknown
        for pause in _LOOKUP_PAUSES_S:
            time.sleep(pause)
            try:
                stored = self._db.find_settled(firsts, _SETTLE_WAIT_S)
            except CommitUnknown:
                return _unknowable(unknown, f"it had not ended after {_SETTLE_WAIT_S:g} s")
            except StoreError as exc:
                last = exc
                continue
            return {ref.event_id: ref.position for ref in stored}
        return _unknowable(
            unknown, f"the database could not be reached to learn whether it happened ({last})"
        )

    def _commit_isolated(self, batch: list[Bundle]) -> list[int | BaseException]:
        """Commit what can be committed of a batch that failed as a whole.

        Under the write lock (no other process can write meanwhile) the batch's
        streams' heads are read, and every bundle that does not continue its
        streams fails with :class:`ConcurrencyError` at once -- the usual cause
        when several processes write the same streams. The rest go in together
        if they can, else each in its own savepoint, skipping the guilty. When
        the commit's outcome is unknown, the bundles written are looked up
        (see :meth:`_learn_placed`).
        """
        placed: list[int | BaseException] = []
        try:
            with self._db.write_transaction() as txn:
                placed = self._place(txn, batch)
        except CommitUnknown as exc:
            return self._learn_placed(batch, placed, exc)
        except Exception as exc:
            return [_as_fleet_error(exc)] * len(batch)
        self._transactions += 1
        return placed

    def _place(self, txn: WriteTransaction, batch: list[Bundle]) -> list[int | BaseException]:
        """Insert the bundles of ``batch`` that can go in; return each one's outcome."""
        outcomes, fitting = _continuing(batch, stream_heads(txn.connection, _streams(batch)))
        position = txn.head_position + 1
        try:
            with txn.savepoint():
                firsts = _firsts(fitting, position)
                rows = [row for bundle in fitting for row in bundle.rows]
                txn.insert_events(positioned(rows, position))
                txn.save_snapshots([s for bundle in fitting for s in bundle.snapshots])
        except StoreUnavailable:
            raise
        except Exception:
            firsts = self._insert_each(txn, fitting, position)
        placed = dict(zip(map(id, fitting), firsts, strict=True))
        return [
            placed[id(bundle)] if outcome is None else outcome
            for bundle, outcome in zip(batch, outcomes, strict=True)
        ]

    def _learn_placed(
        self, batch: list[Bundle], placed: list[int | BaseException], unknown: CommitUnknown
    ) -> list[int | BaseException]:
        """The outcomes of a fallback transaction whose commit had an unknown outcome.

        The bundles it inserted (``placed`` holds their positions) are stored
        all or none, as the look-up finds; the bundles refused before the
        commit (a stream another writer moved, rows the database refused)
        keep their own errors, so their actors redo or fail them as usual.
        """
        if len(placed) != len(batch):
            return [unknown] * len(batch)
        written = [
            bundle
            for bundle, outcome in zip(batch, placed, strict=True)
            if not isinstance(outcome, BaseException)
        ]
        if not written:
            return placed
        found = self._look_up(written, unknown)
        if not isinstance(found, CommitUnknown) and found:
            self._transactions += 1
        outcomes: list[int | BaseException] = []
        for bundle, outcome in zip(batch, placed, strict=True):
            if isinstance(outcome, BaseException):
                outcomes.append(outcome)
            elif isinstance(found, CommitUnknown):
                outcomes.append(found)
            elif not found:
                outcomes.append(_nothing_stored(unknown))
            else:
                outcomes.append(found.get(_first_event_id(bundle), unknown))
        return outcomes

    def _insert_each(
        self, txn: WriteTransaction, batch: list[Bundle], position: int
    ) -> list[int | BaseException]:
        """Insert each bundle in its own savepoint; a bundle that fails fails alone (and
        later bundles of its streams are superseded)."""
        outcomes: list[int | BaseException] = []
        failed_owners: set[int] = set()
        for bundle in batch:
            if any(id(owner) in failed_owners for owner, _ in bundle.owners):
                outcomes.append(Superseded("an earlier append to the stream failed"))
                continue
            try:
                _insert_in_savepoint(txn, bundle, position)
            except StoreUnavailable:
                raise
            except Exception as exc:
                outcomes.append(_as_fleet_error(exc))
                failed_owners.update(id(owner) for owner, _ in bundle.owners)
            else:
                outcomes.append(position)
                position += len(bundle.rows)
        return outcomes


def _as_fleet_error(exc: Exception) -> FleetError:
    if isinstance(exc, FleetError):
        return exc
    failure = AppendFailed(f"commit failed: {exc}")
    failure.__cause__ = exc
    return failure


def _first_event_id(bundle: Bundle) -> str:
    event_id: str = bundle.rows[0][PendingColumn.EVENT_ID]
    return event_id


def _nothing_stored(unknown: CommitUnknown) -> StoreUnavailable:
    lost = StoreUnavailable("the database connection failed during the commit; nothing was stored")
    lost.__cause__ = unknown
    return lost


def _unknowable(unknown: CommitUnknown, reason: str) -> CommitUnknown:
    """The error for a commit whose outcome stays unknown, and why it does (``reason``)."""
    unknowable = CommitUnknown(
        f"the database connection failed while the commit was on its way and {reason}, "
        "so the events may or may not be stored: a retry with the same event ids is safe"
    )
    unknowable.__cause__ = unknown
    return unknowable


def _firsts(batch: list[Bundle], position: int) -> list[int | BaseException]:
    """Each bundle's first position when the batch's rows go in from ``position`` on."""
    firsts: list[int | BaseException] = []
    for bundle in batch:
        firsts.append(position)
        position += len(bundle.rows)
    return firsts


def _streams(batch: list[Bundle]) -> set[str]:
    return {row[PendingColumn.STREAM_ID] for bundle in batch for row in bundle.rows}


def _continuing(
    batch: list[Bundle], heads: dict[str, int]
) -> tuple[list[BaseException | None], list[Bundle]]:
    """Split ``batch`` by whether each bundle continues its streams from ``heads``.

    Returns one outcome per bundle (``None`` for a bundle that fits, an error
    for one that does not) and the fitting bundles in order. A bundle behind a
    refused one of the same stream is superseded.
    """
    outcomes: list[BaseException | None] = []
    fitting: list[Bundle] = []
    failed_owners: set[int] = set()
    for bundle in batch:
        if any(id(owner) in failed_owners for owner, _ in bundle.owners):
            outcomes.append(Superseded("an earlier append to the stream failed"))
            continue
        firsts: dict[str, int] = {}
        for row in bundle.rows:
            firsts.setdefault(row[PendingColumn.STREAM_ID], row[PendingColumn.VERSION])
        moved = [stream for stream, first in firsts.items() if first != heads.get(stream, 0) + 1]
        if moved:
            outcomes.append(
                ConcurrencyError(f"another writer stored the next version of {moved[0]!r}")
            )
            failed_owners.update(id(owner) for owner, _ in bundle.owners)
            continue
        for row in bundle.rows:
            heads[row[PendingColumn.STREAM_ID]] = row[PendingColumn.VERSION]
        outcomes.append(None)
        fitting.append(bundle)
    return outcomes, fitting


def _insert_in_savepoint(txn: WriteTransaction, bundle: Bundle, position: int) -> None:
    with txn.savepoint():
        txn.insert_events(positioned(bundle.rows, position))
        txn.save_snapshots(bundle.snapshots)
