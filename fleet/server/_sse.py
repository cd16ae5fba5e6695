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
and hands them over through a small buffer; the response task sends whatever
is ready, up to ``server.stream_buffer_bytes``, as one chunk, so a backlog goes
out in large writes and a slow client makes the subscription, not the store,
wait. What one stream holds in memory is bounded: one page of the
subscription (:data:`PAGE_EVENTS` events), the buffer (:data:`_BUFFER`
messages) and one chunk. A write that a client leaves unread for
``server.stream_send_timeout_s`` aborts the connection, and the stream ends
(the client resumes with ``Last-Event-ID``); the daemon logs why (see
:mod:`fleet.server._connections`).

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
from anyio.streams.memory import MemoryObjectSendStream
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
_BUFFER: Final = 16
PAGE_EVENTS: Final = 100
"""Events a stream's subscription reads from the database at once while catching up."""
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
        budget = self._service.config.stream_buffer_bytes
        sent = self._service.metrics.sse_messages
        writer, reader = anyio.create_memory_object_stream[bytes](_BUFFER)
        try:
            async with self._subscription as subscription, anyio.create_task_group() as group:
                group.start_soon(_read, subscription, writer)
                async with reader:
                    while True:
                        first: bytes | None = None
                        with anyio.move_on_after(keepalive):
                            first = await reader.receive()
                        if first is None:
                            await send(KEEPALIVE)
                            continue
                        parts = [first]
                        size = len(first)
                        while size < budget:
                            try:
                                part = reader.receive_nowait()
                            except anyio.WouldBlock:
                                break
                            parts.append(part)
                            size += len(part)
                        sent.inc(len(parts))
                        body = b"".join(parts)
                        del parts
                        await send(body)
                        del body
        except Exception as exc:
            _LOG.exception("subscription failed")
            await send(format_error(_leaf(exc)))


def _leaf(exc: Exception) -> Exception:
    """The first exception inside (nested) exception groups."""
    while isinstance(exc, ExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _message(item: Event | CaughtUp) -> bytes:
    return format_caught_up(item) if isinstance(item, CaughtUp) else format_event(item)


async def _read(subscription: Subscription, writer: MemoryObjectSendStream[bytes]) -> None:
    async with writer:
        async for item in subscription:
            await writer.send(_message(item))
