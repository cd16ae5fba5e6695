"""Small pieces every endpoint uses: bodies read under a limit, typed decoding, JSON answers.

* :func:`read_body` refuses a body larger than the limit while reading it:
  nothing past the limit is kept, let alone parsed.
* :func:`decode_body` separates JSON that is malformed (400
  ``malformed_json``) from JSON of the wrong shape (422 ``validation_failed``,
  with the path of the offending field).
* :func:`parse_query` decodes the query string into the operation's Struct:
  unknown or repeated parameters are refused (a typo is not silently ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import aclosing
from typing import Any, Final, TypeVar

import anyio
import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from fleet.config import ServerConfig
from fleet.errors import ValidationError
from fleet.server._errors import ErrorReply, Refusal, problem_from_decode_error
from fleet.server._json_shape import check_shape

__all__ = [
    "DISCARD_BYTES",
    "JSON",
    "decode_body",
    "error_response",
    "json_response",
    "parse_query",
    "read_body",
    "split_list",
]

JSON: Final = "application/json"
_ENCODER: Final = msgspec.json.Encoder()
_REPEATABLE: Final = frozenset({"event_types"})
DISCARD_BYTES: Final = 16 * 1024 * 1024
"""How much of an oversized body is read and dropped before refusing it."""

S = TypeVar("S", bound=msgspec.Struct)


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Answer with ``body`` encoded by msgspec."""
    return Response(_ENCODER.encode(body), status_code=status, media_type=JSON, headers=headers)


def error_response(reply: ErrorReply) -> Response:
    """Answer with an error reply's status, body and headers."""
    return json_response(reply.body, reply.status, reply.headers)


async def read_body(request: Request, server: ServerConfig) -> bytes:
    """Return the request body, refusing it (413) as soon as it exceeds ``server.max_body_bytes``.

    Nothing past the limit is kept. The rest of an oversized body, up to
    :data:`DISCARD_BYTES`, is read and dropped before the refusal is sent, so a
    client that is still sending receives the 413 rather than a connection
    reset; a larger body is refused at once. The whole body must arrive within
    ``server.body_timeout_s``.

    Raises:
        Refusal: 413 ``body_too_large``; 400 ``bad_request`` for a malformed
            ``Content-Length`` or a client that went away mid-body; 408
            ``body_timeout`` for a body that stalled.
    """
    limit = server.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()):
        raise Refusal(
            400,
            "bad_request",
            f"invalid Content-Length {declared[:40]!r}",
            [("Content-Length", "not a byte count")],
        )
    if declared is not None and int(declared) > limit + DISCARD_BYTES:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    with anyio.move_on_after(server.body_timeout_s) as timer:
        stream = request.stream()
        try:
            async with aclosing(stream):
                async for chunk in stream:
                    size += len(chunk)
                    if size > limit + DISCARD_BYTES:
                        break
                    if size <= limit:
                        chunks.append(chunk)
        except ClientDisconnect:
            raise Refusal(
                400,
                "bad_request",
                "the client closed the connection before the body was complete",
                [("body", f"ended after {size} bytes")],
            ) from None
    if timer.cancelled_caught:
        raise Refusal(
            408,
            "body_timeout",
            f"the request body did not arrive within {server.body_timeout_s:g} s "
            "(server.body_timeout_s)",
            [("body", f"{size} bytes arrived")],
        )
    if size > limit:
        raise _too_large(limit)
    return b"".join(chunks)


def _too_large(limit: int) -> Refusal:
    return Refusal(
        413,
        "body_too_large",
        f"the request body is larger than {limit} bytes (server.max_body_bytes)",
        [("body", f"more than {limit} bytes")],
    )


def decode_body(data: bytes, decoder: msgspec.json.Decoder[S]) -> S:
    """Decode a request body.

    Raises:
        Refusal: 400 ``malformed_json`` when the body is not JSON, is nested
            too deeply or repeats a key in an object (see :mod:`._json_shape`).
        ValidationError: the JSON does not have the expected shape.
    """
    check_shape(data)
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        path, why = problem_from_decode_error(exc)
        raise ValidationError(f"invalid request body: {path}: {why}", [(path, why)]) from exc
    except msgspec.DecodeError as exc:
        raise Refusal(
            400,
            "malformed_json",
            f"the request body is not valid JSON: {exc}",
            [("body", str(exc))],
        ) from exc


def parse_query(request: Request, query_type: type[S]) -> S:
    """Decode the query string into ``query_type``.

    Raises:
        ValidationError: an unknown, repeated or ill-typed parameter (the
            problem's path is the parameter's name).
    """
    values: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in values:
            if key in _REPEATABLE:
                values[key] = f"{values[key]},{value}"
                continue
            why = "given more than once"
            raise ValidationError(f"invalid query: {key}: {why}", [(key, why)])
        values[key] = value
    try:
        return msgspec.convert(values, query_type, strict=False)
    except msgspec.ValidationError as exc:
        path, why = problem_from_decode_error(exc)
        path = "query" if path == "body" else path
        raise ValidationError(f"invalid query: {path}: {why}", [(path, why)]) from exc


def split_list(value: str | None) -> list[str]:
    """``"A,B"`` → ``["A", "B"]``; ``None`` or ``""`` → ``[]`` (no filter)."""
    if not value:
        return []
    return [item.strip() for item in value.split(",")]
