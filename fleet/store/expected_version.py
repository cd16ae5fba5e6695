"""Expected versions: the optimistic-concurrency vocabulary of an append.

Stream versions start at 1 for the first event. A stream with no events has no
version (``None``). An append states what it expects:

=================  ==============================================
``ANY``            no check
``NO_STREAM``      the stream must not exist yet
``STREAM_EXISTS``  the stream must have at least one event
``n`` (int ≥ 0)    the stream's version must be exactly ``n``; ``0`` means "no stream"
=================  ==============================================

:func:`check_expected_version` is the one place that decides; it is pure.
"""

from __future__ import annotations

from enum import Enum
from typing import Final, TypeAlias

from fleet.core import is_storable_int
from fleet.errors import ValidationError, WrongExpectedVersion

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "ExpectedVersion",
    "check_expected_version",
    "describe_expected",
    "validate_expected_version",
]


class _Expect(Enum):
    ANY = "any"
    NO_STREAM = "no_stream"
    STREAM_EXISTS = "stream_exists"


ANY: Final = _Expect.ANY
NO_STREAM: Final = _Expect.NO_STREAM
STREAM_EXISTS: Final = _Expect.STREAM_EXISTS

ExpectedVersion: TypeAlias = _Expect | int

_WORDS: Final = {expect.value: expect for expect in _Expect}


def describe_expected(expected: ExpectedVersion) -> int | str:
    """Return the expectation as written in errors and on the wire (an int or a word)."""
    return expected.value if isinstance(expected, _Expect) else expected


def validate_expected_version(expected: object) -> ExpectedVersion:
    """Return ``expected`` as an :data:`ExpectedVersion`, accepting the wire words too.

    Raises:
        ValidationError: not ANY/NO_STREAM/STREAM_EXISTS (or their words) or an int ≥ 0.
    """
    if isinstance(expected, _Expect):
        return expected
    if is_storable_int(expected):
        return expected
    if isinstance(expected, str):
        word = _WORDS.get(expected)
        if word is not None:
            return word
    raise ValidationError(
        f"invalid expected version {expected!r}: use 'any', 'no_stream', "
        "'stream_exists' or a version number >= 0",
        [("expected_version", "not a known expectation")],
    )


def check_expected_version(
    stream_id: str, expected: ExpectedVersion, actual: int | None, *, deleted: bool = False
) -> None:
    """Raise :class:`WrongExpectedVersion` unless a stream at ``actual`` meets ``expected``.

    Args:
        stream_id: named in the error.
        expected: the caller's expectation.
        actual: the stream's current version, ``None`` when it has no events.
        deleted: the stream is soft-deleted: it does not exist for
            ``NO_STREAM`` and ``STREAM_EXISTS``, and its version (its deletion
            record's) is still what an exact expectation is compared with.
    """
    if expected is ANY:
        return
    exists = actual is not None and not deleted
    if expected is NO_STREAM or expected == 0:
        ok = not exists
    elif expected is STREAM_EXISTS:
        ok = exists
    else:
        ok = actual == expected
    if not ok:
        raise WrongExpectedVersion(stream_id, describe_expected(expected), actual)
