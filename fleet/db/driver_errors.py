"""The one place where database driver errors become fleet errors.

Every exception that leaves :mod:`fleet.db` because of the driver passes through
:func:`translate`, which picks the most specific :class:`~fleet.errors.FleetError`
and keeps the original as ``__cause__`` (callers ``raise translate(exc) from exc``).

========================================================  ====================
driver condition                                           fleet error
========================================================  ====================
unique violation on ``events(stream_id, version)``         ConcurrencyError
unique violation on ``events(event_id)``                   DuplicateEvent
any other constraint violation                             AppendFailed
locked / busy, disk full, read-only, I/O error,
cannot open, server unreachable, connection lost,
pool exhausted, server shutting down                       StoreUnavailable
corrupt SQLite file ("file is not a database",
"malformed")                                               DatabaseCorrupt
anything else                                              the ``default`` given
========================================================  ====================
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

if TYPE_CHECKING:
    import psycopg

from fleet.errors import (
    AppendFailed,
    ConcurrencyError,
    DatabaseCorrupt,
    DuplicateEvent,
    FleetError,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "driver_errors",
    "is_position_conflict",
    "is_psycopg_connection",
    "translate",
    "translating",
]

STREAM_VERSION_CONSTRAINT: Final = "uq_events_stream_id_version"
EVENT_ID_CONSTRAINT: Final = "uq_events_event_id"
POSITION_CONSTRAINT: Final = "pk_events"

_SQLITE_UNAVAILABLE: Final = {
    5: "the database is locked by another connection (busy)",
    6: "a table is locked",
    7: "out of memory",
    8: "the database is read-only",
    10: "disk I/O error",
    13: "the disk is full",
    14: "the database file cannot be opened",
    15: "the file locking protocol failed",
    23: "access to the database file was denied",
}
_SQLITE_CORRUPT: Final = frozenset({11, 26})
_SQLITE_CONSTRAINT: Final = 19

_PG_UNAVAILABLE_CLASSES: Final = ("08", "53", "57", "58")
_PG_UNAVAILABLE_STATES: Final = frozenset({"25006", "3D000", "28000", "28P01", "40P01"})


def translate(exc: BaseException, default: type[StoreError] = StoreError) -> FleetError:
    """Return the fleet error that describes a driver or SQLAlchemy error.

    Args:
        exc: an exception from sqlite3, psycopg or SQLAlchemy (wrapped or not). A
            :class:`FleetError` is returned unchanged.
        default: the class used when the error matches no known condition.

    Returns:
        A new fleet error (not raised); its message names the condition and
        includes the driver's own message.
    """
    if isinstance(exc, FleetError):
        return exc
    if isinstance(exc, sa.exc.TimeoutError):
        return StoreUnavailable(f"no database connection became free in time: {exc}")
    original: BaseException = exc
    if isinstance(exc, sa.exc.DBAPIError):
        original = exc.orig if exc.orig is not None else exc
        if exc.connection_invalidated:
            return StoreUnavailable(f"the database connection was lost: {_first_line(original)}")
    if isinstance(original, sqlite3.Error):
        return _from_sqlite(original, default)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(original, psycopg.Error):
        return _from_psycopg(original, default)
    if isinstance(original, OSError):
        return StoreUnavailable(f"cannot reach the database: {original}")
    return default(f"database error: {_first_line(original)}")


_SQLITE_ERRORS: Final = (sa.exc.SQLAlchemyError, sqlite3.Error)


def driver_errors() -> tuple[type[BaseException], ...]:
    """The exception types of the database drivers in use.

    psycopg's are included once psycopg is imported, which happens only when a
    PostgreSQL database is opened: an embedded SQLite store never loads it.
    """
    psycopg = sys.modules.get("psycopg")
    return _SQLITE_ERRORS if psycopg is None else (*_SQLITE_ERRORS, psycopg.Error)


def is_psycopg_connection(connection: Any) -> bool:
    """Whether ``connection`` is a psycopg (PostgreSQL) driver connection."""
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(connection, psycopg.Connection)


def is_position_conflict(exc: BaseException) -> bool:
    """Whether a PostgreSQL error is a unique violation of the key on ``events.position``.

    Only a writer that assigned positions from a stale head meets one: callers
    that reuse a head report that the head moved.
    """
    psycopg = sys.modules.get("psycopg")
    return (
        psycopg is not None
        and isinstance(exc, psycopg.errors.UniqueViolation)
        and exc.diag.constraint_name == POSITION_CONSTRAINT
    )


@contextmanager
def translating(default: type[StoreError] = StoreError) -> Iterator[None]:
    """Run a block, re-raising driver errors as fleet errors (cause attached).

    Fleet errors raised inside the block pass through untouched; any other
    exception that is not a database error also passes through.
    """
    try:
        yield
    except FleetError:
        raise
    except driver_errors() as exc:
        raise translate(exc, default) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _from_sqlite(exc: sqlite3.Error, default: type[StoreError]) -> FleetError:
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    message = _first_line(exc)
    if primary == _SQLITE_CONSTRAINT or isinstance(exc, sqlite3.IntegrityError):
        return _from_constraint(message, message)
    if primary in _SQLITE_CORRUPT or "malformed" in message or "not a database" in message:
        return DatabaseCorrupt(
            f"the SQLite file is corrupt or is not a SQLite database ({message}); "
            "restore it from a backup"
        )
    if primary in _SQLITE_UNAVAILABLE:
        return StoreUnavailable(f"{_SQLITE_UNAVAILABLE[primary]}: {message}")
    return default(f"database error: {message}")


def _from_psycopg(exc: psycopg.Error, default: type[StoreError]) -> FleetError:
    import psycopg

    state = exc.sqlstate or ""
    message = _first_line(exc)
    if isinstance(exc, psycopg.errors.IntegrityError):
        constraint = exc.diag.constraint_name or ""
        return _from_constraint(constraint, message)
    if (
        isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        or state.startswith(_PG_UNAVAILABLE_CLASSES)
        or state in _PG_UNAVAILABLE_STATES
    ):
        return StoreUnavailable(f"the PostgreSQL server is unavailable: {message}")
    return default(f"database error: {message}")


def _from_constraint(detail: str, message: str) -> FleetError:
    if STREAM_VERSION_CONSTRAINT in detail or "events.stream_id, events.version" in detail:
        return ConcurrencyError(f"another writer stored the same stream version: {message}")
    if EVENT_ID_CONSTRAINT in detail or "events.event_id" in detail:
        return DuplicateEvent(f"an event with the same id is already stored: {message}")
    return AppendFailed(f"a constraint was violated: {message}")
