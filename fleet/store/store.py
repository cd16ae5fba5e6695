"""The event store's public async API: :func:`open_store` and :class:`EventStore`.

::

    async with open_store(config) as store:
        result = await store.append("order-1001", [OrderPlaced(...)], expected_version=NO_STREAM)

Opening a store opens the database (migrating an empty one when configured),
starts the group-commit writer and the stream actor system. Leaving the block
stops intake, lets every accepted append commit, then closes everything: an
append that returned was committed, and an append accepted before the block
ended is committed before it closes.

The API runs on trio (the default) and on asyncio, through anyio.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any, NamedTuple, TypeVar

import anyio
import anyio.to_thread

from actors import (
    ActorCrashed,
    ActorSystem,
    MailboxFull,
    Pending,
    SystemClosed,
    open_actor_system,
)
from fleet.config import Config, with_overrides
from fleet.core import LARGEST_STORED_INT, has_nul, is_storable_int, now_ms
from fleet.db import (
    SCAVENGE_BATCH_SIZE,
    Database,
    LogFilter,
    ScavengeProgress,
    ScavengeReport,
    check_filter,
    prune_snapshots,
    scavenge,
)
from fleet.errors import (
    AppendFailed,
    CatalogError,
    ConcurrencyError,
    FleetError,
    StoreClosed,
    StoreReadOnly,
    Superseded,
    ValidationError,
    WrongExpectedVersion,
)
from fleet.events import Catalog, Event, EventMetadata, JsonPayload, NewEvent, Payload, load_catalog
from fleet.store.change_watch import ChangeWatch
from fleet.store.context import StoreContext
from fleet.store.deletion import DeleteResult
from fleet.store.expected_version import ANY, ExpectedVersion, validate_expected_version
from fleet.store.loader import StreamLoader
from fleet.store.messages import (
    AppendRequest,
    DeleteRequest,
    ExecuteRequest,
    PartRequest,
    PreparedEvent,
)
from fleet.store.multi_append import MultiAppend
from fleet.store.preparation import prepare_events
from fleet.store.reads import (
    Direction,
    LogPage,
    StreamList,
    StreamPage,
    check_known,
    check_limit,
    check_max_bytes,
    check_position,
    check_prefix,
    fetch_count,
    fetch_event,
    fetch_head,
    fetch_log,
    fetch_stream,
    fetch_stream_version,
    fetch_streams,
    is_whole_number,
)
from fleet.store.results import AppendResult
from fleet.store.retention import snapshot_for_scavenge, stateful_categories
from fleet.store.stream_actor import MAX_ATTEMPTS, StreamActor
from fleet.store.stream_metadata import (
    UNSET,
    StreamMetadata,
    check_settings,
    fetch_metadata,
    store_metadata,
)
from fleet.store.subscriptions import (
    CATCH_UP_PAGE,
    Subscription,
    check_name,
    open_subscription,
)
from fleet.store.writer import Writer

__all__ = ["EventStore", "StreamAppend", "open_store"]

T = TypeVar("T")
S = TypeVar("S")


class StreamAppend(NamedTuple):
    """One stream's append in :meth:`EventStore.append_many` or
    :meth:`EventStore.append_each` (the expected version as :meth:`EventStore.append`
    takes it)."""

    stream_id: str
    events: Sequence[NewEvent | Payload | JsonPayload]
    expected_version: ExpectedVersion | int | str = ANY


class _Share(NamedTuple):
    """One stream's share of an atomic append, checked and prepared."""

    place: int
    """Its place among the appends given (results come back in that order)."""
    stream_id: str
    expected: ExpectedVersion
    events: Sequence[PreparedEvent]


def _ask_failure(stream_id: str, exc: SystemClosed | ActorCrashed) -> FleetError:
    """The error a request to a stream actor (append, execute) raises when the
    actor system failed it; its ``__cause__`` is what to chain it to."""
    if isinstance(exc, SystemClosed):
        error: FleetError = StoreClosed("the store is closed; the append was not accepted")
        error.__cause__ = exc
        return error
    cause = exc.__cause__
    if isinstance(cause, FleetError):
        return cause
    error = AppendFailed(
        f"append to {stream_id!r} failed: {cause!r}; it may or may not be stored, "
        "retry with the same event ids to find out"
    )
    error.__cause__ = cause
    return error


