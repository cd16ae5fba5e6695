"""The small queries the store's actors run, on both backends."""

from __future__ import annotations

from fleet.db import (
    Database,
    SnapshotRow,
    StoredEventRef,
    find_events,
    latest_snapshot,
    read_stream_rows,
    save_snapshot,
    stream_head,
)
from fleet.db.queries import FIND_CHUNK
from tests.db.conftest import event_rows


def test_stream_head(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 3, stream_id="msn-a"))
        tx.insert_events(event_rows(3, 1, stream_id="wo-b"))
    with db.read() as conn:
        assert stream_head(conn, "msn-a") == 3
        assert stream_head(conn, "wo-b") == 1
        assert stream_head(conn, "msn-none") is None


def test_find_events_returns_only_stored_ids_in_position_order(db: Database) -> None:
    rows = event_rows(0, FIND_CHUNK + 5)
    with db.write_transaction() as tx:
        tx.insert_events(rows)
    wanted = [rows[-1].event_id, "evt-missing", rows[0].event_id, rows[0].event_id]
    with db.read() as conn:
        found = find_events(conn, wanted)
        everything = find_events(conn, [r.event_id for r in reversed(rows)])
        nothing = find_events(conn, [])
    assert found == [
        StoredEventRef(rows[0].event_id, "msn-test", 1, 1),
        StoredEventRef(rows[-1].event_id, "msn-test", FIND_CHUNK + 5, FIND_CHUNK + 5),
    ]
    assert [ref.position for ref in everything] == list(range(1, FIND_CHUNK + 6))
    assert nothing == []


def test_read_stream_rows_pages_forward(db: Database) -> None:
    rows = event_rows(0, 5, stream_id="msn-a")
    with db.write_transaction() as tx:
        tx.insert_events(rows)
        tx.insert_events(event_rows(5, 2, stream_id="wo-b"))
    with db.read() as conn:
        page = read_stream_rows(conn, "msn-a", 2, 2)
        rest = read_stream_rows(conn, "msn-a", 4, 10)
    assert [(r.version, r.event_id, bytes(r.payload)) for r in page] == [
        (2, rows[1].event_id, rows[1].payload),
        (3, rows[2].event_id, rows[2].payload),
    ]
    assert [r.version for r in rest] == [4, 5]


def test_snapshots_save_replace_and_latest(db: Database) -> None:
    with db.read() as conn:
        assert latest_snapshot(conn, "msn-a") is None
    with db.write_transaction() as tx:
        save_snapshot(tx.connection, SnapshotRow("msn-a", 10, 1, b"ten", 1))
        save_snapshot(tx.connection, SnapshotRow("msn-a", 20, 1, b"twenty", 2))
        save_snapshot(tx.connection, SnapshotRow("msn-a", 20, 2, b"twenty again", 3))
        save_snapshot(tx.connection, SnapshotRow("wo-b", 99, 1, b"other", 4))
    with db.read() as conn:
        latest = latest_snapshot(conn, "msn-a")
    assert latest is not None
    assert (latest.version, latest.schema_version, bytes(latest.state)) == (20, 2, b"twenty again")
