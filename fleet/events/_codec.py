"""Bytes in, payloads out - and back. The hot path of every append and read.

One shared :class:`msgspec.json.Encoder` serves every payload; a catalog keeps
one :class:`msgspec.json.Decoder` per typed payload class, which decodes and
validates in a single pass. Guarantees:

* :func:`encode_payload` output decodes back, through the catalog that holds
  its type, to an equal payload when the payload was valid.
* Decoding returns exactly the named type at its current schema version (or a
  :class:`JsonPayload` in an untyped category), or raises one
  :class:`~fleet.errors.ValidationError` whose problem names the field
  (``"OrderPlaced.sku"``) and the reason. msgspec's errors are never let
  through; the original is the ``__cause__``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from fleet.core import MAX_EVENT_TYPE_LENGTH, is_event_type_name
from fleet.errors import ValidationError
from fleet.events._envelope import EventMetadata, JsonPayload, Payload
from fleet.events._problems import validation_error

__all__ = [
    "JSON_OBJECT",
    "check_untyped_name",
    "decode_json_object",
    "decode_metadata",
    "encode_metadata",
    "encode_payload",
]

_ENCODER: Final = msgspec.json.Encoder()
_METADATA_DECODER: Final = msgspec.json.Decoder(EventMetadata)
JSON_OBJECT: Final = msgspec.json.Decoder(dict[str, Any])
"""Decodes any JSON object (an untyped payload, or a stored one before upcasting)."""


def encode_payload(payload: Payload | JsonPayload) -> bytes:
    """Return the payload as compact JSON bytes: a typed payload with its ``"type"``
    tag, a :class:`JsonPayload` as its object alone.

    Does not validate: a payload built in Python with out-of-range values encodes
    as-is. The store validates everything it is given before storing it.
    """
    if type(payload) is JsonPayload:
        return _ENCODER.encode(payload.data)
    return _ENCODER.encode(payload)


def check_untyped_name(type_name: object, where: str) -> str:
    """Return ``type_name`` if it is a valid untyped event type name.

    Raises:
        ValidationError: it is not; the problem is reported at ``where``.
    """
    if is_event_type_name(type_name):
        return type_name
    why = (
        f"invalid event type {type_name!r}: expected a letter, then letters, digits, "
        f"_ . : or -, at most {MAX_EVENT_TYPE_LENGTH} characters"
    )
    raise ValidationError(why, [(where, why)])


def decode_json_object(type_name: str, data: bytes, root: str, max_bytes: int) -> JsonPayload:
    """Decode the JSON object of an untyped event, checking its shape and size only.

    Raises:
        ValidationError: malformed JSON, not an object, or larger than ``max_bytes``.
    """
    if len(data) > max_bytes:
        why = f"{len(data)} bytes is more than the {max_bytes} an event of this category may hold"
        raise ValidationError(f"invalid {type_name} payload: {root}: {why}", [(root, why)])
    try:
        return JsonPayload(type_name, JSON_OBJECT.decode(data))
    except msgspec.DecodeError as exc:
        error = validation_error(f"{type_name} payload", exc, root)
        if "Expected `object`" in str(exc):
            why = "expected a JSON object"
            error = ValidationError(f"invalid {type_name} payload: {root}: {why}", [(root, why)])
        raise error from exc
    except RecursionError as exc:
        why = "nested too deeply"
        raise ValidationError(f"invalid {type_name} payload: {root}: {why}", [(root, why)]) from exc


def encode_metadata(metadata: EventMetadata) -> bytes:
    """Return event metadata as JSON bytes; empty metadata is ``b"{}"``."""
    return _ENCODER.encode(metadata)


def decode_metadata(data: bytes) -> EventMetadata:
    """Decode and validate stored event metadata.

    Raises:
        ValidationError: malformed JSON or a field out of bounds.
    """
    try:
        return _METADATA_DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise validation_error("event metadata", exc, "metadata") from exc
