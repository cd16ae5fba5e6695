"""ASGI layers around the router: request ids, logs and metrics outside; the bearer token inside.

:class:`RequestLog` wraps everything: it takes the client's ``X-Request-ID``
(or makes one), echoes it on the response, binds it to every log line of the
request, logs one line per request (method, path, status, duration, request
id) and counts the request by route template and status. An exception that
escapes the application is answered ``500`` when no response has started and
logged with its traceback once: the application's own handler logs the
exceptions it answers and marks them (:func:`note_logged`), and Starlette
raises them again; this layer logs only the others. The daemon keeps serving.

:class:`BearerAuth` refuses (401) a request without the configured token,
except on the public paths (liveness). The comparison takes the same time
whatever the presented token is.
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from collections.abc import Collection
from typing import Final

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet.server._api_metrics import ApiMetrics
from fleet.server._errors import Refusal, error_reply
from fleet.server._http import error_response

__all__ = ["BearerAuth", "RequestLog", "note_logged", "request_id_from"]

_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_UNMATCHED: Final = "unmatched"
_LOGGED: Final = "fleet.logged_exception"
"""Scope key: the exception the application logged with its traceback while answering it."""


def note_logged(scope: Scope, exc: BaseException) -> None:
    """Record that the application logged ``exc`` with its traceback: if it escapes,
    :class:`RequestLog` does not log it again."""
    scope[_LOGGED] = exc


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-ID`` when it is 1-128 safe characters, else a fresh one."""
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class RequestLog:
    """Request ids, one log line and the HTTP metrics for every request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = structlog.get_logger(component="http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        header = (b"x-request-id", request_id.encode("latin-1"))
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        metrics = self.metrics
        metrics.in_flight.inc()
        began = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if scope.get(_LOGGED) is not exc:
                    self.log.exception("request failed", method=scope["method"], path=scope["path"])
                if not started:
                    reply = error_reply(RuntimeError(), request_id)
                    await error_response(reply)(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - began
                metrics.in_flight.dec()
                route = scope.get("route")
                template = getattr(route, "path", _UNMATCHED)
                metrics.requests.labels(scope["method"], template, str(status)).inc()
                metrics.request_seconds.labels(template).observe(seconds)
                emit = self.log.error if status >= 500 else self.log.info
                emit(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round(seconds * 1000, 3),
                )


class BearerAuth:
    """Require ``Authorization: Bearer <token>`` on every path but ``public``."""

    def __init__(self, app: ASGIApp, token: str, public: Collection[str]) -> None:
        self.app = app
        self._token = token.encode("utf-8")
        self._public = frozenset(public)

    def allows(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether the headers carry the token (compared in constant time)."""
        presented = b""
        for name, value in headers:
            if name == b"authorization":
                scheme, _, credentials = value.partition(b" ")
                if scheme.lower() == b"bearer":
                    presented = credentials.strip()
                break
        return hmac.compare_digest(presented, self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self._token
            or scope["path"] in self._public
            or self.allows(scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        refusal = Refusal(
            401,
            "unauthorized",
            "missing or wrong bearer token: send 'Authorization: Bearer <token>'",
            [("Authorization", "missing or wrong bearer token")],
            {"WWW-Authenticate": 'Bearer realm="fleet"'},
        )
        await error_response(error_reply(refusal))(scope, receive, send)
