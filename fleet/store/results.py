"""What an append returns."""

from __future__ import annotations

import msgspec

__all__ = ["AppendResult"]


class AppendResult(msgspec.Struct, frozen=True):
    """The outcome of one committed append to one stream.

    Versions and positions of one append are consecutive: the events were
    written together, in order, in one transaction. ``last_version`` is the
    stream's version after the append (pass it as the next ``expected_version``).
    """

    stream_id: str
    first_version: int
    last_version: int
    first_position: int
    last_position: int

    @classmethod
    def spanning(
        cls, stream_id: str, first_version: int, count: int, first_position: int
    ) -> AppendResult:
        """The result of ``count`` events written from ``first_version`` and ``first_position``."""
        return cls(
            stream_id,
            first_version,
            first_version + count - 1,
            first_position,
            first_position + count - 1,
        )

    @property
    def versions(self) -> range:
        """The versions given to the appended events, in order."""
        return range(self.first_version, self.last_version + 1)

    @property
    def positions(self) -> range:
        """The global positions given to the appended events, in order."""
        return range(self.first_position, self.last_position + 1)
