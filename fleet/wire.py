"""Recorded events as JSON: the one shape the HTTP API, ``fleet read`` and ``fleet export`` use.

A recorded event is a flat JSON object::

    {"position": 7, "event_id": "evt-...", "stream_id": "msn-...", "version": 3,
     "type": "MissionAssigned", "schema_version": 1, "occurred_at": 1764201600000,
     "recorded_at": 1764201600004, "metadata": {"correlation_id": null, ...},
     "data": {...the payload's fields...}}

``data`` is the same object an append sends (the payload's fields, plus its
``"type"`` tag), so an event read back can be sent again unchanged. Guarantees:

* ``data`` is always the payload at its current schema version, and
  ``schema_version`` says which that is (an event stored at an older version is
  shown upcast). :func:`decode_event` of :func:`encode_event` gives back an equal
  event whenever the event was stored at the current version; an older event
  comes back as its upcast form.
* :func:`decode_event` validates everything, the payload included, and raises
  one :class:`~fleet.errors.ValidationError` that names the field on bad input.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Final

import msgspec

from fleet.core import parse_event_id
from fleet.errors import ValidationError
from fleet.events import Catalog, Event, EventMetadata, encode_payload

__all__ = [
    "WireEvent",
    "decode_event",
    "encode_event",
    "encode_events_ndjson",
    "to_wire",
]

_Whole = Annotated[int, msgspec.Meta(ge=0)]
_Positive = Annotated[int, msgspec.Meta(ge=1)]


class WireEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A recorded event in its JSON shape (see the module docstring)."""

    position: _Positive
    event_id: str
    stream_id: str
    version: _Positive
    type: str
    schema_version: _Positive
    occurred_at: _Whole
    recorded_at: _Whole
    metadata: EventMetadata
    data: msgspec.Raw


_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder(WireEvent)


def to_wire(event: Event) -> WireEvent:
    """The JSON shape of a recorded event."""
    return WireEvent(
        position=event.position,
        event_id=event.event_id,
        stream_id=event.stream_id,
        version=event.version,
        type=event.type,
        schema_version=event.payload.schema_version,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        metadata=event.metadata,
        data=msgspec.Raw(encode_payload(event.payload)),
    )


def encode_event(event: Event) -> bytes:
    """Return one recorded event as compact JSON bytes."""
    return _ENCODER.encode(to_wire(event))


def encode_events_ndjson(events: Iterable[Event]) -> bytes:
    """Return events as JSON lines (one object per line, each line ending in ``\\n``)."""
    return b"".join(_ENCODER.encode(to_wire(event)) + b"\n" for event in events)


def decode_event(data: bytes | str, catalog: Catalog) -> Event:
    """Decode and validate one recorded event of a stream ``catalog`` accepts.

    Raises:
        ValidationError: not a recorded event of ``catalog``; the problem names the field.
    """
    try:
        wire = _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise ValidationError(f"invalid recorded event: {exc}", [("event", str(exc))]) from exc
    try:
        parse_event_id(wire.event_id)
    except ValueError as exc:
        raise ValidationError(f"invalid recorded event: {exc}", [("event_id", str(exc))]) from exc
    try:
        category = catalog.category_of(wire.stream_id)
    except ValidationError as exc:
        raise ValidationError(f"invalid recorded event: {exc}", exc.problems) from exc
    if not catalog.holds(category, wire.type):
        why = f"a {wire.type} event does not belong to stream {wire.stream_id!r}"
        if not catalog.knows_type(wire.type):
            why = catalog.unknown_type(wire.type).problems[0][1]
            raise ValidationError(f"invalid recorded event: {why}", [("event.type", why)])
        raise ValidationError(f"invalid recorded event: {why}", [("stream_id", why)])
    payload = catalog.decode_payload(
        wire.type, wire.schema_version, bytes(wire.data), stream_id=wire.stream_id
    )
    return Event(
        event_id=wire.event_id,
        type=wire.type,
        stream_id=wire.stream_id,
        version=wire.version,
        position=wire.position,
        schema_version=wire.schema_version,
        occurred_at=wire.occurred_at,
        recorded_at=wire.recorded_at,
        metadata=wire.metadata,
        payload=payload,
    )
