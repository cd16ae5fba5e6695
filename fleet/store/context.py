"""What every stream actor of one store shares."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio

from actors import ActorCrashed, SystemClosed
from fleet.errors import FleetError
from fleet.store.messages import Redo
from fleet.store.subscriptions import SubscriptionHub

if TYPE_CHECKING:
    from actors import ActorSystem, Envelope
    from fleet.config import Config
    from fleet.db import Database
    from fleet.events import Catalog
    from fleet.store.loader import StreamLoader
    from fleet.store.writer import Writer

__all__ = ["StoreContext"]


class StoreContext:
    """The configuration, catalog, database, writer, loader, actor system and subscription
    hub of a store.

    ``system`` is set once the actor system exists (the actors are created by
    the system, so it cannot be a constructor argument).
    """

    def __init__(
        self, config: Config, catalog: Catalog, db: Database, writer: Writer, loader: StreamLoader
    ) -> None:
        self.config = config
        self.catalog = catalog
        self.db = db
        self.writer = writer
        self.loader = loader
        self.system: ActorSystem[str, Any, Any] | None = None
        self.hub = SubscriptionHub(catalog)
        writer.add_listener(self.hub)
        self._redo: deque[tuple[str, Redo]] = deque()
        self._redo_ready = anyio.Event()
        self._closed = False

    def send_back(
        self,
        stream_id: str,
        envelopes: Sequence[Envelope[Any, Any]],
        error: BaseException,
        attempt: int,
    ) -> None:
        """Queue requests to be handed back to their stream's actor (never waits).

        Safe to call from plain callbacks; :meth:`run_redo` delivers them. If
        the store is closing, they fail with ``error`` instead.
        """
        if self._closed or self.system is None:
            _fail(envelopes, error)
            return
        self._redo.append((stream_id, Redo(envelopes, error, attempt)))
        self._redo_ready.set()

    async def run_redo(self) -> None:
        """Deliver queued :class:`Redo` messages until :meth:`close_redo` and the queue is empty."""
        while True:
            if not self._redo:
                if self._closed:
                    return
                await self._redo_ready.wait()
                self._redo_ready = anyio.Event()
                continue
            stream_id, redo = self._redo.popleft()
            assert self.system is not None
            try:
                await self.system.ask(stream_id, redo)
            except SystemClosed:
                _fail(redo.envelopes, redo.error)
            except ActorCrashed as crash:
                cause = crash.__cause__
                _fail(redo.envelopes, cause if isinstance(cause, FleetError) else crash)

    def close_redo(self) -> None:
        """Stop accepting redo requests; pending ones are still delivered or failed."""
        self._closed = True
        self._redo_ready.set()


def _fail(envelopes: Sequence[Envelope[Any, Any]], error: BaseException) -> None:
    for envelope in envelopes:
        if not envelope.done():
            envelope.fail(error)
