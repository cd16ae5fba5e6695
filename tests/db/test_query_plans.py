"""Every read the code sends is an index range scan, on the index it was written for.

The statements are captured as the read functions send them (SQLite's trace
callback; a recording cursor on psycopg), then explained on the same
connection, on both backends, for every read shape: streams both ways, the log
with each filter, payload sizes, counts, single events, stream listing and
heads, stream loading (one stream from a version, several whole), snapshots,
stream settings, positions of versions and event ids by position, and the
projections' status and errors. A read of several statements names the index
of each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from fleet.db import Database, LogFilter, find_events, stream_head, stream_heads
from fleet.db.queries import latest_snapshot, latest_snapshots, read_stream_rows, read_streams_rows
from fleet.db.reads import (
    count_events,
    event_by_id,
    event_ids_between,
    head_position,
    list_stream_rows,
    position_of,
    read_log_rows,
    read_log_sizes,
    read_stream_page,
    read_stream_sizes,
)
from fleet.db.stream_settings import (
    load_settings_of,
    load_stream_settings,
    streams_with_settings,
)
from fleet.projections.queries import fetch_projection_errors, fetch_projection_status

from .conftest import event_rows

SQLITE_ROWID = "USING INTEGER PRIMARY KEY"
"""SQLite's name for ``position``, the rowid."""
SQLITE_STREAM = "sqlite_autoindex_events_2"
"""SQLite's name for the index of ``UNIQUE (stream_id, version)``."""
SQLITE_EVENT_ID = "sqlite_autoindex_events_1"
"""SQLite's name for the index of ``UNIQUE (event_id)``."""
SQLITE_SNAPSHOTS = "sqlite_autoindex_snapshots_1"
"""SQLite's name for the primary key of ``snapshots`` (stream_id, version)."""
SQLITE_STREAMS = "sqlite_autoindex_streams_1"
"""SQLite's name for the primary key of ``streams`` (stream_id)."""
SQLITE_CHECKPOINTS = "sqlite_autoindex_checkpoints_1"
"""SQLite's name for the primary key of ``checkpoints`` (name)."""
SQLITE_ERRORS = "sqlite_autoindex_projection_errors_1"
"""SQLite's name for the primary key of ``projection_errors`` (projection, position)."""


TABLES = ("events", "snapshots", "streams", "checkpoints", "projection_errors")
"""The tables a read must never scan whole (SQLite may scan its own temporary results)."""


class _Missions:
    """A projection of mission creations (only its name and event types are read)."""

    name = "missions"
    event_types = frozenset({"MissionCreated"})


Read = Callable[[sa.Connection], object]
Index = str | tuple[str, ...]
"""The index each SELECT of a read must use: one for all, or one per SELECT in order."""

