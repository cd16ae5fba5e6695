"""Subscriptions: the global log from a position on, first caught up, then live.

A subscription delivers every event after its start position that matches its
filters, in position order, exactly once. It has two modes:

* **Catching up**: it reads pages from the database. A page is bounded by the
  head position read just before it, so once a page comes back short, every
  event up to that head has been seen. A page may also be bounded by bytes
  (``page_bytes``); one that this bound ended is not short.
* **Live**: it takes the writer's commit notices from a bounded inbox, with
  no database round trip. A :class:`CaughtUp` marker is delivered once, at the
  first switch from catching up to live.

The inbox is registered before the first page is read, so an event is either
already in the database when a page is read or announced in the inbox
afterwards: nothing falls between the two modes. A notice that does not
continue the last position seen (another process appended, or the inbox
overflowed because the subscriber was slow) sends the subscription back to
catching up from where it is; notices it has already covered are dropped.
A slow subscriber therefore costs the writer one bounded ``deque.append`` per
commit, and nothing once its inbox has overflowed, and never slows appends
down; when its inbox is full it stops queueing and later re-reads from the
database.

Events appended by other processes sharing the database are announced by the
store's change watch (:mod:`fleet.store.change_watch`): it nudges every live
subscription, which then reads the database. As a safety net, with no notice
for ``poll_interval`` seconds a live subscription asks the database for its
head anyway.

Named subscriptions keep their position in the ``checkpoints`` table: they
start after the saved position and :meth:`Subscription.save_checkpoint` (or
leaving the ``subscribe`` block without an error) saves how far the consumer
got. Delivery is at least once across restarts: events delivered after the
last saved checkpoint are delivered again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread
import msgspec

from fleet.core import now_ms
from fleet.db import (
    LogFilter,
    PendingColumn,
    PendingTuple,
    head_position,
    load_checkpoint,
    save_checkpoint,
)
from fleet.events import Catalog, Event
from fleet.store.decoding import rows_to_events
from fleet.store.reads import read_log_within

if TYPE_CHECKING:
    from fleet.db import Database, EventTuple
    from fleet.store.writer import CommitNotice

__all__ = [
    "CATCH_UP_PAGE",
    "CaughtUp",
    "Subscription",
    "SubscriptionHub",
    "check_name",
    "load_named_position",
    "open_subscription",
]

CATCH_UP_PAGE: Final = 5000
"""Events read per database page while catching up (bounded by ``store.max_read_limit``):
large enough that the per-page round trip is a small share of the cost."""


class CaughtUp(msgspec.Struct, frozen=True):
    """Every matching event up to ``position`` has been delivered; live events follow."""

    position: int


class _Live:
    """One commit notice as the subscriptions see it: rows decoded once, on demand."""

    __slots__ = ("_events", "catalog", "first", "last", "payload_bytes", "rows")

    def __init__(self, notice: CommitNotice, catalog: Catalog) -> None:
        self.catalog = catalog
        self.first = notice.first_position
        self.last = notice.last_position
        self.rows = notice.rows
        data = PendingColumn.PAYLOAD
        self.payload_bytes = sum(len(row[data]) for row in notice.rows)
        self._events: list[Event] | None = None

    def events(self) -> list[Event]:
        """The committed events, decoded on first use and shared by every subscriber."""
        if self._events is None:
            self._events = self.decode(range(len(self.rows)))
        return self._events

    def decode(self, indexes: Iterable[int]) -> list[Event]:
        """The events of the rows at ``indexes``, with their positions (a pending
        row with its position in front is a stored row)."""
        first, rows = self.first, self.rows
        return rows_to_events([(first + i, *rows[i]) for i in indexes], self.catalog)


class _Inbox:
    """Live notices waiting for one subscription, bounded by their number of events
    and by the bytes of their payloads."""

    __slots__ = (
        "byte_capacity",
        "capacity",
        "events",
        "notices",
        "nudged",
        "overflowed",
        "payload_bytes",
        "wakeup",
    )

    def __init__(self, capacity: int, byte_capacity: int) -> None:
        self.capacity = capacity
        self.byte_capacity = byte_capacity
        self.notices: deque[_Live] = deque()
        self.events = 0
        self.payload_bytes = 0
        self.overflowed = False
        self.nudged = False
        """Another process committed events: read the database when the notices run out."""
        self.wakeup = anyio.Event()

    def put(self, live: _Live) -> None:
        if self.overflowed:
            return
        size = len(live.rows)
        if (
            self.events + size > self.capacity
            or self.payload_bytes + live.payload_bytes > self.byte_capacity
        ):
            self.overflowed = True
            self.notices.clear()
            self.events = self.payload_bytes = 0
        else:
            self.notices.append(live)
            self.events += size
            self.payload_bytes += live.payload_bytes
        self.wakeup.set()

    def pop(self) -> _Live:
        live = self.notices.popleft()
        self.events -= len(live.rows)
        self.payload_bytes -= live.payload_bytes
        return live

    def nudge(self) -> None:
        """Another process committed events that no notice will announce."""
        self.nudged = True
        self.wakeup.set()

    def reset(self) -> None:
        """Accept notices again after an overflow (the caller re-reads the database)."""
        self.overflowed = False

    async def wait(self, timeout: float) -> None:
        """Wait until something arrives or ``timeout`` seconds pass."""
        if self.notices or self.overflowed or self.nudged:
            return
        self.wakeup = anyio.Event()
        with anyio.move_on_after(timeout):
            await self.wakeup.wait()


class SubscriptionHub:
    """The writer's one listener for every subscription of a store.

    It wraps each commit notice once and hands it to every open subscription's
    inbox; it also knows the newest committed position, for lag statistics.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._inboxes: set[_Inbox] = set()
        self._subscriptions: set[Subscription] = set()
        self._demand: list[Callable[[bool], None]] = []
        self.head = 0

    def __call__(self, notice: CommitNotice) -> None:
        self.head = max(self.head, notice.last_position)
        live: _Live | None = None
        for inbox in self._inboxes:
            # An overflowed inbox drops notices until its subscription reads
            # the database again: a slow subscriber costs the writer nothing.
            if not inbox.overflowed:
                if live is None:
                    live = _Live(notice, self.catalog)
                inbox.put(live)

    def noticed(self, position: int) -> None:
        """Events up to ``position`` were committed, perhaps by another process.

        Positions the writer has announced are ignored; otherwise every
        subscription is nudged to read the database.
        """
        if position <= self.head:
            return
        self.head = position
        for inbox in self._inboxes:
            inbox.nudge()

    def recheck(self) -> None:
        """Nudge every subscription to read the database once: other processes may have
        committed while nobody was watching (a change feed just opened)."""
        for inbox in self._inboxes:
            inbox.nudge()

    def on_demand(self, callback: Callable[[bool], None]) -> None:
        """Call ``callback(True)`` when the first subscription opens, ``(False)`` when the
        last one closes (and now, with whether any is open)."""
        self._demand.append(callback)
        callback(bool(self._subscriptions))

    def attach(self, subscription: Subscription) -> None:
        self._subscriptions.add(subscription)
        self._inboxes.add(subscription.inbox)
        if len(self._subscriptions) == 1:
            for callback in self._demand:
                callback(True)

    def detach(self, subscription: Subscription) -> None:
        had = bool(self._subscriptions)
        self._subscriptions.discard(subscription)
        self._inboxes.discard(subscription.inbox)
        if had and not self._subscriptions:
            for callback in self._demand:
                callback(False)

    def statistics(self) -> dict[str, int]:
        """Open subscriptions, how many are live, and the largest lag in events."""
        lags = [max(0, self.head - s.position) for s in self._subscriptions]
        return {
            "subscriptions": len(self._subscriptions),
            "live_subscriptions": sum(1 for s in self._subscriptions if s.caught_up),
            "max_subscriber_lag": max(lags, default=0),
            "buffered_events": sum(inbox.events for inbox in self._inboxes),
            "buffered_bytes": sum(inbox.payload_bytes for inbox in self._inboxes),
        }


