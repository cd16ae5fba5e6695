"""What every backend shares: the write lock, the write connection, the transaction.

A :class:`Backend` owns the database's single write connection and the
in-process write lock. It offers two ways to write:

* :meth:`Backend.commit` -- the store's one call per batch: rows without
  positions (and snapshots) go in after the log's head, in one transaction,
  and the first position comes back. How the head is learnt and how rows
  travel (head reuse, single-statement inserts, pipelines, ``COPY``) is the
  concrete backend's business and never leaves its module.
* :meth:`Backend.write_transaction` -- an open transaction whose head was read
  after the database-wide write lock was taken, for everything that is not a
  plain batch (savepoints per bundle, read-model rows, migrations' probes).

After a commit whose answer was lost with its connection,
:meth:`Backend.find_settled` looks its events up once it has really ended.

:meth:`Backend.storage` says how much room the events take, as each kind of
database counts it.

Because every writer, in any process, holds the database-wide lock from the
moment it learns the head to its commit, positions ``head + 1, ...`` are
gap-free and in commit order. Every driver error leaving a backend is a
:class:`~fleet.errors.FleetError` (see :mod:`fleet.db.driver_errors`) with the
driver's exception as its cause.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Final, NamedTuple, NoReturn

import sqlalchemy as sa

from fleet.db.driver_errors import driver_errors, translate, translating
from fleet.db.queries import find_events
from fleet.db.rows import PendingTuple, SnapshotRow, StoredColumn, StoredEventRef, positioned
from fleet.db.schema import EVENT_COLUMNS
from fleet.errors import (
    AppendFailed,
    DatabaseCorrupt,
    FleetError,
    StoreClosed,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
)

__all__ = [
    "HEAD_POSITION",
    "Backend",
    "Step",
    "Storage",
    "WriteTransaction",
    "fill",
    "insert_parts",
    "quietly_rollback",
]

HEAD_POSITION: Final = "SELECT coalesce(max(position), 0) FROM events"
"""The log's head: the highest stored position, 0 when the log is empty."""

Step = tuple[str, Sequence[Sequence[Any]]]
"""A statement and the parameter rows of its ``executemany``."""


def insert_parts(dialect: sa.Dialect, table: str, column_names: Sequence[str]) -> tuple[str, str]:
    """The target of an ``INSERT`` (``table (columns)``) and one row of its markers."""
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(quote(name) for name in column_names)
    markers = ", ".join(marker for _ in column_names)
    return f"{table} ({columns})", f"({markers})"


class Storage(NamedTuple):
    """The room a database takes, in bytes (see :meth:`Backend.storage`).

    Attributes:
        size: SQLite: the whole database (pages times page size); PostgreSQL:
            ``events`` and ``snapshots`` with their indexes and TOAST data.
        free: SQLite: pages inside the file that are free for reuse;
            PostgreSQL: ``None`` (the server reuses the room vacuuming frees).
    """

    size: int
    free: int | None


