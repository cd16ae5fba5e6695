"""The PostgreSQL backend: one round trip per commit where there can be one.

The database-wide write lock is a transaction-scoped advisory lock. A commit
after the head this backend's last commit left sends its first statement with
the lock and a check of the real head in one round trip; if another process
wrote in between, nothing is stored and the commit starts again from a head
read after the lock. Inserts of :data:`COPY_FROM_ROWS` rows or more stream
through ``COPY``; smaller ones go out with the lock and head check in one
round trip (one statement for a single row, a pipeline for more).

psycopg is only used through the driver connection: this module does not
import it, so an embedded SQLite store never loads it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Final, NoReturn

import sqlalchemy as sa

from fleet.db.backends.base import (
    HEAD_POSITION,
    Backend,
    Step,
    Storage,
    WriteTransaction,
    fill,
)
from fleet.db.driver_errors import driver_errors, is_position_conflict, translate
from fleet.db.engine import WRITE_LOCK_KEY, WRITE_LOCK_SQL
from fleet.db.rows import PendingTuple, SnapshotRow
from fleet.db.schema import EVENT_COLUMNS
from fleet.errors import AppendFailed, CommitUnknown, FleetError

__all__ = ["COPY_FROM_ROWS", "HeadMoved", "PostgresBackend"]

COPY_FROM_ROWS: Final = 64
"""Inserts of at least this many rows use ``COPY``: it streams the rows
formatted in C, where ``executemany`` spends Python work and a socket exchange
on every row."""

_LOCKING_INSERT: Final = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT row.* "
    f"FROM pg_advisory_xact_lock({WRITE_LOCK_KEY}), "
    f"(VALUES ({', '.join('%s' for _ in EVENT_COLUMNS)})) AS row "
    f"WHERE ({HEAD_POSITION}) = %s"
)
"""Take the write lock, then insert one row if the head is as given
(parameters: the row's columns, then the expected head)."""

_COPY_EVENTS: Final = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"


class HeadMoved(AppendFailed):
    """Another process wrote since the head a commit relied on; nothing was stored.

    Never leaves the backend: :meth:`PostgresBackend.commit` then reads the
    head afresh.
    """


class PostgresBackend(Backend):
    """Writes to a PostgreSQL database, possibly shared with other processes."""

    name = "postgresql"

    def _lock_and_read_head(self, driver: Any) -> int:
        # The driver begins implicitly; the lock and the head query go out in
        # one pipeline, and the query still takes its snapshot after the lock
        # is granted (each statement of a READ COMMITTED transaction takes one).
        with driver.cursor() as lock, driver.cursor() as cursor:
            with driver.pipeline():
                lock.execute(WRITE_LOCK_SQL)
                cursor.execute(HEAD_POSITION)
            row = cursor.fetchone()
        return int(row[0])

    def _transaction(self, conn: sa.Connection, driver: Any, head: int) -> WriteTransaction:
        return _PostgresTransaction(self, conn, driver, head)

    def _commit_after(
        self, head: int, rows: Sequence[PendingTuple], snapshots: Sequence[SnapshotRow]
    ) -> int | None:
        """Commit without a round trip of its own for the lock and the head.

        The transaction's first statement takes the lock and checks that the
        head is still ``head``; when it is not, nothing is stored and the
        commit is left to a transaction that reads the head afresh. A batch
        of snapshots alone always goes that way.
        """
        if not rows:
            return None
        conn, driver = self._connect()
        txn = _PostgresTransaction(self, conn, driver, head, unchecked=True)
        try:
            first = fill(txn, rows, snapshots)
        except HeadMoved as exc:
            self._end(txn, exc)
            self.head_rereads += 1
            return None
        except BaseException as exc:
            self._end(txn, exc)
            raise
        self._end(txn, None)
        return first

    def _lock_within(self, driver: Any, wait_s: float) -> None:
        """Take the write lock with ``lock_timeout`` set to ``wait_s`` for this transaction."""
        psycopg = sys.modules["psycopg"]
        with driver.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                (f"{max(1, round(wait_s * 1000))}ms",),
            )
            try:
                cursor.execute(WRITE_LOCK_SQL)
            except psycopg.errors.LockNotAvailable as exc:
                raise CommitUnknown(
                    f"the database's write lock was still held after {wait_s:g} s: a commit "
                    "begun before may not have ended yet, so whether it stored the events "
                    "looked for is unknown; a retry with the same event ids is safe"
                ) from exc

    def _commit_failed(self, driver: Any, error: FleetError) -> FleetError:
        if getattr(driver, "broken", False):
            return CommitUnknown(
                f"the database connection failed while the commit was on its way ({error}), "
                "so it may or may not have happened: a retry is safe (an append's with the "
                "same event ids)"
            )
        return error

    def _probe(self, conn: sa.Connection) -> str | None:
        if conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
            return "the PostgreSQL server accepts only reads"
        return super()._probe(conn)

    def storage(self, conn: sa.Connection) -> Storage:
        """``events`` and ``snapshots`` with their indexes and TOAST data; no free figure.

        Deleted rows take their room until a vacuum (autovacuum included)
        makes it reusable inside the tables.
        """
        query = "SELECT pg_total_relation_size('events') + pg_total_relation_size('snapshots')"
        return Storage(int(conn.exec_driver_sql(query).scalar_one()), None)


