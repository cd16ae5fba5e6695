"""Atomic appends across several streams.

Each stream's actor checks its share (expected version, transitions), hands
the coordinator its rows and then holds — processing nothing else — until the
shared commit is decided. Shares are requested one stream at a time in sorted
stream-id order, so two multi-stream appends can never wait on each other in a
cycle (the classic lock-ordering argument). When every share is prepared the
rows go to the writer as one bundle: all streams commit together or none does.
If any share is refused, the others are released with :class:`AppendFailed`
naming the refused stream, and nothing is stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from fleet.errors import AppendFailed

if TYPE_CHECKING:
    from fleet.store.writer import Row, Writer

__all__ = ["MultiAppend"]


class MultiAppend:
    """Collects the shares of one multi-stream append and commits them as one bundle."""

    def __init__(self, stream_ids: list[str], writer: Writer) -> None:
        self._stream_ids = stream_ids
        self._writer = writer
        self._rows: list[list[Row] | None] = [None] * len(stream_ids)
        self._answered = [anyio.Event() for _ in stream_ids]
        self._refusals: list[BaseException | None] = [None] * len(stream_ids)
        self._decided = anyio.Event()
        self._offsets: list[int] = []
        self._first_position = 0
        self._error: BaseException | None = None

    def prepared(self, index: int, rows: list[Row]) -> None:
        """Record share ``index``'s rows; its actor then waits in :meth:`outcome`."""
        self._rows[index] = rows
        self._answered[index].set()

    def abort(self, index: int, error: BaseException) -> None:
        """Record that share ``index`` was refused (no effect once it was answered)."""
        if not self._answered[index].is_set():
            self._refusals[index] = error
            self._answered[index].set()

    async def wait_answer(self, index: int) -> BaseException | None:
        """Wait until share ``index`` is prepared or refused; return the refusal, if any."""
        await self._answered[index].wait()
        return self._refusals[index]

    @property
    def decided(self) -> bool:
        """True once the shares have been committed or released with an error."""
        return self._decided.is_set()

    def fail(self, error: BaseException) -> None:
        """Release every prepared share with ``error``; nothing is committed."""
        self._error = error
        self._decided.set()

    async def commit(self) -> None:
        """Commit all prepared shares as one bundle and release the actors.

        A failed commit is not raised here: every share's actor receives it and
        fails its request with it.
        """
        from fleet.store.writer import Bundle

        rows: list[Row] = []
        for share in self._rows:
            assert share is not None
            self._offsets.append(len(rows))
            rows.extend(share)
        try:
            self._first_position = await self._writer.submit(Bundle(rows))
        except Exception as exc:
            self._error = exc
        finally:
            self._decided.set()

    def refused(self, stream_id: str, error: BaseException) -> AppendFailed:
        """The error that releases other shares when ``stream_id`` refused its share."""
        failure = AppendFailed(f"atomic append not stored: stream {stream_id!r} refused: {error}")
        failure.__cause__ = error
        return failure

    async def outcome(self, index: int) -> int:
        """Wait for the decision; return share ``index``'s first position or raise."""
        await self._decided.wait()
        if self._error is not None:
            raise self._error
        return self._first_position + self._offsets[index]