class EventStore:
    """An open event store. Create it with :func:`open_store`, not directly."""

    def __init__(self, context: StoreContext, system: ActorSystem[str, Any, Any]) -> None:
        self._context = context
        self._system = system
        self._db = context.db
        self._writer = context.writer
        self._catalog = context.catalog

    @property
    def config(self) -> Config:
        """The configuration the store was opened with."""
        return self._context.config

    @property
    def catalog(self) -> Catalog:
        """The stream categories this store accepts (see :class:`fleet.events.Catalog`)."""
        return self._catalog

    @property
    def database(self) -> Database:
        """The store's synchronous database, shared with code that works beside the log.

        It serves what keeps tables of its own in the same database and writes
        them in its own transactions (:mod:`fleet.projections`: read models and
        their checkpoints), and what reports on the database (health, pool
        statistics). Its calls block: run them in a worker thread. Events are
        written only through the store; the log is read through
        :meth:`read_all`, :meth:`subscribe` and :meth:`count`, or with
        :mod:`fleet.db`'s read functions on a connection of
        :meth:`~fleet.db.Database.read`.
        """
        return self._db

    async def _ask(self, stream_id: str, message: Any) -> Any:
        try:
            return await self._system.ask(stream_id, message)
        except (SystemClosed, ActorCrashed) as exc:
            error = _ask_failure(stream_id, exc)
            raise error from error.__cause__

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent | Payload | JsonPayload],
        expected_version: ExpectedVersion | int | str = ANY,
        metadata: EventMetadata | None = None,
    ) -> AppendResult:
        """Append events to one stream, atomically.

        Args:
            stream_id: a stream of one of the catalog's categories; every event
                must be of that category.
            events: payloads, or :class:`NewEvent` envelopes carrying their own
                ids. Re-sending the same ids after an ambiguous failure returns
                the original result instead of appending twice.
            expected_version: ``ANY``, ``NO_STREAM``, ``STREAM_EXISTS`` or the
                exact current version.
            metadata: correlation id, causation id and actor for events that carry none.

        Returns:
            The versions and global positions given to the events.

        Raises:
            ValidationError: nothing was stored; the message says what is wrong.
            InvalidTransition: an event is illegal in the aggregate's current status.
            WrongExpectedVersion: the stream is not at the expected version.
            DuplicateEvent: the ids overlap stored events but are not an exact retry.
            StoreUnavailable: the database refused the commit; nothing was stored.
            StoreClosed: the store is closed.
            StoreReadOnly: the store was opened read-only.
        """
        if self._db.read_only:
            raise _read_only()
        request = self._append_request(stream_id, events, expected_version, metadata)
        try:
            # self._ask, one coroutine frame less on the busiest path.
            result: AppendResult = await self._system.ask(stream_id, request)
        except (SystemClosed, ActorCrashed) as exc:
            error = _ask_failure(stream_id, exc)
            raise error from error.__cause__
        return result

    def _append_request(
        self,
        stream_id: str,
        events: Sequence[NewEvent | Payload | JsonPayload],
        expected_version: ExpectedVersion | int | str,
        metadata: EventMetadata | None = None,
    ) -> AppendRequest:
        """The request that appends ``events``, checked and encoded, to ``stream_id``.

        Raises:
            ValidationError: the stream id, the expected version or an event is invalid.
        """
        category = self._catalog.category_of(stream_id)
        expected = validate_expected_version(expected_version)
        now = now_ms()
        prepared, explicit = prepare_events(
            self._catalog, category, stream_id, events, metadata, now
        )
        return AppendRequest(expected, prepared, explicit, now)

    async def append_each(self, appends: Sequence[StreamAppend]) -> list[AppendResult | FleetError]:
        """Make several independent appends at once; each commits or fails on its own.

        What :meth:`append` does for each of ``appends``, in one call: the
        appends are queued to their streams' actors together (those to one
        stream in the order given), so they share group commits, and no task
        is made per append. Nothing is atomic across appends (that is
        :meth:`append_many`).

        Returns:
            One entry per append, in order: its result, or the fleet error
            :meth:`append` would have raised for it.

        Raises:
            StoreReadOnly: the store was opened read-only.
        """
        if self._db.read_only:
            raise _read_only()
        outcomes: list[AppendResult | FleetError | None] = [None] * len(appends)
        queued: list[tuple[int, str, Pending[AppendResult] | AppendRequest]] = []
        system = self._system
        for index, item in enumerate(appends):
            stream_id = item.stream_id
            try:
                request = self._append_request(stream_id, item.events, item.expected_version)
            except FleetError as exc:
                outcomes[index] = exc
                continue
            try:
                queued.append((index, stream_id, system.ask_nowait(stream_id, request)))
            except MailboxFull:
                queued.append((index, stream_id, request))
            except SystemClosed as exc:
                outcomes[index] = _ask_failure(stream_id, exc)
        for index, stream_id, entry in queued:
            try:
                if isinstance(entry, AppendRequest):
                    outcomes[index] = await system.ask(stream_id, entry)
                else:
                    outcomes[index] = await entry.wait()
            except FleetError as exc:
                outcomes[index] = exc
            except (SystemClosed, ActorCrashed) as exc:
                outcomes[index] = _ask_failure(stream_id, exc)
        return [outcome for outcome in outcomes if outcome is not None]

    async def append_many(self, appends: Sequence[StreamAppend]) -> list[AppendResult]:
        """Append to several streams atomically: all commit together or none does.

        Args:
            appends: one :class:`StreamAppend` per stream (a stream at most once),
                each with its own expected version.

        Returns:
            One result per append, in the order given.

        Raises:
            ValidationError: an append is invalid or a stream appears twice.
            WrongExpectedVersion, InvalidTransition: a stream refused its share
                (checked against the database's version); nothing was stored in
                any stream.
            ConcurrencyError: other processes kept moving the streams under the
                append (after ``MAX_ATTEMPTS`` tries); nothing was stored.
            StoreReadOnly: the store was opened read-only.
        """
        if self._db.read_only:
            raise _read_only()
        if not appends:
            raise ValidationError("append_many needs at least one stream", [("appends", "empty")])
        shares: list[_Share] = []
        seen: set[str] = set()
        for index, item in enumerate(appends):
            stream_id = item.stream_id
            request = self._append_request(stream_id, item.events, item.expected_version)
            if stream_id in seen:
                raise ValidationError(
                    f"stream {stream_id!r} appears twice in one atomic append",
                    [(f"appends[{index}].stream_id", "repeated")],
                )
            seen.add(stream_id)
            shares.append(_Share(index, stream_id, request.expected, request.events))
        shares.sort(key=lambda share: share.stream_id)
        attempt = 1
        while True:
            try:
                return await self._append_shares(shares, len(appends))
            except (Superseded, ConcurrencyError) as exc:
                # Another process got ahead of a stream (or an earlier append to
                # one failed): its actor reloads, and the whole append runs again.
                if isinstance(exc, WrongExpectedVersion):
                    raise
                if attempt == MAX_ATTEMPTS:
                    raise ConcurrencyError(
                        f"the streams moved under the atomic append {MAX_ATTEMPTS} times "
                        "(other processes keep writing them); nothing was stored"
                    ) from exc
                attempt += 1

    async def _append_shares(self, shares: list[_Share], count: int) -> list[AppendResult]:
        coordinator = MultiAppend([share.stream_id for share in shares], self._writer)
        results: list[AppendResult | None] = [None] * count
        errors: list[BaseException | None] = [None] * len(shares)

        async def run_share(slot: int, share: _Share) -> None:
            message = PartRequest(coordinator, slot, share.expected, share.events)
            try:
                results[share.place] = await self._ask(share.stream_id, message)
            except Exception as exc:
                errors[slot] = exc
                coordinator.abort(slot, exc)

        async with anyio.create_task_group() as group:
            try:
                for slot, share in enumerate(shares):
                    group.start_soon(run_share, slot, share)
                    refusal = await coordinator.wait_answer(slot)
                    if refusal is not None:
                        coordinator.fail(coordinator.refused(share.stream_id, refusal))
                        break
                else:
                    await coordinator.commit()
            finally:
                if not coordinator.decided:
                    coordinator.fail(StoreClosed("the atomic append was cancelled; nothing stored"))
        for error in errors:
            if error is not None and not isinstance(error, AppendFailed):
                raise error
        for error in errors:
            if error is not None:
                raise error
        return [result for result in results if result is not None]

    async def execute(
        self,
        stream_id: str,
        decide: Callable[[Any], Sequence[NewEvent | Payload | JsonPayload]],
        metadata: EventMetadata | None = None,
    ) -> AppendResult | None:
        """Run ``decide(state)`` inside the stream's actor and append what it returns.

        ``decide`` receives the aggregate's current folded state (``None`` for a
        new stream) and returns the events to append. No other append to the
        stream can happen between the decision and the append, so no retry is
        needed within this process. ``decide`` must be pure and quick: it runs
        in the stream's actor, and may run again (another process moved the
        stream since its state was loaded) -- then, for a stream that keeps
        moving, in a worker thread while the database's write lock is held.

        Returns:
            The append's result, or ``None`` when ``decide`` returned no events.

        Raises:
            Whatever ``decide`` raises, and the errors of :meth:`append`.
        """
        if self._db.read_only:
            raise _read_only()
        stream_id = self._catalog.check_stream_id(stream_id)
        result: AppendResult | None = await self._ask(stream_id, ExecuteRequest(decide, metadata))
        return result

    async def read_stream(
        self,
        stream_id: str,
        from_version: int | None = None,
        direction: Direction = "forwards",
        limit: int | None = None,
        *,
        max_bytes: int | None = None,
    ) -> StreamPage:
        """Read a page of one stream's committed events.

        Args:
            stream_id: the stream.
            from_version: the first version to return (default: the first event
                forwards, the last one backwards).
            direction: ``"forwards"`` (ascending versions) or ``"backwards"``.
            limit: page size, 1 to ``store.max_read_limit`` (default: the maximum).
            max_bytes: end the page before the event whose payload would take
                the page's payloads past this many bytes (it always holds one
                event); ``next_version`` continues it (default: no bound).

        Returns:
            The page; its ``next_version`` continues the read.

        Only the events the stream's retention settings keep visible are
        returned (see :mod:`fleet.store.stream_metadata`).

        Raises:
            ValidationError: a malformed stream id, version, direction, limit or
                byte bound.
            StreamNotFound: the stream has no events.
            StreamDeleted: the stream was deleted (soft or hard).
        """
        stream_id = self._catalog.check_stream_id(stream_id)
        if from_version is not None and not is_storable_int(from_version, 1):
            raise ValidationError(
                f"invalid from_version {from_version!r}: "
                f"use a version number from 1 to {LARGEST_STORED_INT}",
                [("from_version", f"must be 1..{LARGEST_STORED_INT}")],
            )
        if direction not in ("forwards", "backwards"):
            raise ValidationError(
                f"invalid direction {direction!r}: use 'forwards' or 'backwards'",
                [("direction", "unknown")],
            )
        size = self.page_size(limit)
        bound = check_max_bytes(max_bytes)
        return await anyio.to_thread.run_sync(
            fetch_stream, self._db, self._catalog, stream_id, from_version, direction, size, bound
        )

    async def read_all(
        self,
        from_position: int = 0,
        limit: int | None = None,
        *,
        where: LogFilter | None = None,
        max_bytes: int | None = None,
    ) -> LogPage:
        """Read a page of the global log: events after ``from_position``, in position order.

        Positions are gap-free and assigned in commit order, so reading "after
        N" page by page never skips an event. A page holds the matching events
        only; its ``next_position`` continues the read past those that did not
        match.

        Args:
            from_position: continue after this position (0: from the start).
            limit: page size, 1 to ``store.max_read_limit`` (default: the maximum).
            where: only the events this filter matches (default: every event).
            max_bytes: end the page before the event whose payload would take
                the page's payloads past this many bytes (it always holds one
                event; ``end`` is then false); ``next_position`` continues it
                (default: no bound).

        Raises:
            ValidationError: a bad position, limit or byte bound, or ``where``
                is not a :class:`~fleet.db.LogFilter`.
        """
        check_position(from_position)
        size = self.page_size(limit)
        bound = check_max_bytes(max_bytes)
        log_filter = check_known(check_filter(where), self._catalog)
        return await anyio.to_thread.run_sync(
            fetch_log, self._db, self._catalog, from_position, size, log_filter, bound
        )

    async def count(self, *, where: LogFilter | None = None) -> int:
        """Count the events of the log that ``where`` matches (default: every event).

        Raises:
            ValidationError: ``where`` is not a :class:`~fleet.db.LogFilter`.
        """
        log_filter = check_known(check_filter(where), self._catalog)
        return await anyio.to_thread.run_sync(fetch_count, self._db, log_filter)

    async def list_streams(
        self, prefix: str | None = None, after: str | None = None, limit: int | None = None
    ) -> StreamList:
        """List streams with their versions, in stream id order.

        Args:
            prefix: only streams of one category (``"order"``).
            after: continue after this stream id (a page's ``next_after``).
            limit: page size, 1 to ``store.max_read_limit`` (default: the maximum).

        Raises:
            ValidationError: a bad prefix, cursor or limit.
        """
        kind = check_prefix(prefix, self._catalog)
        if after is not None and (not isinstance(after, str) or has_nul(after)):
            raise ValidationError(
                f"invalid cursor {after!r}: pass a stream id", [("after", "not a stream id")]
            )
        size = self.page_size(limit)
        return await anyio.to_thread.run_sync(fetch_streams, self._db, kind, after, size)

    async def prune_snapshots(self, keep: int | None = None) -> int:
        """Keep only the newest ``keep`` snapshots of each stream (default:
        ``store.snapshot_keep``); return how many were deleted.

        Raises:
            ValidationError: ``keep`` is not a whole number >= 1.
        """
        count = self.config.store.snapshot_keep if keep is None else keep
        if not is_storable_int(count, 1):
            raise ValidationError(
                f"invalid keep {keep!r}: keep at least one snapshot per stream",
                [("keep", "must be >= 1")],
            )
        return await anyio.to_thread.run_sync(_prune, self._db, count)

    async def get_event(self, event_id: str) -> Event:
        """Return one committed event by id.

        Raises:
            ValidationError: not an event id.
            EventNotFound: no event has that id.
        """
        return await anyio.to_thread.run_sync(fetch_event, self._db, self._catalog, event_id)

    def page_size(self, limit: object) -> int:
        """The page size a read asks for with ``limit`` (``None``: the largest,
        ``store.max_read_limit``).

        Raises:
            ValidationError: not a whole number from 1 to ``store.max_read_limit``.
        """
        return check_limit(limit, self.config.store.max_read_limit)

    async def read_tables(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Return ``query(conn, *args, **kwargs)``, run on a read connection in a worker
        thread: how read models and projection status answer from their own tables."""

        def run() -> T:
            with self._db.read() as conn:
                return query(conn, *args, **kwargs)

        return await anyio.to_thread.run_sync(run)

    async def head_position(self) -> int:
        """The position of the newest committed event (0 for an empty log)."""
        return await anyio.to_thread.run_sync(fetch_head, self._db)

    async def stream_version(self, stream_id: str) -> int | None:
        """Return the stream's committed version (``None`` if it has no events).

        Retention never changes it; a deletion's ``$deleted`` record counts.
        """
        stream_id = self._catalog.check_stream_id(stream_id)
        return await anyio.to_thread.run_sync(fetch_stream_version, self._db, stream_id)

    async def aggregate_state(self, stream_id: str) -> Any:
        """Return the stream's current folded state (``None`` if it has no events,
        or was soft-deleted and not started again).

        The state is that of the stream's committed version as the database
        has it when this returns (an actor behind another process reloads).

        Raises:
            StreamDeleted: the stream was deleted for good.
        """
        stream_id = self._catalog.check_stream_id(stream_id)
        holder: list[Any] = []

        def peek(state: Any) -> list[Any]:
            holder.append(state)
            return []

        await self._ask(stream_id, ExecuteRequest(peek, None))
        return holder[-1]

    async def stream_metadata(self, stream_id: str) -> StreamMetadata:
        """A stream's current version and saved settings.

        Raises:
            ValidationError: not a stream id.
            StreamNotFound: the stream has neither events nor saved settings.
        """
        stream_id = self._catalog.check_stream_id(stream_id)
        return await anyio.to_thread.run_sync(fetch_metadata, self._db, stream_id)

    async def set_stream_metadata(
        self,
        stream_id: str,
        *,
        metadata: dict[str, Any] | None = UNSET,
        deleted: bool = UNSET,
        max_count: int | None = UNSET,
        max_age_s: int | None = UNSET,
        truncate_before: int | None = UNSET,
    ) -> StreamMetadata:
        """Save settings of a stream (those not given keep their value); return them all.

        Retention settings (``max_count``, ``max_age_s``, ``truncate_before``)
        take effect at once for every reader of the stream; see
        :mod:`fleet.store.stream_metadata`. ``deleted=True`` soft-deletes the
        stream as :meth:`delete_stream` does; a deletion cannot be undone
        (``deleted=False`` on a deleted stream is refused).

        Raises:
            ValidationError: not a stream id, or an invalid setting; nothing saved.
            StreamNotFound: ``deleted=True`` for a stream with no events.
            StreamDeleted: the stream was deleted for good.
        """
        stream_id = self._catalog.check_stream_id(stream_id)
        if metadata is None:
            metadata = {}
        problems = check_settings(metadata, deleted, max_count, max_age_s, truncate_before)
        if problems:
            where, why = problems[0]
            raise ValidationError(f"invalid stream metadata: {where} {why}", problems)
        if deleted is True:
            if self._db.read_only:
                raise _read_only()
            await self.delete_stream(stream_id)
        return await anyio.to_thread.run_sync(
            store_metadata,
            self._db,
            stream_id,
            metadata,
            deleted,
            max_count,
            max_age_s,
            truncate_before,
        )

    async def delete_stream(
        self,
        stream_id: str,
        *,
        hard: bool = False,
        expected_version: ExpectedVersion | int | str = ANY,
    ) -> DeleteResult:
        """Delete a stream; see :mod:`fleet.store.deletion` for what it means.

        A soft deletion (the default) hides the stream from its readers until
        an event is appended to it again, which starts it afresh with versions
        continuing after the deletion. A hard deletion is permanent: the stream
        can never be read or written again. Either stores a ``$deleted`` record
        in the global log, so subscribers and read models learn of it; the
        stream's events stay in the log until ``fleet db scavenge`` removes them.

        Args:
            stream_id: the stream.
            hard: delete it for good.
            expected_version: ``ANY`` or the stream's exact current version.

        Returns:
            The deletion record's version and position.

        Raises:
            ValidationError: not a stream id or expected version.
            StreamNotFound: the stream has no events.
            StreamDeleted: it was hard-deleted already.
            WrongExpectedVersion: it is not at ``expected_version``.
            StoreUnavailable: the database refused; nothing changed.
            StoreReadOnly: the store was opened read-only.
        """
        if self._db.read_only:
            raise _read_only()
        stream_id = self._catalog.check_stream_id(stream_id)
        if not isinstance(hard, bool):
            raise ValidationError(
                f"invalid hard {hard!r}: use true or false", [("hard", "must be true or false")]
            )
        expected = validate_expected_version(expected_version)
        result: DeleteResult = await self._ask(stream_id, DeleteRequest(hard, expected))
        return result

    async def scavenge(
        self,
        *,
        batch_size: int = SCAVENGE_BATCH_SIZE,
        progress: Callable[[ScavengeProgress], None] | None = None,
    ) -> ScavengeReport:
        """Remove the events retention and deletion released; see :mod:`fleet.db.scavenging`.

        Every live stream of a category with an aggregate that has settings is
        snapshotted at its head first (:mod:`fleet.store.retention`), so that
        the events its retention hides can go while its state stays whole.

        Runs in a worker thread, in bounded batches that each take the write
        lock briefly, so appends go on meanwhile. ``progress`` is called from
        that thread. Cancelling the caller lets the batch in progress finish;
        running it again later finishes the work.

        Raises:
            ValidationError: ``batch_size`` is not a whole number >= 1.
            StoreReadOnly: the store was opened read-only.
            StoreUnavailable: the database refused; the batches done stay done.
        """
        if self._db.read_only:
            raise _read_only()
        await anyio.to_thread.run_sync(snapshot_for_scavenge, self._db, self._catalog)
        run = partial(
            scavenge,
            self._db,
            batch_size=batch_size,
            progress=progress,
            stateful=stateful_categories(self._catalog),
        )
        return await anyio.to_thread.run_sync(run)

    def observe_commits(self, observer: Callable[[int, float], None]) -> Callable[[], None]:
        """Call ``observer(events, seconds)`` after every committed group commit.

        ``events`` is how many events the transaction stored and ``seconds`` how
        long it took on the writer thread, from begin to the end of the commit
        (fsync included): the figures behind batch-size and commit-latency
        metrics. Observers run in the event loop and must not block. Returns a
        function that stops the calls.
        """
        return self._writer.observe_batches(observer)

    def subscribe(
        self,
        from_position: int | None = None,
        *,
        name: str | None = None,
        where: LogFilter | None = None,
        poll_interval: float | None = None,
        page_size: int | None = None,
        page_bytes: int | None = None,
    ) -> AbstractAsyncContextManager[Subscription]:
        """Subscribe to the global log: catch up from the database, then follow live.

        ::

            async with store.subscribe(0, where=LogFilter(stream_prefix="order")) as subscription:
                async for item in subscription:   # Event ..., CaughtUp, Event ...
                    ...

        Every matching event after the start position is delivered once, in
        position order, with no gap or repeat at the switch to live; a
        :class:`CaughtUp` marker comes once, when the backlog is done. A slow
        consumer never slows appends: past ``store.subscriber_buffer`` queued
        events, or ``store.subscriber_buffer_bytes`` of their payloads, it falls
        back to reading pages. See
        :mod:`fleet.store.subscriptions` for the guarantees in full.

        Args:
            from_position: deliver events after this position (default: 0, or
                for a named subscription its saved checkpoint).
            name: make the subscription durable: its checkpoint is saved when
                the block ends without an error and by ``save_checkpoint()``
                (a read-only store resumes from it but never saves it).
            where: deliver only the events this filter matches (default:
                every event); the position still moves past the others.
            poll_interval: seconds of silence after which a live subscription
                checks the database for events appended by other processes
                (default: ``store.subscription_poll_s``).
            page_size: most events read from the database at once while
                catching up, 1 to ``store.max_read_limit`` (default: 5,000 or
                that maximum). The subscription holds at most one page in
                memory; a smaller page costs less memory and more queries.
            page_bytes: also end a page read while catching up before the event
                whose payload would take the page's payloads past this many
                bytes (a page always holds one event; default: no bound).

        Raises:
            ValidationError: a bad position, name, page size or page bytes, or
                ``where`` is not a :class:`~fleet.db.LogFilter`.
        """
        if from_position is not None:
            check_position(from_position)
        if name is not None:
            try:
                check_name(name)
            except ValueError as exc:
                raise ValidationError(str(exc), [("name", str(exc))]) from exc
        log_filter = check_known(check_filter(where), self._catalog)
        settings = self.config.store
        page = min(settings.max_read_limit, CATCH_UP_PAGE)
        if page_size is not None:
            if not is_whole_number(page_size) or not 1 <= page_size <= settings.max_read_limit:
                raise ValidationError(
                    f"invalid page_size {page_size!r}: "
                    f"use a whole number from 1 to {settings.max_read_limit}",
                    [("page_size", f"must be 1..{settings.max_read_limit}")],
                )
            page = page_size
        bound = check_max_bytes(page_bytes, "page_bytes")
        return open_subscription(
            self._db,
            self._context.hub,
            log_filter,
            from_position,
            name=name,
            page_size=page,
            page_bytes=bound,
            buffer_events=settings.subscriber_buffer,
            buffer_bytes=settings.subscriber_buffer_bytes,
            poll_interval=settings.subscription_poll_s if poll_interval is None else poll_interval,
        )

    def statistics(self) -> dict[str, Any]:
        """Counters of the writer, the actor system and the subscriptions."""
        writer = self._writer.statistics()
        actors = self._system.statistics()
        return {
            "subscriptions": self._context.hub.statistics(),
            "writer": {
                "batches": writer.batches,
                "bundles": writer.bundles,
                "events": writer.events,
                "failed_bundles": writer.failed_bundles,
                "queued_bundles": writer.queued_bundles,
                "transactions": writer.transactions,
                "fallbacks": writer.fallbacks,
                "mean_batch_events": writer.mean_batch_events,
            },
            "actors": actors,
        }


def _read_only() -> StoreReadOnly:
    return StoreReadOnly("the store was opened read-only; nothing was written")


def _prune(db: Database, keep: int) -> int:
    with db.write_transaction() as txn:
        return prune_snapshots(txn.connection, keep)


@asynccontextmanager
async def open_store(
    config: Config, *, read_only: bool = False, catalog: Catalog | None = None
) -> AsyncIterator[EventStore]:
    """Open the event store described by ``config``; see the module docstring.

    Args:
        config: the configuration.
        catalog: the stream categories the store accepts; by default the one
            ``config.store.catalog`` names (Fleet's built-in catalog unless set).
        read_only: only read. The database is never created, migrated or
            changed (a missing SQLite file is :class:`DatabaseMissing`, an
            empty database :class:`SchemaOutOfDate`); appends, stream settings
            and snapshots raise :class:`StoreReadOnly`, and no snapshot is
            taken when a stream's actor stops.

    Raises:
        CatalogError: ``config.store.catalog`` names no importable catalog.
        StoreUnavailable: the database cannot be reached or opened.
        DatabaseMissing: ``read_only`` and there is no database.
        SchemaOutOfDate: the database needs ``fleet db upgrade``.
        SchemaTooNew: the database belongs to a newer fleet.
    """
    if catalog is None:
        catalog = load_catalog(config.store.catalog)
    elif not isinstance(catalog, Catalog):
        raise CatalogError(f"catalog must be a fleet.events.Catalog, not {catalog!r}")
    if read_only:
        config = with_overrides(config, store={"snapshot_every": 0, "snapshot_on_stop": False})
    db = await anyio.to_thread.run_sync(partial(Database.open, config, read_only=read_only))
    froze = bool(config.store.freeze_gc_on_open) and gc.get_freeze_count() == 0
    if config.store.freeze_gc_on_open:
        gc.collect()
        gc.freeze()
    try:
        writer = Writer(db, config.store.max_batch_events)
        loader = StreamLoader(db, catalog)
        context = StoreContext(config, catalog, db, writer, loader)
        watch = ChangeWatch(db, context.hub, config.store.change_check_ms / 1000)
        async with anyio.create_task_group() as group:
            group.start_soon(writer.run)
            group.start_soon(loader.run)
            group.start_soon(context.run_redo)
            group.start_soon(watch.run)

            def spawn(stream_id: str) -> StreamActor:
                return StreamActor(stream_id, context)

            try:
                async with open_actor_system(
                    spawn,
                    mailbox_size=config.store.mailbox_size,
                    idle_timeout=config.store.idle_timeout_s,
                    max_live=config.store.max_live_actors,
                    name="streams",
                ) as system:
                    context.system = system
                    yield EventStore(context, system)
            finally:
                context.close_redo()
                loader.close()
                writer.close()
                watch.close()
    finally:
        await anyio.to_thread.run_sync(db.close)
        if froze:
            gc.unfreeze()
