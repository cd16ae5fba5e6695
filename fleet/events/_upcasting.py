"""Schema evolution: turn a payload stored under an older schema into the current one.

Stored events are never rewritten. When a payload type's shape must change in a
way a default cannot cover (a field changes type or meaning), its
``schema_version`` is raised and an *upcaster* is registered for the old version.
An upcaster maps the decoded JSON object of version ``n`` to that of version
``n + 1``; reading applies the chain ``n → n+1 → … → current`` and then
validates the result against the current Struct, so an upcast payload obeys
every constraint a new one does.

History:

* ``MissionCreated`` v1 → v2: ``priority`` was an integer 1-4 (1 = low,
  4 = critical) and is now the priority name; v1 had no ``tags`` (v2's default
  covers that).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fleet.core import PRIORITIES
from fleet.errors import ValidationError
from fleet.events._registry import EVENT_TYPES, payload_type

__all__ = ["Upcaster", "missing_upcasters", "register_upcaster", "upcast"]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Maps one stored JSON object of schema version ``n`` to version ``n + 1``."""

_UPCASTERS: Final[dict[tuple[str, int], Upcaster]] = {}


def register_upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that upgrades ``type_name`` payloads from ``from_version``.

    Use as a decorator. The function must not mutate its argument.

    Raises:
        ValueError: the type is unknown, the version is not older than the current
            one, or an upcaster for that step already exists.
    """
    cls = EVENT_TYPES.get(type_name)
    if cls is None or not 1 <= from_version < cls.schema_version:
        raise ValueError(f"no schema version {from_version} of {type_name!r} to upcast from")
    if (type_name, from_version) in _UPCASTERS:
        raise ValueError(f"{type_name!r} v{from_version} already has an upcaster")

    def register(function: Upcaster) -> Upcaster:
        _UPCASTERS[type_name, from_version] = function
        return function

    return register


def upcast(type_name: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Return ``data`` (a stored JSON object) upgraded to the current schema version.

    Raises:
        ValidationError: the type is unknown, the version is not one this code can
            read (below 1 or newer than current), or an upcaster refused the data.
    """
    current = payload_type(type_name).schema_version
    if not 1 <= schema_version <= current:
        raise ValidationError(
            f"{type_name} schema version {schema_version} is not readable "
            f"(this fleet reads versions 1 to {current})",
            [("schema_version", f"expected 1 to {current}, got {schema_version}")],
        )
    for version in range(schema_version, current):
        data = _UPCASTERS[type_name, version](data)
    return data


def missing_upcasters() -> list[tuple[str, int]]:
    """Return every ``(type, version)`` step that has no upcaster; empty when complete."""
    return [
        (name, version)
        for name, cls in EVENT_TYPES.items()
        for version in range(1, cls.schema_version)
        if (name, version) not in _UPCASTERS
    ]


_V1_PRIORITIES: Final = dict(enumerate(PRIORITIES, start=1))


@register_upcaster("MissionCreated", 1)
def _mission_created_v1(data: dict[str, Any]) -> dict[str, Any]:
    priority = data.get("priority", 2)
    if isinstance(priority, bool) or priority not in _V1_PRIORITIES:
        raise ValidationError(
            f"invalid MissionCreated v1 payload: priority {priority!r}",
            [("MissionCreated.priority", "a v1 priority must be an integer from 1 to 4")],
        )
    return {**data, "priority": _V1_PRIORITIES[priority]}