_Chunk = tuple[list[Event], int]
"""Events to hand over, and the position everything is delivered up to once they are."""


class Subscription:
    """An open subscription; iterate it (see the module docstring).

    ``async for item in subscription`` gives :class:`~fleet.events.Event`\\ s and
    one :class:`CaughtUp`; ``async for batch in subscription.batches(n)`` gives
    lists of events instead. One consumer at a time; leaving a loop early is
    fine (nothing needs closing but the ``subscribe`` block).

    Attributes:
        name: the durable name, or ``None``.
        position: every matching event up to this position has been handed to
            the consumer (it moves past non-matching events too).
        caught_up: whether the subscription is live (reading commit notices).
    """

    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        where: LogFilter,
        start: int,
        *,
        name: str | None,
        page_size: int,
        buffer_events: int,
        buffer_bytes: int,
        poll_interval: float,
        page_bytes: int | None = None,
    ) -> None:
        self.name = name
        self.position = start
        self.caught_up = False
        self.inbox = _Inbox(buffer_events, buffer_bytes)
        self._db = db
        self._catalog = catalog
        self._where = where
        self._everything = where.matches_all
        self._page_size = page_size
        self._page_bytes = page_bytes
        self._poll_interval = poll_interval
        self._seen = start
        self._announced = False
        self._busy = False
        self._ready: deque[Event] = deque()
        self._covered: int | None = None
        self._split: list[Event] = []
        self._split_at = 0
        self._split_covered = start

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event | CaughtUp:
        """The next event, or the one :class:`CaughtUp` marker."""
        if not self._ready:
            self._settle()
            chunk = await self._next_chunk(self._page_size)
            if isinstance(chunk, CaughtUp):
                return chunk
            events, self._covered = chunk
            self._ready.extend(events)
        event = self._ready.popleft()
        self.position = event.position
        return event

    def batches(self, max_events: int = 1000) -> AsyncIterator[list[Event]]:
        """Deliver events in lists of at most ``max_events`` (never empty).

        :attr:`position` is the last event's position while a list is being
        handled; :attr:`caught_up` tells whether the subscription is live.

        Raises:
            ValueError: ``max_events`` is less than 1.
        """
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, not {max_events}")
        return _Batches(self, max_events)

    async def next_batch(self, max_events: int) -> list[Event]:
        """The next non-empty list of at most ``max_events`` events (waits for them)."""
        self._settle()
        while True:
            chunk = await self._next_chunk(max_events)
            if not isinstance(chunk, CaughtUp):
                events, self._covered = chunk
                self.position = events[-1].position
                return events

    def _settle(self) -> None:
        """The consumer came back for more: everything handed over is handled."""
        if self._ready:
            raise RuntimeError("finish the events of the last batch before asking for more")
        if self._covered is not None:
            self.position = self._covered
            self._covered = None

    async def save_checkpoint(self) -> None:
        """Store :attr:`position` as this named subscription's checkpoint.

        Raises:
            ValueError: the subscription has no name.
            StoreReadOnly: the store was opened read-only.
            StoreUnavailable: the database refused the write.
        """
        if self.name is None:
            raise ValueError("only a named subscription has a checkpoint")
        name, position = self.name, self.position
        await anyio.to_thread.run_sync(_save, self._db, name, position)

    async def _next_chunk(self, size: int) -> _Chunk | CaughtUp:
        """The next non-empty chunk of at most ``size`` events, or the caught-up marker."""
        if self._busy:
            raise RuntimeError("a subscription is iterated by one consumer at a time")
        self._busy = True
        try:
            while True:
                split, start = self._split, self._split_at
                if start < len(split):
                    part = split[start : start + size]
                    self._split_at = start + len(part)
                    if self._split_at < len(split):
                        return part, part[-1].position
                    self._split, self._split_at = [], 0
                    return part, self._split_covered
                if not self.caught_up:
                    found = await self._catch_up(size)
                    if found is not None:
                        return found
                elif not self._announced:
                    self._announced = True
                    return CaughtUp(self._seen)
                else:
                    await self._follow()
        finally:
            self._busy = False

    async def _catch_up(self, size: int) -> _Chunk | None:
        """Read one page; go live when it ends at the head and no notice was lost.

        A page is never smaller than the configured page size unless its byte
        bound ends it: when the consumer asks for fewer events, the rest is
        handed out from memory next.
        """
        inbox = self.inbox
        inbox.reset()
        inbox.nudged = False
        read = max(size, self._page_size)
        events, covered, complete = await anyio.to_thread.run_sync(
            _read_page, self._db, self._catalog, self._seen, read, self._where, self._page_bytes
        )
        self._seen = max(self._seen, covered)
        if complete and not inbox.overflowed:
            self.caught_up = True
            if not events:
                self.position = self._seen
        if not events:
            return None
        if len(events) > size:
            self._split, self._split_at, self._split_covered = events, size, self._seen
            return events[:size], events[size - 1].position
        return events, self._seen

    async def _follow(self) -> None:
        """Take the live notices waiting, as far as they follow on from each other, into
        ``_split``, or fall back to catching up."""
        inbox = self.inbox
        if inbox.overflowed:
            self.caught_up = False
            return
        if not inbox.notices:
            await inbox.wait(self._poll_interval)
            if not inbox.notices and not inbox.overflowed:
                inbox.nudged = False
                head = await anyio.to_thread.run_sync(_head, self._db)
                if head > self._seen:
                    self.caught_up = False
            return
        live = inbox.notices[0]
        if live.last <= self._seen:
            inbox.pop()
            return
        if live.first > self._seen + 1:
            self.caught_up = False
            return
        inbox.pop()
        events = self._select(live)
        self._seen = live.last
        notices = inbox.notices
        while notices and notices[0].first == self._seen + 1:
            following = inbox.pop()
            events.extend(self._select(following))
            self._seen = following.last
        self._split, self._split_at = events, 0
        self._split_covered = self._seen
        if not events:
            self.position = self._seen

    def _select(self, live: _Live) -> list[Event]:
        """The events of ``live`` after the last seen position that match the filters."""
        skip = self._seen + 1 - live.first
        if self._everything:
            return live.events()[skip:]
        return live.decode(_matching(self._where, live.rows, skip))


