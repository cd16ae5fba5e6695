"""Errors as HTTP answers: one table from exception to status, code and body.

Every refusal the API gives has the body ``{"error": {"code", "message",
"problems": [{"path", "message"}]}}``. :func:`error_reply` is the one place
that decides the status of an exception; it is pure.

========================  ======  ==========================  ===========================
raised                    status  code                        notes
========================  ======  ==========================  ===========================
WrongExpectedVersion      409     ``wrong_expected_version``  ``expected`` and ``actual``
ConcurrencyError          409     ``conflict``                the stream kept moving
DuplicateEvent            409     ``duplicate_event``         ``event_ids``
InvalidTransition         422     ``invalid_transition``
ValidationError           422     ``validation_failed``       ``problems``
StreamDeleted (hard)      410     ``stream_deleted``          tombstoned: gone for good
StreamDeleted (soft)      404     ``stream_deleted``          an append recreates it
NotFound                  404     ``not_found``
StoreUnavailable          503     ``unavailable``             ``Retry-After``
StoreClosed               503     ``unavailable``             ``Retry-After``
AppendFailed              503     ``unavailable``             ``Retry-After``
CommitUnknown             503     ``unavailable``             ``Retry-After``; resend with
                                                              the same event ids
SchemaError               503     ``unavailable``             ``Retry-After``
Refusal                   its own                             raised by the HTTP layer
anything else             500     ``internal_error``          ``request_id``; logged with
                                                              its traceback and that id
========================  ======  ==========================  ===========================

:class:`Refusal` is the HTTP layer's own refusal (malformed JSON, a body too
large, an unknown route, a missing token); it never leaves this package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import msgspec

from fleet.errors import (
    AppendFailed,
    CommitUnknown,
    ConcurrencyError,
    DuplicateEvent,
    InvalidTransition,
    NotFound,
    SchemaError,
    StoreClosed,
    StoreUnavailable,
    StreamDeleted,
    ValidationError,
    WrongExpectedVersion,
)
from fleet.server._schemas import ErrorBody, ErrorDetail, Problem

__all__ = [
    "RETRY_AFTER_S",
    "ErrorReply",
    "Refusal",
    "error_reply",
    "problem_from_decode_error",
]

RETRY_AFTER_S: Final = 1
"""Seconds a client is asked to wait before retrying after a 503."""

_UNAVAILABLE: Final = (StoreUnavailable, StoreClosed, AppendFailed, CommitUnknown, SchemaError)


class Refusal(Exception):
    """A request the HTTP layer refuses by itself (the status and code are given).

    Args:
        status: the HTTP status, 4xx.
        code: the snake_case error code.
        message: one line for a human.
        problems: ``(path, why)`` pairs naming what is wrong.
        headers: extra response headers (``Allow``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        problems: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.problems = tuple(problems)
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """The status, body and headers that answer one exception."""

    status: int
    body: ErrorBody
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        """The error code of the body."""
        return self.body.error.code


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _problems(pairs: Sequence[tuple[str, str]]) -> list[Problem]:
    return [Problem(path, message) for path, message in pairs]


def error_reply(exc: BaseException, request_id: str | None = None) -> ErrorReply:
    """Decide how an exception is answered (see the module's table).

    ``request_id`` goes into the body of a ``500``, so that the client can
    name the request whose traceback the daemon logged.
    """
    message = _one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, Refusal):
        detail = ErrorDetail(exc.code, message, _problems(exc.problems))
        return ErrorReply(exc.status, ErrorBody(detail), dict(exc.headers))
    if isinstance(exc, WrongExpectedVersion):
        detail = ErrorDetail(
            "wrong_expected_version",
            message,
            [Problem("expected_version", message)],
            expected=exc.expected,
            actual=exc.actual,
        )
        return ErrorReply(409, ErrorBody(detail))
    if isinstance(exc, ConcurrencyError):
        detail = ErrorDetail("conflict", message, [Problem("stream_id", message)])
        return ErrorReply(409, ErrorBody(detail))
    if isinstance(exc, DuplicateEvent):
        ids = list(exc.event_ids)
        problems = [Problem("event_id", f"{event_id} is already stored") for event_id in ids]
        detail = ErrorDetail("duplicate_event", message, problems, event_ids=ids)
        return ErrorReply(409, ErrorBody(detail))
    if isinstance(exc, InvalidTransition):
        detail = ErrorDetail("invalid_transition", message, [Problem("events", message)])
        return ErrorReply(422, ErrorBody(detail))
    if isinstance(exc, ValidationError):
        problems = _problems(exc.problems) or [Problem("request", message)]
        return ErrorReply(422, ErrorBody(ErrorDetail("validation_failed", message, problems)))
    if isinstance(exc, StreamDeleted):
        status = 410 if exc.hard else 404
        return ErrorReply(status, ErrorBody(ErrorDetail("stream_deleted", message)))
    if isinstance(exc, NotFound):
        return ErrorReply(404, ErrorBody(ErrorDetail("not_found", message)))
    if isinstance(exc, _UNAVAILABLE):
        detail = ErrorDetail("unavailable", message)
        return ErrorReply(503, ErrorBody(detail), {"Retry-After": str(RETRY_AFTER_S)})
    shown = f" under request id {request_id}" if request_id else ""
    detail = ErrorDetail(
        "internal_error",
        f"internal error; the daemon log has the details{shown}",
        request_id=request_id if request_id else msgspec.UNSET,
    )
    return ErrorReply(500, ErrorBody(detail))


_AT: Final = " - at `"


def problem_from_decode_error(exc: msgspec.ValidationError, root: str = "") -> tuple[str, str]:
    """Return ``(path, why)`` for a msgspec validation error.

    msgspec says ``"<why> - at `$.events[0]`"``; the path becomes
    ``events[0]`` (prefixed with ``root.`` when a root is given). Without a
    location the path is ``root`` (or ``"body"``).
    """
    why, sep, where = str(exc).rpartition(_AT)
    if not sep:
        return root or "body", str(exc)
    path = where.removesuffix("`").removeprefix("$").removeprefix(".")
    if root:
        path = f"{root}.{path}" if path and not path.startswith("[") else root + path
    return path or "body", why
