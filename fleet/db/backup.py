"""A consistent copy of a SQLite database, taken while other processes keep writing.

:func:`backup_sqlite` uses SQLite's online backup: it copies the database page
by page, a step at a time, and starts over by itself when another connection
writes between two steps, so the copy is always one committed state of the
database. Writers are never blocked for longer than one step. The copy is
written beside its destination and renamed into place only once it is complete
and ``PRAGMA integrity_check`` says it is sound: a crash or an error leaves no
file under the destination's name.

PostgreSQL has its own tools (``pg_dump`` for a logical copy,
``pg_basebackup`` for a physical one); see the README.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fleet.config import Config
from fleet.db.engine import is_memory_url, resolve_url, sqlite_path
from fleet.errors import ConfigError, DatabaseMissing, StoreError

__all__ = ["BackupReport", "backup_sqlite"]

_PAGES_PER_STEP: Final = 1024
_PAUSE_S: Final = 0.005
"""Pause between steps, so that writers get the database in between."""

Progress = Callable[[int, int], None]
"""Called after each step with pages copied and pages in total."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What a backup copied.

    Attributes:
        path: the copy.
        pages: database pages copied.
        bytes: the copy's size.
        seconds: how long it took, verification included.
    """

    path: Path
    pages: int
    bytes: int
    seconds: float


def backup_sqlite(
    config: Config, target: str | Path, progress: Progress | None = None
) -> BackupReport:
    """Copy the configured SQLite database to ``target`` and verify the copy.

    Raises:
        ConfigError: the database is not a SQLite file, or ``target`` exists
            or cannot be written.
        DatabaseMissing: there is no database file to copy.
        StoreError: the copy failed or did not verify (nothing is left at ``target``).
    """
    url = resolve_url(config)
    source = sqlite_path(url)
    if source is None:
        kind = "an in-memory database" if is_memory_url(url) else url.get_backend_name()
        raise ConfigError(
            f"fleet db backup copies SQLite files; this database is {kind} "
            "(for PostgreSQL, use pg_dump or pg_basebackup)"
        )
    if not source.is_file():
        raise DatabaseMissing(f"there is no database at {source}")
    final = Path(target)
    if final.exists():
        raise ConfigError(f"{final} already exists; choose a new name")
    if not final.parent.is_dir():
        raise ConfigError(f"cannot write {final}: {final.parent} is not a directory")
    partial = final.with_name(f".{final.name}.partial")
    started = time.monotonic()
    try:
        pages = _copy(source, partial, progress)
        _verify(partial)
        os.replace(partial, final)
    except OSError as exc:
        raise ConfigError(f"cannot write {final}: {exc.strerror or exc}") from exc
    except sqlite3.Error as exc:
        raise StoreError(f"the backup failed: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupReport(final, pages, final.stat().st_size, time.monotonic() - started)


def _copy(source: Path, partial: Path, progress: Progress | None) -> int:
    copied = 0

    def step(status: int, remaining: int, total: int) -> None:
        nonlocal copied
        copied = total
        if progress is not None:
            progress(total - remaining, total)

    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        writer = sqlite3.connect(partial)
        try:
            reader.backup(writer, pages=_PAGES_PER_STEP, progress=step, sleep=_PAUSE_S)
            # One self-contained file: the copy leaves WAL mode (Fleet turns it on
            # again when it opens the copy for writing).
            writer.execute("PRAGMA journal_mode = DELETE").fetchall()
        finally:
            writer.close()
    finally:
        reader.close()
    return copied


def _verify(partial: Path) -> None:
    copy = sqlite3.connect(f"{partial.resolve().as_uri()}?mode=ro", uri=True)
    try:
        (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        (tables,) = copy.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'alembic_version')"
        ).fetchone()
    finally:
        copy.close()
    if verdict != "ok":
        raise sqlite3.DatabaseError(f"the copy does not verify: {verdict}")
    if tables != 2:
        raise sqlite3.DatabaseError("the copy is not a Fleet database")
