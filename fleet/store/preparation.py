"""Turning what a caller passes to ``append`` into validated, encoded events.

This runs in the caller's task before anything is queued, so a refused append
never reaches an actor or the database. Each payload is encoded once and
decoded again with its typed decoder: a payload constructed in Python skips
msgspec's constraint checks, and the round trip applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import msgspec

from fleet.core import (
    EVENT_ID_PREFIX,
    NUL_REFUSED,
    generate_event_id,
    has_nul,
    invalid_id_message,
    is_valid_prefix_id,
    json_has_nul,
    now_ms,
)
from fleet.errors import ValidationError
from fleet.events import (
    Catalog,
    Category,
    EventMetadata,
    JsonPayload,
    NewEvent,
    Payload,
    encode_payload,
)
from fleet.store.messages import PreparedEvent

__all__ = ["prepare_events", "prepare_payloads"]

_NO_METADATA = EventMetadata()


def prepare_events(
    catalog: Catalog,
    category: Category,
    stream_id: str,
    events: Sequence[NewEvent | Payload | JsonPayload],
    metadata: EventMetadata | None = None,
    now: int | None = None,
) -> tuple[list[PreparedEvent], bool]:
    """Validate and encode the events of one append.

    Args:
        catalog: the store's catalog.
        category: the target stream's category (from
            :meth:`~fleet.events.Catalog.category_of`, which checked the id).
        stream_id: the target stream.
        events: payloads (a fresh id is generated for each) or :class:`NewEvent`
            envelopes (their ids are kept, which makes a retry recognisable).
        metadata: applied to every event that carries no metadata of its own.
        now: the current time (epoch ms) if the caller has read it: the time
            of every payload given without an envelope, and of its new id.

    Returns:
        The prepared events and whether the caller chose the ids.

    Raises:
        ValidationError: the list is empty, an item is not an event, an event
            belongs to another kind of stream, a payload breaks its schema, an
            event id is malformed or repeated. Problems are reported by index.
    """
    given: object = events
    if type(given) is not list and (
        isinstance(given, (str, bytes)) or not isinstance(given, Sequence)
    ):
        raise ValidationError("events must be a list of events", [("events", "not a list")])
    if not events:
        raise ValidationError("an append needs at least one event", [("events", "empty")])
    classes = category.classes
    untyped = category.untyped
    default_metadata = metadata if metadata is not None else _NO_METADATA
    prepared: list[PreparedEvent] = []
    problems: list[tuple[str, str]] = []
    explicit = False
    seen: set[str] = set()
    if now is None:
        now = now_ms()
    items: Sequence[object] = events
    for index, item in enumerate(items):
        if isinstance(item, NewEvent):
            explicit = enveloped = True
            candidate: object = item.payload
            event_id = item.event_id
            occurred_at = item.occurred_at
            event_metadata = item.metadata if item.metadata != _NO_METADATA else default_metadata
            if not is_valid_prefix_id(event_id, EVENT_ID_PREFIX):
                why = invalid_id_message(event_id, EVENT_ID_PREFIX, "event")
                problems.append((f"events[{index}].event_id", why))
                continue
            if event_id in seen:
                problems.append((f"events[{index}].event_id", f"repeats {event_id!r}"))
                continue
            seen.add(event_id)
        else:
            enveloped = False
            candidate = item
            occurred_at = now
            event_metadata = default_metadata
        kind = type(candidate)
        if not (kind is JsonPayload if untyped else kind in classes):
            why = (
                catalog.unregistered(candidate, category)
                if enveloped or isinstance(candidate, Payload | JsonPayload)
                else f"not an event: {_type_name(candidate)}"
            )
            problems.append((f"events[{index}]", why))
            continue
        payload = cast("Payload | JsonPayload", candidate)
        if not enveloped:
            event_id = generate_event_id(now)
        try:
            data = encode_payload(payload)
            checked = _checked(catalog, untyped, payload, data, stream_id)
        except (TypeError, ValueError, OverflowError, RecursionError, msgspec.EncodeError) as exc:
            problems.append((f"events[{index}]", f"cannot be encoded: {exc}"))
            continue
        except ValidationError as exc:
            problems.extend((f"events[{index}].{where}", why) for where, why in exc.problems)
            if not exc.problems:
                problems.append((f"events[{index}]", str(exc)))
            continue
        if json_has_nul(data):
            problems.append((f"events[{index}].data", NUL_REFUSED))
            continue
        if event_metadata is not _NO_METADATA and _metadata_has_nul(event_metadata):
            problems.append((f"events[{index}].metadata", NUL_REFUSED))
            continue
        prepared.append(
            PreparedEvent(
                event_id,
                payload.event_type,
                payload.schema_version,
                data,
                checked,
                event_metadata,
                occurred_at,
            )
        )
    if problems:
        where, why = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationError(f"append to {stream_id!r} refused: {where}: {why}{more}", problems)
    return prepared, explicit


def _metadata_has_nul(metadata: EventMetadata) -> bool:
    return any(
        value is not None and has_nul(value)
        for value in (metadata.correlation_id, metadata.causation_id, metadata.actor)
    )


def _checked(
    catalog: Catalog,
    untyped: bool,
    payload: Payload | JsonPayload,
    data: bytes,
    stream_id: str,
) -> Payload | JsonPayload:
    """The payload as it will be read back: its encoding decoded through the catalog."""
    if untyped:
        return catalog.decode_payload(
            payload.event_type, 1, data, stream_id=stream_id, root=payload.event_type
        )
    return catalog.decode_payload(payload.event_type, payload.schema_version, data)


def _type_name(item: object) -> str:
    return type(item).__name__


def prepare_payloads(
    catalog: Catalog,
    category: Category,
    stream_id: str,
    events: Sequence[NewEvent | Payload | JsonPayload],
    metadata: EventMetadata | None,
) -> list[PreparedEvent]:
    """Prepare the events a ``decide`` function returned (ids always generated if absent)."""
    prepared, _ = prepare_events(catalog, category, stream_id, events, metadata)
    return prepared
