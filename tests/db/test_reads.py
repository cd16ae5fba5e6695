"""The read functions return what is stored (their query plans: test_query_plans)."""

from __future__ import annotations

from fleet.db import LogFilter
from fleet.db.reads import (
    count_events,
    event_by_id,
    read_log_rows,
    read_stream_page,
)

from .conftest import event_rows


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
        assert count_events(conn, LogFilter(event_types=("WorkOrderCreated",))) == 0
        assert event_by_id(conn, rows[2].event_id) == rows[2]
        assert event_by_id(conn, "evt-missing") is None
