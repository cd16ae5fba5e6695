"""Read queries behind the store's query API; each runs on a read connection.

Every query is an index range scan: a stream by ``(stream_id, version)``, the
log by ``position``, a type filter by ``(type, position)``, a correlation by
``correlation_id``, an event by ``event_id``. None of them commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import sqlalchemy as sa

from fleet.db.rows import EventRow
from fleet.db.schema import events

__all__ = [
    "NO_FILTER",
    "LogFilter",
    "StreamSummary",
    "count_events",
    "event_by_id",
    "fetch_event_rows",
    "head_position",
    "list_stream_rows",
    "read_log_rows",
    "read_stream_page",
]


class LogFilter(NamedTuple):
    """Conditions on the global log; ``None`` (or empty) means no condition."""

    event_types: Sequence[str] = ()
    stream_prefix: str | None = None
    correlation_id: str | None = None
    recorded_after: int | None = None
    """Only events recorded at or after this time (epoch ms)."""
    recorded_before: int | None = None
    """Only events recorded before this time (epoch ms)."""


NO_FILTER: LogFilter = LogFilter()


def _conditions(after_position: int, where: LogFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [events.c.position > after_position]
    if where.event_types:
        conditions.append(events.c.type.in_(list(where.event_types)))
    if where.stream_prefix is not None:
        conditions.append(events.c.stream_id.startswith(where.stream_prefix + "-", autoescape=True))
    if where.correlation_id is not None:
        conditions.append(events.c.correlation_id == where.correlation_id)
    if where.recorded_after is not None:
        conditions.append(events.c.recorded_at >= where.recorded_after)
    if where.recorded_before is not None:
        conditions.append(events.c.recorded_at < where.recorded_before)
    return conditions


def fetch_event_rows(conn: sa.Connection, query: sa.Select[Any]) -> list[EventRow]:
    """Run a ``SELECT`` of whole events rows on the driver's own cursor.

    The statement is compiled by SQLAlchemy for the connection's dialect, but
    the rows come straight from the DBAPI cursor: wrapping thousands of rows in
    SQLAlchemy ``Row`` objects would cost more than fetching them.
    """
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    args: Any = (
        tuple(params[name] for name in compiled.positiontup or ())
        if compiled.positional
        else params
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, args)
        return list(map(_EVENT_ROW, cursor.fetchall()))
    finally:
        cursor.close()


_EVENT_ROW = EventRow._make


def read_log_rows(
    conn: sa.Connection,
    after_position: int,
    limit: int,
    where: LogFilter = NO_FILTER,
    up_to: int | None = None,
) -> list[EventRow]:
    """Up to ``limit`` events with ``position > after_position`` that match, by position.

    ``up_to`` (inclusive) bounds the positions read, e.g. to a head read earlier.
    """
    conditions = _conditions(after_position, where)
    if up_to is not None:
        conditions.append(events.c.position <= up_to)
    query = sa.select(events).where(*conditions).order_by(events.c.position).limit(limit)
    return fetch_event_rows(conn, query)


def head_position(conn: sa.Connection) -> int:
    """The position of the newest committed event (0 for an empty log).

    Positions are gap-free and made visible in order, so every position up to
    the one returned is readable once this returns.
    """
    return int(conn.execute(_HEAD).scalar_one())


_HEAD: Final = sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0))


def count_events(conn: sa.Connection, where: LogFilter = NO_FILTER) -> int:
    """How many events match ``where``."""
    query = sa.select(sa.func.count()).select_from(events).where(*_conditions(0, where))
    return int(conn.execute(query).scalar_one())


def read_stream_page(
    conn: sa.Connection, stream_id: str, from_version: int, limit: int, backwards: bool
) -> list[EventRow]:
    """Up to ``limit`` events of a stream from ``from_version`` on (or down, backwards)."""
    if backwards:
        condition = events.c.version <= from_version
        order = events.c.version.desc()
    else:
        condition = events.c.version >= from_version
        order = events.c.version.asc()
    query = (
        sa.select(events)
        .where(events.c.stream_id == stream_id, condition)
        .order_by(order)
        .limit(limit)
    )
    return fetch_event_rows(conn, query)


def event_by_id(conn: sa.Connection, event_id: str) -> EventRow | None:
    """The event with ``event_id``, or ``None``."""
    row = conn.execute(sa.select(events).where(events.c.event_id == event_id)).first()
    return None if row is None else EventRow(*row)


class StreamSummary(NamedTuple):
    """A stream and its current version."""

    stream_id: str
    version: int


def list_stream_rows(
    conn: sa.Connection, prefix: str | None, after: str | None, limit: int
) -> list[StreamSummary]:
    """Streams in id order after ``after`` (optionally of one prefix), from the stream index."""
    conditions: list[sa.ColumnElement[bool]] = []
    if prefix is not None:
        conditions.append(events.c.stream_id.startswith(prefix + "-", autoescape=True))
    if after is not None:
        conditions.append(events.c.stream_id > after)
    query = (
        sa.select(events.c.stream_id, sa.func.max(events.c.version))
        .where(*conditions)
        .group_by(events.c.stream_id)
        .order_by(events.c.stream_id)
        .limit(limit)
    )
    return [StreamSummary(stream_id, int(version)) for stream_id, version in conn.execute(query)]
