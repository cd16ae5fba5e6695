"""The actor that owns one stream.

Exactly one :class:`StreamActor` per stream id is alive in the process. It
holds the stream's head version and folded aggregate state, so an expected
version check is a comparison in memory and ``execute`` decides against
current state without a read. It never writes to the database itself: for each
drained batch of requests it builds one bundle and hands it to the writer, then
goes on with its next batch while the bundle commits (appends to one stream are
pipelined). The writer reports the outcome to the bundle, which answers the
callers — only after the commit.

The head and state advance when a bundle is handed over. If a bundle fails, the
actor is marked stale: before its next request it waits for its bundles in
flight to settle and reloads the stream from the database. Bundles built on top
of the failed one are never written (the writer supersedes them); requests
that failed on a conflict, and those superseded, come back to the actor as a
:class:`~fleet.store.messages.Redo`, so an exact retry still gets its original
result and innocent requests are processed again.

The database outranks the actor. Another process may have written the stream
since the actor loaded it, so the cached head is trusted only to say yes:

* an append the cache accepts is checked again by the database when it
  commits (a unique version per stream); if the stream moved, the bundle fails,
  the actor reloads and the requests are processed again -- an ``ANY`` or
  ``STREAM_EXISTS`` append and an ``execute`` (whose ``decide`` runs again on
  the fresh state) then commit; an exact expected version is refused with the
  stream's true version;
* before the cache refuses a request (a wrong expected version, an illegal
  transition) or answers an ``execute`` that decided nothing, the actor lets
  its bundles in flight settle and reads the stream's committed version; if
  the database is ahead, it reloads and processes the request again instead.

From its :data:`LOCKED_AFTER`-th attempt on, a request is processed under the
database's write lock (loaded, checked and stored in one transaction), where no
other process can move the stream: a stream written without pause elsewhere
cannot starve it. Only a failure to learn a locked commit's outcome, a
duplicate event id stored meanwhile or the like sends it round again, at most
:data:`MAX_ATTEMPTS` times in all, after which it fails with
:class:`~fleet.errors.ConcurrencyError`.

A lone append to an idle stream is taken in the caller's own task
(:meth:`StreamActor.receive_now`), with no hand-over to the actor's task.

Requests with caller-chosen event ids that repeat an append still in flight
wait for that append and share its outcome: a client that retries before its
first try committed gets the original result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from fleet.core import now_ms
from fleet.db import PendingTuple, SnapshotRow
from fleet.errors import (
    ConcurrencyError,
    DuplicateEvent,
    FleetError,
    InvalidTransition,
    StoreClosed,
    StreamCorrupt,
    StreamDeleted,
    Superseded,
    WrongExpectedVersion,
)
from fleet.store.deletion import delete_stream_rows
from fleet.store.expected_version import ANY, ExpectedVersion, check_expected_version
from fleet.store.idempotency import classify_retry
from fleet.store.messages import (
    AppendRequest,
    DeleteRequest,
    ExecuteRequest,
    PartRequest,
    PreparedEvent,
    Redo,
)
from fleet.store.preparation import prepare_payloads
from fleet.store.reads import fetch_stream_version
from fleet.store.results import AppendResult
from fleet.store.snapshots import build_snapshot, snapshot_due
from fleet.store.stream_loading import LoadedStream, find_stored, load_streams_on
from fleet.store.writer import CommitNotice, next_epoch

if TYPE_CHECKING:
    from actors import Envelope
    from fleet.db import Deletion
    from fleet.store.context import StoreContext

__all__ = ["LOCKED_AFTER", "MAX_ATTEMPTS", "StreamActor"]

MAX_ATTEMPTS = 16
"""The most times one request is processed while its stream keeps moving under it."""

LOCKED_AFTER = 2
"""Attempts after which appends are processed under the database's write lock."""

_REDO_ERRORS = (ConcurrencyError, DuplicateEvent, Superseded)


