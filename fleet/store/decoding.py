"""Stored rows back into typed :class:`~fleet.events.Event` envelopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from fleet.db.rows import EventRow
from fleet.events import AnyPayload, Event, EventMetadata, decode_payload

__all__ = ["row_to_event", "rows_to_events"]

_NO_METADATA = EventMetadata()


def row_to_event(row: Any) -> Event:
    """Decode one events row (any object with the events columns as attributes).

    Older payload schema versions are upcast to the current payload type.

    Raises:
        ValidationError: the stored payload no longer decodes.
    """
    if row.correlation_id is None and row.causation_id is None and row.actor is None:
        metadata = _NO_METADATA
    else:
        metadata = EventMetadata(
            correlation_id=row.correlation_id, causation_id=row.causation_id, actor=row.actor
        )
    payload = row.payload
    if type(payload) is not bytes:
        payload = bytes(payload)
    return Event(
        row.event_id,
        row.type,
        row.stream_id,
        row.version,
        row.position,
        row.schema_version,
        row.occurred_at,
        row.recorded_at,
        metadata,
        decode_payload(row.type, row.schema_version, payload),
    )


_PAGE_DECODER: Final = msgspec.json.Decoder(list[AnyPayload])


def rows_to_events(rows: Sequence[Any]) -> list[Event]:
    """Decode a page of events rows (in the column order of ``events``) at once.

    The payloads of the page are validated and decoded by one decoder call;
    a row whose payload is of an older schema version, or whose page does not
    decode as a whole, is decoded on its own by :func:`row_to_event`, so the
    result and the errors are exactly those of :func:`row_to_event`.

    Raises:
        ValidationError: a stored payload no longer decodes.
    """
    if not rows:
        return []
    try:
        payloads = _PAGE_DECODER.decode(b"[" + b",".join([bytes(r[6]) for r in rows]) + b"]")
    except msgspec.DecodeError:
        return [row_to_event(EventRow._make(row)) for row in rows]
    events: list[Event] = []
    append = events.append
    no_metadata = _NO_METADATA
    for row, payload in zip(rows, payloads, strict=True):
        (position, event_id, stream_id, version, type_name, schema_version) = row[:6]
        if type_name != payload.event_type or schema_version != payload.schema_version:
            append(row_to_event(EventRow._make(row)))
            continue
        correlation_id, causation_id, actor = row[7:10]
        if correlation_id is None and causation_id is None and actor is None:
            metadata = no_metadata
        else:
            metadata = EventMetadata(correlation_id, causation_id, actor)
        append(
            Event(
                event_id,
                type_name,
                stream_id,
                version,
                position,
                schema_version,
                row[10],
                row[11],
                metadata,
                payload,
            )
        )
    return events
