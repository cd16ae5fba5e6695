"""Read queries behind the store's query API; each runs on a read connection.

Every query is an index range scan: a stream by ``(stream_id, version)``, the
log by ``position``, a type filter by ``(type, position)``, a correlation by
``correlation_id``, an event by ``event_id``. None of them commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, NamedTuple

import sqlalchemy as sa

from fleet.db.log_filter import LogFilter
from fleet.db.rows import EventRow, EventTuple
from fleet.db.schema import events, streams
from fleet.db.stream_settings import OPEN_WINDOW, StreamWindow

__all__ = [
    "StreamSummary",
    "count_events",
    "event_by_id",
    "event_ids_between",
    "fetch_event_rows",
    "head_position",
    "list_stream_rows",
    "position_of",
    "read_log_rows",
    "read_log_sizes",
    "read_stream_page",
    "read_stream_sizes",
]


_EVERY_EVENT: Final = LogFilter()


def _log_values(after_position: int, where: LogFilter, up_to: int | None) -> dict[str, Any]:
    """The named parameter values of a log read; their names give the statement's shape."""
    values: dict[str, Any] = {"after": after_position}
    for i, type_name in enumerate(where.event_types):
        values[f"type_{i}"] = type_name
    if where.stream_prefix is not None:
        escaped = where.stream_prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
        values["prefix"] = escaped + "-%"
    optional = {
        "correlation_id": where.correlation_id,
        "recorded_after": where.recorded_after,
        "recorded_before": where.recorded_before,
        "up_to": up_to,
    }
    values.update((name, value) for name, value in optional.items() if value is not None)
    return values


_OPTIONAL_CONDITIONS: Final[dict[str, Callable[[], sa.ColumnElement[bool]]]] = {
    "prefix": lambda: events.c.stream_id.like(sa.bindparam("prefix"), escape="/"),
    "correlation_id": lambda: events.c.correlation_id == sa.bindparam("correlation_id"),
    "recorded_after": lambda: events.c.recorded_at >= sa.bindparam("recorded_after"),
    "recorded_before": lambda: events.c.recorded_at < sa.bindparam("recorded_before"),
    "up_to": lambda: events.c.position <= sa.bindparam("up_to"),
}


def _log_conditions(values: dict[str, Any]) -> list[sa.ColumnElement[bool]]:
    """The conditions that bind ``values`` by name (see :func:`_log_values`)."""
    conditions: list[sa.ColumnElement[bool]] = [events.c.position > sa.bindparam("after")]
    types: list[sa.BindParameter[Any]] = [
        sa.bindparam(name) for name in values if name.startswith("type_")
    ]
    if types:
        conditions.append(events.c.type.in_(types))
    conditions.extend(make() for name, make in _OPTIONAL_CONDITIONS.items() if name in values)
    return conditions


def _log_shape(values: dict[str, Any]) -> tuple[Any, ...]:
    """A key equal for every log read that compiles to the same SQL."""
    types = sum(1 for name in values if name.startswith("type_"))
    return ("log", types, *(name in values for name in _OPTIONAL_CONDITIONS))


_COMPILED: dict[tuple[Any, ...], tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}
"""SQL text, positional parameter order and parameter defaults (such as SQLite's
``OFFSET 0``) per (dialect, statement shape)."""


def fetch_event_rows(
    conn: sa.Connection,
    key: tuple[Any, ...],
    build: Callable[[], sa.Select[Any]],
    values: dict[str, Any],
) -> list[EventTuple]:
    """Run a ``SELECT`` of whole events rows on the driver's own cursor.

    ``build`` makes the statement with named parameters; it is compiled once
    per dialect and ``key`` (its shape), then only ``values`` change. The rows
    come straight from the DBAPI cursor: compiling per call, or wrapping
    thousands of rows in SQLAlchemy ``Row`` objects, would cost more than
    fetching them; the rows are returned as the driver made them.
    """
    rows: list[EventTuple] = _fetch_rows(conn, key, build, values)
    return rows


