"""The store's queries: checked arguments in, typed pages out.

Reads go straight to the database through the read pool (never through the
stream actors), so they see committed events only. Paging is positional and
stable: a stream page says which version to ask for next, a log page which
position to continue after; events appended later never shift a page.

A page may also be bounded by bytes (``max_bytes``): it then ends before the
event whose payload would take the payloads past the bound (it always holds at
least one event), and says where to continue as any page does. The sizes are
read first, without the payloads, so nothing past the bound is ever fetched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec

from fleet.core import (
    EVENT_ID_PREFIX,
    LARGEST_STORED_INT,
    invalid_id_message,
    is_storable_int,
    is_valid_prefix_id,
    now_ms,
)
from fleet.db import (
    LogFilter,
    StoredColumn,
    StreamSummary,
    count_events,
    event_by_id,
    head_position,
    list_stream_rows,
    load_stream_settings,
    read_log_rows,
    read_log_sizes,
    read_stream_page,
    read_stream_sizes,
    stream_head,
    stream_window,
)
from fleet.errors import EventNotFound, StreamDeleted, StreamNotFound, ValidationError
from fleet.events import Catalog, Event
from fleet.store.decoding import row_to_event, rows_to_events

if TYPE_CHECKING:
    import sqlalchemy as sa

    from fleet.db import Database, EventTuple

__all__ = [
    "Direction",
    "LogFilter",
    "LogPage",
    "StreamList",
    "StreamPage",
    "StreamSummary",
    "check_known",
    "check_limit",
    "check_max_bytes",
    "check_position",
    "check_prefix",
    "fetch_count",
    "fetch_event",
    "fetch_head",
    "fetch_log",
    "fetch_stream",
    "fetch_stream_version",
    "fetch_streams",
    "is_whole_number",
    "read_log_within",
]

Direction = Literal["forwards", "backwards"]


class StreamPage(msgspec.Struct, frozen=True):
    """Events of one stream, in the direction asked for.

    ``next_version`` is the ``from_version`` that continues the read, or
    ``None`` when the page reached the end (or the start, backwards).
    """

    stream_id: str
    events: list[Event]
    next_version: int | None


class LogPage(msgspec.Struct, frozen=True):
    """Events of the global log in position order.

    ``next_position`` is the ``from_position`` that continues the read (the
    last position of this page, or the one asked for when the page is empty);
    ``end`` tells whether the page was the last one for now; ``head`` is the
    position of the newest event in the whole log when the page was read.
    """

    events: list[Event]
    next_position: int
    end: bool
    head: int = 0


class StreamList(msgspec.Struct, frozen=True):
    """Streams in id order; ``next_after`` continues the listing (``None``: no more)."""

    streams: list[StreamSummary]
    next_after: str | None


def check_prefix(prefix: object, catalog: Catalog) -> str | None:
    """Return a stream prefix filter (``None``: every kind of stream).

    Raises:
        ValidationError: not the name of one of the catalog's categories.
    """
    if prefix is None:
        return None
    if isinstance(prefix, str) and prefix in catalog:
        return prefix
    known = catalog.names()
    raise ValidationError(
        f"invalid stream prefix {prefix!r}: use one of {known}",
        [("prefix", f"{prefix!r} is not one of {known}")],
    )


def check_known(where: LogFilter, catalog: Catalog) -> LogFilter:
    """Return ``where`` if every category and event type it names is in ``catalog``.

    An event type counts as known when a typed category declares it, or when
    the catalog has an untyped category (whose streams may hold any type).

    Raises:
        ValidationError: it names a category or event type the catalog cannot hold.
    """
    problems: list[tuple[str, str]] = []
    if where.stream_prefix is not None and where.stream_prefix not in catalog:
        problems.append(
            ("stream_prefix", f"{where.stream_prefix!r} is not one of {catalog.names()}")
        )
    if not catalog.untyped_names:
        problems.extend(
            (f"event_types[{index}]", catalog.unknown_type(name).problems[0][1])
            for index, name in enumerate(where.event_types)
            if not catalog.knows_type(name)
        )
    if problems:
        where_, why = problems[0]
        raise ValidationError(f"invalid filter: {where_}: {why}", problems)
    return where


def is_whole_number(value: object) -> bool:
    """True for an ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_position(position: object) -> int:
    """Return a log position to read after (a whole number >= 0).

    Raises:
        ValidationError: anything else.
    """
    if is_storable_int(position):
        return position
    raise ValidationError(
        f"invalid from_position {position!r}: use a position from 0 to {LARGEST_STORED_INT}",
        [("from_position", f"must be 0..{LARGEST_STORED_INT}")],
    )


def check_limit(limit: object, maximum: int) -> int:
    """Return the page size to use (``None``: the maximum).

    Raises:
        ValidationError: not an integer between 1 and ``maximum``.
    """
    if limit is None:
        return maximum
    if not is_whole_number(limit) or not 1 <= limit <= maximum:  # type: ignore[operator]
        raise ValidationError(
            f"invalid limit {limit!r}: use a whole number from 1 to {maximum}",
            [("limit", f"must be 1..{maximum}")],
        )
    return limit  # type: ignore[return-value]


