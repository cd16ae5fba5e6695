"""What every backend can store, so that a value one backend refuses is refused by all.

* Integers are stored as signed 64-bit numbers (SQLite ``INTEGER``,
  PostgreSQL ``BIGINT``): positions, versions, times and counts range from 0
  to :data:`LARGEST_STORED_INT`.
* PostgreSQL text and ``jsonb`` cannot hold the NUL character (U+0000), so
  no text Fleet stores may contain it, on SQLite either.

Standard library only.
"""

from __future__ import annotations

from typing import Final, TypeGuard

__all__ = ["LARGEST_STORED_INT", "NUL_REFUSED", "has_nul", "is_storable_int", "json_has_nul"]

LARGEST_STORED_INT: Final = 2**63 - 1
"""The largest position, version, time or count a database column holds."""

NUL_REFUSED: Final = "contains a NUL character (\\u0000), which cannot be stored"
"""The problem reported for text with a NUL character in it."""

_ESCAPED_NUL: Final = b"\\u0000"
_BACKSLASH: Final = 0x5C


def is_storable_int(value: object, low: int = 0) -> TypeGuard[int]:
    """Tell whether ``value`` is an ``int`` (not a ``bool``) from ``low`` to
    :data:`LARGEST_STORED_INT`."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and low <= value <= LARGEST_STORED_INT
    )


def has_nul(text: str) -> bool:
    """Tell whether ``text`` contains the NUL character."""
    return "\x00" in text


def json_has_nul(document: bytes) -> bool:
    """Tell whether a JSON document holds a NUL character in any string or key.

    Valid JSON can only spell NUL as the escape ``\\u0000``; one preceded by an
    odd number of backslashes is the literal text ``\\u0000`` instead.
    """
    start = document.find(_ESCAPED_NUL)
    while start != -1:
        backslashes = 0
        index = start - 1
        while index >= 0 and document[index] == _BACKSLASH:
            backslashes += 1
            index -= 1
        if backslashes % 2 == 0:
            return True
        start = document.find(_ESCAPED_NUL, start + 1)
    return False
