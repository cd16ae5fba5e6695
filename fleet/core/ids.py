"""Prefixed, time-ordered, URL-safe ids.

An id is ``<prefix>-<26 characters>``: the characters are lowercase Crockford
base32 of a 128-bit number whose top 48 bits are the creation time in
milliseconds and whose low 80 bits are random. Guarantees:

* ids sort (as strings) by creation time, so a database index on them appends;
* within one process, ids generated later always sort later, even within the
  same millisecond (the random part is incremented);
* across processes, 80 random bits make a collision vanishingly unlikely.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Final, NewType, TypeGuard

from fleet.core.constants import (
    CATEGORY_PATTERN,
    EVENT_ID_PREFIX,
    EVENT_TYPE_PATTERN,
    MAX_STREAM_ID_LENGTH,
    STREAM_KEY_PATTERN,
)
from fleet.core.time import now_ms

__all__ = [
    "ALPHABET",
    "BODY_LENGTH",
    "EXAMPLE_BODY",
    "EventId",
    "StreamId",
    "extract_prefix",
    "generate_event_id",
    "generate_id",
    "id_form",
    "id_timestamp_ms",
    "invalid_id_message",
    "is_category_name",
    "is_event_type_name",
    "is_valid_prefix_id",
    "parse_event_id",
    "parse_prefixed_id",
    "parse_stream_id",
    "stream_category",
    "stream_id_form",
]

EventId = NewType("EventId", str)
StreamId = NewType("StreamId", str)

ALPHABET: Final = "0123456789abcdefghjkmnpqrstvwxyz"
"""The characters of an id's body (Crockford's base32, lower case)."""
BODY_LENGTH: Final = 26
"""The length of an id's body, after its prefix and dash."""
_MAX_RANDOM: Final = (1 << 80) - 1
_PAIRS: Final = tuple(a + b for a in ALPHABET for b in ALPHABET)
_VALUES: Final = {c: i for i, c in enumerate(ALPHABET)}
_BODY: Final = f"[0-3][{ALPHABET}]{{{BODY_LENGTH - 1}}}"
_ID_PATTERN: Final = re.compile(f"({CATEGORY_PATTERN})-{_BODY}", re.ASCII)
_PREFIX_PATTERN: Final = re.compile(CATEGORY_PATTERN, re.ASCII)
_TYPE_PATTERN: Final = re.compile(EVENT_TYPE_PATTERN, re.ASCII)
_STREAM_PATTERN: Final = re.compile(f"({CATEGORY_PATTERN})-{STREAM_KEY_PATTERN}", re.ASCII)


_ENTROPY_CHUNK: Final = 10 * 64


