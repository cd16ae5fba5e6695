"""SQLAlchemy engines for fleet: URL resolution, SQLite pragmas, write locking.

Two roles share one database. The **write** engine holds exactly one connection
(the writer's); the **read** engine is a bounded pool of ``read_pool_size``
connections. Both are synchronous; the store drives them from worker threads.

SQLite specifics, applied to every new connection by a ``connect`` event:

* The sqlite3 module's own transaction handling is switched off
  (``isolation_level=None``) and fleet emits ``BEGIN`` itself from a ``begin``
  event: ``BEGIN IMMEDIATE`` on the write engine, so the write lock is taken at
  the start of the transaction (never a failed lock upgrade halfway through),
  and a plain deferred ``BEGIN`` on readers, so a read transaction sees one
  consistent snapshot. This also makes DDL transactional, which migrations need.
* ``busy_timeout`` - wait this long for another process's lock instead of
  failing at once with "database is locked".
* (not here) ``journal_mode=WAL`` - readers never block the writer and the
  writer never blocks readers; commits append to the WAL instead of rewriting
  pages. The mode is stored in the file, so :class:`fleet.db.Database` sets it
  once it knows the file is fleet's (a foreign file is left as it is).
* ``synchronous`` - from the configuration; ``FULL`` (default) fsyncs the WAL on
  every commit, so an acknowledged event survives power loss.
* ``foreign_keys=ON`` - SQLite leaves constraint enforcement off by default.
* ``cache_size`` - the page cache per connection, in KiB.
* ``wal_autocheckpoint`` - how many pages the WAL may hold before the commit
  that passes the mark copies them into the database file (a checkpoint). The
  commit that does so takes longer, and so does every append waiting behind it;
  smaller checkpoints than SQLite's default of 1,000 pages keep that tail short.
* ``temp_store=MEMORY`` on the write connection - a multi-row ``INSERT`` inside
  a transaction keeps a statement journal (the pages it changed, so a failing
  row undoes only its statement); past 64 KiB SQLite spills it to a temporary
  file, which costs a commit of 300 rows about a sixth of its time. In memory
  it is a few hundred KiB for the length of one statement.

``sqlite:///:memory:`` gives each engine one private in-memory database on a
single static connection. An in-memory database cannot be shared between
connections with WAL semantics (a shared cache locks whole tables and fails
readers at once), so :class:`fleet.db.Database` uses that one connection for
both roles and serialises readers with the writer. It is meant for tests and
demonstrations.

PostgreSQL: the write engine runs at ``READ COMMITTED`` (every statement after
the advisory lock sees the newest committed head); readers run at
``REPEATABLE READ`` so one :meth:`fleet.db.Database.read` block sees one
snapshot, as on SQLite.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from fleet.config import Config
from fleet.db.driver_errors import translating
from fleet.errors import ConfigError, DatabaseMissing, StoreUnavailable

__all__ = [
    "WRITE_LOCK_KEY",
    "WRITE_LOCK_SQL",
    "EngineRole",
    "acquire_write_lock",
    "admin_connection",
    "create_engine",
    "is_memory_url",
    "resolve_url",
    "sqlite_path",
    "use_wal",
]

EngineRole = Literal["write", "read"]

WRITE_LOCK_KEY: Final = 0x666C656574_0001
"""PostgreSQL advisory lock key held by every write transaction and migration."""

WRITE_LOCK_SQL: Final = f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"
"""The PostgreSQL statement that takes the write lock for the current transaction."""

_SQLITE_DRIVERS: Final = frozenset({"pysqlite"})
_POSTGRES_SCHEMES: Final = frozenset({"postgresql", "postgres"})
_POSTGRES_DRIVERS: Final = frozenset({"psycopg", ""})


def resolve_url(config: Config) -> sa.URL:
    """Return the configured database URL in the form the engines use.

    A relative SQLite path is made absolute against ``config.project_dir``;
    ``postgresql://`` and ``postgres://`` select the psycopg (version 3) driver.

    Raises:
        ConfigError: the URL cannot be parsed, its scheme is not SQLite or
            PostgreSQL, or it names a driver fleet does not ship with.
    """
    text = config.database.url
    try:
        url = sa.make_url(text)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"database URL {text!r} is not a valid URL") from exc
    scheme, _, driver = url.drivername.partition("+")
    if scheme == "sqlite":
        if driver and driver not in _SQLITE_DRIVERS:
            raise ConfigError(
                f"database URL scheme {url.drivername!r} is not supported; use sqlite"
            )
        return _resolve_sqlite(url.set(drivername="sqlite"), config.project_dir)
    if scheme in _POSTGRES_SCHEMES:
        if driver not in _POSTGRES_DRIVERS:
            raise ConfigError(
                f"database URL scheme {url.drivername!r} is not supported; use postgresql+psycopg"
            )
        return url.set(drivername="postgresql+psycopg")
    raise ConfigError(
        f"database URL scheme {url.drivername!r} is not supported; "
        "use sqlite:///PATH or postgresql+psycopg://..."
    )


def _resolve_sqlite(url: sa.URL, project_dir: str) -> sa.URL:
    if is_memory_url(url) or url.query.get("uri") == "true":
        return url
    assert url.database is not None
    path = Path(url.database).expanduser()
    if not path.is_absolute():
        path = Path(project_dir).expanduser().resolve() / path
    return url.set(database=str(path))


def is_memory_url(url: sa.URL) -> bool:
    """Tell whether ``url`` names a private in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def sqlite_path(url: sa.URL) -> Path | None:
    """Return the file of a SQLite URL, or ``None`` for memory and other backends."""
    if url.get_backend_name() != "sqlite" or is_memory_url(url) or url.database is None:
        return None
    name = url.database
    if name.startswith("file:"):
        name = name[len("file:") :]
    return Path(name)


