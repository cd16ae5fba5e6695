"""Turn untrusted or hand-built input into validated :class:`NewEvent` objects.

Two doors lead in:

* Python callers build payloads and call :func:`new_event` (or
  :func:`validate_new_event` on a :class:`NewEvent` they built), because a
  msgspec Struct's constructor does not check its ``Meta`` constraints.
* Bytes from outside (an HTTP body, a file) go through :func:`decode_new_events`
  or :func:`validate_batch`. The accepted shape is a JSON array of objects::

      [{"type": "MissionCreated",             # required: a registered event type
        "data": {"title": "Ship it"},         # required: the payload's fields
        "event_id": "evt-…",                  # optional: generated when absent
        "occurred_at": 1767225600000,         # optional: epoch ms, now when absent
        "metadata": {"correlation_id": "…"}}] # optional: EventMetadata fields

  ``data`` may also carry ``"type"`` if it equals the outer one. Any other key is
  refused. ``data`` is always the *current* schema version.

Problems are reported with paths such as ``events[3].data.title``; a batch is
checked to the end, so every bad item is reported, not just the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from fleet.core import generate_event_id, now_ms
from fleet.errors import ValidationError
from fleet.events._codec import decode_payload_at
from fleet.events._envelope import EventMetadata, NewEvent, Payload
from fleet.events._fields import EpochMs, EventIdField
from fleet.events._problems import validation_error
from fleet.events._registry import EVENT_TYPES, AnyPayload

__all__ = [
    "BatchResult",
    "decode_new_events",
    "new_event",
    "validate_batch",
    "validate_new_event",
]


class _WireEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: str
    data: msgspec.Raw
    event_id: EventIdField | None = None
    occurred_at: EpochMs | None = None
    metadata: EventMetadata = msgspec.field(default_factory=EventMetadata)


class _CheckedNewEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    payload: AnyPayload
    event_id: EventIdField
    occurred_at: EpochMs
    metadata: EventMetadata


_ENCODER = msgspec.json.Encoder()
_ITEMS_DECODER = msgspec.json.Decoder(list[msgspec.Raw])
_WIRE_DECODER = msgspec.json.Decoder(_WireEvent)
_CHECKED_DECODER = msgspec.json.Decoder(_CheckedNewEvent)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of validating each item of a batch, in input order.

    Attributes:
        results: for each item, the validated event or the error that refused it.
    """

    results: tuple[NewEvent | ValidationError, ...]

    @property
    def ok(self) -> bool:
        """True when every item is valid."""
        return not any(isinstance(r, ValidationError) for r in self.results)

    @property
    def errors(self) -> dict[int, ValidationError]:
        """The error of each refused item, by index."""
        return {i: r for i, r in enumerate(self.results) if isinstance(r, ValidationError)}

    @property
    def events(self) -> list[NewEvent]:
        """The valid items, in order (refused ones left out)."""
        return [r for r in self.results if isinstance(r, NewEvent)]

    def unwrap(self) -> list[NewEvent]:
        """Return every event, or raise one error listing every problem of every item.

        Raises:
            ValidationError: at least one item was refused.
        """
        errors = self.errors
        if errors:
            problems = [p for error in errors.values() for p in error.problems]
            first = problems[0] if problems else ("events", "invalid")
            raise ValidationError(
                f"{len(errors)} of {len(self.results)} events are invalid; "
                f"first: {first[0]}: {first[1]}",
                problems,
            )
        return self.events


def new_event(
    payload: Payload,
    *,
    metadata: EventMetadata | None = None,
    event_id: str | None = None,
    occurred_at: int | None = None,
) -> NewEvent:
    """Build a validated :class:`NewEvent`, stamping a fresh event id and the time.

    Args:
        payload: the domain fact.
        metadata: correlation, causation and actor; empty by default.
        event_id: reuse an id (to retry an append idempotently); a new one by default.
        occurred_at: epoch milliseconds; now by default.

    Raises:
        ValidationError: the payload or an envelope field breaks its constraints.
    """
    return validate_new_event(
        NewEvent(
            payload=payload,
            event_id=generate_event_id() if event_id is None else event_id,
            occurred_at=now_ms() if occurred_at is None else occurred_at,
            metadata=EventMetadata() if metadata is None else metadata,
        )
    )


def validate_new_event(event: NewEvent, *, where: str = "event") -> NewEvent:
    """Check every field of a hand-built event against its constraints.

    Args:
        event: the event to check.
        where: the root of reported paths (``"events[3]"`` in a batch).

    Returns:
        An equal event whose payload is exactly what will be read back.

    Raises:
        ValidationError: a field is out of bounds, the payload type is not
            registered, or a value cannot be encoded.
    """
    try:
        data = _ENCODER.encode(event)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        why = f"cannot be encoded: {exc}"
        raise ValidationError(f"invalid event: {why}", [(where, why)]) from exc
    try:
        checked = _CHECKED_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise validation_error(f"{event.payload.event_type} event", exc, where) from exc
    if type(checked.payload) is not type(event.payload):
        raise ValidationError(
            f"invalid event: {type(event.payload).__qualname__} is not a registered type",
            [(f"{where}.payload", "not a registered event type")],
        )
    return NewEvent(checked.payload, checked.event_id, checked.occurred_at, checked.metadata)


def validate_batch(items: bytes | Sequence[NewEvent]) -> BatchResult:
    """Validate every item of a batch, reporting each refused item by its index.

    Args:
        items: a JSON array in the shape described in this module, or events
            built in Python.

    Returns:
        One result per item, in order. One bad item does not stop the others
        from being checked.

    Raises:
        ValidationError: ``items`` is bytes but not a JSON array.
    """
    if not isinstance(items, bytes | bytearray | memoryview):
        return BatchResult(tuple(_check_built(event, i) for i, event in enumerate(items)))
    try:
        raw_items = _ITEMS_DECODER.decode(items)
    except msgspec.DecodeError as exc:
        raise validation_error("event batch", exc, "events") from exc
    return BatchResult(tuple(_check_wire(raw, i) for i, raw in enumerate(raw_items)))


def decode_new_events(data: bytes) -> list[NewEvent]:
    """Decode a JSON array of events from outside into validated :class:`NewEvent` objects.

    Raises:
        ValidationError: the body is not a JSON array, or any item is invalid;
            ``problems`` lists every problem of every item (``events[i]…``).
    """
    return validate_batch(data).unwrap()


def _check_built(event: NewEvent, index: int) -> NewEvent | ValidationError:
    try:
        return validate_new_event(event, where=f"events[{index}]")
    except ValidationError as exc:
        return exc


def _check_wire(raw: msgspec.Raw, index: int) -> NewEvent | ValidationError:
    where = f"events[{index}]"
    try:
        wire = _WIRE_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        return validation_error("event", exc, where)
    cls = EVENT_TYPES.get(wire.type)
    if cls is None:
        why = f"unknown event type {wire.type!r}"
        return ValidationError(f"invalid event: {where}.type: {why}", [(f"{where}.type", why)])
    try:
        payload = decode_payload_at(wire.type, cls.schema_version, wire.data, f"{where}.data")
    except ValidationError as exc:
        return exc
    return NewEvent(
        payload=payload,
        event_id=generate_event_id() if wire.event_id is None else wire.event_id,
        occurred_at=now_ms() if wire.occurred_at is None else wire.occurred_at,
        metadata=wire.metadata,
    )
