"""Every read query is an index range scan (query plans on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fleet.db import Database
from fleet.db.reads import (
    LogFilter,
    count_events,
    event_by_id,
    read_log_rows,
    read_stream_page,
)
from fleet.db.schema import events

from .conftest import event_rows


def plan(db: Database, query: sa.Select) -> str:  # type: ignore[type-arg]
    with db.read() as conn:
        sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if db.dialect == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(r[-1]) for r in rows)
        # With a handful of rows PostgreSQL prefers a sequential scan; forbid it to
        # see which index the query can use.
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = conn.exec_driver_sql(f"EXPLAIN {sql}").all()
        return "\n".join(str(r[0]) for r in rows)


def uses_index(text: str) -> bool:
    lowered = text.lower()
    return ("index" in lowered or "integer primary key" in lowered) and "seq scan" not in lowered


QUERIES = {
    "stream forwards": sa.select(events)
    .where(events.c.stream_id == "msn-x", events.c.version >= 1)
    .order_by(events.c.version)
    .limit(10),
    "stream backwards": sa.select(events)
    .where(events.c.stream_id == "msn-x", events.c.version <= 5)
    .order_by(events.c.version.desc())
    .limit(10),
    "log from position": sa.select(events)
    .where(events.c.position > 3)
    .order_by(events.c.position)
    .limit(10),
    "log by type": sa.select(events)
    .where(events.c.position > 0, events.c.type.in_(["MissionCreated"]))
    .order_by(events.c.position)
    .limit(10),
    "log by correlation": sa.select(events)
    .where(events.c.position > 0, events.c.correlation_id == "req-1")
    .order_by(events.c.position)
    .limit(10),
    "event by id": sa.select(events).where(events.c.event_id == "evt-x"),
}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_read_queries_use_an_index(db, name):
    with db.write_transaction() as txn:
        txn.insert_events(event_rows(0, 50))
    text = plan(db, QUERIES[name])
    assert uses_index(text), f"{name}: {text}"


def test_read_functions(db):
    rows = event_rows(0, 6)
    with db.write_transaction() as txn:
        txn.insert_events(rows)
    stream = rows[0].stream_id
    with db.read() as conn:
        forwards = read_stream_page(conn, stream, 1, 100, backwards=False)
        backwards = read_stream_page(conn, stream, 10**6, 100, backwards=True)
        assert [tuple(r) for r in forwards] == [tuple(r) for r in rows]
        assert [r[3] for r in backwards] == [6, 5, 4, 3, 2, 1]
        assert [r[0] for r in read_log_rows(conn, 2, 3)] == [3, 4, 5]
        assert count_events(conn) == 6
        assert count_events(conn, LogFilter(event_types=("NoSuch",))) == 0
        assert event_by_id(conn, rows[2].event_id) == rows[2]
        assert event_by_id(conn, "evt-missing") is None


def test_stream_listing_uses_the_stream_index(db):
    with db.write_transaction() as txn:
        txn.insert_events(event_rows(0, 20))
    query = (
        sa.select(events.c.stream_id, sa.func.max(events.c.version))
        .where(events.c.stream_id > "msn-a")
        .group_by(events.c.stream_id)
        .order_by(events.c.stream_id)
        .limit(10)
    )
    text = plan(db, query)
    assert uses_index(text), text
