"""Loading stream actors in batches.

A stream actor must know its stream's head and state before it accepts work.
When many actors start at once (a burst of new streams, or a restart under
load), :class:`StreamLoader` gathers their requests and loads them together in
one worker-thread call — the same drained-batch idea as the writer, on the read
side. No timers: whatever asked while the previous load ran forms the next one.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from fleet.errors import StoreClosed, StreamCorrupt
from fleet.store.stream_loading import LoadedStream, load_streams

if TYPE_CHECKING:
    from fleet.db import Database
    from fleet.events import Aggregate, Catalog

__all__ = ["StreamLoader"]

_MAX_STREAMS = 500


class _Request:
    __slots__ = ("aggregate", "done", "result", "stream_id")

    def __init__(self, stream_id: str, aggregate: Aggregate[Any] | None) -> None:
        self.stream_id = stream_id
        self.aggregate = aggregate
        self.result: LoadedStream | BaseException | None = None
        self.done = anyio.Event()


class StreamLoader:
    """Batches stream loads into few worker-thread calls."""

    def __init__(self, db: Database, catalog: Catalog) -> None:
        self._db = db
        self._catalog = catalog
        self._pending: deque[_Request] = deque()
        self._ready = anyio.Event()
        self._closed = False

    async def load(self, stream_id: str, aggregate: Aggregate[Any] | None) -> LoadedStream:
        """Load one stream, together with whatever else is waiting to load.

        Raises:
            StreamCorrupt: the stream's stored events no longer decode or fold.
            StoreUnavailable: the database could not be read.
            StoreClosed: the loader has stopped.
        """
        if self._closed:
            raise StoreClosed("the store is closed")
        request = _Request(stream_id, aggregate)
        self._pending.append(request)
        self._ready.set()
        await request.done.wait()
        result = request.result
        if isinstance(result, BaseException):
            raise result
        assert result is not None
        return result

    def close(self) -> None:
        """Stop after the loads already requested."""
        self._closed = True
        self._ready.set()

    async def run(self) -> None:
        """Serve load requests until :meth:`close` and nothing is pending."""
        while True:
            if not self._pending:
                if self._closed:
                    return
                await self._ready.wait()
                self._ready = anyio.Event()
                continue
            batch = [self._pending.popleft() for _ in range(min(len(self._pending), _MAX_STREAMS))]
            streams = [(request.stream_id, request.aggregate) for request in batch]
            results: list[LoadedStream | StreamCorrupt | Exception]
            try:
                results = list(
                    await anyio.to_thread.run_sync(load_streams, self._db, self._catalog, streams)
                )
            except Exception as exc:
                results = [exc] * len(batch)
            for request, result in zip(batch, results, strict=True):
                request.result = result
                request.done.set()
