"""Telling live subscriptions about events that other processes committed.

While a store has subscriptions, :class:`ChangeWatch` keeps a
:class:`~fleet.db.changes.ChangeFeed` open on a thread of its own and hands
every position it reports to the subscription hub in the event loop. The hub
ignores positions its own writer has already announced and wakes the
subscriptions for the others, which then read the database. With no
subscription open, the thread waits and holds no connection.

A feed that fails is reopened after a pause; meanwhile subscriptions still find
other processes' events by polling after ``store.subscription_poll_s``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread

from fleet.db import ChangeFeed, Waker, open_change_feed
from fleet.errors import StoreError
from fleet.store.posting import Post, poster

if TYPE_CHECKING:
    from fleet.db import Database
    from fleet.store.subscriptions import SubscriptionHub

__all__ = ["ChangeWatch"]

_WAIT_S: Final = 1.0
"""Longest single wait on the feed (a stop interrupts it)."""
_RETRY_S: Final = 1.0
"""Pause before a failed feed is opened again."""
_IDLE_S: Final = 0.5
"""How often a thread with nothing to watch looks whether it should stop."""


class ChangeWatch:
    """Runs the change feed while ``hub`` has subscriptions; see the module docstring."""

    def __init__(self, db: Database, hub: SubscriptionHub, interval: float) -> None:
        self._db = db
        self._hub = hub
        self._interval = interval
        self._stop = threading.Event()
        self._wanted = threading.Event()
        self._feed: ChangeFeed | None = None
        self._waker = Waker()
        hub.on_demand(self._demand_changed)

    def _demand_changed(self, wanted: bool) -> None:
        if wanted:
            self._wanted.set()
            return
        self._wanted.clear()
        self._interrupt()

    def _interrupt(self) -> None:
        self._waker.wake()

    def close(self) -> None:
        """Stop the thread and release the feed."""
        self._stop.set()
        self._wanted.set()
        self._interrupt()

    async def run(self) -> None:
        """Run the watch thread until :meth:`close`."""
        finished = anyio.Event()
        post = poster()
        thread = threading.Thread(
            target=self._thread_main, args=(post, finished.set), name="fleet-changes", daemon=True
        )
        thread.start()
        try:
            await finished.wait()
        finally:
            self.close()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(thread.join)

    def _thread_main(self, post: Post, finished: Callable[[], None]) -> None:
        try:
            while not self._stop.is_set():
                if not self._wanted.is_set():
                    self._release()
                    self._wanted.wait(_IDLE_S)
                    continue
                try:
                    if self._feed is None:
                        self._feed = open_change_feed(self._db, self._interval, self._waker)
                        # What was committed before the feed listened is looked for once.
                        post(self._hub.recheck)
                    newest = self._feed.wait(_WAIT_S)
                except StoreError as exc:
                    # Imported here: a store that never logs never loads structlog.
                    from fleet.logging import get_logger

                    get_logger("store").warning(
                        "change feed failed; subscriptions poll meanwhile", error=str(exc)
                    )
                    self._release()
                    self._stop.wait(_RETRY_S)
                    continue
                if newest is not None:
                    post(self._hub.noticed, newest)
        finally:
            self._release()
            self._waker.close()
            post(finished)

    def _release(self) -> None:
        feed, self._feed = self._feed, None
        if feed is not None:
            _close(feed)


def _close(feed: ChangeFeed) -> None:
    try:
        feed.close()
    except Exception:  # a connection that already failed may fail to close too
        return