def check_max_bytes(max_bytes: object, name: str = "max_bytes") -> int | None:
    """Return a bound on a page's payload bytes (``None``: no bound).

    Raises:
        ValidationError: not ``None`` or a whole number from 1.
    """
    if max_bytes is None or is_storable_int(max_bytes, 1):
        return max_bytes
    raise ValidationError(
        f"invalid {name} {max_bytes!r}: use a whole number of bytes from 1",
        [(name, "must be a whole number >= 1")],
    )


def _within(sizes: list[int], max_bytes: int) -> int:
    """How many of the events whose payload ``sizes`` are given, in order, have payloads
    that add up to at most ``max_bytes``; at least one, if there is one."""
    total = 0
    for count, size in enumerate(sizes):
        total += size
        if total > max_bytes:
            return max(count, 1)
    return len(sizes)


def read_log_within(
    conn: sa.Connection,
    after_position: int,
    limit: int,
    where: LogFilter,
    up_to: int,
    max_bytes: int | None,
) -> tuple[list[EventTuple], bool]:
    """:func:`~fleet.db.read_log_rows` up to ``up_to``, and with their payloads within
    ``max_bytes`` (``None``: any size); and whether that bound ended the rows early
    (more would have come)."""
    if max_bytes is None:
        return read_log_rows(conn, after_position, limit, where, up_to=up_to), False
    sizes = read_log_sizes(conn, after_position, limit, where, up_to=up_to)
    count = _within(sizes, max_bytes)
    rows = read_log_rows(conn, after_position, count, where, up_to=up_to) if count else []
    return rows, count < len(sizes)


def fetch_stream(
    db: Database,
    catalog: Catalog,
    stream_id: str,
    from_version: int | None,
    direction: Direction,
    limit: int,
    max_bytes: int | None = None,
) -> StreamPage:
    """Read one page of a stream, its payloads within ``max_bytes`` (worker thread).

    Raises:
        StreamNotFound: the stream has no events.
    """
    backwards = direction == "backwards"
    with db.read() as conn:
        head = stream_head(conn, stream_id)
        if head is None:
            raise StreamNotFound(stream_id)
        window = stream_window(load_stream_settings(conn, stream_id), head, now_ms())
        if window.deleted is not None:
            raise StreamDeleted(stream_id, hard=window.deleted == "hard")
        first = window.first_version
        start = from_version if from_version is not None else (head if backwards else first)
        count, cut = limit, False
        if max_bytes is not None:
            sizes = read_stream_sizes(conn, stream_id, start, limit, backwards, window)
            count = _within(sizes, max_bytes)
            cut = count < len(sizes)
        rows = read_stream_page(conn, stream_id, start, count, backwards, window) if count else []
        next_version: int | None = None
        if len(rows) == limit or cut:
            last = rows[-1][StoredColumn.VERSION]
            next_version = last - 1 if backwards else last + 1
            if next_version < first or next_version > head:
                next_version = None
            elif backwards and window.recorded_from is not None:
                # The oldest events may be hidden by age: end where the visible ones do.
                more = read_stream_page(conn, stream_id, next_version, 1, True, window)
                next_version = more[0][StoredColumn.VERSION] if more else None
    return StreamPage(stream_id, rows_to_events(rows, catalog), next_version)


def fetch_log(
    db: Database,
    catalog: Catalog,
    after_position: int,
    limit: int,
    where: LogFilter,
    max_bytes: int | None = None,
) -> LogPage:
    """Read one page of the global log after ``after_position``, its payloads within
    ``max_bytes`` (worker thread)."""
    with db.read() as conn:
        head = head_position(conn)
        rows, cut = read_log_within(conn, after_position, limit, where, head, max_bytes)
    events = rows_to_events(rows, catalog)
    next_position = events[-1].position if events else after_position
    return LogPage(events, next_position, not cut and len(events) < limit, head)


def fetch_head(db: Database) -> int:
    """The position of the newest event, 0 for an empty log (worker thread)."""
    with db.read() as conn:
        return head_position(conn)


def fetch_streams(db: Database, prefix: str | None, after: str | None, limit: int) -> StreamList:
    """One page of the stream listing (worker thread)."""
    with db.read() as conn:
        streams = list_stream_rows(conn, prefix, after, limit)
    next_after = streams[-1].stream_id if len(streams) == limit else None
    return StreamList(streams, next_after)


def fetch_count(db: Database, where: LogFilter) -> int:
    """Count matching events (worker thread)."""
    with db.read() as conn:
        return count_events(conn, where)


def fetch_event(db: Database, catalog: Catalog, event_id: str) -> Event:
    """One event by id (worker thread).

    Raises:
        ValidationError: ``event_id`` is not an event id.
        EventNotFound: no event has that id.
    """
    if not is_valid_prefix_id(event_id, EVENT_ID_PREFIX):
        why = invalid_id_message(event_id, EVENT_ID_PREFIX, "event")
        raise ValidationError(why, [("event_id", why)])
    with db.read() as conn:
        row = event_by_id(conn, event_id)
    if row is None:
        raise EventNotFound(event_id)
    return row_to_event(row, catalog)


def fetch_stream_version(db: Database, stream_id: str) -> int | None:
    """The stream's committed version, ``None`` if it has no events (worker thread)."""
    with db.read() as conn:
        return stream_head(conn, stream_id)
