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
    from fleet.db import PendingTuple, SnapshotRow
    from fleet.store.writer import Writer

__all__ = ["MultiAppend", "Owner"]

Owner = tuple[object, int]
"""A stream actor and its epoch, as a writer bundle names the streams whose versions
it continues (see :class:`fleet.store.writer.Bundle`)."""


class _MultiBundle:
    """The one bundle of a multi-stream append."""

    __slots__ = ("_coordinator", "owners", "rows", "snapshots")

    def __init__(
        self, coordinator: MultiAppend, rows: list[PendingTuple], owners: tuple[Owner, ...]
    ):
        self._coordinator = coordinator
        self.rows = rows
        self.snapshots: list[SnapshotRow] = []
        self.owners = owners

    def committed(self, first_position: int) -> None:
        self._coordinator._decide(first_position, None)

    def failed(self, error: BaseException) -> None:
        self._coordinator._decide(0, error)


class MultiAppend:
    """Collects the shares of one multi-stream append and commits them as one bundle."""

    def __init__(self, stream_ids: list[str], writer: Writer) -> None:
        self._stream_ids = stream_ids
        self._writer = writer
        self._rows: list[list[PendingTuple]] = [[] for _ in stream_ids]
        self._owners: list[Owner | None] = [None] * len(stream_ids)
        self._answered = [anyio.Event() for _ in stream_ids]
        self._refusals: list[BaseException | None] = [None] * len(stream_ids)
        self._decided = anyio.Event()
        self._offsets: list[int] = []
        self._first_position = 0
        self._error: BaseException | None = None

    def prepared(self, index: int, rows: list[PendingTuple], owner: Owner) -> None:
        """Record share ``index``'s rows and its stream's ``(actor, epoch)``; the actor
        then waits in :meth:`outcome`, so its epoch holds until the decision."""
        self._rows[index] = rows
        self._owners[index] = owner
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

    def _decide(self, first_position: int, error: BaseException | None) -> None:
        self._first_position = first_position
        self._error = error
        self._decided.set()

    def fail(self, error: BaseException) -> None:
        """Release every prepared share with ``error``; nothing is committed."""
        self._decide(0, error)

    async def commit(self) -> None:
        """Hand all prepared shares to the writer as one bundle and wait for the outcome.

        A failed commit is not raised here: every share's actor receives it and
        fails its request with it.
        """
        rows: list[PendingTuple] = []
        owners: list[Owner] = []
        for share, owner in zip(self._rows, self._owners, strict=True):
            assert owner is not None
            self._offsets.append(len(rows))
            rows.extend(share)
            owners.append(owner)
        try:
            await self._writer.submit(_MultiBundle(self, rows, tuple(owners)))
        except Exception as exc:
            self._decide(0, exc)
        await self._decided.wait()

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
