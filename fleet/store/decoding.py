"""Stored rows back into typed :class:`~fleet.events.Event` envelopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec

from fleet.events import AnyPayload, Event, EventMetadata, Payload, decode_payload

__all__ = ["row_to_event", "rows_to_events"]

_NO_METADATA = EventMetadata()


def row_to_event(row: Sequence[Any]) -> Event:
    """Decode one events row (its columns in the order of ``events``).

    Older payload schema versions are upcast to the current payload type.

    Raises:
        ValidationError: the stored payload no longer decodes.
    """
    return _event(row, decode_payload(row[4], row[5], bytes(row[6])))


def _event(row: Sequence[Any], payload: Payload) -> Event:
    """The envelope of an events row around its decoded payload."""
    correlation_id, causation_id, actor = row[7:10]
    if correlation_id is None and causation_id is None and actor is None:
        metadata = _NO_METADATA
    else:
        metadata = EventMetadata(correlation_id, causation_id, actor)
    return Event(
        row[1], row[4], row[2], row[3], row[0], row[5], row[10], row[11], metadata, payload
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
        payloads = _PAGE_DECODER.decode(b"[" + b",".join([row[6] for row in rows]) + b"]")
    except msgspec.DecodeError:
        return [row_to_event(row) for row in rows]
    # The envelope is built inline (this loop runs once per event read).
    events: list[Event] = []
    append = events.append
    for row, payload in zip(rows, payloads, strict=True):
        (position, event_id, stream_id, version, type_, schema_version, _, correlation_id,
         causation_id, actor, occurred_at, recorded_at) = row  # fmt: skip
        if type_ != payload.event_type or schema_version != payload.schema_version:
            append(row_to_event(row))
            continue
        if correlation_id is None and causation_id is None and actor is None:
            metadata = _NO_METADATA
        else:
            metadata = EventMetadata(correlation_id, causation_id, actor)
        append(
            Event(
                event_id,
                type_,
                stream_id,
                version,
                position,
                schema_version,
                occurred_at,
                recorded_at,
                metadata,
                payload,
            )
        )
    return events
