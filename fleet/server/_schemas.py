"""The JSON bodies of the HTTP API, as msgspec types.

Request bodies are decoded with ``forbid_unknown_fields``; their ``events``
stay raw (:class:`msgspec.Raw`) at this stage and are validated afterwards by
:meth:`fleet.events.Catalog.decode_new_events` of the daemon's catalog, which
checks every event to the end and names each problem's path. The ``*Doc``
types describe the same bodies for the OpenAPI document only, where their
events are spelled out as the catalog's event types; a test keeps their fields
equal to the decoding types'.

Responses reuse the store's own types where they already have the API's
shape (:class:`fleet.store.AppendResult`, :class:`fleet.wire.WireEvent`,
:class:`fleet.db.HealthReport`).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypeAlias, Union

import msgspec

from fleet.core import EVENT_TYPE_PATTERN
from fleet.db import HealthReport
from fleet.events import Catalog, EventMetadata
from fleet.projections import ProjectionStatus
from fleet.store import AppendResult
from fleet.wire import WireEvent

__all__ = [
    "AppendManyBody",
    "AppendManyDoc",
    "AppendManyResultBody",
    "AppendShare",
    "AppendShareDoc",
    "AppendToStreamBody",
    "AppendToStreamDoc",
    "CaughtUpBody",
    "ErrorBody",
    "ErrorDetail",
    "EventsPage",
    "ExpectedVersionWire",
    "HealthBody",
    "LiveBody",
    "NewEventDoc",
    "NewUntypedEvent",
    "Problem",
    "ProjectionsBody",
    "StreamEventsPage",
    "StreamInfo",
    "StreamSettingsBody",
    "StreamsPage",
    "new_event_doc_types",
]

Whole = Annotated[int, msgspec.Meta(ge=0)]

ExpectedVersionWire: TypeAlias = Union[Literal["any", "no_stream", "stream_exists"], Whole]  # noqa: UP007
"""``"any"`` (no check), ``"no_stream"``, ``"stream_exists"`` or the stream's exact version."""

_EXPECTED_DOC: Final = msgspec.Meta(
    description="'any' (no check), 'no_stream', 'stream_exists', or the stream's exact "
    "current version (0 means no stream)"
)


class AppendToStreamBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /streams/{stream_id}/events``."""

    events: msgspec.Raw
    expected_version: ExpectedVersionWire = "any"


class AppendShare(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One stream's share of an atomic multi-stream append."""

    stream_id: str
    events: msgspec.Raw
    expected_version: ExpectedVersionWire = "any"


class AppendManyBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /append``: every share commits, or none does."""

    appends: list[AppendShare]


class AppendManyResultBody(msgspec.Struct, frozen=True):
    """The result of an atomic multi-stream append, one result per share, in order."""

    results: list[AppendResult]


class StreamEventsPage(msgspec.Struct, frozen=True):
    """A page of one stream; ``next_version`` continues it (``null``: the end).

    A page ends early rather than hold more than ``server.page_bytes`` of event
    data (it holds one event at least).
    """

    stream_id: str
    events: list[WireEvent]
    next_version: int | None


class EventsPage(msgspec.Struct, frozen=True):
    """A page of the global log; continue with ``from_position=next_position``.

    ``end`` is true when the page reached the newest event committed so far;
    ``head`` is the position of the newest event in the whole log. A page ends
    early (``end`` false) rather than hold more than ``server.page_bytes`` of
    event data (it holds one event at least).
    """

    events: list[WireEvent]
    next_position: int
    end: bool
    head: int


class StreamInfo(msgspec.Struct, frozen=True):
    """A stream and its current version."""

    stream_id: str
    version: int


class StreamsPage(msgspec.Struct, frozen=True):
    """Streams in id order; continue with ``after=next_after`` (``null``: no more)."""

    streams: list[StreamInfo]
    next_after: str | None


_Limit = Annotated[int, msgspec.Meta(ge=1)]


class StreamSettingsBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /streams/{stream_id}/metadata``: the settings to save; absent ones keep their value.

    Retention settings hold at once for every read of the stream: events
    outside them are gone for its readers (the stream's version does not
    change) and stay in the global log until ``fleet db scavenge`` removes them.
    """

    metadata: Annotated[
        dict[str, Any] | msgspec.UnsetType,
        msgspec.Meta(description="a free-form JSON object (at most 64 KiB encoded)"),
    ] = msgspec.UNSET
    deleted: Annotated[
        bool | msgspec.UnsetType,
        msgspec.Meta(
            description="true soft-deletes the stream, as `DELETE /streams/{stream_id}` "
            "does; a deletion cannot be undone (an append starts the stream again)"
        ),
    ] = msgspec.UNSET
    max_count: Annotated[
        _Limit | msgspec.UnsetType | None,
        msgspec.Meta(description="only the newest this many events stay visible (null: no limit)"),
    ] = msgspec.UNSET
    max_age_s: Annotated[
        _Limit | msgspec.UnsetType | None,
        msgspec.Meta(
            description="only events recorded in the last this many seconds stay visible "
            "(null: no limit)"
        ),
    ] = msgspec.UNSET
    truncate_before: Annotated[
        _Limit | msgspec.UnsetType | None,
        msgspec.Meta(description="events below this version are not visible (null: none)"),
    ] = msgspec.UNSET


class ProjectionsBody(msgspec.Struct, frozen=True):
    """Every read model: its checkpoint, the log's head, its lag and errors."""

    projections: list[ProjectionStatus]


