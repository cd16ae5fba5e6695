"""UTC timestamps with millisecond precision.

Fleet stores times as integer milliseconds since the Unix epoch (UTC) and shows
them as ISO-8601 strings such as ``2026-11-26T22:15:19.123Z``. Formatting then
parsing returns the same value exactly.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["format_timestamp", "now_ms", "parse_timestamp", "utc_now"]


def now_ms() -> int:
    """Return the current time as integer milliseconds since the epoch (UTC)."""
    return time.time_ns() // 1_000_000


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime truncated to milliseconds."""
    return datetime.fromtimestamp(now_ms() / 1000, tz=UTC)


def format_timestamp(ms: int) -> str:
    """Format epoch milliseconds as ISO-8601 UTC with exactly three fractional digits."""
    seconds, millis = divmod(ms, 1000)
    base = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{millis:03d}Z"


def parse_timestamp(text: str) -> int:
    """Parse an ISO-8601 timestamp into epoch milliseconds.

    A timestamp without an offset is refused rather than guessed.

    Raises:
        ValueError: the text is not an ISO-8601 timestamp with a UTC offset.
    """
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp has no UTC offset: {text!r}")
    delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000
