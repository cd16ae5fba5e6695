"""Stored rows back into typed :class:`~fleet.events.Event` envelopes."""

from __future__ import annotations

from typing import Any

from fleet.events import Event, EventMetadata, decode_payload

__all__ = ["row_to_event"]

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
