"""Upcasters of the built-in payloads' older schema versions.

History:

* ``MissionCreated`` v1 → v2: ``priority`` was an integer 1-4 (1 = low,
  4 = critical) and is now the priority name; v1 had no ``tags`` (v2's default
  covers that).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fleet.errors import ValidationError
from fleet.events import Upcaster
from fleet.vocabulary._constants import PRIORITIES

__all__ = ["MISSION_UPCASTERS"]

_V1_PRIORITIES: Final = dict(enumerate(PRIORITIES, start=1))


def _mission_created_v1(data: dict[str, Any]) -> dict[str, Any]:
    priority = data.get("priority", 2)
    if isinstance(priority, bool) or priority not in _V1_PRIORITIES:
        raise ValidationError(
            f"invalid MissionCreated v1 payload: priority {priority!r}",
            [("MissionCreated.priority", "a v1 priority must be an integer from 1 to 4")],
        )
    return {**data, "priority": _V1_PRIORITIES[priority]}


MISSION_UPCASTERS: Final[Mapping[tuple[str, int], Upcaster]] = {
    ("MissionCreated", 1): _mission_created_v1,
}
"""The mission category's upcasters, by ``(type, old version)``."""
