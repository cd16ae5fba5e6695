"""Background WAL checkpoints for a SQLite database file.

In WAL mode a commit appends pages to the ``-wal`` file; a *checkpoint* copies
them back into the database file and fsyncs it. SQLite's default runs that
checkpoint inside whichever commit crosses 1,000 pages, so one commit in a few
hundred takes several times longer than the others, and every append that
waits behind it does too (a large part of the write path's p99 latency).

A :class:`Checkpointer` moves that work out of the commit path: the writer
connection runs with ``wal_autocheckpoint = 0``, and a thread with its own
connection runs a ``PASSIVE`` checkpoint at most once per
``database.checkpoint_interval_ms`` after commits. A passive checkpoint never
waits for the writer or for readers, and the writer keeps committing to the WAL
while it runs. Guarantees:

* No effect on durability: a checkpoint only copies committed pages; a crash
  during one leaves the WAL to be replayed as usual.
* A bounded WAL under sustained load. SQLite starts the WAL over from its
  beginning only when a write transaction begins with every frame copied,
  which a checkpoint running beside a busy writer rarely leaves. When a
  checkpoint finds more than ``restart_frames`` frames, the writer runs one
  passive checkpoint itself before its next transaction (cheap: the
  background one has copied almost everything), so that transaction can
  start the WAL over. Should that checkpoint fail, the transaction fails with
  it like with any other database error, before anything is written.
* A checkpoint that fails (a lock held by another process's checkpoint, a full
  disk) is logged and tried again after the next commit; commits never see it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Final

import msgspec

from fleet.logging import get_logger

__all__ = ["RESTART_FRAMES", "CheckpointStatistics", "Checkpointer", "checkpoint_now"]

RESTART_FRAMES: Final = 10_000
"""WAL frames (pages: about 40 MB at SQLite's 4 KiB) beyond which the writer helps restart it."""

_PASSIVE: Final = "PRAGMA wal_checkpoint(PASSIVE)"

_log = get_logger(__name__)


class CheckpointStatistics(msgspec.Struct, frozen=True):
    """What the background checkpoints have done so far."""

    runs: int
    """Checkpoints run by the background thread."""
    failures: int
    """Of those, how many raised (each was logged)."""
    wal_frames: int
    """Frames in the WAL at the end of the newest checkpoint."""
    copied_frames: int
    """Of those, how many were in the database file when it ended."""
    writer_checkpoints: int
    """Checkpoints the writer ran itself so that the WAL could start over."""


def checkpoint_now(driver: Any) -> tuple[int, int]:
    """Run a passive checkpoint on a sqlite3 connection (outside a transaction).

    Returns:
        Frames in the WAL and frames copied into the database file.
    """
    cursor = driver.cursor()
    try:
        row = cursor.execute(_PASSIVE).fetchone()
    finally:
        cursor.close()
    return int(row[1]), int(row[2])


class Checkpointer:
    """Runs passive checkpoints of one database file on a thread of its own.

    The writer calls :meth:`committed` after each commit (and
    :meth:`writer_checkpoint_due` before it); :meth:`close` stops the thread.
    The thread starts with the first commit, so a database that is only read
    never starts one.
    """

    def __init__(
        self,
        path: Path,
        interval_s: float,
        busy_timeout_s: float,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        self._path = path
        self._interval_s = interval_s
        self._busy_timeout_s = busy_timeout_s
        self._restart_frames = restart_frames
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._restart_due = False
        self._runs = 0
        self._failures = 0
        self._wal_frames = 0
        self._copied_frames = 0
        self._writer_checkpoints = 0

    def committed(self) -> None:
        """Note a commit: a checkpoint follows within the interval (never blocks)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="fleet-wal-checkpoint", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def writer_checkpoint_due(self) -> bool:
        """True once, after a checkpoint found the WAL longer than ``restart_frames``."""
        if not self._restart_due:
            return False
        self._restart_due = False
        self._writer_checkpoints += 1
        return True

    def statistics(self) -> CheckpointStatistics:
        """Counters of the checkpoints run so far."""
        return CheckpointStatistics(
            self._runs,
            self._failures,
            self._wal_frames,
            self._copied_frames,
            self._writer_checkpoints,
        )

    def close(self) -> None:
        """Stop the thread (after a checkpoint in progress ends). Idempotent."""
        with self._lock:
            self._stop.set()
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                if self._stop.is_set():
                    return
                self._wake.clear()
                connection = self._checkpoint(connection)
                if self._stop.wait(self._interval_s):
                    return
        finally:
            if connection is not None:
                connection.close()

    def _checkpoint(self, connection: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """Run one checkpoint, connecting first if need be; return the connection."""
        self._runs += 1
        try:
            if connection is None:
                # mode=rw: never create a file where the database was.
                connection = sqlite3.connect(
                    f"{self._path.resolve().as_uri()}?mode=rw",
                    uri=True,
                    timeout=self._busy_timeout_s,
                    isolation_level=None,
                    check_same_thread=False,
                )
            frames, copied = checkpoint_now(connection)
        except sqlite3.Error as exc:
            self._failed(exc)
            return connection
        self._wal_frames, self._copied_frames = frames, copied
        if frames > self._restart_frames:
            self._restart_due = True
        return connection

    def _failed(self, exc: sqlite3.Error) -> None:
        self._failures += 1
        _log.warning("wal_checkpoint_failed", database=str(self._path), error=str(exc))
