"""Constrained field types of the envelope, shared by every payload.

Each alias is an ``Annotated`` type whose ``msgspec.Meta`` is enforced whenever
bytes are decoded (or builtins converted). Bounds are part of the stored-data
contract: they may be loosened later, never tightened, because stored events
must keep decoding.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

__all__ = ["MAX_INT", "EpochMs", "EventIdField"]

MAX_INT: Final = 2**53 - 1
"""Largest integer a payload may carry: the largest one a JSON client can represent exactly."""

ID_BODY_PATTERN: Final = "[0-3][0-9a-hjkmnp-tv-z]{25}"
"""The 26 characters after an id's prefix (see :mod:`fleet.core.ids`), as id fields'
patterns spell them: a value that breaks such a pattern is refused with the id's
form spelled out, not with the pattern."""

EventIdField = Annotated[
    str,
    msgspec.Meta(pattern=f"^evt-{ID_BODY_PATTERN}(?!\n)$", description="an event id, evt-…"),
]
"""``(?!\n)`` keeps ``$`` from also matching before a final newline (msgspec searches)."""

EpochMs = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)]
"""A point in time as milliseconds since the Unix epoch (UTC)."""
