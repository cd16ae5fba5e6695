"""The handlers of the HTTP API: decode and check the request, call the store, encode the answer.

Each handler is named after its operation in :data:`fleet.server._operations.OPERATIONS`;
a read model's operation is answered by :meth:`Endpoints.read_model` with its
own ``read`` function.
A handler raises on any refusal; the application turns the exception into
the error body (see :mod:`fleet.server._errors`). Nothing is stored unless
the whole request was valid: bodies, ids and every event are checked before
the store is called, and the store's own checks refuse an append as a whole.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Final

import anyio
import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from fleet import projections
from fleet.core import LARGEST_STORED_INT
from fleet.db import ScavengeProgress, ScavengeReport, health_report
from fleet.errors import FleetError, ValidationError
from fleet.events import Catalog, NewEvent
from fleet.server._api_metrics import CONTENT_TYPE
from fleet.server._errors import RETRY_AFTER_S, Refusal, error_reply
from fleet.server._http import (
    decode_body,
    json_response,
    parse_query,
    read_body,
    split_list,
)
from fleet.server._operations import (
    DeleteStreamQuery,
    EventsQuery,
    ProjectionErrorsQuery,
    ReadStreamQuery,
    StreamsQuery,
    SubscribeQuery,
)
from fleet.server._read_models import ReadModelApi, ReadOperation
from fleet.server._scavenge import ScavengeJob, ScavengeQuery
from fleet.server._schemas import (
    AppendManyBody,
    AppendManyResultBody,
    AppendOutcome,
    AppendsBody,
    AppendsResultBody,
    AppendToStreamBody,
    EventsPage,
    HealthBody,
    LiveBody,
    ProjectionsBody,
    StreamEventsPage,
    StreamInfo,
    StreamSettingsBody,
    StreamsPage,
)
from fleet.server._service import Service
from fleet.server._sse import PAGE_EVENTS, EventStream
from fleet.store import AppendResult, LogFilter, StreamAppend, validate_expected_version
from fleet.wire import encode_event, to_wire

__all__ = ["Endpoints"]

_APPEND_DECODER: Final = msgspec.json.Decoder(AppendToStreamBody)
_APPEND_MANY_DECODER: Final = msgspec.json.Decoder(AppendManyBody)
_APPENDS_DECODER: Final = msgspec.json.Decoder(AppendsBody)
_SETTINGS_DECODER: Final = msgspec.json.Decoder(StreamSettingsBody)
_POSITION_DIGITS: Final = len(str(LARGEST_STORED_INT))


def _events(
    catalog: Catalog, stream_id: str | None, raw: msgspec.Raw, where: str = ""
) -> list[NewEvent]:
    """Validate raw events for ``stream_id`` (``None``: a stream not known to be valid,
    whose events are checked against every typed category); problem paths are
    ``events[i]...`` under ``where``."""
    try:
        return catalog.decode_new_events(bytes(raw), stream_id=stream_id)
    except ValidationError as exc:
        if not where:
            raise
        problems = [(f"{where}.{path}", why) for path, why in exc.problems]
        raise ValidationError(f"{where}: {exc}", problems) from exc


READ_MODEL_WAIT_S: Final = 2.0
"""Longest a read-model request waits for the live read models to apply the events
committed before it; then it answers with what they hold."""


def _outcome(error: FleetError) -> AppendOutcome:
    """An append's answer in ``POST /appends`` when it failed: what it would have been alone."""
    reply = error_reply(error)
    return AppendOutcome(reply.status, error=reply.body.error)


