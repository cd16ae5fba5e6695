"""Noticing events that other connections commit, so live subscriptions see them at once.

A store learns of its own commits from its writer. Events appended by another
process sharing the database reach it through a :class:`ChangeFeed`, one per
backend, chosen once by :func:`open_change_feed`:

* **SQLite** -- ``PRAGMA data_version`` on a connection of the feed's own
  changes whenever another connection has committed; the feed asks every
  ``interval`` seconds (a few microseconds each) and, when it changed, reads
  the log's head.
* **PostgreSQL** -- a statement trigger on ``events`` (migration ``0003``)
  sends ``NOTIFY fleet_events, '<newest position>'`` with every insert; the
  notification is delivered when the inserting transaction commits, and never
  for one that rolls back. The feed ``LISTEN``\\ s on a connection of its own.

Both report the newest committed position they saw, which includes the
store's own commits; the caller compares it with what its writer announced.
A feed is a hint, never the only way events are found: subscriptions still
poll the database after a silence.

Everything here is synchronous and blocking; the store runs a feed on a
thread of its own.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from typing import TYPE_CHECKING, Any, Final, Protocol

from fleet.db.driver_errors import translating
from fleet.db.engine import create_engine, is_memory_url
from fleet.db.reads import head_position

if TYPE_CHECKING:
    import sqlalchemy as sa

    from fleet.db.database import Database

__all__ = ["NOTIFY_CHANNEL", "ChangeFeed", "Waker", "open_change_feed"]

NOTIFY_CHANNEL: Final = "fleet_events"
"""The PostgreSQL channel the ``events`` trigger notifies, with the newest position."""


class ChangeFeed(Protocol):
    """Blocking notice of commits made through other connections."""

    def wait(self, timeout: float) -> int | None:
        """Block until events were committed since the last call, ``timeout`` passes or
        :meth:`interrupt` is called.

        Returns:
            The newest committed position known then, or ``None`` when nothing
            was committed meanwhile.

        Raises:
            StoreUnavailable: the feed's connection failed; open a new feed.
        """
        ...

    def close(self) -> None:
        """Release the feed's connection."""
        ...


class Waker:
    """Ends a feed's wait early: one thread blocks in ``select`` on it, another wakes it.

    A wake-up that comes while nobody waits ends the next wait at once.
    """

    def __init__(self) -> None:
        self._inside, self._outside = socket.socketpair()
        self._inside.setblocking(False)
        self._outside.setblocking(False)

    def fileno(self) -> int:
        return self._inside.fileno()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self._outside.send(b"!")

    def sleep(self, timeout: float, *also: Any) -> bool:
        """Wait up to ``timeout`` for a wake-up or one of ``also`` to be readable;
        return whether it was woken (the wake-up is consumed)."""
        ready, _, _ = select.select([self, *also], [], [], timeout)
        if self not in ready:
            return False
        with contextlib.suppress(OSError):
            while self._inside.recv(64):
                pass
        return True

    def close(self) -> None:
        self._inside.close()
        self._outside.close()


class _Silent:
    """A private in-memory database has no other connections: nothing ever arrives."""

    def __init__(self, waker: Waker | None = None) -> None:
        self._waker = waker or Waker()
        self._owns_waker = waker is None

    def wait(self, timeout: float) -> int | None:
        self._waker.sleep(timeout)
        return None

    def close(self) -> None:
        if self._owns_waker:
            self._waker.close()


class _DataVersion:
    """SQLite: ``PRAGMA data_version`` checked every ``interval`` seconds."""

    def __init__(self, engine: sa.Engine, interval: float, waker: Waker | None = None) -> None:
        self._engine = engine
        self._interval = interval
        self._waker = waker or Waker()
        self._owns_waker = waker is None
        with translating():
            self._conn = engine.connect()
            self._driver: Any = self._conn.connection.driver_connection
            try:
                self._version = self._data_version()
            except BaseException:
                self.close()
                raise

    def _data_version(self) -> int:
        version: int = self._driver.execute("PRAGMA data_version").fetchone()[0]
        return version

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        with translating():
            while True:
                version = self._data_version()
                if version != self._version:
                    self._version = version
                    head = head_position(self._conn)
                    self._conn.rollback()
                    return head
                left = deadline - time.monotonic()
                if left <= 0 or self._waker.sleep(min(self._interval, left)):
                    return None

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()
        if self._owns_waker:
            self._waker.close()


class _Listen:
    """PostgreSQL: ``LISTEN fleet_events`` on an autocommit connection of its own."""

    def __init__(self, engine: sa.Engine, waker: Waker | None = None) -> None:
        self._engine = engine
        self._waker = waker or Waker()
        self._owns_waker = waker is None
        with translating():
            self._raw = engine.raw_connection()
            driver: Any = self._raw.driver_connection
            self._driver = driver
            try:
                driver.autocommit = True
                driver.execute(f"LISTEN {NOTIFY_CHANNEL}")
            except BaseException:
                self.close()
                raise

    def wait(self, timeout: float) -> int | None:
        newest: int | None = None
        with translating():
            self._waker.sleep(timeout, self._driver.pgconn.socket)
            for notice in self._driver.notifies(timeout=0):
                newest = max(newest or 0, _position(notice.payload))
        return newest

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._driver.close()
        with contextlib.suppress(Exception):
            self._raw.invalidate()
        self._engine.dispose()
        if self._owns_waker:
            self._waker.close()


def _position(payload: str) -> int:
    try:
        return int(payload)
    except ValueError:
        return 0


def open_change_feed(db: Database, interval: float, waker: Waker | None = None) -> ChangeFeed:
    """Open the change feed for ``db``'s backend.

    Args:
        db: the open database.
        interval: SQLite: seconds between two looks at ``data_version``.
        waker: ends the feed's waits early when woken (default: a new one, which
            the feed closes with itself; a given one stays open).

    Raises:
        StoreUnavailable: the feed's connection could not be opened.
    """
    if db.dialect == "postgresql":
        return _Listen(create_engine(db.config, role="read", url=db.url), waker)
    if is_memory_url(db.url):
        return _Silent(waker)
    engine = create_engine(db.config, role="read", url=db.url, read_only=True)
    return _DataVersion(engine, interval, waker)
