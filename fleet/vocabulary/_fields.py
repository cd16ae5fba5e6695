"""Constrained field types of the built-in payloads.

Each alias is an ``Annotated`` type whose ``msgspec.Meta`` is enforced whenever
bytes are decoded (or builtins converted) into a payload. Bounds are part of the
stored-data contract: they may be loosened in a later schema version, never
tightened, because stored events must keep decoding.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from fleet.events import MAX_INT, EpochMs

__all__ = [
    "AgentName",
    "ByteCount",
    "CheckpointIdField",
    "Description",
    "Digest",
    "EpochMs",
    "Label",
    "Metadata",
    "MetadataKey",
    "MetadataKeys",
    "MetadataValue",
    "MissionIdField",
    "Note",
    "Percent",
    "Reason",
    "Tag",
    "Tags",
    "Title",
    "WorkOrderIdField",
]

_ID_BODY: Final = "[0-3][0-9a-hjkmnp-tv-z]{25}"

MissionIdField = Annotated[
    str, msgspec.Meta(pattern=f"^msn-{_ID_BODY}$", description="a mission id, msn-…")
]
WorkOrderIdField = Annotated[
    str, msgspec.Meta(pattern=f"^wo-{_ID_BODY}$", description="a work-order id, wo-…")
]
CheckpointIdField = Annotated[
    str, msgspec.Meta(pattern=f"^chk-{_ID_BODY}$", description="a checkpoint id, chk-…")
]

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
"""1-200 characters; payloads also refuse an all-whitespace title (see ``nonblank``)."""
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
"""A checkpoint's human name: 1-200 characters, not all whitespace."""
Description = Annotated[str, msgspec.Meta(max_length=10_000)]
"""Free text up to 10,000 characters; may be empty."""
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=1_000)]
"""Why something happened: 1-1,000 characters, not all whitespace."""
Note = Annotated[str, msgspec.Meta(max_length=1_000)]
"""Optional free text up to 1,000 characters."""

AgentName = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,127}$",
        description="an agent or person: letters, digits and _.@:- , 1-128 characters",
    ),
]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
"""A label, 1-50 characters."""
Tags = Annotated[tuple[Tag, ...], msgspec.Meta(max_length=20)]

Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
ByteCount = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)]
Digest = Annotated[str, msgspec.Meta(pattern=r"^sha256:[0-9a-f]{64}$")]
"""A content digest, ``sha256:`` followed by 64 lowercase hex digits."""

MetadataKey = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
MetadataValue = (
    Annotated[str, msgspec.Meta(max_length=1_000)]
    | Annotated[int, msgspec.Meta(ge=-MAX_INT, le=MAX_INT)]
    | Annotated[float, msgspec.Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
    | bool
    | None
)
"""A scalar: text up to 1,000 characters, a JSON-safe integer, a finite float, a bool or null."""
Metadata = Annotated[dict[MetadataKey, MetadataValue], msgspec.Meta(max_length=50)]
"""Up to 50 free-form key/value pairs."""
MetadataKeys = Annotated[tuple[MetadataKey, ...], msgspec.Meta(max_length=50)]
