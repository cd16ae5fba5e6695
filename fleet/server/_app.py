"""The ASGI application: Starlette routes built from the operation table, wrapped in the middleware.

The routes are the store's operations and those of the read models the
application is given (:class:`~fleet.server.ReadModelApi`).

Layers, outside in: :class:`~fleet.server._middleware.RequestLog` (request
id, log line, metrics, last-resort 500), :class:`~fleet.server._middleware.BearerAuth`,
then Starlette, whose exception handlers turn every refusal into the error
body (see :mod:`fleet.server._errors`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from fleet.errors import FleetError
from fleet.server._endpoints import Endpoints
from fleet.server._errors import Refusal, error_reply
from fleet.server._http import error_response
from fleet.server._middleware import BearerAuth, RequestLog, note_logged
from fleet.server._openapi import openapi_json
from fleet.server._operations import with_operations
from fleet.server._read_models import ReadModelApi
from fleet.server._service import Service

__all__ = ["create_app"]

_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed"}
_log = structlog.get_logger(component="http")


async def _refused(request: Request, exc: Exception) -> Response:
    """Answer a refusal, or an unexpected error with ``500``, logged at ``error`` with its
    traceback and the request id the body carries.

    Starlette raises an unexpected error again once it is answered; it is marked
    as logged, so that :class:`RequestLog` does not log its traceback a second time.
    """
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(exc.status_code, "bad_request")
        if exc.status_code == 404:
            message = f"no such route: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            message = f"method {request.method} is not allowed on {request.url.path}; use {allowed}"
        else:
            message = exc.detail
        exc = Refusal(exc.status_code, code, message, headers=exc.headers)
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    reply = error_reply(exc, request_id)
    if reply.status >= 500 and reply.code == "internal_error":
        _log.error(
            "unexpected error",
            method=request.method,
            path=request.url.path,
            request_id=request_id,
            exc_info=exc,
        )
        note_logged(request.scope, exc)
    return error_response(reply)


def create_app(service: Service, read_models: ReadModelApi | None = None) -> ASGIApp:
    """Return the API as an ASGI application serving ``service``'s store.

    The application does not own the store: open the store and the service
    first (see :func:`fleet.server.open_service`) and keep them open while it serves.

    Args:
        service: the shared state of the API.
        read_models: read models whose operations are served besides the
            store's, and whose projections the ``/projections`` operations know
            (when ``service`` has no runner of its own). The document at
            ``/openapi.json`` describes exactly what is served.

    Raises:
        ValueError: a read-model operation has the name or route of another.
    """
    read_models = read_models or ReadModelApi()
    document = openapi_json(service.store.catalog, read_models)
    endpoints = Endpoints(service, document, read_models)
    routes = []
    operations = with_operations([op.operation() for op in read_models.operations])
    for op in operations:
        handler: Callable[[Request], Awaitable[Response]] = endpoints.handler(op.name)
        routes.append(Route(op.path, handler, methods=[op.method], name=op.name))
    handlers: dict[object, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _refused,
        FleetError: _refused,
        Refusal: _refused,
        Exception: _refused,
    }
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False
    public = [op.path for op in operations if op.public]
    return RequestLog(BearerAuth(app, service.config.token, public), service.metrics)
