"""The actor that owns one stream.

Exactly one :class:`StreamActor` per stream id is alive in the process. It
holds the stream's head version and folded aggregate state, so an expected
version check is a comparison in memory and ``execute`` decides against
current state without a read. It never writes to the database itself: for each
drained batch of requests it builds one :class:`~fleet.store.writer.Bundle`,
hands it to the writer, and answers the requests once the bundle committed.

Within a batch, requests are applied in arrival order against a provisional
head and state; the actor adopts them only after the commit. If the commit
fails, the provisional state is dropped and the head is reloaded from the
database before the next request (a failed commit may be ambiguous, and a
conflict means another process wrote), so memory never runs ahead of storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from fleet.core.time import now_ms
from fleet.errors import (
    ConcurrencyError,
    DuplicateEvent,
    FleetError,
    InvalidTransition,
    StreamCorrupt,
    ValidationError,
    WrongExpectedVersion,
)
from fleet.events import Event, aggregate_for_stream
from fleet.store.expected_version import ANY, ExpectedVersion, check_expected_version
from fleet.store.idempotency import classify_retry
from fleet.store.messages import AppendRequest, ExecuteRequest, PartRequest, PreparedEvent
from fleet.store.preparation import prepare_payloads
from fleet.store.results import AppendResult
from fleet.store.stream_loading import LoadedStream, find_stored, load_stream
from fleet.store.writer import Bundle, Row

if TYPE_CHECKING:
    from actors import Envelope
    from fleet.store.context import StoreContext

__all__ = ["StreamActor"]


class _Plan:
    """One request's share of a bundle: where its rows start and how many."""

    __slots__ = ("count", "envelope", "first_version", "offset")

    def __init__(self, envelope: Envelope[Any, Any], first_version: int, offset: int, count: int):
        self.envelope = envelope
        self.first_version = first_version
        self.offset = offset
        self.count = count


