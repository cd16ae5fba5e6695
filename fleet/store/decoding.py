"""Stored rows back into typed :class:`~fleet.events.Event` envelopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from fleet.db import EventTuple, StoredColumn
from fleet.events import AnyPayload, Event, EventMetadata, Payload, decode_payload

__all__ = ["row_to_event", "rows_to_events"]

_NO_METADATA = EventMetadata()


def row_to_event(row: EventTuple) -> Event:
    """Decode one stored events row (:class:`~fleet.db.StoredColumn` layout).

    Older payload schema versions are upcast to the current payload type.

    Raises:
        ValidationError: the stored payload no longer decodes.
    """
    return _envelopes((row,), (None,))[0]


_PAGE_DECODER: Final = msgspec.json.Decoder(list[AnyPayload])


def rows_to_events(rows: Sequence[EventTuple]) -> list[Event]:
    """Decode a page of stored events rows (:class:`~fleet.db.StoredColumn` layout) at once.

    The payloads of the page are validated and decoded by one decoder call;
    a row whose payload is of an older schema version, or whose page does not
    decode as a whole, is decoded on its own as by :func:`row_to_event`, so the
    result and the errors are exactly those of :func:`row_to_event`.

    Raises:
        ValidationError: a stored payload no longer decodes.
    """
    if not rows:
        return []
    payloads: Sequence[Payload | None]
    try:
        payload = StoredColumn.PAYLOAD
        payloads = _PAGE_DECODER.decode(b"[" + b",".join([row[payload] for row in rows]) + b"]")
    except msgspec.DecodeError:
        payloads = [None] * len(rows)
    return _envelopes(rows, payloads)


def _envelopes(rows: Sequence[EventTuple], payloads: Sequence[Payload | None]) -> list[Event]:
    """The events of ``rows`` around their payloads, decoding alone each row whose
    payload is missing (``None``) or is not of the row's type and schema version.

    The one place envelopes are built; it runs once per event read, so the
    envelope is built inline, from the row unpacked in
    :class:`~fleet.db.StoredColumn` order.
    """
    events: list[Event] = []
    append = events.append
    for row, payload in zip(rows, payloads, strict=True):
        (position, event_id, stream_id, version, type_, schema_version, data, correlation_id,
         causation_id, actor, occurred_at, recorded_at) = row  # fmt: skip
        if (
            payload is None
            or type_ != payload.event_type
            or schema_version != payload.schema_version
        ):
            payload = decode_payload(type_, schema_version, bytes(data))
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