class _Plan:
    """One request's share of a bundle: where its rows start and how many.

    ``ids`` are the caller's event ids (``None`` when the store generated
    them); ``followers`` are retries of the same append that arrived while it
    was in flight, answered with its outcome.
    """

    __slots__ = ("count", "envelope", "first_version", "followers", "ids", "offset")

    def __init__(
        self,
        envelope: Envelope[Any, Any],
        first_version: int,
        offset: int,
        count: int,
        ids: tuple[str, ...] | None,
    ) -> None:
        self.envelope = envelope
        self.first_version = first_version
        self.offset = offset
        self.count = count
        self.ids = ids
        self.followers: list[Envelope[Any, Any]] | None = None

    def envelopes(self) -> list[Envelope[Any, Any]]:
        """The request and every retry following it."""
        return [self.envelope, *(self.followers or ())]


class _StreamBundle:
    """The bundle of one stream's batch; answers its requests when the writer reports."""

    __slots__ = ("actor", "attempt", "owners", "plans", "rows", "snapshots")

    def __init__(
        self,
        actor: StreamActor,
        rows: list[PendingTuple],
        plans: list[_Plan],
        snapshots: list[SnapshotRow],
        attempt: int,
    ) -> None:
        self.actor = actor
        self.owners: tuple[tuple[object, int], ...] = ((actor, actor.epoch),)
        self.rows = rows
        self.plans = plans
        self.snapshots = snapshots
        self.attempt = attempt

    def committed(self, first_position: int) -> None:
        stream_id = self.actor.stream_id
        for plan in self.plans:
            result = AppendResult.spanning(
                stream_id, plan.first_version, plan.count, first_position + plan.offset
            )
            plan.envelope.reply(result)
            if plan.ids is not None:
                self.actor.forget(plan)
                for follower in plan.followers or ():
                    follower.reply(result)
        self.actor.settled()

    def failed(self, error: BaseException) -> None:
        self.actor.bundle_failed(self, error)


