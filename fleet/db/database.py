"""The database as the store sees it: one write connection, a pool of readers.

:meth:`Database.open` builds the engines and refuses a database whose schema
does not match the code. :meth:`Database.write_transaction` is the way to
write: it runs on the single write connection, takes the database-wide write
lock (``BEGIN IMMEDIATE`` on SQLite, an advisory transaction lock on
PostgreSQL), reads the head position after the lock, and commits on normal
exit or rolls back on an exception. Because every writer, in any process, holds
that lock from head read to commit, positions assigned as ``head + 1, ...`` are
gap-free and in commit order. On SQLite, :meth:`Database.insert_standalone`
commits rows that follow the head this connection left in as few statements as
it can, the first of which checks that head under the write lock.

Every driver error leaving this module is a :class:`~fleet.errors.FleetError`
(see :mod:`fleet.db.driver_errors`) with the driver's exception as its cause.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from itertools import chain
from pathlib import Path
from typing import Any, Final, NoReturn

import msgspec
import sqlalchemy as sa

from fleet.config import Config
from fleet.db.driver_errors import (
    driver_errors,
    is_position_conflict,
    is_psycopg_connection,
    translate,
    translating,
)
from fleet.db.engine import (
    WRITE_LOCK_KEY,
    WRITE_LOCK_SQL,
    create_engine,
    is_memory_url,
    resolve_url,
    sqlite_path,
    use_wal,
)
from fleet.db.rows import EventRow, SnapshotRow
from fleet.db.schema import EVENT_COLUMNS, SCHEMA_REVISION
from fleet.errors import (
    AppendFailed,
    CommitUnknown,
    DatabaseCorrupt,
    FleetError,
    HeadMoved,
    SchemaError,
    SchemaOutOfDate,
    SchemaTooNew,
    StoreClosed,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
)

__all__ = ["Database", "PoolStatistics", "WriteTransaction"]

_HEAD_POSITION: Final = "SELECT coalesce(max(position), 0) FROM events"

_LOCKING_INSERT: Final = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT row.* "
    f"FROM pg_advisory_xact_lock({WRITE_LOCK_KEY}), "
    f"(VALUES ({', '.join('%s' for _ in EVENT_COLUMNS)})) AS row "
    f"WHERE ({_HEAD_POSITION}) = %s"
)
"""PostgreSQL: take the write lock, then insert one row if the head is as given
(parameters: the row's columns, then the expected head)."""

_COPY_EVENTS: Final = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
"""PostgreSQL ``COPY`` of events rows, columns in :class:`EventRow` order."""

_Step = tuple[str, Sequence[Sequence[Any]]]
"""A statement and the parameter rows of its ``executemany``."""


class PoolStatistics(msgspec.Struct, frozen=True):
    """A snapshot of connection usage."""

    size: int
    """Read connections the pool may hold open."""
    checked_out: int
    """Read connections lent out right now."""
    idle: int
    """Read connections open and waiting in the pool."""
    overflow: int
    """Connections beyond ``size`` (always 0 or less: the pool is bounded)."""
    writer_busy: bool
    """Whether a write transaction is open."""


def _insert_parts(dialect: sa.Dialect, table: str, column_names: Sequence[str]) -> tuple[str, str]:
    """The target of an ``INSERT`` (``table (columns)``) and one row of its markers."""
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(quote(name) for name in column_names)
    markers = ", ".join(marker for _ in column_names)
    return f"{table} ({columns})", f"({markers})"


def _insert_sql(dialect: sa.Dialect, table: str, column_names: Sequence[str]) -> str:
    target, row = _insert_parts(dialect, table, column_names)
    return f"INSERT INTO {target} VALUES {row}"


_COPY_FROM_ROWS: Final = 64
"""On PostgreSQL, inserts of at least this many rows use ``COPY``: it streams the
rows formatted in C, where ``executemany`` spends Python work and a socket
exchange on every row. Smaller inserts go out with the lock and head check in
one round trip (one statement for a single row, a pipeline for more) instead
of ``COPY``'s two."""

_NO_EVENT_TRIGGERS: Final = " AND ".join(
    f"NOT EXISTS (SELECT 1 FROM {schema} WHERE type = 'trigger' AND tbl_name = 'events')"
    for schema in ("sqlite_master", "sqlite_temp_master")
)
"""SQLite: true while no trigger (of any connection's schema or this one's
temporary one) is defined on ``events``."""

_STANDALONE_MAX_ROWS: Final = 256
"""Most rows one statement of :meth:`Database.insert_standalone` takes. A
prepared statement's size grows with its rows (about 0.2 MB and 1.4 ms to
prepare at 256 rows, 6 MB and 25 ms at 2,688)."""

_STANDALONE_STEP: Final = 32
"""Standalone statements above 16 rows come in multiples of this."""

_ROWS_PER_STATEMENT: Final = 128
"""Most rows one multi-row ``INSERT`` carries on SQLite (12 columns: 1,536 parameters)."""
_ROW_STEP: Final = 16
"""Multi-row statements come in sizes 1-15 and multiples of this, so few shapes exist."""


class _Statements:
    """The write path's statements, compiled once per database for its driver.

    On SQLite, events are inserted with multi-row ``INSERT ... VALUES (...), (...)``
    statements: the driver releases the GIL for each statement it steps, and each
    time the writer thread wants the GIL back it may wait for the event loop's
    thread to yield it. One statement per few hundred rows instead of one per
    row keeps the writer from queueing for the GIL while the loop is busy. The
    statement sizes are bounded (see :data:`_ROW_STEP`) so the driver's
    statement cache keeps every shape prepared.
    """

    __slots__ = (
        "_event_row",
        "_event_target",
        "_multi_row",
        "_standalone",
        "delete_snapshot",
        "insert_event",
        "insert_snapshot",
        "postgres",
    )

    def __init__(self, dialect: sa.Dialect) -> None:
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        self._event_target, self._event_row = _insert_parts(dialect, "events", EVENT_COLUMNS)
        self.insert_event = f"INSERT INTO {self._event_target} VALUES {self._event_row}"
        self.insert_snapshot = _insert_sql(dialect, "snapshots", SnapshotRow._fields)
        self.delete_snapshot = (
            f"DELETE FROM snapshots WHERE stream_id = {marker} AND version = {marker}"
        )
        self._multi_row: dict[int, str] | None = {} if dialect.name == "sqlite" else None
        self._standalone: dict[int, str] = {}
        self.postgres = dialect.name == "postgresql"

    def insert_events(self, rows: Sequence[Sequence[Any]]) -> list[_Step]:
        """The statements that insert ``rows``, each with its parameter rows."""
        shapes = self._multi_row
        if shapes is None or len(rows) == 1:
            return [(self.insert_event, rows)]
        steps: list[_Step] = []
        start = 0
        for size in _statement_sizes(len(rows)):
            sql = shapes.get(size)
            if sql is None:
                sql = shapes[size] = self._values_sql(size)
            steps.append((sql, [list(chain.from_iterable(rows[start : start + size]))]))
            start += size
        return steps

    def standalone_insert(self, rows: Sequence[Sequence[Any]], head: int) -> tuple[str, list[Any]]:
        """One SQLite statement inserting ``rows`` after ``head``, and its parameters.

        The statement inserts nothing unless the log's head is still ``head``
        (the check is part of the statement, under its write lock) and
        ``events`` has no triggers: a trigger's ``RAISE(FAIL)`` would keep the
        rows before the one it refused, and a statement that is its own
        transaction would commit them. A refused row rolls back the whole
        transaction (``OR ROLLBACK``), so SQLite keeps no journal of the
        statement's own changes. Its size is rounded up (see
        :func:`_standalone_size`) and the spare rows are bound as NULLs, which
        its ``WHERE`` drops, so that few shapes exist and each is prepared
        once per connection.
        """
        size = _standalone_size(len(rows))
        shapes = self._standalone
        sql = shapes.get(size)
        if sql is None:
            sql = shapes[size] = (
                f"INSERT OR ROLLBACK INTO {self._event_target} "
                f"SELECT * FROM (VALUES {', '.join([self._event_row] * size)}) "
                f"WHERE column1 IS NOT NULL AND ({_HEAD_POSITION}) = ? AND {_NO_EVENT_TRIGGERS}"
            )
        parameters = list(chain.from_iterable(rows))
        parameters.extend([None] * ((size - len(rows)) * len(EVENT_COLUMNS)))
        parameters.append(head)
        return sql, parameters

    def _values_sql(self, size: int) -> str:
        return f"INSERT INTO {self._event_target} VALUES {', '.join([self._event_row] * size)}"


def _standalone_size(count: int) -> int:
    """The statement size for ``count`` rows: exact up to 16, then the next
    multiple of 32 (24 shapes up to :data:`_STANDALONE_MAX_ROWS`, about 1 MB
    prepared)."""
    return count if count <= _ROW_STEP else -(-count // _STANDALONE_STEP) * _STANDALONE_STEP


def _statement_sizes(count: int) -> list[int]:
    """Statement sizes for ``count`` rows: full ones, a multiple of the step, the rest."""
    full, rest = divmod(count, _ROWS_PER_STATEMENT)
    stepped, small = divmod(rest, _ROW_STEP)
    sizes = [_ROWS_PER_STATEMENT] * full
    if stepped:
        sizes.append(stepped * _ROW_STEP)
    if small:
        sizes.append(small)
    return sizes


class WriteTransaction:
    """One open write transaction; handed out by :meth:`Database.write_transaction`.

    The transaction is begun and ended on the driver connection; a SQLAlchemy
    transaction is joined to it only when :attr:`connection` is used, so
    :meth:`insert_events` and :meth:`save_snapshots` alone cost nothing but
    the driver's calls.

    Attributes:
        head_position: the highest stored position (0 when the log is empty)
            when the transaction began, read after the write lock was taken. It
            does not change while the transaction is open. With
            ``write_transaction(reuse_head=True)`` on PostgreSQL it is the head
            the previous commit of this database left, and it is checked under
            the lock by the transaction's first statement (see
            :meth:`Database.write_transaction`).
    """

    __slots__ = ("_conn", "_driver", "_last_position", "_statements", "_unchecked", "head_position")

    def __init__(
        self,
        connection: sa.Connection,
        driver: Any,
        head_position: int,
        statements: _Statements,
        *,
        unchecked: bool = False,
    ) -> None:
        self._conn = connection
        self._driver = driver
        self.head_position = head_position
        self._statements = statements
        self._unchecked = unchecked
        self._last_position = head_position

    @property
    def connection(self) -> sa.Connection:
        """The write connection, inside the transaction: statements run on it are part of it."""
        if self._unchecked:
            self._executemany()
        conn = self._conn
        if not conn.in_transaction():
            with translating(AppendFailed):
                conn.begin()
        return conn

    @property
    def last_position(self) -> int:
        """The head as this transaction leaves it: the highest position it inserted, if above."""
        return self._last_position

    def insert_events(self, rows: Sequence[EventRow] | Sequence[tuple[Any, ...]]) -> None:
        """Insert rows into ``events``.

        Each row is an :class:`EventRow` or a plain tuple in the same column order.

        On PostgreSQL, up to 63 rows go to one ``executemany`` of a statement
        compiled once per database (the first insert of a transaction that
        reuses its head sends its first row in the statement that locks and
        checks, see :meth:`_insert_locking`), more go through ``COPY``. On SQLite they
        go in multi-row statements of a few bounded sizes (one per 128 rows,
        and two more for the rest), each prepared once per connection.

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
        postgres = self._statements.postgres
        if postgres and len(rows) >= _COPY_FROM_ROWS:
            stored = self._copy(rows)
        elif postgres and self._unchecked:
            self._unchecked = False
            stored = self._insert_locking(rows)
        else:
            stored = self._executemany(*self._statements.insert_events(rows))
        if stored != len(rows):
            raise AppendFailed(
                f"{len(rows) - stored} of {len(rows)} events were not stored: "
                "a trigger on the events table dropped them"
            )
        self._last_position = max(self._last_position, rows[-1][0])

    def _insert_locking(self, rows: Sequence[Sequence[Any]]) -> int:
        """Insert on PostgreSQL, the first row by one statement that also locks and checks.

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
                    rest.executemany(self._statements.insert_event, rows[1:])
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
        """Insert ``rows`` with PostgreSQL ``COPY`` (after the lock and head check, if due).

        Returns the rows the server stored.
        """
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

    def save_snapshots(self, snapshots: Sequence[SnapshotRow]) -> None:
        """Store snapshots; saving the same (stream, version) again replaces its state.

        The same effect as :func:`fleet.db.save_snapshot` for each, with two
        ``executemany`` calls on the driver's cursor for all of them.

        Raises:
            StoreUnavailable: the database is locked, full, read-only or gone.
            AppendFailed: any other failure (see :meth:`insert_events`).
        """
        if snapshots:
            keys = [(snapshot.stream_id, snapshot.version) for snapshot in snapshots]
            statements = self._statements
            self._executemany(
                (statements.delete_snapshot, keys), (statements.insert_snapshot, snapshots)
            )

    def _executemany(self, *steps: _Step) -> int:
        """Run ``steps``; return the rows they changed (-1 when run in a pipeline)."""
        if self._unchecked:
            self._unchecked = False
            self._lock_check_head_and_run(steps)
            return -1
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

    def _lock_check_head_and_run(self, steps: Sequence[_Step]) -> None:
        """Take the lock, read the head and run ``steps`` in one PostgreSQL pipeline.

        Raises :class:`HeadMoved` when the head is not :attr:`head_position`.
        """
        driver = self._driver
        with driver.cursor() as lock, driver.cursor() as head, driver.cursor() as cursor:
            try:
                with driver.pipeline():
                    lock.execute(WRITE_LOCK_SQL)
                    head.execute(_HEAD_POSITION)
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
        if is_psycopg_connection(self._driver) and _is_operational(exc):
            self._conn.invalidate(exc)
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


class _WriteScope:
    """What :meth:`Database.write_transaction` returns: a plain context manager.

    Written out rather than built with ``contextlib``: every commit of the
    store passes through it, and generator-based managers cost several
    microseconds per use.
    """

    __slots__ = ("_db", "_reuse_head", "_txn")

    def __init__(self, db: Database, reuse_head: bool) -> None:
        self._db = db
        self._reuse_head = reuse_head
        self._txn: WriteTransaction | None = None

    def __enter__(self) -> WriteTransaction:
        db = self._db
        db._write_lock.acquire()
        try:
            db._check_writable()
            db._writer_thread = threading.get_ident()
            self._txn = db._begin(self._reuse_head)
        except BaseException:
            db._writer_thread = None
            db._write_lock.release()
            raise
        return self._txn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        db = self._db
        txn, self._txn = self._txn, None
        try:
            assert txn is not None
            db._end(txn, exc)
        finally:
            db._writer_thread = None
            db._write_lock.release()


class _ProbeDone(Exception):
    """Rolls back the empty write transaction of :meth:`Database.writable_problem`."""


def _probe_write(conn: sa.Connection) -> str | None:
    """Return why ``conn``'s transaction cannot write, or raise :class:`_ProbeDone`."""
    if conn.dialect.name == "postgresql":
        if conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
            return "the PostgreSQL server accepts only reads"
    else:
        # SQLite takes the write lock even on a file it may not change: only
        # changing a page tells.
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
    raise _ProbeDone


class Database:
    """A fleet database: one dedicated write connection and a bounded read pool.

    Create it with :meth:`open`; call :meth:`close` when done (or use it as a
    context manager). Methods are thread-safe: the store calls them from worker
    threads. ``write_transaction`` blocks while another thread holds one.
    """

    def __init__(
        self,
        config: Config,
        url: sa.URL,
        write_engine: sa.Engine,
        read_engine: sa.Engine,
        *,
        read_only: bool = False,
    ) -> None:
        self.config = config
        self.read_only = read_only
        self.url = url
        self.dialect: str = write_engine.dialect.name
        self._write_engine = write_engine
        self._read_engine = read_engine
        self._shared_connection = write_engine is read_engine
        self._write_lock = threading.Lock()
        self._writer_thread: int | None = None
        self._statements = _Statements(write_engine.dialect)
        self._write_connection: sa.Connection | None = None
        self._known_head: int | None = None
        self._corrupt: str | None = None
        self._closed = False
        self._lending = threading.Lock()
        """Orders returning a read connection against :meth:`close` disposing the pool."""

    @classmethod
    def open(
        cls, config: Config, *, check_schema: bool = True, read_only: bool = False
    ) -> Database:
        """Connect to the configured database and check its schema.

        An empty database is upgraded to the newest schema when
        ``config.database.auto_migrate`` is set and ``read_only`` is not. On
        any error nothing is left open.

        Args:
            config: the configuration; ``config.database`` is used.
            check_schema: ``False`` only checks that the database can be
                reached (for tools that inspect a database of any revision).
            read_only: never create, migrate or write the database: a missing
                SQLite file is :class:`DatabaseMissing`, and every write
                raises :class:`StoreReadOnly`.

        Raises:
            ConfigError: the URL is not supported.
            StoreUnavailable: the database cannot be reached, opened or read.
            DatabaseMissing: ``read_only`` and the SQLite file does not exist.
            SchemaOutOfDate: the schema is behind the code (or the database is
                empty and may not be migrated): run ``fleet db upgrade``.
            SchemaTooNew: the database was migrated by a newer fleet.
            SchemaError: fleet's tables exist without a recorded revision.
        """
        url = resolve_url(config)
        write_engine = create_engine(config, role="write", url=url, read_only=read_only)
        read_engine = (
            write_engine
            if is_memory_url(url)
            else create_engine(config, role="read", url=url, read_only=read_only)
        )
        db = cls(config, url, write_engine, read_engine, read_only=read_only)
        try:
            if check_schema:
                db._check_schema(migrate=not read_only and config.database.auto_migrate)
            else:
                db._check_reachable()
        except BaseException:
            db.close()
            raise
        return db

    def _use_wal(self) -> None:
        if self.dialect == "sqlite" and not self.read_only:
            with translating(), self._write_engine.connect() as conn:
                switched = use_wal(conn)
            if switched and not self._shared_connection:
                # Readers opened before the switch go; new ones start in WAL mode.
                self._read_engine.dispose()

    def _check_reachable(self) -> None:
        with translating(), self._write_engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").close()

    def _check_schema(self, *, migrate: bool) -> None:
        """Accept a database at the code's schema, or migrate an empty one (``migrate``).

        Anything else is refused before it is changed in any way: a SQLite
        file becomes a WAL database only once it is known to be fleet's. The
        check itself only reads, so a database that cannot be written right
        now still opens (its writes fail until it can be).
        """
        from fleet.db import migrations

        with translating(), self._read_engine.connect() as conn:
            current = _recorded_revision(conn) == SCHEMA_REVISION
            found = None if current else migrations.status(conn)
        if found is None or found.state == "current":
            self._use_wal()
            return
        if found.state == "empty" and migrate:
            self._use_wal()
            with translating(), self._write_engine.connect() as conn:
                migrations.upgrade(conn, "head")
            return
        if found.state == "foreign":
            raise SchemaError(
                "the database holds tables that are not fleet's and no fleet schema, so fleet "
                "leaves it untouched: give fleet an empty database, or add fleet's tables "
                "beside the others with `fleet db upgrade`"
            )
        if found.state in ("empty", "behind"):
            at = "empty" if found.current is None else f"at revision {found.current!r}"
            raise SchemaOutOfDate(
                f"the database schema is {at} but this fleet needs revision {found.head!r}; "
                "run `fleet db upgrade`"
            )
        if found.state == "ahead":
            raise SchemaTooNew(
                f"the database is at revision {found.current!r}, which this fleet does not "
                f"know (its newest is {found.head!r}); upgrade fleet"
            )
        raise SchemaError(
            "the database has fleet tables but no recorded schema revision; "
            "it was not created by `fleet db upgrade`"
        )

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("the database has been closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self.read_only:
            raise StoreReadOnly("the database was opened read-only; nothing was written")
        if self._corrupt is not None:
            raise DatabaseCorrupt(
                f"writes are refused: the database was found corrupt ({self._corrupt}); "
                "nothing was written"
            )

    def writable_problem(self) -> str | None:
        """Try an empty write transaction; return why the database cannot be written, or
        ``None`` when it can.

        On SQLite this takes the write lock (``BEGIN IMMEDIATE``) and commits
        nothing; on PostgreSQL it also asks whether the server is read-only.
        A write connection that failed is replaced first, so a cause that was
        fixed (permissions, disk space) no longer counts.
        """
        try:
            with self.write_transaction() as txn:
                return _probe_write(txn.connection)
        except _ProbeDone:
            return None
        except FleetError as exc:
            return str(exc)

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file, or ``None`` for PostgreSQL and in-memory databases."""
        return sqlite_path(self.url)

    @property
    def standalone_head(self) -> int | None:
        """The position after which :meth:`insert_standalone` inserts, or ``None``.

        ``None`` on PostgreSQL, before this database's first commit, and after a
        write that failed: then only :meth:`write_transaction` can write.
        """
        return None if self._statements.postgres else self._known_head

    def insert_standalone(self, rows: Sequence[Sequence[Any]]) -> bool:
        """On SQLite, commit ``rows`` in as few driver steps as there can be.

        Up to 256 rows go in one statement that is its own transaction: the
        driver steps once for the insert and its commit together. More go in
        ``BEGIN IMMEDIATE``, one statement per 256 rows, ``COMMIT``.
        :meth:`write_transaction` also steps to read the head and inserts at
        most 128 rows per statement -- and at every step the calling thread
        lets go of the GIL and may queue to get it back.

        The rows' positions must run on from :attr:`standalone_head`. The first
        statement inserts only if that is still the log's head when it holds
        the write lock: if another process wrote since, nothing is stored.

        Returns:
            True once the rows are committed. False when nothing was stored
            because this path does not apply (PostgreSQL, no known head,
            positions not running on from it), the head moved, or a constraint
            refused a row: write them with :meth:`write_transaction` instead,
            which reads the head afresh and names a genuine conflict.

        Raises:
            StoreClosed: the database was closed.
            StoreReadOnly: the database was opened read-only.
            StoreUnavailable: the database is locked, full, read-only or gone.
            AppendFailed: the commit failed for another reason; nothing was stored.
        """
        with self._write_lock:
            self._check_writable()
            head = self.standalone_head
            conn = self._write_connection
            if (
                head is None
                or conn is None
                or conn.invalidated
                or conn.closed
                or not rows
                or rows[0][0] != head + 1
                or rows[-1][0] != head + len(rows)
            ):
                return False
            self._known_head = None
            driver: Any = conn.connection.dbapi_connection
            try:
                if len(rows) <= _STANDALONE_MAX_ROWS:
                    stored = self._insert_checked(driver, rows)
                else:
                    stored = self._insert_chunks(conn, driver, rows)
            except sqlite3.IntegrityError:
                return False
            except driver_errors() as exc:
                raise self._write_failed(conn, translate(exc, AppendFailed)) from exc
            if stored:
                self._known_head = rows[-1][0]
            return stored

    def _insert_checked(self, driver: Any, rows: Sequence[Sequence[Any]]) -> bool:
        """One statement of :meth:`insert_standalone`: True if it stored every row."""
        sql, parameters = self._statements.standalone_insert(rows, rows[0][0] - 1)
        return bool(driver.execute(sql, parameters).rowcount == len(rows))

    def _insert_chunks(
        self, conn: sa.Connection, driver: Any, rows: Sequence[Sequence[Any]]
    ) -> bool:
        """:meth:`insert_standalone` of more than one statement's rows, in one transaction.

        Whatever happens, the connection is left outside a transaction, or
        invalidated (and so replaced by the next write) if it cannot roll back.
        """
        driver.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(rows), _STANDALONE_MAX_ROWS):
                if not self._insert_checked(driver, rows[start : start + _STANDALONE_MAX_ROWS]):
                    _quietly_rollback(conn, driver)
                    return False
            driver.commit()
        except BaseException:
            _quietly_rollback(conn, driver)
            raise
        return True

    def write_transaction(self, *, reuse_head: bool = False) -> _WriteScope:
        """Open the write transaction on the write connection.

        Commits when the block exits normally, rolls back when it raises.

        Args:
            reuse_head: on PostgreSQL, when this database's previous write
                transaction committed, begin without a round trip: the
                transaction's ``head_position`` is the head that commit left,
                and its first statement goes out in one round trip with the
                write lock and a read of the real head. If another process
                wrote in between, that statement raises :class:`HeadMoved`,
                nothing is stored, and the next write transaction reads the
                head afresh. On SQLite, where taking the lock is local, the head
                is always read after ``BEGIN IMMEDIATE``.

        Raises:
            StoreClosed: the database was closed.
            StoreReadOnly: the database was opened read-only.
            CommitUnknown: PostgreSQL: the connection broke while the commit
                was on its way, so the transaction may or may not have
                committed (look its rows up to learn which).
            StoreUnavailable: the lock could not be taken in time, or the
                database is full, read-only or unreachable.
            AppendFailed: the commit failed for another reason (nothing was
                stored).
            HeadMoved: only with ``reuse_head``; see above.
            ConcurrencyError, DuplicateEvent: a driver constraint error escaped
                the block.
        """
        return _WriteScope(self, reuse_head)

    def _begin(self, reuse_head: bool) -> WriteTransaction:
        """Begin, lock and read the head on the driver connection itself (lock held).

        SQLAlchemy is not involved unless the block uses ``connection``: its first
        statement (or savepoint) there opens a SQLAlchemy transaction over the
        driver's, whose ``BEGIN`` the engine skips because one is already open, and
        the commit then goes through SQLAlchemy. The append path never does, and
        so costs only the driver's own calls.
        """
        conn = self._write_connection
        if conn is None or conn.invalidated or conn.closed:
            with translating(AppendFailed):
                conn = self._write_engine.connect()
        known_head, self._known_head = self._known_head, None
        try:
            driver: Any = conn.connection.dbapi_connection
            postgres = self._statements.postgres
            if reuse_head and known_head is not None and postgres:
                return WriteTransaction(conn, driver, known_head, self._statements, unchecked=True)
            head = _begin_lock_and_read_head(driver, postgres)
            return WriteTransaction(conn, driver, head, self._statements)
        except BaseException as exc:
            if isinstance(exc, driver_errors()):
                error = self._write_failed(conn, translate(exc, AppendFailed))
                self._keep_or_close(conn)
                raise error from exc
            self._keep_or_close(conn)
            raise

    def _end(self, txn: WriteTransaction, failure: BaseException | None) -> None:
        """Commit ``txn``, or roll it back after ``failure`` (lock held)."""
        conn, driver = txn._conn, txn._driver
        try:
            if failure is not None:
                _quietly_rollback(conn, driver)
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
                _quietly_rollback(conn, driver)
                if isinstance(exc, driver_errors()):
                    error = self._write_failed(conn, translate(exc, AppendFailed))
                    if getattr(driver, "broken", False):
                        raise CommitUnknown(
                            "the database connection failed while the commit was on its "
                            f"way: {error}"
                        ) from exc
                    raise error from exc
                raise
            self._known_head = txn.last_position
        finally:
            self._keep_or_close(conn)

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

    def mark_corrupt(self, reason: str) -> None:
        """Refuse every write from now on: the database was found corrupt (``reason``)."""
        if self._corrupt is None:
            self._corrupt = reason

    @property
    def corrupt(self) -> str | None:
        """Why the database was found corrupt, or ``None`` while it is not known to be."""
        return self._corrupt

    def _keep_or_close(self, conn: sa.Connection) -> None:
        """Keep a healthy, idle write connection for the next transaction; close any other."""
        healthy = not (conn.invalidated or conn.closed or conn.in_transaction())
        if healthy and not self._shared_connection:
            self._write_connection = conn
            return
        self._write_connection = None
        if not conn.closed:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """Lend a connection from the read pool for the block.

        Statements in one block share one snapshot (a SQLite read transaction,
        PostgreSQL ``REPEATABLE READ``); the block never sees uncommitted writes.
        When all ``read_pool_size`` connections are lent out, this waits for one.
        For an in-memory database the one connection is shared with the writer,
        so a read waits for an open write transaction to finish.

        Raises:
            StoreClosed: the database was closed.
            StoreUnavailable: no connection could be had.
            StoreError: a statement in the block failed (translated driver error).
        """
        self._check_open()
        try:
            with self._shared_gate(), translating():
                conn = self._read_engine.connect()
                try:
                    yield conn
                finally:
                    self._give_back(conn)
        except DatabaseCorrupt as exc:
            self.mark_corrupt(str(exc))
            raise

    def _give_back(self, conn: sa.Connection) -> None:
        """Return a lent connection to the pool, or close it for good once the database is."""
        with self._lending:
            if self._closed and not self._shared_connection:
                conn.invalidate()
            conn.close()

    def _shared_gate(self) -> AbstractContextManager[Any]:
        if not self._shared_connection:
            return nullcontext()
        if self._writer_thread == threading.get_ident():
            raise StoreError(
                "an in-memory database has one connection; inside write_transaction() "
                "use the transaction's connection instead of read()"
            )
        return self._write_lock

    def pool_statistics(self) -> PoolStatistics:
        """Return current connection usage (safe to call at any time)."""
        writer_busy = self._write_lock.locked()
        pool = self._read_engine.pool
        if isinstance(pool, sa.pool.QueuePool):
            return PoolStatistics(
                size=pool.size(),
                checked_out=pool.checkedout(),
                idle=pool.checkedin(),
                overflow=max(0, pool.overflow()),
                writer_busy=writer_busy,
            )
        return PoolStatistics(
            size=1,
            checked_out=int(writer_busy),
            idle=int(not writer_busy),
            overflow=0,
            writer_busy=writer_busy,
        )

    def close(self) -> None:
        """Close every connection. Idempotent; later calls to other methods raise StoreClosed."""
        with self._lending:
            self._closed = True
        with self._write_lock:
            if self._write_connection is not None:
                self._write_connection.close()
                self._write_connection = None
        with self._lending:
            self._read_engine.dispose()
        self._write_engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _begin_lock_and_read_head(driver: Any, postgres: bool) -> int:
    """Begin, take the write lock, then read the head position, in as few round trips as possible.

    Runs on the driver connection: this is once per commit on the append path.
    On SQLite ``BEGIN IMMEDIATE`` takes the lock. On PostgreSQL (where the
    driver begins implicitly) the advisory lock and the head query go out in
    one pipeline (one round trip); the head query still takes its snapshot
    after the lock is granted, because each statement of a READ COMMITTED
    transaction takes a new one.
    """
    if postgres:
        with driver.cursor() as lock, driver.cursor() as cursor:
            with driver.pipeline():
                lock.execute(WRITE_LOCK_SQL)
                cursor.execute(_HEAD_POSITION)
            row = cursor.fetchone()
    else:
        cursor = driver.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(_HEAD_POSITION)
            row = cursor.fetchone()
        finally:
            cursor.close()
    assert row is not None
    return int(row[0])


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


def _quietly_rollback(conn: sa.Connection, driver: Any) -> None:
    """Roll back whichever transaction is open; a connection that cannot is invalidated."""
    try:
        if conn.in_transaction():
            conn.rollback()
        else:
            driver.rollback()
    except driver_errors():
        conn.invalidate()


def _is_operational(exc: BaseException) -> bool:
    """Whether a psycopg error means the connection itself failed (psycopg is loaded)."""
    import psycopg

    return isinstance(exc, psycopg.OperationalError)


def _recorded_revision(conn: sa.Connection) -> str | None:
    """The schema revision recorded in the database, read without loading Alembic.

    Leaves no transaction open on ``conn``.
    """
    try:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    finally:
        conn.rollback()
    return None if found is None else str(found)