def create_engine(
    config: Config,
    *,
    role: EngineRole = "write",
    url: sa.URL | None = None,
    read_only: bool = False,
) -> sa.Engine:
    """Build an engine for one role.

    Args:
        config: the configuration; ``config.database`` sets pool size, pragmas
            and timeouts.
        role: ``"write"`` (one connection, ``BEGIN IMMEDIATE`` on SQLite,
            ``READ COMMITTED`` on PostgreSQL) or ``"read"`` (a pool of
            ``read_pool_size`` connections, snapshot reads).
        url: an already resolved URL (default: :func:`resolve_url` of ``config``).
        read_only: connections can only read. A SQLite file is opened with
            ``mode=ro`` (never created, its journal mode never changed; SQLite
            may still make its ``-wal`` and ``-shm`` companions); PostgreSQL
            transactions are read-only.

    Returns:
        An engine that has not connected yet. For a SQLite file the parent
        directory exists when this returns (a read-only engine makes none).

    Raises:
        ConfigError: the URL is not supported.
        StoreUnavailable: the SQLite directory cannot be created.
        DatabaseMissing: ``read_only`` and the SQLite file does not exist.
    """
    resolved = resolve_url(config) if url is None else url
    if resolved.get_backend_name() == "sqlite":
        return _sqlite_engine(config, resolved, role, read_only)
    return _postgres_engine(config, resolved, role, read_only)


def _pool_size(config: Config, role: EngineRole) -> int:
    return 1 if role == "write" else config.database.read_pool_size


def _read_only_sqlite_url(url: sa.URL) -> sa.URL:
    """The URI form of a SQLite file URL with ``mode=ro``.

    Raises:
        DatabaseMissing: the file does not exist.
    """
    path = sqlite_path(url)
    assert path is not None
    if not path.exists():
        raise DatabaseMissing(
            f"there is no database at {path}; `fleet db upgrade` creates it "
            "(so do `fleet serve` and `fleet append`)"
        )
    if url.query.get("uri") == "true":
        return url.update_query_dict({"mode": "ro"})
    return url.set(database=f"file:{quote(str(path))}", query={"mode": "ro", "uri": "true"})