class StreamActor:
    """Serialises every append to one stream; see the module docstring."""

    def __init__(self, stream_id: str, context: StoreContext) -> None:
        self.stream_id = stream_id
        self._context = context
        self._aggregate = aggregate_for_stream(stream_id)
        self._head: int | None = None
        self._state: Any = None
        self.snapshot_version = 0
        self._stale = False
        """Version of the newest snapshot saved or loaded (0: none)."""

    @property
    def head(self) -> int | None:
        """The stream's committed version (``None`` before its first event)."""
        return self._head

    @property
    def state(self) -> Any:
        """The aggregate state folded from every committed event."""
        return self._state

    async def on_start(self) -> None:
        """Load the head version and state (snapshot + later events) before any request."""
        try:
            loaded = await anyio.to_thread.run_sync(
                load_stream, self._context.db, self.stream_id, self._aggregate
            )
        except ValidationError as exc:
            raise StreamCorrupt(self.stream_id, str(exc)) from exc
        self._adopt(loaded)

    async def on_stop(self, reason: object) -> None:
        """Save a snapshot of a stream that moved since its last one, if configured."""
        await self._context.snapshots.on_stop(self, self._aggregate)

    def _adopt(self, loaded: LoadedStream) -> None:
        self._stale = False
        self._head = loaded.head
        self._state = loaded.state
        self.snapshot_version = loaded.snapshot_version

    async def _reload(self) -> None:
        await self.on_start()

    async def receive(self, batch: Sequence[Envelope[Any, Any]]) -> None:
        """Handle a drained batch: plain requests share one bundle; parts run alone."""
        if self._stale:
            await self._reload()
        segment: list[Envelope[Any, Any]] = []
        for envelope in batch:
            if isinstance(envelope.message, PartRequest):
                if segment:
                    await self._process(segment)
                    segment = []
                await self._process_part(envelope)
            else:
                segment.append(envelope)
        if segment:
            await self._process(segment)

    def _fold(
        self, state: Any, head: int | None, events: Sequence[PreparedEvent], now: int
    ) -> tuple[Any, list[Row]]:
        """Apply ``events`` after ``head``; return the new state and the rows to write."""
        evolve = self._aggregate.evolve
        stream_id = self.stream_id
        version = head or 0
        rows: list[Row] = []
        for prepared in events:
            version += 1
            meta = prepared.metadata
            state = evolve(
                state,
                Event(
                    event_id=prepared.event_id,
                    type=prepared.type,
                    stream_id=stream_id,
                    version=version,
                    position=0,
                    schema_version=prepared.schema_version,
                    occurred_at=prepared.occurred_at,
                    recorded_at=now,
                    metadata=meta,
                    payload=prepared.payload,
                ),
            )
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

    async def _request_events(
        self, message: AppendRequest | ExecuteRequest, state: Any
    ) -> tuple[ExpectedVersion, Sequence[PreparedEvent], bool]:
        if isinstance(message, AppendRequest):
            return message.expected, message.events, message.explicit_ids
        decided = message.decide(state)
        if not decided:
            return ANY, (), False
        return ANY, prepare_payloads(self.stream_id, decided, message.metadata), False

    async def _process(
        self, envelopes: Sequence[Envelope[Any, Any]], retried: bool = False
    ) -> None:
        head, state = self._head, self._state
        now = now_ms()
        rows: list[Row] = []
        plans: list[_Plan] = []
        seen_ids: dict[str, int] = {}
        for envelope in envelopes:
            message = envelope.message
            try:
                expected, events, explicit = await self._request_events(message, state)
                if not events:
                    envelope.reply(None)
                    continue
                check_expected_version(self.stream_id, expected, head)
                if explicit:
                    _check_pending_ids(self.stream_id, events, seen_ids, len(plans))
                new_state, new_rows = self._fold(state, head, events, now)
            except (WrongExpectedVersion, InvalidTransition) as exc:
                await self._answer_refusal(envelope, message, exc)
                continue
            except Exception as exc:
                envelope.fail(exc)
                continue
            plans.append(_Plan(envelope, (head or 0) + 1, len(rows), len(new_rows)))
            rows.extend(new_rows)
            head = (head or 0) + len(new_rows)
            state = new_state
        if not rows:
            return
        try:
            first_position = await self._context.writer.submit(Bundle(rows))
        except (ConcurrencyError, DuplicateEvent) as exc:
            await self._reload()
            if retried:
                for plan in plans:
                    plan.envelope.fail(exc)
                return
            await self._recover(plans, exc)
            return
        except Exception as exc:
            self._stale = True
            for plan in plans:
                plan.envelope.fail(exc)
            return
        self._head, self._state = head, state
        for plan in plans:
            first = first_position + plan.offset
            plan.envelope.reply(
                AppendResult(
                    self.stream_id,
                    plan.first_version,
                    plan.first_version + plan.count - 1,
                    first,
                    first + plan.count - 1,
                )
            )
        self._context.snapshots.after_commit(self, self._aggregate)

    async def _answer_refusal(
        self,
        envelope: Envelope[Any, Any],
        message: AppendRequest | ExecuteRequest,
        refusal: FleetError,
    ) -> None:
        """A refused append with caller-chosen ids may be the retry of a committed one."""
        if isinstance(message, AppendRequest) and message.explicit_ids:
            ids = [event.event_id for event in message.events]
            try:
                stored = await anyio.to_thread.run_sync(find_stored, self._context.db, ids)
                original = classify_retry(self.stream_id, ids, stored)
            except FleetError as exc:
                envelope.fail(exc)
                return
            if original is not None:
                envelope.reply(original)
                return
        envelope.fail(refusal)

    async def _recover(self, plans: list[_Plan], conflict: FleetError) -> None:
        """After a conflicting commit: answer exact retries, refuse overlaps, redo the rest."""
        redo: list[Envelope[Any, Any]] = []
        for plan in plans:
            message = plan.envelope.message
            if isinstance(message, AppendRequest) and message.explicit_ids:
                ids = [event.event_id for event in message.events]
                try:
                    stored = await anyio.to_thread.run_sync(find_stored, self._context.db, ids)
                    original = classify_retry(self.stream_id, ids, stored)
                except FleetError as exc:
                    plan.envelope.fail(exc)
                    continue
                if original is not None:
                    plan.envelope.reply(original)
                    continue
            redo.append(plan.envelope)
        if redo:
            await self._process(redo, retried=True)

    async def _process_part(self, envelope: Envelope[Any, Any]) -> None:
        """Prepare this stream's share of a multi-stream append and hold until it commits."""
        part: PartRequest = envelope.message
        head, state = self._head, self._state
        coordinator = part.coordinator
        try:
            check_expected_version(self.stream_id, part.expected, head)
            new_state, rows = self._fold(state, head, part.events, now_ms())
        except Exception as exc:
            coordinator.abort(part.share, exc)
            envelope.fail(exc)
            return
        coordinator.prepared(part.share, rows)
        try:
            first_position = await coordinator.outcome(part.share)
        except (ConcurrencyError, DuplicateEvent) as exc:
            await self._reload()
            envelope.fail(exc)
            return
        except Exception as exc:
            self._stale = True
            envelope.fail(exc)
            return
        first_version = (head or 0) + 1
        self._head, self._state = (head or 0) + len(rows), new_state
        envelope.reply(
            AppendResult(
                self.stream_id,
                first_version,
                first_version + len(rows) - 1,
                first_position,
                first_position + len(rows) - 1,
            )
        )
        self._context.snapshots.after_commit(self, self._aggregate)


def _check_pending_ids(
    stream_id: str, events: Sequence[PreparedEvent], seen: dict[str, int], plan_index: int
) -> None:
    """Refuse ids already used by an earlier request of the same bundle."""
    for event in events:
        if event.event_id in seen:
            raise DuplicateEvent(
                f"append to {stream_id!r} reuses event id {event.event_id!r} of an append "
                "that is still being committed",
                [event.event_id],
            )
    for event in events:
        seen[event.event_id] = plan_index