def _fetch_rows(
    conn: sa.Connection,
    key: tuple[Any, ...],
    build: Callable[[], sa.Select[Any]],
    values: dict[str, Any],
) -> list[Any]:
    """:func:`fetch_event_rows` for any ``SELECT``."""
    cache_key = (conn.dialect.name, *key)
    found = _COMPILED.get(cache_key)
    if found is None:
        compiled = build().compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        defaults = {k: v for k, v in compiled.params.items() if v is not None}
        found = _COMPILED[cache_key] = (compiled.string, order, defaults)
    sql, order, defaults = found
    params = {**defaults, **values} if defaults else values
    args: Any = params if order is None else tuple(params[name] for name in order)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, args)
        rows: list[Any] = cursor.fetchall()
        return rows
    finally:
        cursor.close()


def read_log_rows(
    conn: sa.Connection,
    after_position: int,
    limit: int,
    where: LogFilter = _EVERY_EVENT,
    up_to: int | None = None,
) -> list[EventTuple]:
    """Up to ``limit`` events with ``position > after_position`` that match, by position.

    ``up_to`` (inclusive) bounds the positions read, e.g. to a head read earlier.
    """
    values = _log_values(after_position, where, up_to)

    def build() -> sa.Select[Any]:
        return _log_select(sa.select(events), values)

    shape = _log_shape(values)
    values["limit"] = limit
    return fetch_event_rows(conn, shape, build, values)


def read_log_sizes(
    conn: sa.Connection,
    after_position: int,
    limit: int,
    where: LogFilter = _EVERY_EVENT,
    up_to: int | None = None,
) -> list[int]:
    """The payload sizes, in bytes, of the events :func:`read_log_rows` reads with the
    same arguments, in the same order; the payloads themselves are not read."""
    values = _log_values(after_position, where, up_to)

    def build() -> sa.Select[Any]:
        return _log_select(sa.select(_PAYLOAD_SIZE), values)

    shape = ("sizes", *_log_shape(values))
    values["limit"] = limit
    return [size for (size,) in _fetch_rows(conn, shape, build, values)]


_PAYLOAD_SIZE: Final = sa.func.length(events.c.payload)
"""A payload's size in bytes (a BLOB's or ``bytea``'s length: its header says it)."""


def _log_select(select: sa.Select[Any], values: dict[str, Any]) -> sa.Select[Any]:
    """``select`` over the events of a log read, in position order, ``LIMIT :limit``."""
    return (
        select.where(*_log_conditions(values))
        .order_by(events.c.position)
        .limit(sa.bindparam("limit"))
    )


def head_position(conn: sa.Connection) -> int:
    """The position of the newest committed event (0 for an empty log).

    Positions are gap-free and made visible in order, so every position up to
    the one returned is readable once this returns.
    """
    return int(conn.execute(_HEAD).scalar_one())


_HEAD: Final = sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0))


def count_events(
    conn: sa.Connection, where: LogFilter = _EVERY_EVENT, after_position: int = 0
) -> int:
    """How many events with ``position > after_position`` match ``where``."""
    values = _log_values(after_position, where, None)
    statement = sa.select(sa.func.count()).select_from(events).where(*_log_conditions(values))
    return int(conn.execute(statement, values).scalar_one())


def read_stream_page(
    conn: sa.Connection,
    stream_id: str,
    from_version: int,
    limit: int,
    backwards: bool,
    window: StreamWindow = OPEN_WINDOW,
) -> list[EventTuple]:
    """Up to ``limit`` events of a stream from ``from_version`` on (or down, backwards).

    Only the events ``window`` shows are returned: none below its first
    version, none recorded before its ``recorded_from``.
    """
    values = _stream_values(stream_id, from_version, limit, window)

    def build() -> sa.Select[Any]:
        return _stream_select(sa.select(events), values, backwards)

    shape = ("stream", backwards, "first" in values, "recorded_from" in values)
    return fetch_event_rows(conn, shape, build, values)