# shape: (the read, the index SQLite must use, the index PostgreSQL must use)
SHAPES: dict[str, tuple[Read, Index, Index]] = {
    "stream forwards": (
        lambda c: read_stream_page(c, "msn-s", 2, 10, backwards=False),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "stream backwards": (
        lambda c: read_stream_page(c, "msn-s", 5, 10, backwards=True),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "stream sizes forwards": (
        lambda c: read_stream_sizes(c, "msn-s", 2, 10, backwards=False),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "stream sizes backwards": (
        lambda c: read_stream_sizes(c, "msn-s", 5, 10, backwards=True),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "log": (lambda c: read_log_rows(c, 3, 10), SQLITE_ROWID, "pk_events"),
    "log sizes up to a head": (
        lambda c: read_log_sizes(c, 3, 10, up_to=40),
        SQLITE_ROWID,
        "pk_events",
    ),
    "log sizes by type": (
        lambda c: read_log_sizes(c, 0, 10, LogFilter(event_types=("MissionCreated",))),
        "ix_events_type_position",
        "ix_events_type_position",
    ),
    "log up to a head": (lambda c: read_log_rows(c, 3, 10, up_to=40), SQLITE_ROWID, "pk_events"),
    "log by type": (
        lambda c: read_log_rows(c, 0, 10, LogFilter(event_types=("MissionCreated",))),
        "ix_events_type_position",
        "ix_events_type_position",
    ),
    "log by two types": (
        lambda c: read_log_rows(
            c, 0, 10, LogFilter(event_types=("MissionUpdated", "MissionCreated"))
        ),
        "ix_events_type_position",
        "ix_events_type_position",
    ),
    "log by prefix": (
        lambda c: read_log_rows(c, 0, 10, LogFilter(stream_prefix="msn")),
        SQLITE_ROWID,
        "pk_events",
    ),
    "log by correlation": (
        lambda c: read_log_rows(c, 0, 10, LogFilter(correlation_id="cor-1")),
        "ix_events_correlation_id",
        "ix_events_correlation_id",
    ),
    "log by time": (
        lambda c: read_log_rows(c, 0, 10, LogFilter(recorded_after=1, recorded_before=2**40)),
        SQLITE_ROWID,
        "pk_events",
    ),
    "count by type": (
        lambda c: count_events(c, LogFilter(event_types=("MissionCreated",))),
        "ix_events_type_position",
        "ix_events_type_position",
    ),
    "count by correlation": (
        lambda c: count_events(c, LogFilter(correlation_id="cor-1")),
        "ix_events_correlation_id",
        "ix_events_correlation_id",
    ),
    "count by prefix": (
        lambda c: count_events(c, LogFilter(stream_prefix="msn")),
        SQLITE_ROWID,
        "pk_events",
    ),
    "event by id": (lambda c: event_by_id(c, "evt-x"), SQLITE_EVENT_ID, "uq_events_event_id"),
    "events by ids": (
        lambda c: find_events(c, ["evt-x", "evt-y"]),
        SQLITE_EVENT_ID,
        "uq_events_event_id",
    ),
    # max(rowid) is one step down the rowid tree: SQLite says just "SEARCH events".
    "head": (head_position, "SEARCH events", "pk_events"),
    "stream head": (
        lambda c: stream_head(c, "msn-s"),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "stream heads": (
        lambda c: stream_heads(c, ["msn-s", "msn-t"]),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "streams": (
        lambda c: list_stream_rows(c, None, None, 10),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "streams of a prefix": (
        lambda c: list_stream_rows(c, "msn", "msn-a", 10),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "stream from a version": (
        lambda c: read_stream_rows(c, "msn-s", 4, 10),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "several streams whole": (
        lambda c: read_streams_rows(c, ["msn-s", "wo-t"]),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "position of a version": (
        lambda c: position_of(c, "msn-s", 3),
        SQLITE_STREAM,
        "uq_events_stream_id_version",
    ),
    "event ids between positions": (
        lambda c: event_ids_between(c, 3, 9),
        SQLITE_ROWID,
        "pk_events",
    ),
    "latest snapshot": (
        lambda c: latest_snapshot(c, "msn-s"),
        SQLITE_SNAPSHOTS,
        "pk_snapshots",
    ),
    "latest snapshots": (
        lambda c: latest_snapshots(c, ["msn-s", "wo-t"]),
        SQLITE_SNAPSHOTS,
        "pk_snapshots",
    ),
    "stream settings": (
        lambda c: load_stream_settings(c, "msn-s"),
        SQLITE_STREAMS,
        "pk_streams",
    ),
    "settings of streams": (
        lambda c: load_settings_of(c, ["msn-s", "wo-t"]),
        SQLITE_STREAMS,
        "pk_streams",
    ),
    "streams with settings": (
        lambda c: streams_with_settings(c, "msn-a", 10),
        SQLITE_STREAMS,
        "pk_streams",
    ),
    # the head, the checkpoints, the error counts, then the events the projection
    # wants after its checkpoint
    "projection status": (
        lambda c: fetch_projection_status(c, [_Missions()]),
        ("SEARCH events", SQLITE_CHECKPOINTS, SQLITE_ERRORS, "ix_events_type_position"),
        ("pk_events", "pk_checkpoints", "pk_projection_errors", "ix_events_type_position"),
    ),
    "projection errors": (
        lambda c: fetch_projection_errors(c, "missions", after=3, limit=10),
        SQLITE_ERRORS,
        "pk_projection_errors",
    ),
}


class _Recording(psycopg.Cursor[Any]):
    sent: list[tuple[str, Any]]

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self.sent.append((query if isinstance(query, str) else query.decode(), params))
        return super().execute(query, params, **kwargs)


@contextmanager
def capturing(db: Database) -> Iterator[tuple[sa.Connection, list[tuple[str, Any]]]]:
    """A read connection and the SELECT statements sent on it, with their parameters."""
    sent: list[tuple[str, Any]] = []
    with db.read() as conn:
        driver: Any = conn.connection.driver_connection
        if db.dialect == "sqlite":
            driver.set_trace_callback(lambda sql: sent.append((sql, None)))
            try:
                yield conn, sent
            finally:
                driver.set_trace_callback(None)
        else:
            recording = type("Recording", (_Recording,), {"sent": sent})
            previous, driver.cursor_factory = driver.cursor_factory, recording
            try:
                yield conn, sent
            finally:
                driver.cursor_factory = previous


def explain(conn: sa.Connection, sql: str, params: Any) -> str:
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        rows = driver.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        return "\n".join(str(row[-1]) for row in rows)
    with driver.cursor() as cursor:
        # A few rows make PostgreSQL prefer a sequential scan; forbid it to see
        # which index the statement can use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(str(row[0]) for row in cursor.fetchall())


@pytest.fixture
def filled(db: Database) -> Database:
    with db.write_transaction() as txn:
        txn.insert_events(event_rows(0, 30, stream_id="msn-s"))
        txn.insert_events(event_rows(30, 30, stream_id="wo-t"))
    return db


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_each_read_uses_its_index(filled: Database, shape: str) -> None:
    read, on_sqlite, on_postgres = SHAPES[shape]
    with capturing(filled) as (conn, sent):
        read(conn)
        selects = [
            (sql, params) for sql, params in sent if sql.lstrip().upper().startswith("SELECT")
        ]
        assert selects, f"{shape}: nothing was sent"
        wanted = on_sqlite if filled.dialect == "sqlite" else on_postgres
        indexes = (wanted,) * len(selects) if isinstance(wanted, str) else wanted
        assert len(indexes) == len(selects), f"{shape}: {[sql for sql, _ in selects]}"
        for (sql, params), index in zip(selects, indexes, strict=True):
            plan = explain(conn, sql, params)
            assert index in plan, f"{shape}: {sql}\n{plan}"
            if filled.dialect == "sqlite":
                assert not any(
                    line.split()[:2] in (["SCAN", table] for table in TABLES)
                    and "INDEX" not in line
                    for line in plan.splitlines()
                ), f"{shape}: a full scan\n{plan}"
            else:
                assert "Seq Scan" not in plan, plan
