"""Schema evolution: turn a payload stored under an older schema into the current one.

Stored events are never rewritten. When a payload type's shape must change in a
way a default cannot cover (a field changes type or meaning), its
``schema_version`` is raised and its category is given an *upcaster* for the
old version. An upcaster maps the decoded JSON object of version ``n`` to that
of version ``n + 1``; reading applies the chain ``n → n+1 → … → current`` and
then validates the result against the current Struct, so an upcast payload obeys
every constraint a new one does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fleet.errors import ValidationError

__all__ = ["Upcaster", "upcast_chain"]

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Maps one stored JSON object of schema version ``n`` to version ``n + 1``.
It must not mutate its argument; it may raise :class:`~fleet.errors.ValidationError`."""


def upcast_chain(
    type_name: str,
    schema_version: int,
    current: int,
    data: dict[str, Any],
    upcasters: Mapping[tuple[str, int], Upcaster],
) -> dict[str, Any]:
    """Return ``data`` (a stored JSON object) upgraded from ``schema_version`` to ``current``.

    Raises:
        ValidationError: the version is not one this code can read (below 1 or
            newer than current), or an upcaster refused the data.
    """
    if not 1 <= schema_version <= current:
        raise ValidationError(
            f"{type_name} schema version {schema_version} is not readable "
            f"(this fleet reads versions 1 to {current})",
            [("schema_version", f"expected 1 to {current}, got {schema_version}")],
        )
    for version in range(schema_version, current):
        data = upcasters[type_name, version](data)
    return data
