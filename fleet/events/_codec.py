"""Bytes in, typed payloads out - and back. The hot path of every append and read.

One shared :class:`msgspec.json.Encoder` serves every payload, and one
:class:`msgspec.json.Decoder` per payload type decodes and validates in a single
pass. Guarantees:

* :func:`encode_payload` output decodes back, with :func:`decode_payload`, to an
  equal payload when the payload was valid (see :func:`validate_payload`).
* :func:`decode_payload` returns an instance of exactly the named type at its
  current schema version, or raises one :class:`~fleet.errors.ValidationError`
  whose single problem names the field (``"MissionCreated.title"``) and the reason.
  msgspec's errors are never let through; the original is the ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import msgspec

from fleet.errors import ValidationError
from fleet.events._envelope import EventMetadata, Payload
from fleet.events._problems import validation_error
from fleet.events._registry import EVENT_TYPES, unknown_event_type
from fleet.events._upcasting import upcast

__all__ = [
    "decode_metadata",
    "decode_payload",
    "decode_payload_at",
    "encode_metadata",
    "encode_payload",
    "validate_payload",
]

_ENCODER: Final = msgspec.json.Encoder()
_DECODERS: Final[Mapping[str, tuple[int, msgspec.json.Decoder[Payload]]]] = MappingProxyType(
    {name: (cls.schema_version, msgspec.json.Decoder(cls)) for name, cls in EVENT_TYPES.items()}
)
_METADATA_DECODER: Final = msgspec.json.Decoder(EventMetadata)
_OBJECT_DECODER: Final = msgspec.json.Decoder(dict[str, object])


def encode_payload(payload: Payload) -> bytes:
    """Return the payload as compact JSON bytes, including its ``"type"`` tag.

    Does not validate: a payload built in Python with out-of-range values encodes
    as-is. Validate untrusted or hand-built payloads first with
    :func:`validate_payload` (or build events with :func:`fleet.events.new_event`).
    """
    return _ENCODER.encode(payload)


def decode_payload(type_name: str, schema_version: int, data: bytes) -> Payload:
    """Decode and validate a stored payload, upcasting it if it is older than current.

    Args:
        type_name: the event type the payload was stored under.
        schema_version: the schema version it was stored with.
        data: the JSON bytes.

    Returns:
        An instance of ``payload_type(type_name)`` at the current schema version.

    Raises:
        ValidationError: unknown type, unreadable schema version, malformed JSON, or
            a field that breaks the type's constraints (named in ``problems``).
    """
    return decode_payload_at(type_name, schema_version, data, type_name)


def decode_payload_at(type_name: str, schema_version: int, data: bytes, root: str) -> Payload:
    """:func:`decode_payload`, reporting problems under ``root`` (``"events[3].data"``)."""
    entry = _DECODERS.get(type_name)
    if entry is None:
        raise unknown_event_type(type_name)
    current, decoder = entry
    try:
        if schema_version == current:
            return decoder.decode(data)
        return _decode_old(type_name, schema_version, data)
    except msgspec.DecodeError as exc:
        raise validation_error(f"{type_name} payload", exc, root) from exc


def _decode_old(type_name: str, schema_version: int, data: bytes) -> Payload:
    raw = _OBJECT_DECODER.decode(data)
    return msgspec.convert(upcast(type_name, schema_version, raw), EVENT_TYPES[type_name])


def validate_payload(payload: Payload) -> Payload:
    """Check a payload built in Python against its type's constraints.

    Constructing a msgspec Struct does not check ``Meta`` constraints; this does,
    by encoding the payload and decoding it with its type's validating decoder.

    Returns:
        The payload exactly as it will be read back (for example, a NaN in
        metadata becomes ``None``).

    Raises:
        ValidationError: the payload's type is not registered, or a value is
            out of bounds or cannot be encoded.
    """
    cls = type(payload)
    name = getattr(cls, "event_type", "")
    entry = _DECODERS.get(name)
    if entry is None or EVENT_TYPES[name] is not cls:
        raise unknown_event_type(cls.__qualname__)
    try:
        data = _ENCODER.encode(payload)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        why = f"cannot be encoded: {exc}"
        raise ValidationError(f"invalid {name} payload: {why}", [(name, why)]) from exc
    try:
        return entry[1].decode(data)
    except msgspec.DecodeError as exc:
        raise validation_error(f"{name} payload", exc, name) from exc


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
