"""Translate msgspec's decode errors into fleet's ``(where, why)`` problems.

msgspec reports one failure per decode as ``"<why> - at `$<path>`"``. Fleet's
:class:`~fleet.errors.ValidationError` wants the path spelled from a root the
caller names (``"OrderPlaced"``, ``"events[3].data"``), so a client reading the
error can find the offending field without knowing msgspec's notation.
"""

from __future__ import annotations

import msgspec

from fleet.errors import ValidationError

__all__ = ["problem_from", "validation_error"]

_AT = " - at `"
_KEY = "key` in `"


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
