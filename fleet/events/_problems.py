"""Translate msgspec's decode errors into fleet's ``(where, why)`` problems.

msgspec reports one failure per decode as ``"<why> - at `$<path>`"``. Fleet's
:class:`~fleet.errors.ValidationError` wants the path spelled from a root the
caller names (``"OrderPlaced"``, ``"events[3].data"``), so a client reading the
error can find the offending field without knowing msgspec's notation. A
time-ordered id that breaks its field's pattern is refused with the id's form
spelled out (:func:`fleet.core.id_form`), not with the pattern.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from fleet.core import CATEGORY_PATTERN, id_form
from fleet.errors import ValidationError
from fleet.events._fields import ID_BODY_PATTERN

__all__ = ["problem_from", "validation_error"]

_AT = " - at `"
_KEY = "key` in `"
_ID_MISMATCH: Final = re.compile(
    f"Expected `str` matching regex '\\^({CATEGORY_PATTERN})-{re.escape(ID_BODY_PATTERN)}"
    r"(?:\(\?!\\n\))?\$'"
)
"""msgspec's words for a value that breaks an id field's pattern (``EventIdField``, or
a catalog's own field of ``<prefix>-`` and :data:`ID_BODY_PATTERN`)."""


def problem_from(exc: msgspec.DecodeError, root: str) -> tuple[str, str]:
    """Return ``(where, why)`` for one msgspec decode or validation error.

    Args:
        exc: the error msgspec raised.
        root: the name of the thing that was being decoded; msgspec's ``$``.
    """
    text = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return root, f"malformed JSON: {text}"
    why, sep, path = text.rpartition(_AT)
    if not sep:
        return root, text
    mismatch = _ID_MISMATCH.fullmatch(why)
    if mismatch is not None:
        why = f"expected {id_form(mismatch.group(1) + '-')}"
    if path.startswith(_KEY):
        path, why = path.removeprefix(_KEY), f"{why} (in a key)"
    return root + path.removeprefix("$").removesuffix("`"), why


def validation_error(subject: str, exc: msgspec.DecodeError, root: str) -> ValidationError:
    """Build a :class:`ValidationError` for a failed decode, with one problem.

    Args:
        subject: what was being validated, for the message (``"OrderPlaced payload"``).
        exc: msgspec's error.
        root: the path the problem's location starts from.
    """
    where, why = problem_from(exc, root)
    return ValidationError(f"invalid {subject}: {where}: {why}", [(where, why)])