def read_stream_sizes(
    conn: sa.Connection,
    stream_id: str,
    from_version: int,
    limit: int,
    backwards: bool,
    window: StreamWindow = OPEN_WINDOW,
) -> list[int]:
    """The payload sizes, in bytes, of the events :func:`read_stream_page` reads with the
    same arguments, in the same order; the payloads themselves are not read."""
    values = _stream_values(stream_id, from_version, limit, window)

    def build() -> sa.Select[Any]:
        return _stream_select(sa.select(_PAYLOAD_SIZE), values, backwards)

    shape = ("stream sizes", backwards, "first" in values, "recorded_from" in values)
    return [size for (size,) in _fetch_rows(conn, shape, build, values)]


def _stream_values(
    stream_id: str, from_version: int, limit: int, window: StreamWindow
) -> dict[str, Any]:
    """The named parameter values of a stream read; their names give the statement's shape."""
    values: dict[str, Any] = {"stream_id": stream_id, "version": from_version, "limit": limit}
    if window.first_version > 1:
        values["first"] = window.first_version
    if window.recorded_from is not None:
        values["recorded_from"] = window.recorded_from
    return values


def _stream_select(
    select: sa.Select[Any], values: dict[str, Any], backwards: bool
) -> sa.Select[Any]:
    """``select`` over the events of a stream read, in version order, ``LIMIT :limit``."""
    version: sa.BindParameter[int] = sa.bindparam("version")
    conditions = [
        events.c.stream_id == sa.bindparam("stream_id"),
        events.c.version <= version if backwards else events.c.version >= version,
    ]
    if "first" in values:
        conditions.append(events.c.version >= sa.bindparam("first"))
    if "recorded_from" in values:
        conditions.append(events.c.recorded_at >= sa.bindparam("recorded_from"))
    order = events.c.version.desc() if backwards else events.c.version.asc()
    return select.where(*conditions).order_by(order).limit(sa.bindparam("limit"))


def event_by_id(conn: sa.Connection, event_id: str) -> EventRow | None:
    """The event with ``event_id``, or ``None``."""
    row = conn.execute(sa.select(events).where(events.c.event_id == event_id)).first()
    return None if row is None else EventRow(*row)


def position_of(conn: sa.Connection, stream_id: str, version: int) -> int | None:
    """The position of a stream's event at ``version``, ``None`` if it is not stored."""
    query = sa.select(events.c.position).where(
        events.c.stream_id == stream_id, events.c.version == version
    )
    found = conn.execute(query).scalar_one_or_none()
    return None if found is None else int(found)


def event_ids_between(conn: sa.Connection, first: int, last: int) -> dict[int, str]:
    """The id of the event at each position from ``first`` to ``last`` (both included)."""
    query = sa.select(events.c.position, events.c.event_id).where(
        events.c.position.between(first, last)
    )
    return {int(position): event_id for position, event_id in conn.execute(query)}


class StreamSummary(NamedTuple):
    """A stream and its current version."""

    stream_id: str
    version: int


def list_stream_rows(
    conn: sa.Connection, prefix: str | None, after: str | None, limit: int
) -> list[StreamSummary]:
    """Streams in id order after ``after`` (optionally of one prefix), from the stream index.

    Deleted streams are left out (see :func:`~fleet.db.stream_window`)."""
    conditions: list[sa.ColumnElement[bool]] = []
    if prefix is not None:
        conditions.append(events.c.stream_id.startswith(prefix + "-", autoescape=True))
    if after is not None:
        conditions.append(events.c.stream_id > after)
    heads = (
        sa.select(events.c.stream_id, sa.func.max(events.c.version).label("head"))
        .where(*conditions)
        .group_by(events.c.stream_id)
        .subquery("heads")
    )
    settings = streams.alias("settings")
    deleted = sa.or_(
        settings.c.hard_deleted,
        sa.and_(
            settings.c.deleted_version.is_not(None), heads.c.head <= settings.c.deleted_version
        ),
    )
    query = (
        sa.select(heads.c.stream_id, heads.c.head)
        .select_from(heads.outerjoin(settings, settings.c.stream_id == heads.c.stream_id))
        .where(sa.or_(settings.c.stream_id.is_(None), ~deleted))
        .order_by(heads.c.stream_id)
        .limit(limit)
    )
    return [StreamSummary(stream_id, int(version)) for stream_id, version in conn.execute(query)]
