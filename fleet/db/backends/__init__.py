"""One module per database backend, behind one commit call.

:func:`backend_for` picks the backend once, when a database opens; nothing
else in Fleet branches on the kind of database it writes to. A new backend
is one module with a :class:`Backend` subclass and one entry in
:data:`BACKENDS`.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

from fleet.db.backends.base import Backend, Storage, WriteTransaction
from fleet.db.backends.postgresql import PostgresBackend
from fleet.db.backends.sqlite import SQLiteBackend
from fleet.errors import ConfigError

__all__ = ["BACKENDS", "Backend", "Storage", "WriteTransaction", "backend_for"]

BACKENDS: Final[dict[str, type[Backend]]] = {
    SQLiteBackend.name: SQLiteBackend,
    PostgresBackend.name: PostgresBackend,
}
"""The backends by SQLAlchemy dialect name."""


def backend_for(engine: sa.Engine, *, shared: bool = False, read_only: bool = False) -> Backend:
    """The backend that writes through ``engine`` (see :class:`Backend` for the arguments).

    Raises:
        ConfigError: no backend serves the engine's dialect.
    """
    backend = BACKENDS.get(engine.dialect.name)
    if backend is None:
        raise ConfigError(f"fleet has no backend for {engine.dialect.name!r} databases")
    return backend(engine, shared=shared, read_only=read_only)
