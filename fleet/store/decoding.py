"""Stored rows back into :class:`~fleet.events.Event` envelopes, through a catalog."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from fleet.db import EventTuple, StoredColumn
from fleet.events import Catalog, Event, EventMetadata, JsonPayload, Payload

__all__ = ["row_to_event", "rows_to_events"]

_NO_METADATA = EventMetadata()


def row_to_event(row: EventTuple, catalog: Catalog) -> Event:
    """Decode one stored events row (:class:`~fleet.db.StoredColumn` layout).

    Older payload schema versions are upcast to the current payload type; an
    untyped category's payload is a :class:`~fleet.events.JsonPayload`.

    Raises:
        ValidationError: the stored payload no longer decodes, or its stream's
            category is not in ``catalog``.
    """
    return _envelopes((row,), (None,), catalog)[0]


def rows_to_events(rows: Sequence[EventTuple], catalog: Catalog) -> list[Event]:
    """Decode a page of stored events rows (:class:`~fleet.db.StoredColumn` layout) at once.

    The typed payloads of the page are validated and decoded by one decoder
    call; a row whose payload is of an older schema version or of an untyped
    category, or whose page does not decode as a whole, is decoded on its own
    as by :func:`row_to_event`, so the result and the errors are exactly those
    of :func:`row_to_event`.

    Raises:
        ValidationError: a stored payload no longer decodes.
    """
    if not rows:
        return []
    decoder = catalog.page_decoder
    payloads: list[Payload | JsonPayload | None] = [None] * len(rows)
    if decoder is None:
        return _envelopes(rows, payloads, catalog)
    data, stream = StoredColumn.PAYLOAD, StoredColumn.STREAM_ID
    untyped = catalog.untyped_names
    typed = (
        range(len(rows))
        if not untyped
        else [i for i, row in enumerate(rows) if row[stream].partition("-")[0] not in untyped]
    )
    try:
        decoded = decoder.decode(b"[" + b",".join([rows[i][data] for i in typed]) + b"]")
    except msgspec.DecodeError:
        return _envelopes(rows, payloads, catalog)
    if not untyped:
        return _envelopes(rows, decoded, catalog)
    for i, payload in zip(typed, decoded, strict=True):
        payloads[i] = payload
    return _envelopes(rows, payloads, catalog)


def _envelopes(
    rows: Sequence[EventTuple],
    payloads: Sequence[Payload | JsonPayload | None],
    catalog: Catalog,
) -> list[Event]:
    """The events of ``rows`` around their payloads, decoding alone each row whose
    payload is missing (``None``) or is not of the row's type and schema version.

    The one place envelopes are built; it runs once per event read, so the
    envelope is built inline, from the row unpacked in
    :class:`~fleet.db.StoredColumn` order.
    """
    events: list[Event] = []
    append = events.append
    decode = catalog.decode_payload
    for row, payload in zip(rows, payloads, strict=True):
        (position, event_id, stream_id, version, type_, schema_version, data, correlation_id,
         causation_id, actor, occurred_at, recorded_at) = row  # fmt: skip
        if (
            payload is None
            or type_ != payload.event_type
            or schema_version != payload.schema_version
        ):
            payload = decode(type_, schema_version, bytes(data), stream_id=stream_id)
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