class StreamActor:
    """Serialises every append to one stream; see the module docstring."""

    def __init__(self, stream_id: str, context: StoreContext) -> None:
        self.stream_id = stream_id
        self._context = context
        self._category = context.catalog.category_of(stream_id)
        self._aggregate = self._category.aggregate
        self._snapshot_every = (
            context.config.store.snapshot_every if self._aggregate is not None else 0
        )
        self._head: int | None = None
        self._state: Any = None
        self._deleted: Deletion | None = None
        self.snapshot_version = 0
        """Version of the newest snapshot saved or loaded (0: none)."""
        self.epoch = next_epoch()
        """Renewed at every reload; bundles carry the epoch they were built in."""
        self._stale = False
        self._in_flight = 0
        self._settled: anyio.Event | None = None
        self._pending_ids: dict[str, _Plan] = {}
        """Caller-chosen event ids of appends in flight, and their plans."""
        self._last_batch = 0
        """How many requests the last batch processed: a stream whose requests
        come several at a time batches them in its mailbox instead of taking
        the first at once (see :meth:`receive_now`)."""

    @property
    def head(self) -> int | None:
        """The stream's version as of the last bundle handed to the writer."""
        return self._head

    @property
    def state(self) -> Any:
        """The aggregate state after every event handed to the writer."""
        return self._state

    async def on_start(self) -> None:
        """Load the head version and state (snapshot + later events) before any request."""
        self._adopt(await self._context.loader.load(self.stream_id, self._aggregate))

    async def on_stop(self, reason: object) -> None:
        """Let bundles in flight settle, then snapshot a stream that moved since its last one."""
        await self._drain()
        if (
            self._context.config.store.snapshot_on_stop
            and self._aggregate is not None
            and not self._stale
            and self._deleted is None
            and snapshot_due(
                self._head,
                self.snapshot_version,
                self._context.config.store.snapshot_on_stop_min_events,
            )
        ):
            assert self._head is not None
            self._context.writer.queue_snapshot(
                build_snapshot(self.stream_id, self._head, self._aggregate, self._state)
            )

    def _adopt(self, loaded: LoadedStream) -> None:
        self._stale = False
        self._head = loaded.head
        self._state = loaded.state
        self._deleted = loaded.deleted
        self.snapshot_version = loaded.snapshot_version
        if loaded.deleted is not None:
            self.snapshot_version = loaded.head or 0

    async def _drain(self) -> None:
        while self._in_flight:
            if self._settled is None:
                self._settled = anyio.Event()
            await self._settled.wait()

    async def _reload(self) -> None:
        await self._drain()
        self.epoch = next_epoch()
        await self.on_start()

    def settled(self) -> None:
        """Called when one of this actor's bundles has an outcome."""
        self._in_flight -= 1
        if not self._in_flight and self._settled is not None:
            self._settled.set()
            self._settled = None

    def forget(self, plan: _Plan) -> None:
        """Stop treating ``plan``'s event ids as in flight."""
        pending = self._pending_ids
        for event_id in plan.ids or ():
            if pending.get(event_id) is plan:
                del pending[event_id]

    def bundle_failed(self, bundle: _StreamBundle, error: BaseException) -> None:
        """A bundle failed: mark the stream stale and answer or redo its requests."""
        self.settled()
        self._stale = True
        envelopes: list[Envelope[Any, Any]] = []
        for plan in bundle.plans:
            self.forget(plan)
            envelopes.extend(plan.envelopes())
        if not isinstance(error, _REDO_ERRORS):
            _fail_all(envelopes, error)
        elif bundle.attempt + 1 >= MAX_ATTEMPTS:
            _fail_all(envelopes, self._gave_up(error))
        else:
            self._context.send_back(self.stream_id, envelopes, error, bundle.attempt + 1)

    def _gave_up(self, error: BaseException) -> BaseException:
        if isinstance(error, DuplicateEvent):
            return error
        failure = ConcurrencyError(
            f"stream {self.stream_id!r} moved under the append {MAX_ATTEMPTS} times "
            "(other processes keep writing it); nothing was stored"
        )
        failure.__cause__ = error
        return failure

    async def _behind_database(self) -> bool:
        """Whether the database has moved past this actor's head (bundles in flight settled).

        A failed read counts as not behind: the caller then answers from the cache.
        """
        await self._drain()
        if self._stale:
            return True
        try:
            stored = await anyio.to_thread.run_sync(
                fetch_stream_version, self._context.db, self.stream_id
            )
        except FleetError:
            return False
        if stored != self._head:
            self._stale = True
        return self._stale

    async def _sent_back_if_behind(
        self, envelope: Envelope[Any, Any], error: BaseException, attempt: int
    ) -> bool:
        """Before answering ``envelope`` from the cache, make sure the cache is current.

        Returns:
            True when the database was ahead: the request goes back to this
            actor, to be processed again after a reload (``error`` answers it
            if the store closes first).
        """
        if attempt + 1 >= MAX_ATTEMPTS or not await self._behind_database():
            return False
        envelope.defer()
        self._context.send_back(self.stream_id, [envelope], error, attempt + 1)
        return True

    async def receive(self, batch: Sequence[Envelope[Any, Any]]) -> None:
        """Handle a drained batch: plain requests share one bundle; others run alone."""
        if self._stale:
            await self._reload()
        segment: list[Envelope[Any, Any]] = []
        for envelope in batch:
            message = envelope.message
            if isinstance(message, (PartRequest, Redo, DeleteRequest)):
                if segment:
                    await self._process(segment)
                    segment = []
                if isinstance(message, Redo):
                    await self._redo(message)
                    envelope.reply(None)
                elif isinstance(message, DeleteRequest):
                    await self._delete(envelope, message)
                else:
                    await self._process_part(envelope)
            else:
                segment.append(envelope)
        if segment:
            await self._process(segment)

    def _fold(
        self, state: Any, head: int | None, events: Sequence[PreparedEvent], now: int
    ) -> tuple[Any, list[PendingTuple]]:
        """Apply ``events`` after ``head``; return the new state and the rows to write
        (pending rows, in :class:`~fleet.db.PendingColumn` order)."""
        apply = self._aggregate.apply if self._aggregate is not None else None
        stream_id = self.stream_id
        version = head or 0
        rows: list[PendingTuple] = []
        for prepared in events:
            version += 1
            meta = prepared.metadata
            if apply is not None:
                state = apply(state, prepared.payload, version, prepared.occurred_at)
            rows.append(
                (
                    prepared.event_id,
                    stream_id,
                    version,
                    prepared.type,
                    prepared.schema_version,
                    prepared.data,
                    meta.correlation_id,
                    meta.causation_id,
                    meta.actor,
                    prepared.occurred_at,
                    now,
                )
            )
        return state, rows

    def _request_events(
        self, message: AppendRequest | ExecuteRequest, state: Any
    ) -> tuple[ExpectedVersion, Sequence[PreparedEvent], bool]:
        if self._deleted == "hard":
            raise StreamDeleted(self.stream_id, hard=True)
        if isinstance(message, AppendRequest):
            return message.expected, message.events, message.explicit_ids
        decided = message.decide(state)
        if not decided:
            return ANY, (), False
        prepared = prepare_payloads(
            self._context.catalog, self._category, self.stream_id, decided, message.metadata
        )
        return ANY, prepared, False

    def _admit(self, expected: ExpectedVersion, head: int | None, deleted: Deletion | None) -> None:
        """Raise unless an append expecting ``expected`` may go on a stream in this state."""
        if deleted == "hard":
            raise StreamDeleted(self.stream_id, hard=True)
        check_expected_version(self.stream_id, expected, head, deleted=deleted == "soft")

    async def _process(self, envelopes: Sequence[Envelope[Any, Any]], attempt: int = 0) -> None:
        self._last_batch = len(envelopes)
        head, state, deleted = self._head, self._state, self._deleted
        now = now_ms()
        rows: list[PendingTuple] = []
        plans: list[_Plan] = []
        pending = self._pending_ids
        for envelope in envelopes:
            message = envelope.message
            ids: tuple[str, ...] | None = None
            try:
                expected, events, explicit = self._request_events(message, state)
                if not events:
                    await self._answer_nothing(envelope, attempt)
                    continue
                if explicit:
                    ids = tuple(event.event_id for event in events)
                    original = _in_flight_original(self.stream_id, ids, pending)
                    if original is not None:
                        envelope.defer()
                        if original.followers is None:
                            original.followers = []
                        original.followers.append(envelope)
                        continue
                self._admit(expected, head, deleted)
                new_state, new_rows = self._fold(state, head, events, now)
            except (WrongExpectedVersion, InvalidTransition, StreamDeleted) as exc:
                await self._answer_refusal(envelope, message, exc, attempt)
                continue
            except Exception as exc:
                await self._answer_failure(envelope, message, exc, attempt)
                continue
            envelope.defer()
            plan = _Plan(envelope, (head or 0) + 1, len(rows), len(new_rows), ids)
            if ids is not None:
                for event_id in ids:
                    pending[event_id] = plan
            plans.append(plan)
            rows.extend(new_rows)
            head = (head or 0) + len(new_rows)
            state = new_state
            deleted = None
        if not rows:
            return
        bundle = _StreamBundle(self, rows, plans, self._snapshots_due(head, state), attempt)
        self._handed_over(bundle, head, state)
        writer = self._context.writer
        try:
            if not writer.offer(bundle):
                await writer.submit(bundle)
        except BaseException as exc:
            self._in_flight -= 1
            self._stale = True
            for plan in plans:
                self.forget(plan)
                _fail_all(plan.envelopes(), exc)
            if not isinstance(exc, Exception):
                raise

    def receive_now(self, envelope: Envelope[Any, Any]) -> bool:
        """Take a plain append at once when nothing of this stream is in flight.

        The path of a lone append to an idle stream, in the caller's task:
        checked against the cached head, folded and handed to the writer with
        no wait. Everything else is declined, unchanged, to :meth:`receive`:
        other requests, a stale stream, a busy one (with a bundle in flight, or
        whose last batch held several requests: many callers at once batch
        better in the mailbox, where the first does not send the writer a
        bundle of one ahead of the rest), a refusal (only the database may
        confirm one) and a writer without room.
        """
        message = envelope.message
        if (
            self._in_flight
            or self._stale
            or self._last_batch > 1
            or type(message) is not AppendRequest
        ):
            return False
        head, state = self._head, self._state
        try:
            self._admit(message.expected, head, self._deleted)
            new_state, rows = self._fold(state, head, message.events, message.prepared_at)
        except Exception:
            return False
        ids = tuple(event.event_id for event in message.events) if message.explicit_ids else None
        plan = _Plan(envelope, (head or 0) + 1, 0, len(rows), ids)
        new_head = (head or 0) + len(rows)
        bundle = _StreamBundle(self, rows, [plan], self._snapshots_due(new_head, new_state), 0)
        try:
            if not self._context.writer.offer(bundle):
                return False
        except StoreClosed:
            return False
        envelope.defer()
        if ids is not None:
            for event_id in ids:
                self._pending_ids[event_id] = plan
        self._handed_over(bundle, new_head, new_state)
        return True

    def _handed_over(self, bundle: _StreamBundle, head: int | None, state: Any) -> None:
        """The stream as ``bundle``, now with the writer, leaves it: at ``head`` with
        ``state``, live (its rows follow any deletion) and with one more bundle in flight."""
        if bundle.snapshots:
            self.snapshot_version = bundle.snapshots[0].version
        self._head, self._state, self._deleted = head, state, None
        self._in_flight += 1

    def _snapshots_due(self, head: int | None, state: Any) -> list[SnapshotRow]:
        """The snapshot to write with a bundle that brings the stream to ``head``, if due."""
        if not snapshot_due(head, self.snapshot_version, self._snapshot_every):
            return []
        assert head is not None
        assert self._aggregate is not None  # snapshot_every is 0 without one
        return [build_snapshot(self.stream_id, head, self._aggregate, state)]

    async def _answer_nothing(self, envelope: Envelope[Any, Any], attempt: int) -> None:
        """An ``execute`` decided nothing: answer ``None`` if it decided on current state."""
        closing = StoreClosed("the store closed before the stream could be reloaded")
        if not await self._sent_back_if_behind(envelope, closing, attempt):
            envelope.reply(None)

    async def _answer_failure(
        self,
        envelope: Envelope[Any, Any],
        message: AppendRequest | ExecuteRequest,
        error: Exception,
        attempt: int,
    ) -> None:
        """A request failed before it was planned; an ``execute``'s ``decide`` may have
        failed on stale state, so it is tried again on the database's."""
        if isinstance(message, ExecuteRequest) and await self._sent_back_if_behind(
            envelope, error, attempt
        ):
            return
        envelope.fail(error)

    async def _answer_refusal(
        self,
        envelope: Envelope[Any, Any],
        message: AppendRequest | ExecuteRequest,
        refusal: FleetError,
        attempt: int,
    ) -> None:
        """Refuse a request only on the database's word.

        A refused append with caller-chosen ids may be the retry of a committed
        one, which gets its original result; any other refusal made from a head
        the database has passed is processed again after a reload.
        """
        await self._drain()
        if isinstance(message, AppendRequest) and message.explicit_ids:
            original = await self._stored_original(envelope, message)
            if original is not None:
                envelope.reply(original)
                return
            if envelope.done():
                return
        if not await self._sent_back_if_behind(envelope, refusal, attempt):
            envelope.fail(refusal)

    async def _stored_original(
        self, envelope: Envelope[Any, Any], message: AppendRequest
    ) -> AppendResult | None:
        """The original result if ``message`` repeats a stored append; fails overlaps."""
        ids = [event.event_id for event in message.events]
        try:
            stored = await anyio.to_thread.run_sync(find_stored, self._context.db, ids)
            return classify_retry(self.stream_id, ids, stored)
        except FleetError as exc:
            envelope.fail(exc)
            return None

    async def _redo(self, redo: Redo) -> None:
        """Answer exact retries, refuse overlaps, and process the rest once more."""
        again: list[Envelope[Any, Any]] = []
        for envelope in redo.envelopes:
            message = envelope.message
            if isinstance(message, AppendRequest) and message.explicit_ids:
                original = await self._stored_original(envelope, message)
                if original is not None:
                    envelope.reply(original)
                    continue
                if envelope.done():
                    continue
            again.append(envelope)
        if not again:
            return
        if redo.attempt >= LOCKED_AFTER:
            await self._process_locked(again, redo.attempt)
        else:
            await self._process(again, redo.attempt)

    async def _process_locked(self, envelopes: Sequence[Envelope[Any, Any]], attempt: int) -> None:
        """Process requests that keep losing to other processes under the write lock.

        The stream is loaded, each append checked (each ``execute`` decided)
        and folded, and the rows stored in one write transaction, in a worker
        thread: nobody can move the stream in between, so the requests commit
        or are refused on the database's word. Slower than a group commit, and
        taken only after :data:`LOCKED_AFTER` lost attempts, so that a stream
        another process writes without pause does not starve this one's requests.
        """
        await self._drain()
        try:
            loaded, outcomes, rows, first_position = await anyio.to_thread.run_sync(
                self._commit_locked, envelopes
            )
        except _REDO_ERRORS as exc:
            self._stale = True
            if attempt + 1 >= MAX_ATTEMPTS:
                _fail_all(envelopes, self._gave_up(exc))
            else:
                self._context.send_back(self.stream_id, envelopes, exc, attempt + 1)
            return
        except Exception as exc:
            self._stale = True
            _fail_all(envelopes, exc)
            return
        self.epoch = next_epoch()
        self._adopt(loaded)
        for envelope, outcome in zip(envelopes, outcomes, strict=True):
            if outcome is None:
                envelope.reply(None)
            elif isinstance(outcome, Exception):
                envelope.fail(outcome)
            else:
                first_version, count, offset = outcome
                envelope.reply(
                    AppendResult.spanning(
                        self.stream_id, first_version, count, first_position + offset
                    )
                )
        if rows:
            last_position = first_position + len(rows) - 1
            self._context.writer.publish(CommitNotice(first_position, last_position, rows))

    def _commit_locked(
        self, envelopes: Sequence[Envelope[Any, Any]]
    ) -> tuple[
        LoadedStream, list[tuple[int, int, int] | Exception | None], list[PendingTuple], int
    ]:
        """Load, decide and store ``envelopes``' requests in one write transaction (worker thread).

        Returns:
            The stream as it stands after the commit; per envelope its
            ``(first version, count, offset in the rows)``, the error that
            refuses it, or ``None`` for an ``execute`` that decided nothing;
            the rows stored; and the position of the first.
        """
        with self._context.db.write_transaction() as txn:
            (loaded,) = load_streams_on(
                txn.connection, self._context.catalog, [(self.stream_id, self._aggregate)]
            )
            if isinstance(loaded, StreamCorrupt):
                raise loaded
            head, state, deleted = loaded.head, loaded.state, loaded.deleted
            now = now_ms()
            rows: list[PendingTuple] = []
            outcomes: list[tuple[int, int, int] | Exception | None] = []
            for envelope in envelopes:
                try:
                    expected, events, _ = self._request_events(envelope.message, state)
                    if not events:
                        outcomes.append(None)
                        continue
                    self._admit(expected, head, deleted)
                    state, new_rows = self._fold(state, head, events, now)
                except Exception as exc:
                    outcomes.append(exc)
                    continue
                outcomes.append(((head or 0) + 1, len(new_rows), len(rows)))
                rows.extend(new_rows)
                head, deleted = (head or 0) + len(new_rows), None
            first_position = txn.head_position + 1
            if rows:
                txn.insert_events([(first_position + i, *row) for i, row in enumerate(rows)])
        return (
            LoadedStream(head, state, loaded.snapshot_version, deleted),
            outcomes,
            rows,
            first_position,
        )

    async def _delete(self, envelope: Envelope[Any, Any], request: DeleteRequest) -> None:
        """Delete the stream once every append before the request has committed.

        The deletion is decided and stored by the database in one transaction
        (:func:`~fleet.store.deletion.delete_stream_rows`); the actor then
        holds the deleted stream: its head is the deletion record, it has no state.
        """
        await self._drain()
        context = self._context
        try:
            result, row = await anyio.to_thread.run_sync(
                delete_stream_rows, context.db, self.stream_id, request.hard, request.expected
            )
        except Exception as exc:
            self._stale = True
            envelope.fail(exc)
            return
        self.epoch = next_epoch()
        self._head, self._state = result.version, None
        self._deleted = "hard" if result.hard else "soft"
        self.snapshot_version = result.version
        if row is not None:
            context.writer.publish(CommitNotice(result.position, result.position, [row]))
        envelope.reply(result)

    async def _process_part(self, envelope: Envelope[Any, Any]) -> None:
        """Prepare this stream's share of a multi-stream append and hold until it commits.

        A refusal is checked against the database first: if the stream moved
        elsewhere, the actor reloads (here, the share being alone in its
        batch) and decides once more.
        """
        part: PartRequest = envelope.message
        coordinator = part.coordinator
        for attempt in range(MAX_ATTEMPTS):
            head, state = self._head, self._state
            try:
                self._admit(part.expected, head, self._deleted)
                new_state, rows = self._fold(state, head, part.events, now_ms())
                break
            except (WrongExpectedVersion, InvalidTransition, StreamDeleted) as exc:
                if attempt + 1 < MAX_ATTEMPTS and await self._behind_database():
                    await self._reload()
                    continue
                failure: Exception = exc
            except Exception as exc:
                failure = exc
            coordinator.abort(part.share, failure)
            envelope.fail(failure)
            return
        coordinator.prepared(part.share, rows, (self, self.epoch))
        try:
            first_position = await coordinator.outcome(part.share)
        except Exception as exc:
            self._stale = True
            envelope.fail(exc)
            return
        self._head, self._state, self._deleted = (head or 0) + len(rows), new_state, None
        envelope.reply(
            AppendResult.spanning(self.stream_id, (head or 0) + 1, len(rows), first_position)
        )


def _in_flight_original(
    stream_id: str, ids: tuple[str, ...], pending: dict[str, _Plan]
) -> _Plan | None:
    """The plan of the append in flight that these ids repeat exactly, if any.

    Raises:
        DuplicateEvent: some of the ids belong to an append in flight that is
            not exactly this one.
    """
    plan = pending.get(ids[0])
    if plan is not None and plan.ids == ids:
        return plan
    overlapping = [event_id for event_id in ids if event_id in pending]
    if overlapping:
        raise DuplicateEvent(
            f"append to {stream_id!r} reuses event id {overlapping[0]!r} of another append "
            "that is still being committed",
            overlapping,
        )
    return None


def _fail_all(envelopes: Sequence[Envelope[Any, Any]], error: BaseException) -> None:
    for envelope in envelopes:
        envelope.fail(error)