class _PostgresTransaction(WriteTransaction):
    """A PostgreSQL write transaction, possibly begun without taking the lock yet.

    An *unchecked* transaction has not yet taken the lock nor read the head:
    its first statement does both, and raises :class:`HeadMoved` (storing
    nothing) when the head is not :attr:`head_position`.
    """

    __slots__ = ("_unchecked",)

    def __init__(
        self,
        backend: Backend,
        connection: sa.Connection,
        driver: Any,
        head_position: int,
        *,
        unchecked: bool = False,
    ) -> None:
        super().__init__(backend, connection, driver, head_position)
        self._unchecked = unchecked

    @property
    def connection(self) -> sa.Connection:
        if self._unchecked:
            self._executemany()
        return super().connection

    def _insert(self, rows: Sequence[Sequence[Any]]) -> int:
        if len(rows) >= COPY_FROM_ROWS:
            return self._copy(rows)
        if self._unchecked:
            self._unchecked = False
            return self._insert_locking(rows)
        return super()._insert(rows)

    def _insert_locking(self, rows: Sequence[Sequence[Any]]) -> int:
        """Insert, the first row by one statement that also locks and checks.

        That statement takes the write lock, then inserts the row only if the
        head is :attr:`head_position`: one statement where a separate lock and
        head query would cost two more, each about as dear as the insert on the
        client. Its snapshot predates the lock, so a writer that committed while
        this one waited is not seen by the check, but the position it stored
        refuses the row. Either way :class:`HeadMoved`, and nothing is stored.

        Returns the rows stored (fewer than given if a trigger dropped some).
        """
        driver, expected = self._driver, self.head_position
        first = driver.cursor()
        rest = driver.cursor() if len(rows) > 1 else None
        try:
            if rest is None:
                # A pipeline's extra synchronisation costs more than it saves
                # for a lone statement.
                first.execute(_LOCKING_INSERT, (*rows[0], expected))
            else:
                with driver.pipeline():
                    first.execute(_LOCKING_INSERT, (*rows[0], expected))
                    # Inside a pipeline, executemany queues its statements in
                    # it and counts the rows they stored.
                    rest.executemany(self._backend.insert_event_sql, rows[1:])
            inserted = first.rowcount
            stored: int = inserted + (rest.rowcount if rest is not None else 0)
        except driver_errors() as exc:
            if is_position_conflict(exc):
                raise _head_moved(expected, None) from exc
            self._failed(exc)
        finally:
            first.close()
            if rest is not None:
                rest.close()
        if inserted != 1:
            raise _head_moved(expected, None)
        return stored

    def _copy(self, rows: Sequence[Sequence[Any]]) -> int:
        """Insert ``rows`` with ``COPY`` (after the lock and head check, if due)."""
        if self._unchecked:
            self._unchecked = False
            self._lock_check_head_and_run(())
        try:
            with self._driver.cursor() as cursor:
                with cursor.copy(_COPY_EVENTS) as copy:
                    for row in rows:
                        copy.write_row(row)
                stored: int = cursor.rowcount
        except driver_errors() as exc:
            self._failed(exc)
        return stored

    def _executemany(self, *steps: Step) -> int:
        """Run ``steps``; return the rows they changed (-1 when run with the head check)."""
        if self._unchecked:
            self._unchecked = False
            self._lock_check_head_and_run(steps)
            return -1
        return super()._executemany(*steps)

    def _lock_check_head_and_run(self, steps: Sequence[Step]) -> None:
        """Take the lock, read the head and run ``steps`` in one pipeline.

        Raises :class:`HeadMoved` when the head is not :attr:`head_position`.
        """
        driver = self._driver
        with driver.cursor() as lock, driver.cursor() as head, driver.cursor() as cursor:
            try:
                with driver.pipeline():
                    lock.execute(WRITE_LOCK_SQL)
                    head.execute(HEAD_POSITION)
                    # ``execute`` only queues in a pipeline; ``executemany`` would
                    # open a nested one and wait for its results (a round trip).
                    for sql, rows in steps:
                        for row in rows:
                            cursor.execute(sql, row)
            except driver_errors() as exc:
                found = _fetched_head(head)
                if found is not None and found != self.head_position:
                    raise _head_moved(self.head_position, found) from exc
                self._failed(exc)
            found = _fetched_head(head)
        if found != self.head_position:
            raise _head_moved(self.head_position, found)

    def _failed(self, exc: BaseException) -> NoReturn:
        psycopg = sys.modules["psycopg"]
        if isinstance(exc, psycopg.OperationalError):
            self._conn.invalidate(exc)
        raise translate(exc, AppendFailed) from exc


def _fetched_head(cursor: Any) -> int | None:
    """The head read by a pipelined query, or ``None`` if it did not run."""
    try:
        row = cursor.fetchone()
    except driver_errors():
        return None
    return None if row is None else int(row[0])


def _head_moved(expected: int, found: int | None) -> HeadMoved:
    moved = f"from {expected} to {found}" if found is not None else f"away from {expected}"
    return HeadMoved(
        f"another writer moved the log's head {moved} since this "
        "database's last commit; nothing was stored"
    )
