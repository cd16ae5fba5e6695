"""The database as the store sees it: one write connection, a pool of readers.

:meth:`Database.open` builds the engines, picks the backend once (see
:mod:`fleet.db.backends`) and refuses a database whose schema does not match
the code. Writes go through the backend: :meth:`Database.commit` for a batch
of rows, :meth:`Database.write_transaction` for anything else. Reads borrow a
connection from a bounded pool (:meth:`Database.read`).

Every driver error leaving this module is a :class:`~fleet.errors.FleetError`
(see :mod:`fleet.db.driver_errors`) with the driver's exception as its cause.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import sqlalchemy as sa

from fleet.config import Config
from fleet.db.backends import Backend, WriteTransaction, backend_for
from fleet.db.driver_errors import translating
from fleet.db.engine import create_engine, is_memory_url, resolve_url, sqlite_path, use_wal
from fleet.db.rows import PendingTuple, SnapshotRow, StoredEventRef
from fleet.db.schema import SCHEMA_REVISION
from fleet.errors import (
    DatabaseCorrupt,
    SchemaError,
    SchemaOutOfDate,
    SchemaTooNew,
    StoreClosed,
)

if TYPE_CHECKING:
    from fleet.db.migration_branch import MigrationBranch

__all__ = ["Database", "PoolStatistics", "WriteTransaction"]


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


class Database:
    """A fleet database: one dedicated write connection and a bounded read pool.

    Create it with :meth:`open`; call :meth:`close` when done (or use it as a
    context manager). Methods are thread-safe: the store calls them from worker
    threads. A write blocks while another thread writes.
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
        self.backend: Backend = backend_for(
            write_engine, shared=self._shared_connection, read_only=read_only
        )
        """The write side, chosen for the database's kind when it opens."""
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
            raise SchemaError(migrations.FOREIGN_REFUSAL)
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

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite file, or ``None`` for PostgreSQL and in-memory databases."""
        return sqlite_path(self.url)

    def commit(self, rows: Sequence[PendingTuple], snapshots: Sequence[SnapshotRow] = ()) -> int:
        """Commit ``rows`` after the log's head in one transaction; return the first position.

        See :meth:`fleet.db.backends.Backend.commit`.
        """
        return self.backend.commit(rows, snapshots)

    def write_transaction(self) -> AbstractContextManager[WriteTransaction]:
        """Open a write transaction: the write lock is held and the head read after it.

        Commits when the block exits normally, rolls back when it raises. See
        :meth:`fleet.db.backends.Backend.write_transaction`.
        """
        return self.backend.write_transaction()

    def find_settled(self, event_ids: Sequence[str], wait_s: float) -> list[StoredEventRef]:
        """After a commit whose connection broke: where ``event_ids`` are stored, looked
        up under the write lock (had within ``wait_s``), once that commit has really ended.

        The read connections opened before are replaced too: what broke the
        write connection (a restarted server, a network cut) has usually broken
        them as well, and the reads that follow should not meet a dead one.
        See :meth:`fleet.db.backends.Backend.find_settled`.
        """
        self._check_open()
        if not self._shared_connection:
            with self._lending:
                self._read_engine.dispose()
        return self.backend.find_settled(event_ids, wait_s)

    def upgrade_branch(self, branch: MigrationBranch) -> None:
        """Bring the tables of a migration branch kept outside :mod:`fleet.db` to its head.

        A database that already records the branch's head is only read (Alembic
        is not loaded). Otherwise the branch is migrated in one write
        transaction, which holds the write lock, so processes doing it at once
        run one after the other and the later ones find nothing to do. See
        :func:`fleet.db.migrations.upgrade_branch`.

        Raises:
            StoreReadOnly: the branch needs migrating and the database was
                opened read-only.
            SchemaTooNew: the branch is at a revision this code does not know.
            StoreUnavailable: the database cannot be written.
        """
        with self.read() as conn:
            if _recorded_revision(conn, branch.version_table) == branch.head:
                return
        from fleet.db import migrations

        with self.write_transaction() as tx:
            migrations.upgrade_branch_in(tx.connection, branch)

    def writable_problem(self) -> str | None:
        """Try an empty write transaction; return why the database cannot be written, or
        ``None`` when it can.

        On SQLite this takes the write lock (``BEGIN IMMEDIATE``), changes no
        data and checks that the ``-wal`` and ``-shm`` files, when they exist,
        can be written too; on PostgreSQL it also asks whether the server is
        read-only.
        A write connection that failed is replaced first, so a cause that was
        fixed (file modes, disk space) no longer counts.
        """
        return self.backend.writable_problem()

    def mark_corrupt(self, reason: str) -> None:
        """Refuse every write from now on: the database was found corrupt (``reason``)."""
        self.backend.mark_corrupt(reason)

    @property
    def corrupt(self) -> str | None:
        """Why the database was found corrupt, or ``None`` while it is not known to be."""
        return self.backend.corrupt

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
        return self.backend.exclusive()

    def pool_statistics(self) -> PoolStatistics:
        """Return current connection usage (safe to call at any time)."""
        writer_busy = self.backend.busy
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
        self.backend.close()
        with self._lending:
            self._read_engine.dispose()
        self._write_engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _recorded_revision(conn: sa.Connection, table: str = "alembic_version") -> str | None:
    """The revision recorded in ``table``, read without loading Alembic.

    Leaves no transaction open on ``conn``.
    """
    try:
        if not sa.inspect(conn).has_table(table):
            return None
        found = conn.exec_driver_sql(f"SELECT version_num FROM {table}").scalar()
    finally:
        conn.rollback()
    return None if found is None else str(found)