class WriteTransaction:
    """One open write transaction; handed out by :meth:`Backend.write_transaction`.

    The transaction is begun and ended on the driver connection; a SQLAlchemy
    transaction is joined to it only when :attr:`connection` is used, so
    :meth:`insert_events` and :meth:`save_snapshots` alone cost nothing but
    the driver's calls.

    Attributes:
        head_position: the highest stored position (0 when the log is empty)
            when the transaction began, read after the write lock was taken.
            It does not change while the transaction is open.
    """

    __slots__ = ("_backend", "_conn", "_driver", "_last_position", "head_position")

    def __init__(
        self, backend: Backend, connection: sa.Connection, driver: Any, head_position: int
    ) -> None:
        self._backend = backend
        self._conn = connection
        self._driver = driver
        self.head_position = head_position
        self._last_position = head_position

    @property
    def connection(self) -> sa.Connection:
        """The write connection, inside the transaction: statements run on it are part of it."""
        conn = self._conn
        if not conn.in_transaction():
            with translating(AppendFailed):
                conn.begin()
        return conn

    @property
    def last_position(self) -> int:
        """The head as this transaction leaves it: the highest position it inserted, if above."""
        return self._last_position

    def insert_events(self, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows into ``events``.

        Each row is an :class:`~fleet.db.EventRow` or a plain tuple in the same
        column order (position first). Each backend sends them its own
        cheapest way.

        Raises:
            ConcurrencyError: a ``(stream_id, version)`` is already stored.
            DuplicateEvent: an ``event_id`` is already stored.
            StoreUnavailable: the database is locked, full, read-only or gone.
            AppendFailed: any other failure, among them a trigger on ``events``
                that dropped rows (the count stored is checked). On PostgreSQL
                any failure leaves the transaction unusable unless it happened
                inside :meth:`savepoint`.
        """
        if not rows:
            return
        stored = self._insert(rows)
        if stored != len(rows):
            raise AppendFailed(
                f"{len(rows) - stored} of {len(rows)} events were not stored: "
                "a trigger on the events table dropped them"
            )
        self._last_position = max(self._last_position, rows[-1][StoredColumn.POSITION])

    def _insert(self, rows: Sequence[Sequence[Any]]) -> int:
        """Insert ``rows``; return how many the database stored."""
        return self._executemany((self._backend.insert_event_sql, rows))

    def save_snapshots(self, snapshots: Sequence[SnapshotRow]) -> None:
        """Store snapshots; saving the same (stream, version) again replaces its state.

        Raises:
            StoreUnavailable: the database is locked, full, read-only or gone.
            AppendFailed: any other failure (see :meth:`insert_events`).
        """
        if snapshots:
            keys = [(snapshot.stream_id, snapshot.version) for snapshot in snapshots]
            backend = self._backend
            self._executemany(
                (backend.delete_snapshot_sql, keys), (backend.insert_snapshot_sql, snapshots)
            )

    def _executemany(self, *steps: Step) -> int:
        """Run ``steps`` on the driver; return the rows they changed."""
        changed = 0
        try:
            cursor = self._driver.cursor()
            try:
                for sql, rows in steps:
                    cursor.executemany(sql, rows)
                    changed += cursor.rowcount
            finally:
                cursor.close()
        except driver_errors() as exc:
            self._failed(exc)
        return changed

    def _failed(self, exc: BaseException) -> NoReturn:
        raise translate(exc, AppendFailed) from exc

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run a block inside a savepoint of this transaction.

        On an exception everything done in the block is undone, the rest of the
        transaction stays intact and usable, and the exception propagates
        (driver errors as fleet errors). On normal exit the work is kept, to be
        committed with the transaction.
        """
        with translating(AppendFailed):
            nested = self.connection.begin_nested()
        try:
            yield
        except BaseException as exc:
            with translating(AppendFailed):
                nested.rollback()
            if isinstance(exc, driver_errors()):
                raise translate(exc, AppendFailed) from exc
            raise
        with translating(AppendFailed):
            nested.commit()


class Backend:
    """The write side of one database; subclasses are the backends.

    Methods are thread-safe: the store calls them from its writer thread and
    tools from others. A write blocks while another thread holds the write lock.
    """

    name: ClassVar[str]
    """The SQLAlchemy dialect name this backend serves."""

    def __init__(self, engine: sa.Engine, *, shared: bool = False, read_only: bool = False) -> None:
        """Serve writes through ``engine``.

        Args:
            engine: the write engine (one connection is kept out of it).
            shared: the one connection is also the database's reader (an
                in-memory database): it is never kept between writes, and a
                read waits for the write lock (:meth:`exclusive`).
            read_only: every write raises :class:`~fleet.errors.StoreReadOnly`.
        """
        self._engine = engine
        self._shared = shared
        self.read_only = read_only
        self._lock = threading.Lock()
        self._writer_thread: int | None = None
        self._connection: sa.Connection | None = None
        self._known_head: int | None = None
        """The head this backend's last commit left; ``None`` when unknown."""
        self._corrupt: str | None = None
        self._closed = False
        self.head_rereads = 0
        """Commits that tried the head this backend's last commit left, stored nothing
        that way and read the head afresh: another process had moved it, or a row
        or a trigger on ``events`` made the backend's quick way decline."""
        dialect = engine.dialect
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        target, row = insert_parts(dialect, "events", EVENT_COLUMNS)
        self.insert_event_sql: Final = f"INSERT INTO {target} VALUES {row}"
        target, row = insert_parts(dialect, "snapshots", SnapshotRow._fields)
        self.insert_snapshot_sql: Final = f"INSERT INTO {target} VALUES {row}"
        self.delete_snapshot_sql: Final = (
            f"DELETE FROM snapshots WHERE stream_id = {marker} AND version = {marker}"
        )

    # -- the one call per batch ------------------------------------------------

    def commit(self, rows: Sequence[PendingTuple], snapshots: Sequence[SnapshotRow] = ()) -> int:
        """Commit ``rows`` after the log's head in one transaction; return the first position.

        The rows (without positions, see :class:`~fleet.db.PendingTuple`) get
        the positions ``head + 1, ...`` in order, and are stored all or none.
        ``snapshots`` go in with them on a best-effort basis: a snapshot that
        cannot be stored is dropped and does not fail the commit.

        When another process wrote since this backend's previous commit the
        head is learnt afresh: nothing is ever stored at a wrong position.

        Raises:
            StoreClosed: the database was closed.
            StoreReadOnly: the database was opened read-only.
            ConcurrencyError: a ``(stream_id, version)`` is already stored.
            DuplicateEvent: an ``event_id`` is already stored.
            CommitUnknown: the connection broke while the commit was on its
                way, so it may or may not have happened (PostgreSQL).
            StoreUnavailable: the database is locked, full, read-only or gone.
            AppendFailed: any other failure (a trigger refused or dropped a row).
            In each case nothing was stored, except as ``CommitUnknown`` says.
        """
        with self._lock:
            self._check_writable()
            known, self._known_head = self._known_head, None
            first = None if known is None else self._commit_after(known, rows, snapshots)
            if first is not None:
                return first
            txn = self._begin()
            try:
                first = fill(txn, rows, snapshots)
            except BaseException as exc:
                self._end(txn, exc)
                raise
            self._end(txn, None)
            return first

    def _commit_after(
        self, head: int, rows: Sequence[PendingTuple], snapshots: Sequence[SnapshotRow]
    ) -> int | None:
        """Commit after ``head``, the head this backend's last commit left, if the backend can.

        Returns the first position, or ``None`` when nothing was stored and
        :meth:`commit` is to read the head afresh (this way does not apply, or
        another process moved the head). Runs with the lock held.
        """
        return None

    # -- the general transaction -------------------------------------------------

    def write_transaction(self) -> _WriteScope:
        """Open a write transaction on the write connection.

        The database-wide write lock is taken and the head read after it
        (:attr:`WriteTransaction.head_position`). Commits when the block exits
        normally, rolls back when it raises.

        Raises:
            StoreClosed: the database was closed.
            StoreReadOnly: the database was opened read-only.
            CommitUnknown: PostgreSQL: the connection broke while the commit
                was on its way, so the transaction may or may not have
                committed (:meth:`find_settled` learns which).
            StoreUnavailable: the lock could not be taken in time, or the
                database is full, read-only or unreachable.
            AppendFailed: the commit failed for another reason (nothing was
                stored).
            ConcurrencyError, DuplicateEvent: a driver constraint error escaped
                the block.
        """
        return _WriteScope(self)

    def find_settled(self, event_ids: Sequence[str], wait_s: float) -> list[StoredEventRef]:
        """Where ``event_ids`` are stored, looked up once every write begun before has ended.

        A commit whose answer was lost with its connection may still be
        running on the server (PostgreSQL: a deferred trigger, a slow disk), so
        a look-up made at once can miss rows that are stored a moment later.
        Every write transaction holds the database-wide write lock until it
        really ends; the look-up takes that lock first, on the write
        connection (a new one when the last one broke), and reads after it.
        Its transaction writes nothing and is rolled back.

        Args:
            event_ids: the events to look for.
            wait_s: the longest wait for the write lock (PostgreSQL; a
                SQLite commit has ended when the call that made it returns,
                and the lock is waited for as a write waits for it).

        Returns:
            Where each of ``event_ids`` that is stored lives, by position.

        Raises:
            CommitUnknown: PostgreSQL: the write lock was not had within
                ``wait_s``: a write begun before may still be committing.
            StoreClosed: the database was closed.
            StoreUnavailable: the database cannot be reached.
            StoreError: the look-up failed for another reason.
        """
        with self._lock:
            if self._closed:
                raise StoreClosed("the database has been closed")
            conn, driver = self._connect()
            try:
                self._lock_within(driver, wait_s)
                return find_events(conn, event_ids)
            except driver_errors() as exc:
                raise self._write_failed(conn, translate(exc)) from exc
            finally:
                quietly_rollback(conn, driver)
                self._keep_or_close(conn)

    def _lock_within(self, driver: Any, wait_s: float) -> None:
        """Begin on ``driver`` and take the database-wide write lock, waiting at most ``wait_s``.

        Raises :class:`~fleet.errors.CommitUnknown` when the lock was not had in
        time. By default the lock is taken as a write transaction takes it
        (SQLite waits its busy timeout, then fails as busy).
        """
        self._lock_and_read_head(driver)

    def _connect(self) -> tuple[sa.Connection, Any]:
        """The write connection (kept from the last write, or new) and its driver connection."""
        conn = self._connection
        if conn is None or conn.invalidated or conn.closed:
            with translating(AppendFailed):
                conn = self._engine.connect()
        self._connection = None
        return conn, conn.connection.dbapi_connection

    def _begin(self) -> WriteTransaction:
        """Begin, take the write lock and read the head (lock held)."""
        self._known_head = None
        conn, driver = self._connect()
        try:
            head = self._lock_and_read_head(driver)
        except BaseException as exc:
            self._abandon(conn, exc)
            raise
        return self._transaction(conn, driver, head)

    def _abandon(self, conn: sa.Connection, exc: BaseException) -> None:
        """Give up ``conn`` after ``exc`` while beginning (a driver error is raised translated)."""
        if isinstance(exc, driver_errors()):
            error = self._write_failed(conn, translate(exc, AppendFailed))
            self._keep_or_close(conn)
            raise error from exc
        self._keep_or_close(conn)

    def _transaction(self, conn: sa.Connection, driver: Any, head: int) -> WriteTransaction:
        return WriteTransaction(self, conn, driver, head)

    def _lock_and_read_head(self, driver: Any) -> int:
        """Begin on ``driver``, take the database-wide write lock, return the head."""
        raise NotImplementedError

    def _end(self, txn: WriteTransaction, failure: BaseException | None) -> None:
        """Commit ``txn``, or roll it back after ``failure`` (lock held)."""
        conn, driver = txn._conn, txn._driver
        try:
            if failure is not None:
                quietly_rollback(conn, driver)
                if isinstance(failure, driver_errors()):
                    raise self._write_failed(conn, translate(failure, AppendFailed)) from failure
                if isinstance(failure, FleetError):
                    self._write_failed(conn, failure)
                return
            try:
                if conn.in_transaction():
                    conn.commit()
                else:
                    driver.commit()
            except BaseException as exc:
                quietly_rollback(conn, driver)
                if isinstance(exc, driver_errors()):
                    error = self._write_failed(conn, translate(exc, AppendFailed))
                    raise self._commit_failed(driver, error) from exc
                raise
            self._known_head = txn.last_position
        finally:
            self._keep_or_close(conn)

    def _commit_failed(self, driver: Any, error: FleetError) -> FleetError:
        """The error to raise for a commit that failed with ``error``."""
        return error

    def _write_failed(self, conn: sa.Connection, error: FleetError) -> FleetError:
        """Note a failed write and return ``error``.

        After the database was unavailable (read-only, full, an I/O error, ...)
        the write connection is not used again: the next write opens a new
        one, so that fixing the cause is enough. A corrupt database refuses
        every later write.
        """
        if isinstance(error, StoreUnavailable):
            if not conn.invalidated:
                conn.invalidate()
            if isinstance(error, DatabaseCorrupt):
                self.mark_corrupt(str(error))
        return error

    def _keep_or_close(self, conn: sa.Connection) -> None:
        """Keep a healthy, idle write connection for the next transaction; close any other."""
        healthy = not (conn.invalidated or conn.closed or conn.in_transaction())
        if healthy and not self._shared:
            self._connection = conn
            return
        self._connection = None
        if not conn.closed:
            conn.close()

    # -- state -------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._closed:
            raise StoreClosed("the database has been closed")
        if self.read_only:
            raise StoreReadOnly("the database was opened read-only; nothing was written")
        if self._corrupt is not None:
            raise DatabaseCorrupt(
                f"writes are refused: the database was found corrupt ({self._corrupt}); "
                "nothing was written"
            )

    def mark_corrupt(self, reason: str) -> None:
        """Refuse every write from now on: the database was found corrupt (``reason``)."""
        if self._corrupt is None:
            self._corrupt = reason

    @property
    def corrupt(self) -> str | None:
        """Why the database was found corrupt, or ``None`` while it is not known to be."""
        return self._corrupt

    @property
    def busy(self) -> bool:
        """Whether a write is in progress."""
        return self._lock.locked()

    def exclusive(self) -> threading.Lock:
        """The write lock, for a reader that shares the write connection.

        Raises:
            StoreError: called from inside a write transaction of this thread.
        """
        if self._writer_thread == threading.get_ident():
            raise StoreError(
                "an in-memory database has one connection; inside write_transaction() "
                "use the transaction's connection instead of read()"
            )
        return self._lock

    def writable_problem(self) -> str | None:
        """Try an empty write transaction; return why the database cannot be written, or
        ``None`` when it can.

        The transaction takes the write lock and commits nothing. A write
        connection that failed is replaced first, so a cause that was fixed
        (file modes, disk space) no longer counts.
        """
        try:
            with self.write_transaction() as txn:
                return self._probe(txn.connection)
        except _ProbeDone:
            return None
        except FleetError as exc:
            return str(exc)

    def _probe(self, conn: sa.Connection) -> str | None:
        """Return why ``conn``'s transaction cannot write, or raise :class:`_ProbeDone`."""
        raise _ProbeDone

    def storage(self, conn: sa.Connection) -> Storage:
        """The room the database takes, read on ``conn`` (any connection to it)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the write connection. Idempotent; later writes raise StoreClosed."""
        self._closed = True
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class _ProbeDone(Exception):
    """Rolls back the empty write transaction of :meth:`Backend.writable_problem`."""


class _WriteScope:
    """What :meth:`Backend.write_transaction` returns: a plain context manager.

    Written out rather than built with ``contextlib``: generator-based
    managers cost several microseconds per use.
    """

    __slots__ = ("_backend", "_txn")

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._txn: WriteTransaction | None = None

    def __enter__(self) -> WriteTransaction:
        backend = self._backend
        backend._lock.acquire()
        try:
            backend._check_writable()
            backend._writer_thread = threading.get_ident()
            self._txn = backend._begin()
        except BaseException:
            backend._writer_thread = None
            backend._lock.release()
            raise
        return self._txn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        backend = self._backend
        txn, self._txn = self._txn, None
        try:
            assert txn is not None
            backend._end(txn, exc)
        finally:
            backend._writer_thread = None
            backend._lock.release()


def fill(
    txn: WriteTransaction, rows: Sequence[PendingTuple], snapshots: Sequence[SnapshotRow]
) -> int:
    """Insert ``rows`` after the transaction's head, then the snapshots that can be stored."""
    first = txn.head_position + 1
    if rows:
        txn.insert_events(positioned(rows, first))
    if snapshots:
        try:
            with txn.savepoint():
                txn.save_snapshots(snapshots)
        except FleetError:
            pass
    return first


def quietly_rollback(conn: sa.Connection, driver: Any) -> None:
    """Roll back whichever transaction is open; a connection that cannot is invalidated."""
    try:
        if conn.in_transaction():
            conn.rollback()
        else:
            driver.rollback()
    except driver_errors():
        conn.invalidate()