class _Clock:
    """Monotonic (time, random) state shared by every generator in the process.

    An id's text is built from three cached parts: the 10 characters of the
    time (new each millisecond), 14 characters of the random part's high 70 bits
    (new when the increment carries past the low 10 bits) and one pair looked up
    for the low 10 bits. Fresh random parts come from ``os.urandom`` fetched 64
    at a time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._random = 0
        self._time_text = ""
        self._stem = ""
        self._entropy = b""
        self._entropy_at = 0

    def next_value(self) -> int:
        with self._lock:
            return self._advance(now_ms())

    def _fresh_random(self) -> int:
        at = self._entropy_at
        if at >= len(self._entropy):
            self._entropy = os.urandom(_ENTROPY_CHUNK)
            at = 0
        self._entropy_at = at + 10
        return int.from_bytes(self._entropy[at : at + 10], "big") >> 1

    def _advance(self, ms: int) -> int:
        if ms > self._last_ms:
            self._last_ms = ms
            self._random = self._fresh_random()
            self._time_text = self._stem = ""
        elif self._random < _MAX_RANDOM:
            self._random += 1
            if not self._random & 0x3FF:
                self._stem = ""
        else:
            self._last_ms += 1
            self._random = 0
            self._time_text = self._stem = ""
        return (self._last_ms << 80) | self._random

    def next_body(self, ms: int) -> str:
        """The 26 characters of the next id: 10 for the time, 16 for the random part.

        ``ms`` is the current time as the caller read it; ids stay ordered
        whatever it is, since a time at or before the last id's continues it.
        """
        with self._lock:
            random = self._advance(ms)
            stem = self._stem
            if not stem:
                if not self._time_text:
                    self._time_text = _encode_time(self._last_ms)
                self._stem = stem = self._time_text + _encode_stem(random)
            return stem + _PAIRS[random & 0x3FF]


def _encode_time(ms: int) -> str:
    """The 10 characters of a 48-bit millisecond time (five ten-bit pairs)."""
    pairs = _PAIRS
    return (
        pairs[ms >> 40]
        + pairs[(ms >> 30) & 0x3FF]
        + pairs[(ms >> 20) & 0x3FF]
        + pairs[(ms >> 10) & 0x3FF]
        + pairs[ms & 0x3FF]
    )


def _encode_stem(random: int) -> str:
    """The first 14 characters of an 80-bit random part: all but its low 10 bits."""
    pairs = _PAIRS
    return (
        pairs[(random >> 70) & 0x3FF]
        + pairs[(random >> 60) & 0x3FF]
        + pairs[(random >> 50) & 0x3FF]
        + pairs[(random >> 40) & 0x3FF]
        + pairs[(random >> 30) & 0x3FF]
        + pairs[(random >> 20) & 0x3FF]
        + pairs[(random >> 10) & 0x3FF]
    )


_clock = _Clock()


def generate_id(prefix: str) -> str:
    """Return a new time-ordered id with the given prefix (a category name, or ``evt``).

    Raises:
        ValueError: the prefix is not a lowercase name of the form categories use.
    """
    if not is_category_name(prefix):
        raise ValueError(
            f"invalid id prefix {prefix!r}: expected a lowercase letter, then up to 31 "
            "lowercase letters, digits or _"
        )
    return f"{prefix}-{_clock.next_body(now_ms())}"


def generate_event_id(now: int | None = None) -> EventId:
    """Return a new event id (``evt-…``).

    Args:
        now: the current time in epoch milliseconds, when the caller has just
            read it (one clock read serves an append's ids and timestamps).
            Ids are ordered by generation whatever is passed: a time at or
            before the previous id's continues after it.
    """
    body = _clock.next_body(now_ms() if now is None else now)
    return EventId(f"{EVENT_ID_PREFIX}-{body}")


def extract_prefix(value: str) -> str | None:
    """Return the prefix of a well-formed id, or ``None`` if ``value`` is not one."""
    match = _ID_PATTERN.fullmatch(value)
    return match.group(1) if match is not None else None


def is_valid_prefix_id(value: object, prefix: str | None = None) -> bool:
    """Tell whether ``value`` is a well-formed id, optionally with a given prefix."""
    if not isinstance(value, str) or _ID_PATTERN.fullmatch(value) is None:
        return False
    return prefix is None or value.startswith(prefix + "-")


def id_timestamp_ms(value: str) -> int:
    """Return the creation time (epoch milliseconds) encoded in an id.

    Raises:
        ValueError: ``value`` is not a well-formed id.
    """
    if not is_valid_prefix_id(value):
        raise ValueError(f"not a fleet id: {value!r}")
    number = 0
    for char in value.partition("-")[2]:
        number = (number << 5) | _VALUES[char]
    return number >> 80


EXAMPLE_BODY: Final = "01jd8x7k2m3n4p5q6r7s8t9v0w"
"""A well-formed id body, for messages that show what an id looks like."""


def id_form(prefixes: str) -> str:
    """Describe the form of an id with one of ``prefixes`` (e.g. ``"order-"``),
    with an example, for error messages."""
    example = prefixes.split("-", 1)[0]
    return (
        f"{prefixes} followed by {BODY_LENGTH} characters of lowercase base32 "
        f"(0-9 and a-z without i, l, o, u; the first 0-3), "
        f"e.g. {example}-{EXAMPLE_BODY}; `fleet id {example}` prints a new one"
    )


def invalid_id_message(value: object, prefix: str, kind: str) -> str:
    """The message refusing ``value`` as a ``kind`` id with ``prefix``: it names the
    value and shows the form (:func:`id_form`)."""
    return f"invalid {kind} id {value!r}: expected {id_form(prefix + '-')}"


def parse_prefixed_id(value: object, prefix: str, kind: str) -> str:
    """Return ``value`` if it is a time-ordered id with ``prefix``.

    Raises:
        ValueError: it is not; the message names ``kind`` and shows the form.
    """
    if not is_valid_prefix_id(value, prefix):
        raise ValueError(invalid_id_message(value, prefix, kind))
    assert isinstance(value, str)
    return value


def parse_event_id(value: object) -> EventId:
    """Return ``value`` as an :data:`EventId`, or raise ``ValueError`` naming it."""
    return EventId(parse_prefixed_id(value, EVENT_ID_PREFIX, "event"))


def is_category_name(value: object) -> TypeGuard[str]:
    """Tell whether ``value`` has the form of a stream category's name
    (:data:`~fleet.core.CATEGORY_PATTERN`)."""
    return isinstance(value, str) and _PREFIX_PATTERN.fullmatch(value) is not None


def is_event_type_name(value: object) -> TypeGuard[str]:
    """Tell whether ``value`` has the form of an event type name
    (:data:`~fleet.core.EVENT_TYPE_PATTERN`)."""
    return isinstance(value, str) and _TYPE_PATTERN.fullmatch(value) is not None


def stream_id_form() -> str:
    """Describe the form of a stream id, with examples, for error messages."""
    return (
        f"<category>-<key>: a category name (a lowercase letter, then up to 31 lowercase "
        f"letters, digits or _), a dash, then a letter or digit followed by letters, digits, "
        f"_, . or -, at most {MAX_STREAM_ID_LENGTH} characters in all "
        f"(e.g. order-1001, cart-7f3a, ticket-{EXAMPLE_BODY})"
    )


def stream_category(value: object) -> str | None:
    """Return the category of a well-formed stream id (the part before the first ``-``),
    or ``None`` if ``value`` is not one."""
    if not isinstance(value, str) or len(value) > MAX_STREAM_ID_LENGTH:
        return None
    match = _STREAM_PATTERN.fullmatch(value)
    return match.group(1) if match is not None else None


def parse_stream_id(value: object) -> StreamId:
    """Return ``value`` as a :data:`StreamId` if it has the form of one.

    Only the form is checked here; whether its category exists is the catalog's
    business (:meth:`fleet.events.Catalog.check_stream_id`).

    Raises:
        ValueError: ``value`` is not ``<category>-<key>``; the message shows the form.
    """
    if stream_category(value) is None:
        raise ValueError(f"invalid stream id {value!r}: expected {stream_id_form()}")
    assert isinstance(value, str)
    return StreamId(value)
