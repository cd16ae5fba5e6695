"""Live subscriptions as Server-Sent Events (``GET /subscribe``).

The stream, once started, carries::

    id: 42                   one recorded event (fleet.wire JSON on one line)
    event: event
    data: {"position": 42, ...}

    id: 57                   once, when the backlog is delivered: every
    event: caught-up         matching event up to 57 was sent; live events follow
    data: {"position": 57}

    : keep-alive             after 15 s without anything to send

An ``id`` is always a global position, so a client that reconnects with the
last ``id`` it saw as ``Last-Event-ID`` resumes exactly after it: nothing is
repeated and nothing is missed (the ``caught-up`` id lets a filtered stream
skip the events it already scanned past). A start position past the head of
the log is refused before the stream starts (400 for ``Last-Event-ID``, 422 for
``from_position``): the events appended next would come before it.

The subscription is read by its own task, which turns events into messages
and hands them over through a buffer of ``server.stream_buffer_bytes``; the
response task sends whatever is ready as one chunk, so a backlog goes out in
large writes and a slow client makes the subscription, not the store, wait.
What one stream holds in memory is bounded in bytes, whatever the size of its
events: one page of the subscription (at most :data:`PAGE_EVENTS` events, and
payloads of at most ``server.stream_buffer_bytes`` unless one event is larger),
the buffer (at most ``server.stream_buffer_bytes`` of messages, and one more
message) and the chunk being written (as much). A write that a client leaves
unread for ``server.stream_send_timeout_s`` aborts the connection, and the
stream ends (the client resumes with ``Last-Event-ID``); the daemon logs why
(see :mod:`fleet.server._connections`).

If the store fails mid-stream, an ``event: error`` with the error body ends the
stream (the client reconnects with ``Last-Event-ID``). The stream also ends
when the client disconnects and when the daemon shuts down.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Final

import anyio
import msgspec
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fleet.events import Event
from fleet.logging import get_logger
from fleet.server._errors import error_reply
from fleet.server._service import Service
from fleet.store import CaughtUp, Subscription
from fleet.wire import encode_event

__all__ = [
    "KEEPALIVE",
    "MEDIA_TYPE",
    "PAGE_EVENTS",
    "EventStream",
    "format_caught_up",
    "format_error",
    "format_event",
]

_ENCODER: Final = msgspec.json.Encoder()
_LOG: Final = get_logger("sse")
PAGE_EVENTS: Final = 100
"""Most events a stream's subscription reads from the database at once while catching up."""
KEEPALIVE: Final = b": keep-alive\n\n"
MEDIA_TYPE: Final = "text/event-stream"
_HEADERS: Final = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


def format_event(event: Event) -> bytes:
    """One recorded event as an SSE message."""
    return b"id: %d\nevent: event\ndata: %b\n\n" % (event.position, encode_event(event))


def format_caught_up(marker: CaughtUp) -> bytes:
    """The ``caught-up`` SSE message."""
    data = _ENCODER.encode({"position": marker.position})
    return b"id: %d\nevent: caught-up\ndata: %b\n\n" % (marker.position, data)


def format_error(exc: Exception) -> bytes:
    """An ``error`` SSE message carrying the error body of ``exc``."""
    return b"event: error\ndata: %b\n\n" % _ENCODER.encode(error_reply(exc).body)


class EventStream(Response):
    """A response that streams one subscription to one client until either goes away."""

    def __init__(
        self, service: Service, subscription: AbstractAsyncContextManager[Subscription]
    ) -> None:
        super().__init__()
        self.raw_headers = list(_HEADERS)
        self._service = service
        self._subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = self.raw_headers
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if scope["method"] == "HEAD":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        finish = True
        async with anyio.create_task_group() as group:

            async def until_disconnect() -> None:
                nonlocal finish
                while (await receive())["type"] != "http.disconnect":
                    pass
                finish = False
                group.cancel_scope.cancel()

            async def until_closing() -> None:
                await self._service.closing.wait()
                group.cancel_scope.cancel()

            group.start_soon(until_disconnect)
            group.start_soon(until_closing)

            async def chunk(body: bytes) -> None:
                await send({"type": "http.response.body", "body": body, "more_body": True})

            metrics = self._service.metrics
            metrics.sse_streams.inc()
            try:
                await self._stream(chunk)
            finally:
                metrics.sse_streams.dec()
            group.cancel_scope.cancel()
        if finish:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        keepalive = self._service.keepalive_s
        sent = self._service.metrics.sse_messages
        buffer = _Buffer(self._service.config.stream_buffer_bytes)
        try:
            async with self._subscription as subscription, anyio.create_task_group() as group:
                group.start_soon(_read, subscription, buffer)
                while True:
                    with anyio.move_on_after(keepalive):
                        await buffer.wait()
                    if not buffer:
                        await send(KEEPALIVE)
                        continue
                    count, body = buffer.take()
                    sent.inc(count)
                    await send(body)
                    del body
        except Exception as exc:
            _LOG.exception("subscription failed")
            await send(format_error(_leaf(exc)))


class _Buffer:
    """Messages on their way from a stream's subscription to its client, bounded by bytes.

    :meth:`put` waits while the buffer holds ``limit`` bytes or more, so it never
    holds more than ``limit`` bytes and one message; :meth:`take` empties it.
    One task puts, another takes.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._filled = anyio.Event()
        self._emptied = anyio.Event()

    def __bool__(self) -> bool:
        return bool(self._parts)

    async def put(self, message: bytes) -> None:
        """Add ``message`` once the buffer holds less than its limit."""
        while self._size >= self._limit:
            self._emptied = anyio.Event()
            await self._emptied.wait()
        self._parts.append(message)
        self._size += len(message)
        self._filled.set()

    async def wait(self) -> None:
        """Return once the buffer holds a message."""
        if not self._parts:
            self._filled = anyio.Event()
            await self._filled.wait()

    def take(self) -> tuple[int, bytes]:
        """Empty the buffer: how many messages it held, and them as one chunk."""
        count, chunk = len(self._parts), b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        self._emptied.set()
        return count, chunk


def _leaf(exc: Exception) -> Exception:
    """The first exception inside (nested) exception groups."""
    while isinstance(exc, ExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _message(item: Event | CaughtUp) -> bytes:
    return format_caught_up(item) if isinstance(item, CaughtUp) else format_event(item)


async def _read(subscription: Subscription, buffer: _Buffer) -> None:
    async for item in subscription:
        await buffer.put(_message(item))
