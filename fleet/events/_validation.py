"""Turn untrusted or hand-built input into validated :class:`NewEvent` objects.

Two doors lead in, both through a :class:`~fleet.events.Catalog`:

* Python callers build payloads and call :meth:`Catalog.new_event` (or
  :meth:`Catalog.validate_new_event` on a :class:`NewEvent` they built), because
  a msgspec Struct's constructor does not check its ``Meta`` constraints.
* Bytes from outside (an HTTP body, a file) go through
  :meth:`Catalog.decode_new_events` or :meth:`Catalog.validate_batch`. The
  accepted shape is a JSON array of objects::

      [{"type": "OrderPlaced",               # required: an event type of the stream's category
        "data": {"order_id": "1001"},        # required: the payload's fields (a JSON object)
        "event_id": "evt-…",                  # optional: generated when absent
        "occurred_at": 1767225600000,         # optional: epoch ms, now when absent
        "metadata": {"correlation_id": "…"}}] # optional: EventMetadata fields

  A typed event's ``data`` may also carry ``"type"`` if it equals the outer
  one. Any other key is refused. ``data`` is always the *current* schema version.

Problems are reported with paths such as ``events[3].data.title``; a batch is
checked to the end, so every bad item is reported, not just the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from fleet.core import (
    EVENT_ID_PREFIX,
    generate_event_id,
    invalid_id_message,
    is_valid_prefix_id,
    now_ms,
)
from fleet.errors import ValidationError
from fleet.events._codec import check_untyped_name
from fleet.events._envelope import EventMetadata, JsonPayload, NewEvent, Payload
from fleet.events._fields import EpochMs
from fleet.events._problems import validation_error

if TYPE_CHECKING:
    from fleet.events._catalog import Catalog, Category

__all__ = ["BatchResult", "build_new_event", "check_new_event", "check_wire_items"]


# Event ids are checked after decoding (not by a pattern in the type), so that a
# malformed one is refused with its form spelled out instead of msgspec's regex.
class _WireEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: str
    data: msgspec.Raw
    event_id: str | None = None
    occurred_at: EpochMs | None = None
    metadata: EventMetadata = msgspec.field(default_factory=EventMetadata)


class _Envelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    event_id: str
    occurred_at: EpochMs
    metadata: EventMetadata


_ENCODER = msgspec.json.Encoder()
_ITEMS_DECODER = msgspec.json.Decoder(list[msgspec.Raw])
_WIRE_DECODER = msgspec.json.Decoder(_WireEvent)
_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)


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


def build_new_event(
    payload: Payload | JsonPayload,
    metadata: EventMetadata | None,
    event_id: str | None,
    occurred_at: int | None,
) -> NewEvent:
    """A :class:`NewEvent` with a fresh id, the current time and empty metadata by default."""
    return NewEvent(
        payload=payload,
        event_id=generate_event_id() if event_id is None else event_id,
        occurred_at=now_ms() if occurred_at is None else occurred_at,
        metadata=EventMetadata() if metadata is None else metadata,
    )


def check_new_event(
    catalog: Catalog, event: NewEvent, where: str, stream_id: str | None
) -> NewEvent:
    """Check a hand-built event's envelope and payload; see :meth:`Catalog.validate_new_event`."""
    given: object = event
    if not isinstance(given, NewEvent):
        why = f"not an event: {type(given).__name__}"
        raise ValidationError(f"invalid event: {why}", [(where, why)])
    try:
        data = _ENCODER.encode(_Envelope(event.event_id, event.occurred_at, event.metadata))
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        why = f"cannot be encoded: {exc}"
        raise ValidationError(f"invalid event: {why}", [(where, why)]) from exc
    try:
        envelope = _ENVELOPE_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise validation_error("event", exc, where) from exc
    if not is_valid_prefix_id(envelope.event_id, EVENT_ID_PREFIX):
        raise _bad_event_id(envelope.event_id, f"{where}.event_id")
    payload = catalog.validate_payload(event.payload, stream_id=stream_id, root=f"{where}.payload")
    return NewEvent(payload, envelope.event_id, envelope.occurred_at, envelope.metadata)


def check_wire_items(catalog: Catalog, items: bytes, stream_id: str | None) -> BatchResult:
    """Validate a JSON array of events from outside; see :meth:`Catalog.validate_batch`.

    Raises:
        ValidationError: ``items`` is not a JSON array, or ``stream_id`` names no
            stream of the catalog.
    """
    category = None if stream_id is None else catalog.category_of(stream_id)
    try:
        raw_items = _ITEMS_DECODER.decode(items)
    except msgspec.DecodeError as exc:
        raise validation_error("event batch", exc, "events") from exc
    return BatchResult(
        tuple(_check_wire(catalog, raw, i, stream_id, category) for i, raw in enumerate(raw_items))
    )


def _check_wire(
    catalog: Catalog,
    raw: msgspec.Raw,
    index: int,
    stream_id: str | None,
    category: Category | None,
) -> NewEvent | ValidationError:
    where = f"events[{index}]"
    try:
        wire = _WIRE_DECODER.decode(raw)
    except msgspec.DecodeError as exc:
        return validation_error("event", exc, where)
    if wire.event_id is not None and not is_valid_prefix_id(wire.event_id, EVENT_ID_PREFIX):
        return _bad_event_id(wire.event_id, f"{where}.event_id")
    if category is not None and category.untyped:
        version = 1
        try:
            check_untyped_name(wire.type, f"{where}.type")
        except ValidationError as exc:
            return exc
    else:
        cls = catalog.event_types.get(wire.type)
        if cls is None:
            return catalog.unknown_type(wire.type, f"{where}.type")
        home = catalog.category_of_type(wire.type)
        assert home is not None  # every typed event type has its category
        if category is not None and home is not category:
            why = f"{wire.type} belongs in {home.name}- streams, not {stream_id!r}"
            return ValidationError(f"invalid event: {where}.type: {why}", [(f"{where}.type", why)])
        version = cls.schema_version
    try:
        payload = catalog.decode_payload(
            wire.type, version, bytes(wire.data), stream_id=stream_id, root=f"{where}.data"
        )
    except ValidationError as exc:
        return exc
    return NewEvent(
        payload=payload,
        event_id=generate_event_id() if wire.event_id is None else wire.event_id,
        occurred_at=now_ms() if wire.occurred_at is None else wire.occurred_at,
        metadata=wire.metadata,
    )


def _bad_event_id(event_id: str, where: str) -> ValidationError:
    why = invalid_id_message(event_id, EVENT_ID_PREFIX, "event")
    return ValidationError(f"invalid event: {where}: {why}", [(where, why)])
