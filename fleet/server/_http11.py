"""Malformed HTTP/1.1 answered with Fleet's error body, not an empty one.

A request that is not valid HTTP/1.1 (a garbage request line, a
``Content-Length`` that is not a number, headers beyond the server's limit)
never reaches the application: hypercorn answers it itself, with an empty
body. :func:`error_bodies` makes hypercorn's HTTP/1.1 protocol answer such a
request with the documented shape ``{"error": {"code", "message",
"problems"}}`` instead, status unchanged (400, or 431 for oversized headers).

Hypercorn has no setting for this; the protocol class it builds for each
connection is replaced for as long as the block runs, in this process, which
is why only the daemon uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import h11
import hypercorn.protocol
import msgspec
from hypercorn.protocol.h11 import H11Protocol

from fleet.server._errors import Refusal, error_reply

__all__ = ["error_bodies"]

_WHY: Final = {
    431: ("headers_too_large", "the request headers are larger than the server accepts"),
}
_DEFAULT: Final = ("bad_request", "the request is not valid HTTP/1.1")


class _H11WithErrorBodies(H11Protocol):
    """Hypercorn's HTTP/1.1 protocol, answering malformed requests with an error body."""

    async def _send_error_response(self, status_code: int) -> None:
        code, message = _WHY.get(status_code, _DEFAULT)
        reply = error_reply(Refusal(status_code, code, message, [("request", message)]))
        body = msgspec.json.encode(reply.body)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *self.config.response_headers("h11"),
        ]
        await self._send_h11_event(h11.Response(status_code=status_code, headers=headers))
        await self._send_h11_event(h11.Data(data=body))
        await self._send_h11_event(h11.EndOfMessage())


_users = 0
"""Blocks of :func:`error_bodies` running now (several daemons may serve in one process)."""


@contextmanager
def error_bodies() -> Iterator[None]:
    """Within the block, hypercorn answers malformed HTTP/1.1 with Fleet's error body."""
    global _users
    _users += 1
    hypercorn.protocol.H11Protocol = _H11WithErrorBodies  # type: ignore[attr-defined]
    try:
        yield
    finally:
        _users -= 1
        if _users == 0:
            hypercorn.protocol.H11Protocol = H11Protocol  # type: ignore[attr-defined]
