"""An async client of the fleet daemon's HTTP API, with the event store's method names.

::

    async with FleetClient("http://127.0.0.1:8420", token="...") as client:
        result = await client.append("msn-...", [MissionCreated(title="Ship it")])
        page = await client.read_all(from_position=0, limit=100)

:class:`FleetClient` answers with the store's own types (:class:`AppendResult`,
:class:`StreamPage`, :class:`LogPage`, :class:`~fleet.events.Event`), so code
written against :class:`~fleet.store.EventStore` works against a daemon too.
Every recorded event that comes back is validated by :func:`fleet.wire.decode_event`.

Errors are the store's: the daemon's JSON error body is mapped back to the
:mod:`fleet.errors` class it stands for, in one place (:func:`_error_from`)::

    409 wrong_expected_version   WrongExpectedVersion (expected, actual from the body;
                                 ConcurrencyError for a multi-stream append)
    409 duplicate_event          DuplicateEvent
    400, 413, 422                ValidationError (with the body's problems)
    404                          StreamNotFound / EventNotFound / NotFound
    401                          ConfigError (missing or wrong bearer token)
    503                          StoreUnavailable
    no connection, timeout       StoreUnavailable (httpx's error is the cause)
    anything else                StoreError
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, Literal, cast
from urllib.parse import quote

import anyio
import httpx
import msgspec

from fleet.config import DEFAULT_CATALOG
from fleet.db import ScavengeReport, check_filter
from fleet.errors import (
    ConcurrencyError,
    ConfigError,
    DuplicateEvent,
    EventNotFound,
    FleetError,
    NotFound,
    StoreError,
    StoreUnavailable,
    StreamDeleted,
    StreamNotFound,
    ValidationError,
    WrongExpectedVersion,
)
from fleet.events import (
    Catalog,
    Event,
    EventMetadata,
    JsonPayload,
    NewEvent,
    Payload,
    encode_payload,
    load_catalog,
)
from fleet.multiplex import Multiplexer
from fleet.projections import ProjectionStatus, RebuildReport
from fleet.store import (
    ANY,
    AppendResult,
    CaughtUp,
    DeleteResult,
    LogFilter,
    LogPage,
    StreamAppend,
    StreamMetadata,
    StreamPage,
    describe_expected,
    validate_expected_version,
)
from fleet.wire import decode_event

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "SSE_SILENCE_S",
    "FleetClient",
    "RemoteSubscription",
    "ServerSentEvent",
    "SseParser",
]

DEFAULT_TIMEOUT_S: Final = 30.0
"""Seconds to wait for a connection or an answer before reporting the daemon unavailable."""

SSE_SILENCE_S: Final = 60.0
"""Seconds without a byte on an event stream (the daemon sends a keep-alive every
15 s) after which the daemon is reported unavailable."""

_NO_METADATA: Final = EventMetadata()
_WHOLE_LOG: Final = LogFilter()


class _EventBody(msgspec.Struct, frozen=True):
    type: str
    data: msgspec.Raw
    event_id: str
    occurred_at: int
    metadata: EventMetadata


class _AppendBody(msgspec.Struct, frozen=True):
    events: list[_EventBody]
    expected_version: int | str


class _StreamAppendBody(msgspec.Struct, frozen=True):
    stream_id: str
    events: list[_EventBody]
    expected_version: int | str


class _AppendManyBody(msgspec.Struct, frozen=True):
    appends: list[_StreamAppendBody]


class _AppendsBody(msgspec.Struct, frozen=True):
    appends: list[_StreamAppendBody]


class _AppendManyAnswer(msgspec.Struct, frozen=True):
    results: list[AppendResult]


class _StreamAnswer(msgspec.Struct, frozen=True):
    stream_id: str
    events: list[msgspec.Raw]
    next_version: int | None


class _LogAnswer(msgspec.Struct, frozen=True):
    events: list[msgspec.Raw]
    next_position: int
    end: bool
    head: int = 0


class _ProjectionsAnswer(msgspec.Struct, frozen=True):
    projections: list[ProjectionStatus]


class _Problem(msgspec.Struct, frozen=True):
    path: str = ""
    message: str = ""


class _ErrorDetail(msgspec.Struct, frozen=True):
    code: str = "error"
    message: str = ""
    problems: list[_Problem] = msgspec.field(default_factory=list)
    expected: int | str | None = None
    actual: int | None = None


class _ErrorAnswer(msgspec.Struct, frozen=True):
    error: _ErrorDetail


class _Outcome(msgspec.Struct, frozen=True):
    status: int
    result: AppendResult | None = None
    error: _ErrorDetail | None = None


class _AppendsAnswer(msgspec.Struct, frozen=True):
    outcomes: list[_Outcome]


MAX_APPENDS: Final = 1000
"""Most appends one ``POST /appends`` request carries (the daemon's limit)."""

_ENCODER: Final = msgspec.json.Encoder()


class ServerSentEvent(msgspec.Struct, frozen=True):
    """One dispatched Server-Sent Event: its ``event`` name, ``data`` and ``id``."""

    event: str
    data: str
    id: str | None


class SseParser:
    """Turns the lines of a ``text/event-stream`` into events (no I/O of its own).

    Follows the WHATWG rules fleet's daemon relies on: ``field: value`` lines,
    several ``data`` lines joined by newlines, comments (``:`` lines) ignored,
    a blank line dispatching the event (an event with no data is dropped), and
    ``event`` defaulting to ``"message"``.
    """

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._pending = b""

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line (without its line ending); return an event when it completes one."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def feed_bytes(self, chunk: bytes) -> list[ServerSentEvent]:
        """Take bytes as they arrive (lines may be split anywhere); return the events completed."""
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        found = []
        for line in lines:
            event = self.feed(line.removesuffix(b"\r").decode())
            if event is not None:
                found.append(event)
        return found

    def _dispatch(self) -> ServerSentEvent | None:
        event, data = self._event or "message", self._data
        self._event, self._data = "", []
        if not data:
            return None
        return ServerSentEvent(event, "\n".join(data), self._id)


def _event_bodies(
    events: Sequence[NewEvent | Payload | JsonPayload], metadata: EventMetadata | None
) -> list[_EventBody]:
    """The HTTP API's JSON shape of events to append (ids and times stamped here)."""
    default = metadata if metadata is not None else _NO_METADATA
    bodies: list[_EventBody] = []
    for item in events:
        if isinstance(item, Payload | JsonPayload):
            item = NewEvent(item, metadata=default)
        elif item.metadata == _NO_METADATA:
            item = NewEvent(item.payload, item.event_id, item.occurred_at, default)
        bodies.append(
            _EventBody(
                type=item.type,
                data=msgspec.Raw(encode_payload(item.payload)),
                event_id=item.event_id,
                occurred_at=item.occurred_at,
                metadata=item.metadata,
            )
        )
    return bodies


def _expected(expected_version: object) -> int | str:
    return describe_expected(validate_expected_version(expected_version))


_CODE_STATUS: Final = {
    "malformed_json": 400,
    "bad_request": 400,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "wrong_expected_version": 409,
    "duplicate_event": 409,
    "body_too_large": 413,
    "validation_failed": 422,
    "invalid_transition": 422,
    "unavailable": 503,
}
"""The status that goes with each error code of the API (for errors sent inside an event stream)."""


def _error_from(response: httpx.Response, subject: str | None) -> FleetError:
    """The fleet error a daemon's error answer stands for.

    Args:
        response: an answer with a 4xx or 5xx status.
        subject: the stream or event id the request was about, for 404 and 409.
    """
    try:
        detail = msgspec.json.decode(response.content, type=_ErrorAnswer).error
    except msgspec.DecodeError:
        detail = _ErrorDetail(code=f"http_{response.status_code}", message=response.reason_phrase)
    return _error_for(response.status_code, detail, subject)


def _error_in_stream(data: str) -> FleetError:
    """The fleet error an ``error`` message of an event stream carries."""
    try:
        detail = msgspec.json.decode(data, type=_ErrorAnswer).error
    except msgspec.DecodeError:
        detail = _ErrorDetail(code="error", message=data)
    return _error_for(_CODE_STATUS.get(detail.code, 500), detail, None)


def _error_for(status: int, detail: _ErrorDetail, subject: str | None) -> FleetError:
    message = detail.message or detail.code
    problems = [(p.path, p.message) for p in detail.problems]
    if detail.code == "wrong_expected_version":
        if subject is None or detail.expected is None:
            return ConcurrencyError(message)
        return WrongExpectedVersion(subject, detail.expected, detail.actual)
    if detail.code == "duplicate_event":
        return DuplicateEvent(message)
    if detail.code == "stream_deleted" and subject is not None:
        return StreamDeleted(subject, hard=status == 410)
    if status in (400, 413, 422):
        return ValidationError(message, problems)
    if status == 404:
        if subject is not None and subject.startswith("evt-"):
            return EventNotFound(subject)
        if subject is not None:
            return StreamNotFound(subject)
        return NotFound(message)
    if status == 401:
        return ConfigError(
            f"the fleet daemon refused the request: {message} "
            "(pass --token or set FLEET_SERVER_TOKEN)"
        )
    if status == 503:
        return StoreUnavailable(f"the fleet daemon is unavailable: {message}")
    return StoreError(f"the fleet daemon answered {status}: {message}")


class _SettingsBody(msgspec.Struct, frozen=True, omit_defaults=True):
    metadata: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    deleted: bool | msgspec.UnsetType = msgspec.UNSET
    max_count: int | msgspec.UnsetType | None = msgspec.UNSET
    max_age_s: int | msgspec.UnsetType | None = msgspec.UNSET
    truncate_before: int | msgspec.UnsetType | None = msgspec.UNSET


class FleetClient:
    """A connection pool to one fleet daemon; use it as an async context manager.

    Args:
        url: the daemon's base URL, such as ``http://127.0.0.1:8420``.
        token: bearer token sent on every request (empty: none).
        timeout: seconds to wait for a connection or an answer.
        transport: an httpx transport to use instead of the network (tests,
            or ``httpx.ASGITransport`` to call an application in-process).
        catalog: the daemon's catalog, or its ``"package.module:NAME"`` as in
            ``store.catalog`` (``FleetClient(url, catalog=config.store.catalog)``);
            the events it sends are decoded into its payload classes. Fleet's
            built-in catalog by default.
        multiplex: carry concurrent :meth:`append` calls together, many per
            request (``POST /appends``, see :mod:`fleet.multiplex`), with at most
            ``max_in_flight`` requests on their way; each call still gets its own
            result or error, after its events committed. ``False``: one request
            per append.

    Raises:
        ConfigError: the URL is not an ``http://`` or ``https://`` URL.
        CatalogError: no catalog was given and the built-in one cannot be loaded.
    """

    def __init__(
        self,
        url: str,
        token: str = "",
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
        catalog: Catalog | str | None = None,
        multiplex: bool = True,
        max_in_flight: int = 4,
    ) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ConfigError(f"invalid daemon URL {url!r}: {exc}") from exc
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(f"invalid daemon URL {url!r}: use http://HOST:PORT")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if catalog is None or isinstance(catalog, str):
            catalog = load_catalog(DEFAULT_CATALOG if catalog is None else catalog)
        self.catalog: Catalog = catalog
        """The catalog the daemon's events are decoded and checked with."""
        self.url = str(parsed).rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        self._appends: Multiplexer[_StreamAppendBody, AppendResult] | None = (
            Multiplexer(self._send_appends, max_batch=MAX_APPENDS, max_in_flight=max_in_flight)
            if multiplex
            else None
        )

    async def __aenter__(self) -> FleetClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections. Idempotent."""
        await self._http.aclose()

    async def _request(
        self,
        method: Literal["GET", "POST", "PUT", "DELETE"],
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: msgspec.Struct | None = None,
        subject: str | None = None,
        timeout: float | Literal["default"] | None = "default",
    ) -> bytes:
        content = None if body is None else _ENCODER.encode(body)
        headers = None if body is None else {"Content-Type": "application/json"}
        extra: dict[str, Any] = {} if timeout == "default" else {"timeout": timeout}
        try:
            response = await self._http.request(
                method, path, params=params, content=content, headers=headers, **extra
            )
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code >= 400:
            raise _error_from(response, subject)
        return response.content

    def _unreachable(self, exc: httpx.HTTPError) -> FleetError:
        if isinstance(exc, httpx.TimeoutException):
            return StoreUnavailable(f"the fleet daemon at {self.url} did not answer in time")
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ConfigError(f"invalid daemon URL {self.url!r}: {exc}")
        return StoreUnavailable(f"cannot reach the fleet daemon at {self.url}: {exc}")

    def _decode(self, data: bytes, shape: type[Any]) -> Any:
        try:
            return msgspec.json.decode(data, type=shape)
        except msgspec.DecodeError as exc:
            raise StoreError(
                f"unexpected answer from {self.url} (is it a fleet daemon?): {exc}"
            ) from exc

    def _events(self, raws: Sequence[msgspec.Raw]) -> list[Event]:
        try:
            return [decode_event(bytes(raw), self.catalog) for raw in raws]
        except ValidationError as exc:
            raise StoreError(
                f"the fleet daemon at {self.url} sent an invalid event: {exc}"
            ) from exc

    def decode_events(self, raws: Sequence[bytes]) -> list[Event]:
        """Decode recorded events the daemon sent.

        Raises:
            StoreError: an event is not a valid recorded event.
        """
        return self._events([msgspec.Raw(raw) for raw in raws])

    def decode_marker(self, raw: bytes) -> CaughtUp:
        """Decode the data of a ``caught-up`` message.

        Raises:
            StoreError: it is not ``{"position": N}``.
        """
        marker: CaughtUp = self._decode(raw, CaughtUp)
        return marker

    async def live(self) -> bool:
        """Return whether the daemon answers its liveness check.

        Raises:
            StoreUnavailable: it cannot be reached.
        """
        await self._request("GET", "/health/live")
        return True

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent | Payload | JsonPayload],
        expected_version: object = ANY,
        metadata: EventMetadata | None = None,
    ) -> AppendResult:
        """Append events to one stream, atomically; see :meth:`fleet.store.EventStore.append`.

        Payloads are given fresh event ids here, so retrying the same
        :class:`NewEvent` objects after an ambiguous failure is idempotent.

        Raises:
            ValidationError, WrongExpectedVersion, DuplicateEvent: as the store.
            StoreUnavailable: the daemon cannot be reached or its database is down.
        """
        bodies = _event_bodies(events, metadata)
        expected = _expected(expected_version)
        if self._appends is not None:
            return await self._appends.submit(_StreamAppendBody(stream_id, bodies, expected))
        path = f"/streams/{quote(stream_id, safe='')}/events"
        answer = await self._request(
            "POST", path, body=_AppendBody(bodies, expected), subject=stream_id
        )
        result: AppendResult = self._decode(answer, AppendResult)
        return result

    async def _send_appends(
        self, shares: Sequence[_StreamAppendBody]
    ) -> list[AppendResult | BaseException]:
        """One ``POST /appends`` carrying ``shares``; each one's result or error."""
        answer = await self._request("POST", "/appends", body=_AppendsBody(list(shares)))
        outcomes = self._decode(answer, _AppendsAnswer).outcomes
        return [
            outcome.result
            if outcome.result is not None
            else _error_for(outcome.status, outcome.error or _ErrorDetail(), share.stream_id)
            for outcome, share in zip(outcomes, shares, strict=False)
        ]

    async def append_many(self, appends: Sequence[StreamAppend]) -> list[AppendResult]:
        """Append to several streams atomically; see :meth:`fleet.store.EventStore.append_many`."""
        body = _AppendManyBody(
            [
                _StreamAppendBody(
                    item.stream_id,
                    _event_bodies(item.events, None),
                    _expected(item.expected_version),
                )
                for item in appends
            ]
        )
        subject = appends[0].stream_id if len(appends) == 1 else None
        answer = await self._request("POST", "/append", body=body, subject=subject)
        results: list[AppendResult] = self._decode(answer, _AppendManyAnswer).results
        return results

    async def read_stream(
        self,
        stream_id: str,
        from_version: int | None = None,
        direction: Literal["forwards", "backwards"] = "forwards",
        limit: int | None = None,
    ) -> StreamPage:
        """Read a page of one stream; see :meth:`fleet.store.EventStore.read_stream`.

        Raises:
            StreamNotFound: the stream has no events.
        """
        params: dict[str, str | int] = {"direction": direction}
        if from_version is not None:
            params["from_version"] = from_version
        if limit is not None:
            params["limit"] = limit
        path = f"/streams/{quote(stream_id, safe='')}"
        answer = await self._request("GET", path, params=params, subject=stream_id)
        page: _StreamAnswer = self._decode(answer, _StreamAnswer)
        return StreamPage(page.stream_id, self._events(page.events), page.next_version)

    async def read_all(
        self, from_position: int = 0, limit: int | None = None, *, where: LogFilter | None = None
    ) -> LogPage:
        """Read a page of the global log after ``from_position``; see
        :meth:`fleet.store.EventStore.read_all`.

        Raises:
            ValidationError: a bad position or limit, or ``where`` is not a
                :class:`~fleet.store.LogFilter`.
        """
        log_filter = check_filter(where)
        params = _filter_params(log_filter)
        params["from_position"] = from_position
        if limit is not None:
            params["limit"] = limit
        for name, value in (
            ("recorded_after", log_filter.recorded_after),
            ("recorded_before", log_filter.recorded_before),
        ):
            if value is not None:
                params[name] = value
        answer = await self._request("GET", "/events", params=params)
        page: _LogAnswer = self._decode(answer, _LogAnswer)
        return LogPage(self._events(page.events), page.next_position, page.end, page.head)

    async def get_event(self, event_id: str) -> Event:
        """Return one recorded event by id.

        Raises:
            EventNotFound: no event has that id.
        """
        path = f"/events/{quote(event_id, safe='')}"
        answer = await self._request("GET", path, subject=event_id)
        return self._events([msgspec.Raw(answer)])[0]

    async def projection_status(self) -> list[ProjectionStatus]:
        """Where each of the daemon's read models stands (``GET /projections``)."""
        answer = await self._request("GET", "/projections")
        found: _ProjectionsAnswer = self._decode(answer, _ProjectionsAnswer)
        return found.projections

    async def rebuild_projection(self, name: str) -> RebuildReport:
        """Have the daemon rebuild one read model; returns when it is done.

        Raises:
            ProjectionNotFound: the daemon has no projection of that name.
        """
        path = f"/projections/{quote(name, safe='')}/rebuild"
        answer = await self._request("POST", path, subject=name, timeout=None)
        report: RebuildReport = self._decode(answer, RebuildReport)
        return report

    async def delete_stream(
        self, stream_id: str, *, hard: bool = False, expected_version: object = ANY
    ) -> DeleteResult:
        """Delete a stream; see :meth:`fleet.store.EventStore.delete_stream`.

        Raises:
            StreamNotFound, StreamDeleted, WrongExpectedVersion: as the store.
        """
        params: dict[str, str | int] = {"hard": "true" if hard else "false"}
        params["expected_version"] = describe_expected(validate_expected_version(expected_version))
        path = f"/streams/{quote(stream_id, safe='')}"
        answer = await self._request("DELETE", path, params=params, subject=stream_id)
        result: DeleteResult = self._decode(answer, DeleteResult)
        return result

    async def stream_metadata(self, stream_id: str) -> StreamMetadata:
        """A stream's version and settings; see :meth:`fleet.store.EventStore.stream_metadata`."""
        path = f"/streams/{quote(stream_id, safe='')}/metadata"
        answer = await self._request("GET", path, subject=stream_id)
        found: StreamMetadata = self._decode(answer, StreamMetadata)
        return found

    async def set_stream_metadata(self, stream_id: str, **settings: Any) -> StreamMetadata:
        """Save settings of a stream; see :meth:`fleet.store.EventStore.set_stream_metadata`.

        ``settings`` are the keyword arguments of the store's method; ``None``
        clears a limit.
        """
        path = f"/streams/{quote(stream_id, safe='')}/metadata"
        body = _SettingsBody(**settings)
        answer = await self._request("PUT", path, body=body, subject=stream_id)
        found: StreamMetadata = self._decode(answer, StreamMetadata)
        return found

    async def scavenge(self, *, batch_size: int | None = None) -> ScavengeReport:
        """Have the daemon scavenge its database; returns the report when it is done."""
        params = None if batch_size is None else {"batch_size": batch_size}
        answer = await self._request("POST", "/scavenge", params=params, timeout=None)
        report: ScavengeReport = self._decode(answer, ScavengeReport)
        return report

    async def head_position(self) -> int:
        """Return the position of the newest event (0 for an empty log)."""
        answer = await self._request("GET", "/events", params={"limit": 1})
        page: _LogAnswer = self._decode(answer, _LogAnswer)
        return page.head

    @asynccontextmanager
    async def subscribe(
        self, from_position: int | None = None, *, where: LogFilter | None = None
    ) -> AsyncIterator[RemoteSubscription]:
        """Follow the log through the daemon's Server-Sent Events; see
        :meth:`fleet.store.EventStore.subscribe` (without durable names).

        The daemon filters by every condition of ``where`` but the recording
        times, which are tested here (:meth:`~fleet.store.LogFilter.matches`);
        either way only matching events are handed over.

        The connection is not re-opened when it drops: the error names the
        position to resume after (``from_position``).

        Raises:
            StoreUnavailable: the daemon cannot be reached, stops sending (not
                even its keep-alive comments) for ``SSE_SILENCE_S`` seconds, or
                ends the stream.
            ValidationError: a bad position, or ``where`` is not a
                :class:`~fleet.store.LogFilter`.
        """
        log_filter = check_filter(where)
        params = _filter_params(log_filter)
        params["from_position"] = from_position or 0
        headers = {"Accept": "text/event-stream"}
        timeout = httpx.Timeout(self._http.timeout.connect, read=SSE_SILENCE_S)
        try:
            async with self._http.stream(
                "GET", "/subscribe", params=params, headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _error_from(response, None)
                subscription = RemoteSubscription(self, response, from_position or 0, log_filter)
                try:
                    yield subscription
                finally:
                    await subscription.aclose()
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc


class RemoteSubscription:
    """A subscription served by a daemon; iterate it like :class:`fleet.store.Subscription`.

    ``async for item in subscription`` gives events and one
    :class:`~fleet.store.CaughtUp`; ``batches()`` gives lists of the events
    that arrived together. One consumer at a time.

    Attributes:
        position: the position of the last event handed over (or of the
            caught-up marker, which moves past events the filters skipped).
        caught_up: whether the backlog has been delivered.
    """

    def __init__(
        self,
        client: FleetClient,
        response: httpx.Response,
        start: int,
        where: LogFilter = _WHOLE_LOG,
    ) -> None:
        self.position = start
        self.caught_up = False
        self._client = client
        self._where = None if where.matches_all else where
        self._response = response
        self._parser = SseParser()
        self._ready: deque[Event | CaughtUp] = deque()
        self._chunks = cast(AsyncGenerator[bytes, None], response.aiter_bytes())

    def __aiter__(self) -> RemoteSubscription:
        return self

    async def __anext__(self) -> Event | CaughtUp:
        """The next event, or the caught-up marker."""
        while not self._ready:
            self._ready.extend(await self._receive())
        return self._hand_over(self._ready.popleft())

    def batches(self, max_events: int = 1000) -> AsyncIterator[list[Event]]:
        """Deliver events in lists of at most ``max_events`` (never empty).

        Raises:
            ValueError: ``max_events`` is less than 1.
        """
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, not {max_events}")
        return _RemoteBatches(self, max_events)

    async def next_batch(self, max_events: int) -> list[Event]:
        """The next non-empty list of at most ``max_events`` events (waits for them)."""
        events: list[Event] = []
        while not events:
            if not self._ready:
                self._ready.extend(await self._receive())
            while self._ready and len(events) < max_events:
                item = self._hand_over(self._ready.popleft())
                if isinstance(item, Event):
                    events.append(item)
        return events

    async def aclose(self) -> None:
        """Close the stream (the ``subscribe`` block does this on exit).

        The response is closed first, then its byte iterator is run to its end,
        so httpx's nested generators finish instead of being abandoned.
        """
        await self._response.aclose()
        with contextlib.suppress(httpx.HTTPError, anyio.ClosedResourceError):
            async for _ in self._chunks:
                pass

    def _hand_over(self, item: Event | CaughtUp) -> Event | CaughtUp:
        if isinstance(item, CaughtUp):
            self.caught_up = True
        self.position = max(self.position, item.position)
        return item

    async def _receive(self) -> list[Event | CaughtUp]:
        """What the next chunk from the network completes (possibly nothing)."""
        try:
            chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            raise StoreUnavailable(
                f"the fleet daemon at {self._client.url} ended the event stream; "
                f"resume after position {self.position}"
            ) from None
        items: list[Event | CaughtUp] = []
        for message in self._parser.feed_bytes(chunk):
            if message.event == "event":
                events = self._client.decode_events([message.data.encode()])
                where = self._where
                items.extend(e for e in events if where is None or where.matches(e))
            elif message.event == "caught-up":
                items.append(self._client.decode_marker(message.data.encode()))
            elif message.event == "error":
                raise _error_in_stream(message.data)
        return items


class _RemoteBatches:
    def __init__(self, subscription: RemoteSubscription, max_events: int) -> None:
        self._subscription = subscription
        self._max_events = max_events

    def __aiter__(self) -> _RemoteBatches:
        return self

    async def __anext__(self) -> list[Event]:
        return await self._subscription.next_batch(self._max_events)


def _filter_params(where: LogFilter) -> dict[str, str | int]:
    """The query parameters of ``where`` that ``GET /events`` and ``GET /subscribe`` share."""
    params: dict[str, str | int] = {}
    if where.event_types:
        params["event_types"] = ",".join(where.event_types)
    if where.stream_prefix is not None:
        params["stream_prefix"] = where.stream_prefix
    if where.correlation_id is not None:
        params["correlation_id"] = where.correlation_id
    return params