class Endpoints:
    """The handlers, bound to one :class:`Service`."""

    def __init__(self, service: Service, openapi: bytes, read_models: ReadModelApi) -> None:
        self._service = service
        self._store = service.store
        self._catalog = service.store.catalog
        self._openapi = openapi
        self._read_models = {op.name: op for op in read_models.operations}
        self._projections = read_models.projections
        self._scavenge = ScavengeJob()

    def handler(self, name: str) -> Callable[[Request], Awaitable[Response]]:
        """The handler of the operation called ``name``."""
        operation = self._read_models.get(name)
        if operation is not None:
            return partial(self.read_model, operation)
        found: Callable[[Request], Awaitable[Response]] = getattr(self, name)
        return found

    async def read_model(self, operation: ReadOperation, request: Request) -> Response:
        """Answer a read model's operation: its query decoded, its ``read`` run as a store call.

        When this daemon keeps the read models live, the answer comes after they
        applied every event committed before the request (read your writes),
        or after :data:`READ_MODEL_WAIT_S` if they are further behind.
        """
        query = parse_query(request, operation.query)
        runner = self._service.projections
        if runner is not None:
            head = await self._service.call(self._store.head_position)
            with anyio.move_on_after(READ_MODEL_WAIT_S):
                await runner.wait_for_position(head)
        read = partial(operation.read, self._store, dict(request.path_params), query)
        return json_response(await self._service.call(read))

    def _stream_id(self, value: object, where: str = "stream_id") -> str:
        """``value`` if it names a stream of the store's catalog."""
        try:
            return self._catalog.check_stream_id(value)
        except ValidationError as exc:
            problems = [(where, why) for _, why in exc.problems]
            raise ValidationError(str(exc), problems) from None

    async def health_live(self, request: Request) -> Response:
        return json_response(LiveBody())

    async def health_ready(self, request: Request) -> Response:
        service = self._service
        unavailable = {"Retry-After": str(RETRY_AFTER_S)}
        if service.closing.is_set():
            return json_response(HealthBody("unavailable", None), 503, unavailable)
        db = self._store.database
        report = await service.call(partial(anyio.to_thread.run_sync, health_report, db))
        if report.ok:
            return json_response(HealthBody("ok", report))
        return json_response(HealthBody("unavailable", report), 503, unavailable)

    async def metrics(self, request: Request) -> Response:
        return Response(self._service.metrics.render(), media_type=CONTENT_TYPE)

    async def openapi(self, request: Request) -> Response:
        return Response(self._openapi, media_type="application/json")

    async def append_to_stream(self, request: Request) -> Response:
        stream_id = self._stream_id(request.path_params["stream_id"])
        body = await read_body(request, self._service.config)
        parsed = decode_body(body, _APPEND_DECODER)
        events = _events(self._catalog, stream_id, parsed.events)
        started = time.perf_counter()
        result = await self._service.call(
            partial(self._store.append, stream_id, events, parsed.expected_version)
        )
        self._acknowledged([result], time.perf_counter() - started)
        return json_response(result)

    async def append_many(self, request: Request) -> Response:
        body = await read_body(request, self._service.config)
        parsed = decode_body(body, _APPEND_MANY_DECODER)
        problems: list[tuple[str, str]] = []
        shares: list[StreamAppend] = []
        for index, share in enumerate(parsed.appends):
            where = f"appends[{index}]"
            stream_id = share.stream_id
            known: str | None = None
            try:
                stream_id = known = self._stream_id(stream_id, f"{where}.stream_id")
            except ValidationError as exc:
                problems.extend(exc.problems)
            try:
                events = _events(self._catalog, known, share.events, where)
            except ValidationError as exc:
                problems.extend(exc.problems)
                events = []
            expected = validate_expected_version(share.expected_version)
            shares.append(StreamAppend(stream_id, events, expected))
        if problems:
            where, why = problems[0]
            raise ValidationError(
                f"{len(problems)} problem(s) in the atomic append; first: {where}: {why}", problems
            )
        started = time.perf_counter()
        results = await self._service.call(partial(self._store.append_many, shares))
        self._acknowledged(results, time.perf_counter() - started)
        return json_response(AppendManyResultBody(results))

    async def appends(self, request: Request) -> Response:
        body = await read_body(request, self._service.config)
        parsed = decode_body(body, _APPENDS_DECODER)
        outcomes: list[AppendOutcome | None] = [None] * len(parsed.appends)
        valid: list[StreamAppend] = []
        places: list[int] = []
        for index, share in enumerate(parsed.appends):
            where = f"appends[{index}]"
            try:
                stream_id = self._stream_id(share.stream_id, f"{where}.stream_id")
                events = _events(self._catalog, stream_id, share.events, where)
            except ValidationError as exc:
                outcomes[index] = _outcome(exc)
                continue
            valid.append(StreamAppend(stream_id, events, share.expected_version))
            places.append(index)
        started = time.perf_counter()
        answers = await self._service.call(partial(self._store.append_each, valid))
        results: list[AppendResult] = []
        for index, answer in zip(places, answers, strict=True):
            if isinstance(answer, AppendResult):
                outcomes[index] = AppendOutcome(200, answer)
                results.append(answer)
            else:
                outcomes[index] = _outcome(answer)
        self._acknowledged(results, time.perf_counter() - started)
        return json_response(AppendsResultBody([o for o in outcomes if o is not None]))

    def _acknowledged(self, results: Sequence[AppendResult], seconds: float) -> None:
        metrics = self._service.metrics
        metrics.append_latency.observe(seconds)
        for result in results:
            count = result.last_version - result.first_version + 1
            metrics.appends.inc()
            metrics.appended_events.inc(count)
            metrics.append_events.observe(count)

    async def list_streams(self, request: Request) -> Response:
        query = parse_query(request, StreamsQuery)
        page = await self._service.call(
            partial(self._store.list_streams, query.prefix, query.after, query.limit)
        )
        streams = [StreamInfo(s.stream_id, s.version) for s in page.streams]
        return json_response(StreamsPage(streams, page.next_after))

    async def read_stream(self, request: Request) -> Response:
        stream_id = self._stream_id(request.path_params["stream_id"])
        query = parse_query(request, ReadStreamQuery)
        read = partial(
            self._store.read_stream,
            stream_id,
            query.from_version,
            query.direction,
            query.limit,
            max_bytes=self._service.config.page_bytes,
        )
        page = await self._service.call(read)
        events = [to_wire(event) for event in page.events]
        return json_response(StreamEventsPage(page.stream_id, events, page.next_version))

    async def read_events(self, request: Request) -> Response:
        query = parse_query(request, EventsQuery)
        where = LogFilter(
            event_types=split_list(query.event_types),
            stream_prefix=query.stream_prefix,
            correlation_id=query.correlation_id,
            recorded_after=query.recorded_after,
            recorded_before=query.recorded_before,
        )
        read = partial(
            self._store.read_all,
            query.from_position,
            query.limit,
            where=where,
            max_bytes=self._service.config.page_bytes,
        )
        page = await self._service.call(read)
        events = [to_wire(event) for event in page.events]
        return json_response(EventsPage(events, page.next_position, page.end, page.head))

    async def get_event(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        event = await self._service.call(partial(self._store.get_event, event_id))
        return Response(encode_event(event), media_type="application/json")

    async def subscribe(self, request: Request) -> Response:
        """Stream the log after a start position no later than the head of the log.

        The head is read from the database, where other processes append too.
        The events appended next take the positions right after the head: a
        stream started past it would have skipped them, and deliver nothing.
        """
        query = parse_query(request, SubscribeQuery)
        start = query.from_position
        last_id = request.headers.get("last-event-id")
        if last_id is not None:
            start = _last_event_id(last_id)
        if start > 0:
            head = await self._service.call(self._store.head_position)
            if start > head:
                given = "from_position" if last_id is None else "Last-Event-ID"
                raise _past_the_head(start, head, given)
        where = LogFilter(
            event_types=split_list(query.event_types),
            stream_prefix=query.stream_prefix,
            correlation_id=query.correlation_id,
        )
        subscription = self._store.subscribe(
            start,
            where=where,
            page_size=min(PAGE_EVENTS, self._store.config.store.max_read_limit),
            page_bytes=self._service.config.stream_buffer_bytes,
        )
        return EventStream(self._service, subscription)

    async def stream_metadata(self, request: Request) -> Response:
        stream_id = self._stream_id(request.path_params["stream_id"])
        found = await self._service.call(partial(self._store.stream_metadata, stream_id))
        return json_response(found)

    async def set_stream_metadata(self, request: Request) -> Response:
        stream_id = self._stream_id(request.path_params["stream_id"])
        body = await read_body(request, self._service.config)
        parsed = decode_body(body, _SETTINGS_DECODER)
        given = {
            name: value
            for name in parsed.__struct_fields__
            if (value := getattr(parsed, name)) is not msgspec.UNSET
        }
        saved = await self._service.call(
            partial(self._store.set_stream_metadata, stream_id, **given)
        )
        return json_response(saved)

    async def delete_stream(self, request: Request) -> Response:
        stream_id = self._stream_id(request.path_params["stream_id"])
        query = parse_query(request, DeleteStreamQuery)
        delete = partial(
            self._store.delete_stream,
            stream_id,
            hard=query.hard,
            expected_version=query.expected_version,
        )
        return json_response(await self._service.call(delete))

    async def scavenge(self, request: Request) -> Response:
        query = parse_query(request, ScavengeQuery)
        store = self._store

        def start(progress: Callable[[ScavengeProgress], None]) -> Awaitable[ScavengeReport]:
            return store.scavenge(batch_size=query.batch_size, progress=progress)

        report = await self._service.call(partial(self._scavenge.run, start), deadline=False)
        return json_response(report)

    async def scavenge_status(self, request: Request) -> Response:
        return json_response(self._scavenge.status())

    async def list_projections(self, request: Request) -> Response:
        runner = self._service.projections
        if runner is not None:
            found = await self._service.call(runner.status)
        else:
            read = partial(projections.projection_status, self._store, self._projections)
            found = await self._service.call(read)
        return json_response(ProjectionsBody(found))

    async def projection_errors(self, request: Request) -> Response:
        name = request.path_params["name"]
        query = parse_query(request, ProjectionErrorsQuery)
        runner = self._service.projections
        known = runner.projections if runner is not None else self._projections
        read = partial(
            projections.list_projection_errors,
            self._store,
            name,
            after=query.after,
            limit=query.limit,
            projections=known,
        )
        return json_response(await self._service.call(read))

    async def rebuild_projection(self, request: Request) -> Response:
        name = request.path_params["name"]
        runner = self._service.projections
        if runner is not None:
            rebuild = partial(runner.rebuild, name)
        else:
            rebuild = partial(projections.rebuild, self._store, name, projections=self._projections)
        report = await self._service.call(rebuild, deadline=False)
        return json_response(report)


def _last_event_id(header: str) -> int:
    """The position a ``Last-Event-ID`` header names.

    Raises:
        Refusal: 400 ``bad_request`` unless it is a position (ASCII digits, at
            most :data:`~fleet.core.storable.LARGEST_STORED_INT`).
    """
    text = header.strip()
    if text.isascii() and text.isdigit() and len(text) <= _POSITION_DIGITS:
        position = int(text)
        if position <= LARGEST_STORED_INT:
            return position
    raise Refusal(
        400,
        "bad_request",
        f"invalid Last-Event-ID {header[:40]!r}: use the id (a position) of an event",
        [("Last-Event-ID", "not a position")],
    )


def _past_the_head(start: int, head: int, given: str) -> Exception:
    """The refusal of a subscription that would start after the head of the log:
    400 ``bad_request`` for the ``Last-Event-ID`` header, as for any bad header,
    422 ``validation_failed`` for the ``from_position`` parameter, as for any bad
    parameter."""
    why = f"{start} is past the head of the log ({head})"
    message = (
        f"invalid {given} {start}: the log's newest event is at position {head}; "
        f"subscribe from a position between 0 and {head}"
    )
    if given == "Last-Event-ID":
        return Refusal(400, "bad_request", message, [(given, why)])
    return ValidationError(message, [(given, why)])
