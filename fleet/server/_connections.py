"""Every write to a client ends in bounded time; a connection that cannot be written is aborted.

Hypercorn writes each piece of a response to the socket with the write
shielded from cancellation, and without a deadline. A client that leaves a
reply unread (a page of ``GET /events``, a subscription stream) keeps that
write waiting for as long as it neither reads nor closes: the connection, its
file descriptor, the response and its request's task stay, and the daemon
never finishes shutting down, since hypercorn waits for every connection.

:func:`bounded_writes` gives every write of one daemon's connections, over
HTTP/1.1 and HTTP/2 alike, a deadline:

* ``server.stream_send_timeout_s`` after it began, for a client that reads
  nothing (the write is still shielded from the request's own cancellation,
  so a response the client does read is never cut short);
* the end of the grace period once the daemon shuts down
  (:meth:`Writes.end_by`), for the writes then waiting and those that follow.

A write past its deadline has left the connection in an unknown state: the
connection is aborted (reset, so the kernel drops the data the client never
took) and its socket closed at once, and the daemon logs why. The request
sees its client go away (``http.disconnect``).

A write may also meet the connection being shut down by its reading task (a
client that reads a reply and closes at once): trio refuses the second user of
the socket, and the connection, already finishing, is let go quietly.

Hypercorn has no setting for any of this; the TCP server class it builds for
each connection is replaced for as long as the block runs, in this process,
which is why only the daemon uses it.
"""

from __future__ import annotations

import math
import socket
import struct
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Final

import hypercorn.config
import hypercorn.trio.run
import trio
from hypercorn.events import Closed, Event, RawData
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import AppWrapper, LifespanState

from fleet.logging import get_logger

__all__ = ["Writes", "bounded_writes"]

_LOG: Final = get_logger("http")
_RESET: Final = struct.pack("ii", 1, 0)
"""``SO_LINGER`` on, zero seconds: closing the socket resets the connection."""


class Writes:
    """The deadlines of one daemon's writes to its clients.

    Args:
        timeout: longest one write may wait for a client that does not read.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._end = math.inf
        self._waiting: set[trio.CancelScope] = set()

    def end_by(self, deadline: float) -> None:
        """Make the writes waiting now, and every later one, end by ``deadline``
        (``trio.current_time()`` clock) at the latest."""
        self._end = min(self._end, deadline)
        for scope in self._waiting:
            scope.deadline = min(scope.deadline, self._end)

    async def write(self, stream: trio.abc.Stream, data: bytes) -> str | None:
        """Write ``data`` to ``stream`` within the deadline, shielded from the caller's
        cancellation.

        Returns:
            ``None`` once the client took it; otherwise why the connection is
            over: ``""`` when it was closed or broken already, or the reason it
            must be aborted.
        """
        deadline = min(trio.current_time() + self.timeout, self._end)
        with trio.CancelScope(shield=True, deadline=deadline) as scope:
            self._waiting.add(scope)
            try:
                await stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, trio.BusyResourceError):
                return ""
            finally:
                self._waiting.discard(scope)
        if not scope.cancelled_caught:
            return None
        if trio.current_time() >= self._end:
            return "the grace period of the shutdown (server.shutdown_grace_s) ended"
        return f"the client read nothing for {self.timeout:g} s (server.stream_send_timeout_s)"


_writes: weakref.WeakKeyDictionary[hypercorn.config.Config, Writes] = weakref.WeakKeyDictionary()
"""The bounds of the daemons serving now, by the hypercorn settings each serves with."""


class _BoundedTCPServer(TCPServer):
    """Hypercorn's TCP server, writing within the deadlines of its daemon's :class:`Writes`."""

    def __init__(
        self,
        app: AppWrapper,
        config: hypercorn.config.Config,
        context: WorkerContext,
        state: LifespanState,
        stream: trio.SSLStream[trio.SocketStream],
    ) -> None:
        super().__init__(app, config, context, state, stream)
        self._writes = _writes.get(config)

    async def protocol_send(self, event: Event) -> None:
        writes = self._writes
        if writes is None or not isinstance(event, RawData):
            await super().protocol_send(event)
            return
        async with self.send_lock:
            why = await writes.write(self.stream, event.data)
            if why is None:
                return
            if why:
                self._abort(why)
            await self.protocol.handle(Closed())

    def _abort(self, why: str) -> None:
        """Reset the connection and close its socket now (the reading task wakes up)."""
        stream: trio.abc.Stream = self.stream
        if isinstance(stream, trio.SSLStream):
            stream = stream.transport_stream
        if not isinstance(stream, trio.SocketStream):
            return
        with suppress(OSError):
            stream.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        client = self.protocol.client if hasattr(self, "protocol") else None
        stream.socket.close()
        _LOG.info("connection aborted", client=_address(client), reason=why)


def _address(client: tuple[str, int] | None) -> str | None:
    return None if client is None else f"{client[0]}:{client[1]}"


_users = 0
"""Blocks of :func:`bounded_writes` running now (several daemons may serve in one process)."""


@contextmanager
def bounded_writes(config: hypercorn.config.Config, timeout: float) -> Iterator[Writes]:
    """Within the block, hypercorn serving with ``config`` gives each write to a client
    ``timeout`` seconds, and :meth:`Writes.end_by` ends them all by a deadline."""
    global _users
    writes = _writes[config] = Writes(timeout)
    _users += 1
    hypercorn.trio.run.TCPServer = _BoundedTCPServer  # type: ignore[attr-defined]
    try:
        yield writes
    finally:
        _users -= 1
        if _users == 0:
            hypercorn.trio.run.TCPServer = TCPServer  # type: ignore[attr-defined]
        del _writes[config]