def _sqlite_engine(
    config: Config, url: sa.URL, role: EngineRole, read_only: bool = False
) -> sa.Engine:
    db = config.database
    connect_args: dict[str, Any] = {
        "check_same_thread": False,
        "timeout": db.busy_timeout_ms / 1000,
    }
    if is_memory_url(url):
        engine = sa.create_engine(url, poolclass=StaticPool, connect_args=connect_args)
    elif read_only:
        engine = sa.create_engine(
            _read_only_sqlite_url(url),
            pool_size=_pool_size(config, role),
            max_overflow=0,
            connect_args=connect_args,
        )
    else:
        path = sqlite_path(url)
        if path is not None and url.query.get("uri") != "true":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot create the database directory {path.parent}: {exc.strerror}"
                ) from exc
        engine = sa.create_engine(
            url,
            pool_size=_pool_size(config, role),
            max_overflow=0,
            connect_args=connect_args,
        )
    pragmas = (
        f"PRAGMA busy_timeout = {db.busy_timeout_ms}",
        f"PRAGMA synchronous = {db.synchronous}",
        "PRAGMA foreign_keys = ON",
        f"PRAGMA cache_size = -{db.cache_size_kib}",
        f"PRAGMA wal_autocheckpoint = {db.checkpoint_pages}",
        *(["PRAGMA temp_store = MEMORY"] if role == "write" else []),
    )
    begin = "BEGIN IMMEDIATE" if role == "write" else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Straight to the driver. A write transaction begun on the driver by
        # Database.write_transaction is already open: SQLAlchemy joins it.
        driver: Any = conn.connection.driver_connection
        if not driver.in_transaction:
            driver.execute(begin)

    return engine


def _postgres_engine(
    config: Config, url: sa.URL, role: EngineRole, read_only: bool = False
) -> sa.Engine:
    db = config.database
    connect_args: dict[str, Any] = {
        "connect_timeout": max(2, math.ceil(db.connect_timeout_s)),
        "application_name": f"fleet-{role}",
    }
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    return sa.create_engine(
        url,
        pool_size=_pool_size(config, role),
        max_overflow=0,
        isolation_level="READ COMMITTED" if role == "write" else "REPEATABLE READ",
        connect_args=connect_args,
    )


def use_wal(conn: sa.Connection) -> bool:
    """SQLite: switch the file to write-ahead logging unless it is already (the mode is
    stored in the file). Nothing on PostgreSQL or in memory. The connection must not be
    in a transaction.

    A file that cannot be written now is left as it is; the next open that can
    write switches it.

    Returns:
        Whether the mode was switched now.
    """
    if conn.dialect.name != "sqlite" or is_memory_url(conn.engine.url):
        return False
    driver: Any = conn.connection.driver_connection
    try:
        (mode,) = driver.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() == "wal":
            return False
        driver.execute("PRAGMA journal_mode = WAL").fetchall()
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            raise
        return False
    return True


def acquire_write_lock(conn: sa.Connection) -> None:
    """Take the database-wide write lock for the current transaction.

    On SQLite the lock is already held: the write engine begins every
    transaction with ``BEGIN IMMEDIATE``. On PostgreSQL this waits for
    ``pg_advisory_xact_lock(WRITE_LOCK_KEY)``, released at commit or rollback,
    so writers in different processes commit one after another.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(WRITE_LOCK_SQL)


@contextmanager
def admin_connection(config: Config, *, read_only: bool = False) -> Iterator[sa.Connection]:
    """Open one write-role connection for administration (migrations, health).

    The engine is disposed when the block ends. Driver errors inside the block
    are raised as fleet errors.

    Args:
        config: the configuration.
        read_only: the connection can only read, and a missing SQLite file is
            an error instead of being created (see :func:`create_engine`).

    Raises:
        ConfigError: the URL is not supported.
        StoreUnavailable: the database cannot be reached or opened.
        DatabaseMissing: ``read_only`` and the SQLite file does not exist.
    """
    engine = create_engine(config, role="write", read_only=read_only)
    try:
        with translating(), engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
