"""Every operation of the HTTP API, declared once.

The table :data:`OPERATIONS` is what the router is built from and what the
OpenAPI document is generated from, so the two cannot disagree; the
read-model operations a daemon is given
(:class:`~fleet.server._read_models.ReadOperation`) join them in both. Each
operation names its query parameters as a msgspec Struct (decoded from the
query string with ``forbid_unknown_fields``), its request and response body
types and the error statuses it can answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import msgspec

from fleet.core import CATEGORY_PATTERN, LARGEST_STORED_INT
from fleet.db import ScavengeReport
from fleet.projections import ProjectionErrorList, RebuildReport
from fleet.server._scavenge import ScavengeQuery, ScavengeStatus
from fleet.server._schemas import (
    AppendManyDoc,
    AppendManyResultBody,
    AppendsDoc,
    AppendsResultBody,
    AppendToStreamDoc,
    EventsPage,
    HealthBody,
    LiveBody,
    ProjectionsBody,
    StreamEventsPage,
    StreamSettingsBody,
    StreamsPage,
)
from fleet.store import AppendResult, DeleteResult, StreamMetadata
from fleet.wire import WireEvent

__all__ = [
    "OPERATIONS",
    "EventsQuery",
    "NoQuery",
    "Operation",
    "ProjectionErrorsQuery",
    "ReadStreamQuery",
    "StreamsQuery",
    "SubscribeQuery",
    "with_operations",
]

_EPOCH_MS: Final = "epoch milliseconds"
_PAGE: Final = msgspec.Meta(ge=1, description="page size (default: the maximum)")


CategoryName = Annotated[str, msgspec.Meta(pattern=f"^{CATEGORY_PATTERN}$")]
"""The name of a stream category (whether the catalog has it is checked by the store)."""
_ONE_CATEGORY: Final = msgspec.Meta(description="only streams of one category")


class NoQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """No query parameters."""


class ReadStreamQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /streams/{stream_id}``."""

    from_version: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1,
                le=LARGEST_STORED_INT,
                description="first version to return (default: first, or last backwards)",
            ),
        ]
        | None
    ) = None
    direction: Literal["forwards", "backwards"] = "forwards"
    limit: Annotated[int, _PAGE] | None = None


class DeleteStreamQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``DELETE /streams/{stream_id}``."""

    hard: Annotated[
        bool,
        msgspec.Meta(
            description="delete for good: the stream can never be read or written again "
            "(default: a soft delete, which an append undoes by starting the stream again)"
        ),
    ] = False
    expected_version: Annotated[
        int | Literal["any"],
        msgspec.Meta(description="`any`, or the stream's exact current version"),
    ] = "any"


class StreamsQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /streams``."""

    prefix: Annotated[CategoryName | None, _ONE_CATEGORY] = None
    after: Annotated[
        str | None, msgspec.Meta(description="continue after this stream id (`next_after`)")
    ] = None
    limit: Annotated[int, _PAGE] | None = None


class EventsQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /events``."""

    from_position: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=LARGEST_STORED_INT,
            description="continue after this position (`next_position`)",
        ),
    ] = 0
    limit: Annotated[int, _PAGE] | None = None
    event_types: Annotated[
        str | None, msgspec.Meta(description="comma-separated event types, e.g. A,B")
    ] = None
    stream_prefix: Annotated[CategoryName | None, _ONE_CATEGORY] = None
    correlation_id: str | None = None
    recorded_after: (
        Annotated[
            int,
            msgspec.Meta(
                ge=0, le=LARGEST_STORED_INT, description=f"recorded at or after ({_EPOCH_MS})"
            ),
        ]
        | None
    ) = None
    recorded_before: (
        Annotated[
            int,
            msgspec.Meta(ge=0, le=LARGEST_STORED_INT, description=f"recorded before ({_EPOCH_MS})"),
        ]
        | None
    ) = None


class SubscribeQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /subscribe`` (the ``Last-Event-ID`` header overrides ``from_position``)."""

    from_position: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=LARGEST_STORED_INT,
            description="deliver events after this position, at most the head of the log "
            "(a later one is refused: 422)",
        ),
    ] = 0
    event_types: Annotated[
        str | None, msgspec.Meta(description="comma-separated event types, e.g. A,B")
    ] = None
    stream_prefix: Annotated[CategoryName | None, _ONE_CATEGORY] = None
    correlation_id: str | None = None


class ProjectionErrorsQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /projections/{name}/errors``."""

    after: (
        Annotated[
            int,
            msgspec.Meta(
                ge=0,
                le=LARGEST_STORED_INT,
                description="continue after this position (`next_after`)",
            ),
        ]
        | None
    ) = None
    limit: Annotated[int, _PAGE] | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path.

    Attributes:
        name: the handler's name and the OpenAPI ``operationId``.
        method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
        path: a Starlette path template (``/streams/{stream_id}``).
        summary: one line for the document.
        query: the query parameters' Struct.
        body: the request body's type (``None``: no body).
        response: the 200 body's type, or a media type string for a non-JSON body.
        errors: statuses besides 200 that the operation can answer.
        public: true when no bearer token is ever required.
    """

    name: str
    method: str
    path: str
    summary: str
    query: type[msgspec.Struct] = NoQuery
    body: Any = None
    response: Any = None
    errors: tuple[int, ...] = ()
    public: bool = False


_READ: Final = (401, 422, 503)
_APPEND: Final = (400, 401, 408, 409, 410, 413, 422, 503)

OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation(
        "health_live",
        "GET",
        "/health/live",
        "Liveness: the process answers (never needs the token).",
        response=LiveBody,
        public=True,
    ),
    Operation(
        "health_ready",
        "GET",
        "/health/ready",
        "Readiness: the database is reachable, migrated and intact (503 when not).",
        response=HealthBody,
        errors=(401, 503),
    ),
    Operation(
        "metrics",
        "GET",
        "/metrics",
        "Prometheus metrics in the text exposition format.",
        response="text/plain",
        errors=(401,),
    ),
    Operation(
        "openapi",
        "GET",
        "/openapi.json",
        "This OpenAPI document.",
        response="application/json",
        errors=(401,),
    ),
    Operation(
        "append_to_stream",
        "POST",
        "/streams/{stream_id}/events",
        "Append events to one stream, atomically, checking its expected version.",
        body=AppendToStreamDoc,
        response=AppendResult,
        errors=_APPEND,
    ),
    Operation(
        "append_many",
        "POST",
        "/append",
        "Append to several streams atomically: every share commits, or none does.",
        body=AppendManyDoc,
        response=AppendManyResultBody,
        errors=_APPEND,
    ),
    Operation(
        "appends",
        "POST",
        "/appends",
        "Many independent appends in one request (up to 1,000): each commits or fails on "
        "its own and gets its own outcome, with the status and error it would have had "
        "alone. How a client sends many appends over one connection.",
        body=AppendsDoc,
        response=AppendsResultBody,
        errors=(400, 401, 408, 413, 422, 503),
    ),
    Operation(
        "list_streams",
        "GET",
        "/streams",
        "List streams with their versions, in id order, paged.",
        query=StreamsQuery,
        response=StreamsPage,
        errors=_READ,
    ),
    Operation(
        "read_stream",
        "GET",
        "/streams/{stream_id}",
        "Read a page of one stream, forwards or backwards; only the events its retention "
        "settings keep visible (404 when soft-deleted, 410 when hard-deleted). A page ends "
        "early rather than pass `server.page_bytes` of event data.",
        query=ReadStreamQuery,
        response=StreamEventsPage,
        errors=(404, 410, *_READ),
    ),
    Operation(
        "delete_stream",
        "DELETE",
        "/streams/{stream_id}",
        "Delete a stream: soft (reads answer 404 until an append starts it again) or, "
        "with `hard=true`, for good (410 ever after). A `$deleted` event records it in "
        "the log; `fleet db scavenge` removes the stream's events.",
        query=DeleteStreamQuery,
        response=DeleteResult,
        errors=(404, 409, 410, *_READ),
    ),
    Operation(
        "read_events",
        "GET",
        "/events",
        "Read a page of the global log after a position, with filters. A page ends early "
        "rather than pass `server.page_bytes` of event data.",
        query=EventsQuery,
        response=EventsPage,
        errors=_READ,
    ),
    Operation(
        "get_event",
        "GET",
        "/events/{event_id}",
        "One recorded event by id.",
        response=WireEvent,
        errors=(404, *_READ),
    ),
    Operation(
        "subscribe",
        "GET",
        "/subscribe",
        "Follow the global log as Server-Sent Events: the backlog after a position, "
        "a caught-up marker, then live events; resumes after Last-Event-ID. A start "
        "position past the head of the log is refused: 400 for Last-Event-ID, 422 for "
        "from_position.",
        query=SubscribeQuery,
        response="text/event-stream",
        errors=(400, *_READ),
    ),
    Operation(
        "stream_metadata",
        "GET",
        "/streams/{stream_id}/metadata",
        "A stream's version and saved settings (404: neither events nor settings).",
        response=StreamMetadata,
        errors=(404, *_READ),
    ),
    Operation(
        "set_stream_metadata",
        "PUT",
        "/streams/{stream_id}/metadata",
        "Save a stream's settings; those not given keep their value. Returns them all. "
        "Retention settings hold at once for every read of the stream.",
        body=StreamSettingsBody,
        response=StreamMetadata,
        errors=(400, 401, 404, 408, 410, 413, 422, 503),
    ),
    Operation(
        "scavenge",
        "POST",
        "/scavenge",
        "Remove the events retention and deletion released, in bounded batches beside "
        "the appends, and answer with what was removed when done (no request deadline). "
        "One at a time: `409 scavenge_running` while one runs.",
        query=ScavengeQuery,
        response=ScavengeReport,
        errors=(401, 409, 422, 503),
    ),
    Operation(
        "scavenge_status",
        "GET",
        "/scavenge",
        "Whether a scavenge is running, how far it has got, and the last one's report.",
        response=ScavengeStatus,
        errors=(401,),
    ),
    Operation(
        "list_projections",
        "GET",
        "/projections",
        "Every read model: checkpoint position, head, lag, errors and what its lane is doing.",
        response=ProjectionsBody,
        errors=(401, 503),
    ),
    Operation(
        "projection_errors",
        "GET",
        "/projections/{name}/errors",
        "The events a read model could not apply, in position order, paged.",
        query=ProjectionErrorsQuery,
        response=ProjectionErrorList,
        errors=(404, *_READ),
    ),
    Operation(
        "rebuild_projection",
        "POST",
        "/projections/{name}/rebuild",
        "Empty a read model and replay the log into it; answers when done (no request "
        "deadline: the rebuild takes as long as the log is long).",
        response=RebuildReport,
        errors=(401, 404, 503),
    ),
)
"""The operations every daemon serves."""


def with_operations(extra: Sequence[Operation]) -> tuple[Operation, ...]:
    """:data:`OPERATIONS` with ``extra`` placed before the ``/projections`` ones.

    Raises:
        ValueError: an operation of ``extra`` has the name or the path of another.
    """
    names = {op.name for op in OPERATIONS}
    routes = {(op.method, op.path) for op in OPERATIONS}
    for op in extra:
        if op.name in names or (op.method, op.path) in routes:
            raise ValueError(f"operation {op.name} ({op.method} {op.path}) is already served")
        names.add(op.name)
        routes.add((op.method, op.path))
    split = next(i for i, op in enumerate(OPERATIONS) if op.path.startswith("/projections"))
    return (*OPERATIONS[:split], *extra, *OPERATIONS[split:])
