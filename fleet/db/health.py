"""A health report for one open database: reachable, fast, migrated, intact.

Every check runs independently: a failing check is recorded in the report (as
``problems``) instead of raising, so a report can always be produced and shown.
"""

from __future__ import annotations

import time

import msgspec
import sqlalchemy as sa

from fleet.db.backends.sqlite import companion_files
from fleet.db.database import Database, PoolStatistics
from fleet.db.driver_errors import translate
from fleet.errors import FleetError

__all__ = ["HealthReport", "health_report"]


class HealthReport(msgspec.Struct, frozen=True):
    """The state of a database at one moment.

    ``ok`` is true exactly when ``problems`` is empty: the database answered,
    its schema is at the code's head, (SQLite) ``quick_check`` found nothing,
    and it can be written.
    """

    ok: bool
    dialect: str
    url: str
    """The database URL with any password hidden."""
    connected: bool
    latency_ms: float | None
    """Round trip of ``SELECT 1`` on a read connection, in milliseconds."""
    revision: str | None
    head_revision: str
    schema_state: str
    database_size_bytes: int | None
    wal_size_bytes: int | None
    """Size of the SQLite write-ahead log file (``None`` for PostgreSQL and memory)."""
    integrity: str | None
    """First line of SQLite ``PRAGMA quick_check`` (``"ok"`` when intact)."""
    pool: PoolStatistics
    problems: tuple[str, ...] = ()
    writable: bool | None = None
    """Whether an empty write transaction succeeded (``None``: not tried, because the
    database was opened read-only or could not be reached)."""


def health_report(db: Database) -> HealthReport:
    """Check the database and return a report; never raises for a database fault.

    ``PRAGMA quick_check`` reads every page of a SQLite file, so the time this
    takes grows with the database.
    """
    from fleet.db import migrations

    problems: list[str] = []
    connected = False
    latency_ms: float | None = None
    revision: str | None = None
    state = "unknown"
    size: int | None = None
    integrity: str | None = None
    try:
        with db.read() as conn:
            started = time.perf_counter()
            conn.exec_driver_sql("SELECT 1").scalar_one()
            latency_ms = (time.perf_counter() - started) * 1000
            connected = True
            size = _database_size(conn)
            integrity = _quick_check(conn)
    except FleetError as exc:
        problems.append(f"database: {exc}")
    except sa.exc.SQLAlchemyError as exc:
        problems.append(f"database: {translate(exc)}")
    if integrity not in (None, "ok"):
        problems.append(f"integrity check failed: {integrity}")
        db.mark_corrupt(f"integrity check failed: {integrity}")
    if connected:
        try:
            with db.read() as conn:
                found = migrations.status(conn)
            revision, state = found.current, found.state
            if found.state != "current":
                problems.append(f"schema is {found.state}: at {revision!r}, head is {found.head!r}")
        except FleetError as exc:
            problems.append(f"schema: {exc}")
    writable: bool | None = None
    if connected and not db.read_only:
        cannot = db.writable_problem()
        writable = cannot is None
        if cannot is not None:
            problems.append(f"cannot write: {cannot}")
    return HealthReport(
        ok=not problems,
        dialect=db.dialect,
        url=db.url.render_as_string(hide_password=True),
        connected=connected,
        latency_ms=latency_ms,
        revision=revision,
        head_revision=migrations.head_revision(),
        schema_state=state,
        database_size_bytes=size,
        wal_size_bytes=_wal_size(db),
        integrity=integrity,
        pool=db.pool_statistics(),
        problems=tuple(problems),
        writable=writable,
    )


def _database_size(conn: sa.Connection) -> int:
    if conn.dialect.name == "postgresql":
        query = "SELECT pg_database_size(current_database())"
        return int(conn.exec_driver_sql(query).scalar_one())
    pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    page_size = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
    return pages * page_size


def _quick_check(conn: sa.Connection) -> str | None:
    if conn.dialect.name != "sqlite":
        return None
    return str(conn.exec_driver_sql("PRAGMA quick_check").scalar_one())


def _wal_size(db: Database) -> int | None:
    path = db.sqlite_file
    if path is None:
        return None
    wal, _ = companion_files(path)
    return wal.stat().st_size if wal.exists() else 0
