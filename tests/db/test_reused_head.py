"""``write_transaction(reuse_head=True)``: one round trip less, never a wrong position.

Two :class:`Database` objects on the same database stand for two processes
sharing it: each only knows the head its own last commit left.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from fleet.config import Config
from fleet.db import Database, SnapshotRow, latest_snapshot
from fleet.errors import AppendFailed, ConcurrencyError, HeadMoved
from tests.db.conftest import append, count_events, event_rows


@pytest.fixture
def other(config: Config) -> Iterator[Database]:
    """A second database object on the same database (another process, in effect)."""
    with Database.open(config) as database:
        yield database


def refused_once(
    db: Database, rows: int, *, stream_id: str, moved_from: int, stored: int, position: int
) -> None:
    """After another writer moved the head: on PostgreSQL the next append that
    reuses the head is refused and stores nothing, and the one after it lands at
    ``position``; on SQLite, where the head is read after ``BEGIN IMMEDIATE`` on
    every transaction, the first one does."""
    if db.dialect == "postgresql":
        with pytest.raises(HeadMoved, match=f"from {moved_from} "):
            append(db, rows, stream_id=stream_id)
        assert count_events(db) == stored
    assert append(db, rows, stream_id=stream_id) == position
    assert count_events(db) == stored + rows


def test_reused_head_follows_this_databases_own_commits(db: Database) -> None:
    assert append(db, 2, stream_id="msn-a") == 1
    assert append(db, 3, stream_id="msn-b") == 3
    assert append(db, 1, stream_id="msn-c") == 6
    assert count_events(db) == 6


# One row goes in a single locking statement; a few more follow it in a pipeline.
ROWS = pytest.mark.parametrize("rows", [1, 5])


@ROWS
def test_a_write_by_another_database_moves_the_head_and_nothing_is_stored(
    db: Database, other: Database, rows: int
) -> None:
    append(db, 2, stream_id="msn-a")
    append(other, 3, stream_id="msn-b", reuse_head=False)
    refused_once(db, rows, stream_id="msn-c", moved_from=2, stored=5, position=6)


@ROWS
def test_a_head_that_went_back_is_caught_too(db: Database, other: Database, rows: int) -> None:
    append(db, 4, stream_id="msn-a")
    with other.write_transaction() as tx:
        tx.connection.exec_driver_sql("DELETE FROM events WHERE position > 2")
    refused_once(db, rows, stream_id="msn-b", moved_from=4, stored=2, position=3)


def test_the_first_statement_may_be_a_snapshot_or_the_connection(
    db: Database, other: Database
) -> None:
    append(db, 1, stream_id="msn-a")
    with db.write_transaction(reuse_head=True) as tx:
        tx.save_snapshots([SnapshotRow("msn-a", 1, 1, b"state", 1)])
        tx.insert_events(event_rows(tx.head_position, 1, stream_id="msn-b"))
    append(db, 1, stream_id="msn-c")
    with db.write_transaction(reuse_head=True) as tx:
        assert tx.connection.exec_driver_sql("SELECT count(*) FROM events").scalar_one() == 3
    append(other, 1, stream_id="msn-d", reuse_head=False)
    if db.dialect == "postgresql":
        with pytest.raises(HeadMoved), db.write_transaction(reuse_head=True) as tx:
            tx.save_snapshots([SnapshotRow("msn-a", 1, 1, b"newer", 2)])
        with db.read() as conn:
            found = latest_snapshot(conn, "msn-a")
        assert found is not None
        assert found.state == b"state"
    with db.write_transaction(reuse_head=True) as tx:
        assert tx.head_position == 4


def test_a_transaction_that_writes_nothing_keeps_the_head(db: Database) -> None:
    append(db, 2, stream_id="msn-a")
    with db.write_transaction(reuse_head=True):
        pass
    assert append(db, 1, stream_id="msn-b") == 3


def test_a_constraint_error_under_a_correct_reused_head_is_the_constraint_error(
    db: Database,
) -> None:
    append(db, 1, stream_id="msn-a")
    with pytest.raises(ConcurrencyError), db.write_transaction(reuse_head=True) as tx:
        tx.insert_events(event_rows(tx.head_position, 1, stream_id="msn-a"))
    assert count_events(db) == 1
    assert append(db, 1, stream_id="msn-b") == 2


def test_a_failed_transaction_forgets_the_head(db: Database, other: Database) -> None:
    append(db, 1, stream_id="msn-a")
    with pytest.raises(RuntimeError), db.write_transaction(reuse_head=True):
        raise RuntimeError("the block failed")
    append(other, 1, stream_id="msn-b", reuse_head=False)
    assert append(db, 1, stream_id="msn-c") == 3


def test_a_large_insert_is_checked_as_a_whole(db: Database, other: Database) -> None:
    append(db, 300, stream_id="msn-a")
    append(other, 1, stream_id="msn-b", reuse_head=False)
    refused_once(db, 300, stream_id="msn-c", moved_from=300, stored=301, position=302)


@ROWS
def test_a_writer_that_commits_while_this_one_waits_for_the_lock_is_caught(
    db: Database, other: Database, rows: int
) -> None:
    append(db, 2, stream_id="msn-a")
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with other.write_transaction() as tx:
            tx.insert_events(event_rows(tx.head_position, 1, stream_id="msn-b"))
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert holding.wait(10)
    threading.Timer(0.3, release.set).start()
    try:
        if db.dialect == "postgresql":
            with pytest.raises(HeadMoved):
                append(db, rows, stream_id="msn-c")
        else:
            assert append(db, rows, stream_id="msn-c") == 4
    finally:
        release.set()
        holder.join(10)
    assert append(db, 1, stream_id="msn-d") == count_events(db)


def test_a_failing_first_statement_reports_its_error_unless_the_head_also_moved(
    db: Database, other: Database
) -> None:
    append(db, 1, stream_id="msn-a")
    broken = SnapshotRow("msn-a", 1, 1, None, 1)  # type: ignore[arg-type]
    with pytest.raises(AppendFailed) as caught, db.write_transaction(reuse_head=True) as tx:
        tx.save_snapshots([broken])
    assert not isinstance(caught.value, HeadMoved)
    append(db, 1, stream_id="msn-b")
    append(other, 1, stream_id="msn-c", reuse_head=False)
    expected = HeadMoved if db.dialect == "postgresql" else AppendFailed
    with pytest.raises(expected), db.write_transaction(reuse_head=True) as tx:
        tx.save_snapshots([broken])
    assert count_events(db) == 3