class LiveBody(msgspec.Struct, frozen=True):
    """The process is up and answering."""

    status: Literal["ok"] = "ok"


class HealthBody(msgspec.Struct, frozen=True):
    """Readiness: ``ok`` when the database is reachable, migrated and intact.

    ``database`` is ``null`` when no report could be made in time, or while
    the daemon is shutting down.
    """

    status: Literal["ok", "unavailable"]
    database: HealthReport | None


class CaughtUpBody(msgspec.Struct, frozen=True):
    """Data of the SSE ``caught-up`` event: every event up to ``position`` was sent."""

    position: int


class Problem(msgspec.Struct, frozen=True):
    """One thing wrong with a request: where (``events[2].data.title``) and why."""

    path: str
    message: str


class ErrorDetail(msgspec.Struct, frozen=True):
    """What went wrong.

    ``expected`` and ``actual`` (``null``: no stream) come with
    ``wrong_expected_version``; ``event_ids`` with ``duplicate_event``;
    ``request_id`` with ``internal_error`` (the daemon's log names it too).
    """

    code: str
    message: str
    problems: list[Problem] = msgspec.field(default_factory=list)
    expected: int | str | msgspec.UnsetType = msgspec.UNSET
    actual: int | msgspec.UnsetType | None = msgspec.UNSET
    event_ids: list[str] | msgspec.UnsetType = msgspec.UNSET
    request_id: str | msgspec.UnsetType = msgspec.UNSET


class ErrorBody(msgspec.Struct, frozen=True):
    """Every error response has this body."""

    error: ErrorDetail


_EVENT_ID_DOC: Final = msgspec.Meta(
    description="evt-… id; resending the same ids makes an append idempotent "
    "(generated when absent)"
)
_OCCURRED_DOC: Final = msgspec.Meta(description="epoch milliseconds (now when absent)")


class NewEventDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One event to append: its type, its data and, optionally, its envelope.

    In the document this schema is replaced by the event types of the catalog
    in effect (:func:`new_event_doc_types`).
    """

    type: str
    data: dict[str, Any]
    event_id: Annotated[str | None, _EVENT_ID_DOC] = None
    occurred_at: Annotated[Whole | None, _OCCURRED_DOC] = None
    metadata: EventMetadata = msgspec.field(default_factory=EventMetadata)


class NewUntypedEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An event of an untyped category: any event type name, a JSON object as data."""

    type: Annotated[str, msgspec.Meta(pattern=f"^{EVENT_TYPE_PATTERN}$")]
    data: Annotated[dict[str, Any], msgspec.Meta(description="any JSON object")]
    event_id: Annotated[str | None, _EVENT_ID_DOC] = None
    occurred_at: Annotated[Whole | None, _OCCURRED_DOC] = None
    metadata: EventMetadata = msgspec.field(default_factory=EventMetadata)


def new_event_doc_types(catalog: Catalog) -> tuple[Any, ...]:
    """One tagged type per typed event type of ``catalog`` (``{"type": name, "data":
    {...}, ...}``), then :class:`NewUntypedEvent` if it has an untyped category.

    For the OpenAPI document only; incoming events are validated by
    :meth:`fleet.events.Catalog.decode_new_events`.
    """
    types: list[Any] = [
        msgspec.defstruct(
            f"New{name}",
            [
                ("data", payload),
                ("event_id", Annotated[str | None, _EVENT_ID_DOC], None),
                ("occurred_at", Annotated[Whole | None, _OCCURRED_DOC], None),
                ("metadata", EventMetadata, msgspec.field(default_factory=EventMetadata)),
            ],
            tag_field="type",
            tag=name,
            frozen=True,
            forbid_unknown_fields=True,
            module=__name__,
        )
        for name, payload in catalog.event_types.items()
    ]
    if catalog.untyped_names:
        types.append(NewUntypedEvent)
    return tuple(types)


class AppendToStreamDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Events to append to one stream, atomically."""

    events: Annotated[list[NewEventDoc], msgspec.Meta(min_length=1)]
    expected_version: Annotated[ExpectedVersionWire, _EXPECTED_DOC] = "any"


class AppendShareDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One stream's share of an atomic multi-stream append."""

    stream_id: str
    events: Annotated[list[NewEventDoc], msgspec.Meta(min_length=1)]
    expected_version: Annotated[ExpectedVersionWire, _EXPECTED_DOC] = "any"


class AppendManyDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Appends to several streams (each at most once) that commit together or not at all."""

    appends: Annotated[list[AppendShareDoc], msgspec.Meta(min_length=1)]


MAX_BATCH_APPENDS: Final = 1000
"""Most appends one ``POST /appends`` request carries."""


class AppendsBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``POST /appends``: independent appends, each to one stream."""

    appends: Annotated[list[AppendShare], msgspec.Meta(min_length=1, max_length=MAX_BATCH_APPENDS)]


class AppendsDoc(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Independent appends, each to one stream, in one request: each commits or fails on
    its own (unlike ``POST /append``), and each answer says which."""

    appends: Annotated[
        list[AppendShareDoc], msgspec.Meta(min_length=1, max_length=MAX_BATCH_APPENDS)
    ]


class AppendOutcome(msgspec.Struct, frozen=True, omit_defaults=True):
    """One append's answer in ``POST /appends``: its result, or the status and error
    body it would have had alone (exactly one of ``result`` and ``error`` is set)."""

    status: int
    result: AppendResult | None = None
    error: ErrorDetail | None = None


class AppendsResultBody(msgspec.Struct, frozen=True):
    """One outcome per append, in the order given."""

    outcomes: list[AppendOutcome]