def _matching(where: LogFilter, rows: list[PendingTuple], start: int) -> Iterator[int]:
    """The indexes from ``start`` on of the pending rows that ``where`` matches."""
    matches = where.matches_fields
    type_, stream_id = PendingColumn.TYPE, PendingColumn.STREAM_ID
    correlation_id, recorded_at = PendingColumn.CORRELATION_ID, PendingColumn.RECORDED_AT
    for index in range(start, len(rows)):
        row = rows[index]
        if matches(row[type_], row[stream_id], row[correlation_id], row[recorded_at]):
            yield index


class _Batches:
    """``async for batch in subscription.batches(n)``."""

    def __init__(self, subscription: Subscription, max_events: int) -> None:
        self._subscription = subscription
        self._max_events = max_events

    def __aiter__(self) -> _Batches:
        return self

    async def __anext__(self) -> list[Event]:
        return await self._subscription.next_batch(self._max_events)


def _read_page(
    db: Database,
    catalog: Catalog,
    after: int,
    limit: int,
    where: LogFilter,
    max_bytes: int | None,
) -> tuple[list[Event], int, bool]:
    """Matching events after ``after`` up to the head, their payloads within
    ``max_bytes``; the position they cover; and whether they reach the head.

    The head is read first and bounds the page, so when fewer than ``limit``
    events come back and the byte bound did not end them, every position up to
    that head has been looked at.
    """
    rows: list[EventTuple] = []
    cut = False
    with db.read() as conn:
        head = head_position(conn)
        if head > after:
            rows, cut = read_log_within(conn, after, limit, where, head, max_bytes)
    events = rows_to_events(rows, catalog)
    complete = not cut and len(events) < limit
    return events, head if complete else events[-1].position, complete


