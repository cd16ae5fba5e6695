"""The SQLite backend: ``BEGIN IMMEDIATE``, multi-row inserts, one-statement commits.

At every step of a statement the driver lets go of the GIL, and each time the
writer thread wants it back it may queue behind the event loop's thread.
Everything here is shaped to take as few steps as there can be:

* Rows go in multi-row ``INSERT ... VALUES (...), (...)`` statements of a few
  bounded sizes (see :data:`ROW_STEP`), so the driver's statement cache keeps
  every shape prepared.
* A batch that follows the head this backend's last commit left is committed
  by one statement that is its own transaction (up to
  :data:`STANDALONE_MAX_ROWS` rows): the insert, the check that the head has
  not moved and the commit are one step. More rows go in one ``BEGIN
  IMMEDIATE`` transaction of such statements.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from fleet.db.backends.base import (
    HEAD_POSITION,
    Backend,
    Step,
    Storage,
    WriteTransaction,
    insert_parts,
    quietly_rollback,
)
from fleet.db.driver_errors import driver_errors, translate
from fleet.db.engine import sqlite_path
from fleet.db.rows import PendingTuple, SnapshotRow, StoredColumn, positioned
from fleet.db.schema import EVENT_COLUMNS
from fleet.errors import AppendFailed

__all__ = [
    "STANDALONE_MAX_ROWS",
    "SQLiteBackend",
    "companion_files",
    "standalone_size",
    "statement_sizes",
]

_NO_EVENT_TRIGGERS: Final = " AND ".join(
    f"NOT EXISTS (SELECT 1 FROM {schema} WHERE type = 'trigger' AND tbl_name = 'events')"
    for schema in ("sqlite_master", "sqlite_temp_master")
)
"""True while no trigger (of any connection's schema or this one's temporary
one) is defined on ``events``."""

STANDALONE_MAX_ROWS: Final = 256
"""Most rows one standalone statement takes. A prepared statement's size grows
with its rows (about 0.2 MB and 1.4 ms to prepare at 256 rows, 6 MB and 25 ms
at 2,688)."""

_STANDALONE_STEP: Final = 32
"""Standalone statements above 16 rows come in multiples of this."""

ROWS_PER_STATEMENT: Final = 128
"""Most rows one multi-row ``INSERT`` carries (12 columns: 1,536 parameters)."""

ROW_STEP: Final = 16
"""Multi-row statements come in sizes 1-15 and multiples of this, so few shapes exist."""


def companion_files(path: Path) -> tuple[Path, Path]:
    """The write-ahead log and shared-memory index SQLite keeps beside ``path`` in WAL mode."""
    return path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")


def standalone_size(count: int) -> int:
    """The standalone statement size for ``count`` rows: exact up to 16, then the
    next multiple of 32 (24 shapes up to :data:`STANDALONE_MAX_ROWS`, about 1 MB
    prepared)."""
    return count if count <= ROW_STEP else -(-count // _STANDALONE_STEP) * _STANDALONE_STEP


def statement_sizes(count: int) -> list[int]:
    """Statement sizes for ``count`` rows: full ones, a multiple of the step, the rest."""
    full, rest = divmod(count, ROWS_PER_STATEMENT)
    stepped, small = divmod(rest, ROW_STEP)
    sizes = [ROWS_PER_STATEMENT] * full
    if stepped:
        sizes.append(stepped * ROW_STEP)
    if small:
        sizes.append(small)
    return sizes


class SQLiteBackend(Backend):
    """Writes to a SQLite file (or an in-memory database)."""

    name = "sqlite"

    def __init__(self, engine: sa.Engine, *, shared: bool = False, read_only: bool = False) -> None:
        super().__init__(engine, shared=shared, read_only=read_only)
        self._target, self._row = insert_parts(engine.dialect, "events", EVENT_COLUMNS)
        self._multi_row: dict[int, str] = {}
        self._standalone: dict[int, str] = {}

    def _lock_and_read_head(self, driver: Any) -> int:
        cursor = driver.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(HEAD_POSITION)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return int(row[0])

    def _transaction(self, conn: sa.Connection, driver: Any, head: int) -> WriteTransaction:
        return _SQLiteTransaction(self, conn, driver, head)

    def insert_steps(self, rows: Sequence[Sequence[Any]]) -> list[Step]:
        """The multi-row statements that insert ``rows``, each with its parameters."""
        if len(rows) == 1:
            return [(self.insert_event_sql, rows)]
        shapes = self._multi_row
        steps: list[Step] = []
        start = 0
        for size in statement_sizes(len(rows)):
            sql = shapes.get(size)
            if sql is None:
                sql = shapes[size] = (
                    f"INSERT INTO {self._target} VALUES {', '.join([self._row] * size)}"
                )
            steps.append((sql, [list(chain.from_iterable(rows[start : start + size]))]))
            start += size
        return steps

    # -- commits after the known head -------------------------------------------

    def _commit_after(
        self, head: int, rows: Sequence[PendingTuple], snapshots: Sequence[SnapshotRow]
    ) -> int | None:
        """Commit ``rows`` in as few driver steps as there can be.

        Declines (``None``) for a batch with snapshots or without rows, and
        when nothing was stored because the head moved or a row was refused:
        the general transaction then reads the head afresh and names a
        genuine conflict.
        """
        conn = self._connection
        if snapshots or not rows or conn is None or conn.invalidated or conn.closed:
            return None
        first = head + 1
        full = positioned(rows, first)
        driver: Any = conn.connection.dbapi_connection
        try:
            if len(full) <= STANDALONE_MAX_ROWS:
                stored = self._insert_checked(driver, full)
            else:
                stored = self._insert_chunks(conn, driver, full)
        except sqlite3.IntegrityError:
            stored = False
        except driver_errors() as exc:
            raise self._write_failed(conn, translate(exc, AppendFailed)) from exc
        if not stored:
            self.head_rereads += 1
            return None
        self._known_head = full[-1][StoredColumn.POSITION]
        return first

    def standalone_statement(
        self, rows: Sequence[Sequence[Any]], head: int
    ) -> tuple[str, list[Any]]:
        """One statement inserting ``rows`` after ``head``, and its parameters.

        The statement inserts nothing unless the log's head is still ``head``
        (the check is part of the statement, under its write lock) and
        ``events`` has no triggers: a trigger's ``RAISE(FAIL)`` would keep the
        rows before the one it refused, and a statement that is its own
        transaction would commit them. A refused row rolls back the whole
        transaction (``OR ROLLBACK``), so SQLite keeps no journal of the
        statement's own changes. Its size is rounded up (see
        :func:`standalone_size`) and the spare rows are bound as NULLs, which
        its ``WHERE`` drops, so that few shapes exist and each is prepared
        once per connection.
        """
        size = standalone_size(len(rows))
        shapes = self._standalone
        sql = shapes.get(size)
        if sql is None:
            sql = shapes[size] = (
                f"INSERT OR ROLLBACK INTO {self._target} "
                f"SELECT * FROM (VALUES {', '.join([self._row] * size)}) "
                f"WHERE column1 IS NOT NULL AND ({HEAD_POSITION}) = ? AND {_NO_EVENT_TRIGGERS}"
            )
        parameters = list(chain.from_iterable(rows))
        parameters.extend([None] * ((size - len(rows)) * len(EVENT_COLUMNS)))
        parameters.append(head)
        return sql, parameters

    def _insert_checked(self, driver: Any, rows: Sequence[Sequence[Any]]) -> bool:
        """One standalone statement: True if it stored every row."""
        sql, parameters = self.standalone_statement(rows, rows[0][StoredColumn.POSITION] - 1)
        return bool(driver.execute(sql, parameters).rowcount == len(rows))

    def _insert_chunks(
        self, conn: sa.Connection, driver: Any, rows: Sequence[Sequence[Any]]
    ) -> bool:
        """More than one statement's rows, in one transaction.

        Whatever happens, the connection is left outside a transaction, or
        invalidated (and so replaced by the next write) if it cannot roll back.
        """
        driver.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(rows), STANDALONE_MAX_ROWS):
                if not self._insert_checked(driver, rows[start : start + STANDALONE_MAX_ROWS]):
                    quietly_rollback(conn, driver)
                    return False
            driver.commit()
        except BaseException:
            quietly_rollback(conn, driver)
            raise
        return True

    def _probe(self, conn: sa.Connection) -> str | None:
        """Change a page (SQLite takes the write lock even on a file it may not
        change: only changing a page tells), then check the companion files.

        The change is never committed, so it never reaches the ``-wal`` file;
        and a ``-shm`` file that cannot be written leaves every other process
        that opens the database read-only. SQLite creates both with the database file's
        mode: after a database read-only at open is made writable again, they
        may still be read-only. Each one that exists must be writable too.
        """
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
        path = sqlite_path(self._engine.url)
        for companion in () if path is None else companion_files(path):
            if companion.exists() and not os.access(companion, os.W_OK):
                return (
                    f"{companion} cannot be written: SQLite needs write access to the "
                    "database file and to its -wal and -shm files"
                )
        return super()._probe(conn)

    def storage(self, conn: sa.Connection) -> Storage:
        """The file's pages, and those of them on its free list, times the page size.

        Deleted rows leave their pages inside the file, free for reuse; only
        ``VACUUM`` gives them back to the file system.
        """
        page_size = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one())
        return Storage(pages * page_size, free * page_size)


class _SQLiteTransaction(WriteTransaction):
    """A SQLite write transaction: rows go in multi-row statements."""

    __slots__ = ()

    _backend: SQLiteBackend

    def _insert(self, rows: Sequence[Sequence[Any]]) -> int:
        return self._executemany(*self._backend.insert_steps(rows))