def _head(db: Database) -> int:
    with db.read() as conn:
        return head_position(conn)


def _save(db: Database, name: str, position: int) -> None:
    with db.write_transaction() as txn:
        save_checkpoint(txn.connection, name, position, now_ms())


def load_named_position(db: Database, name: str) -> int:
    """Where the named subscription left off (0 when it never saved a checkpoint)."""
    with db.read() as conn:
        found = load_checkpoint(conn, name)
    return 0 if found is None else found


def check_name(name: object) -> str:
    """Return a valid subscription name (1 to 200 printable characters).

    Raises:
        ValueError: not such a name.
    """
    if not isinstance(name, str) or not 1 <= len(name) <= 200 or not name.isprintable():
        raise ValueError(f"invalid subscription name {name!r}: use 1 to 200 printable characters")
    return name


@asynccontextmanager
async def open_subscription(
    db: Database,
    hub: SubscriptionHub,
    where: LogFilter,
    from_position: int | None,
    *,
    name: str | None,
    page_size: int,
    buffer_events: int,
    buffer_bytes: int,
    poll_interval: float,
    page_bytes: int | None = None,
) -> AsyncIterator[Subscription]:
    """Open a subscription on ``hub`` (see :meth:`fleet.store.EventStore.subscribe`)."""
    if name is not None and from_position is None:
        from_position = await anyio.to_thread.run_sync(load_named_position, db, name)
    subscription = Subscription(
        db,
        hub.catalog,
        where,
        from_position or 0,
        name=name,
        page_size=page_size,
        buffer_events=buffer_events,
        poll_interval=poll_interval,
        page_bytes=page_bytes,
        buffer_bytes=buffer_bytes,
    )
    hub.attach(subscription)
    try:
        yield subscription
    finally:
        hub.detach(subscription)
    if name is not None and not db.read_only:
        await subscription.save_checkpoint()
