"""``Database.insert_standalone``: a commit in as few SQLite steps as there can be.

It applies only after this database's own commit left a known head, commits
the rows only if that is still the head, and otherwise stores nothing and says
so, leaving the write to ``write_transaction``. Up to 256 rows are one
statement; more are one transaction of several.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from fleet.config import Config
from fleet.db import Database
from fleet.db.database import _STANDALONE_MAX_ROWS, _standalone_size
from fleet.errors import StoreClosed, StoreUnavailable
from tests.db.conftest import MakeConfig, append, count_events, event_rows


@pytest.fixture
def sqlite_db(sqlite_url: str, make_config: MakeConfig) -> Iterator[Database]:
    with Database.open(make_config(sqlite_url, busy_timeout_ms=200)) as database:
        yield database


@pytest.fixture
def other(sqlite_db: Database) -> Iterator[Database]:
    """A second database object on the same file (another process, in effect)."""
    with Database.open(sqlite_db.config) as database:
        yield database


def test_rows_after_the_known_head_commit_in_one_statement(db: Database) -> None:
    append(db, 2, stream_id="msn-a")
    head = db.standalone_head
    if db.dialect == "postgresql":
        assert head is None
        assert not db.insert_standalone(event_rows(2, 3, stream_id="msn-b"))
        assert count_events(db) == 2
        return
    assert head == 2
    assert db.insert_standalone(event_rows(head, 3, stream_id="msn-b"))
    assert db.standalone_head == 5
    assert db.insert_standalone(event_rows(5, 1, stream_id="msn-c"))
    assert count_events(db) == 6
    with db.write_transaction() as tx:
        assert tx.head_position == 6


def test_nothing_is_known_before_the_first_commit(sqlite_db: Database) -> None:
    assert sqlite_db.standalone_head is None
    assert not sqlite_db.insert_standalone(event_rows(0, 1, stream_id="msn-a"))
    assert count_events(sqlite_db) == 0


@pytest.mark.parametrize(
    ("first", "count"),
    [(4, 1), (2, 1), (3, 0), (4, _STANDALONE_MAX_ROWS + 1)],
    ids=["gap", "overlap", "no-rows", "gap-in-several-statements"],
)
def test_rows_that_do_not_fit_the_path_are_left_to_a_transaction(
    sqlite_db: Database, first: int, count: int
) -> None:
    append(sqlite_db, 2, stream_id="msn-a")
    assert not sqlite_db.insert_standalone(event_rows(first - 1, count, stream_id="msn-b"))
    assert count_events(sqlite_db) == 2
    assert sqlite_db.standalone_head == 2


def test_positions_with_a_gap_inside_are_left_to_a_transaction(sqlite_db: Database) -> None:
    append(sqlite_db, 1, stream_id="msn-a")
    rows = event_rows(1, 3, stream_id="msn-b")
    rows[-1] = rows[-1]._replace(position=9)
    assert not sqlite_db.insert_standalone(rows)
    assert count_events(sqlite_db) == 1
    assert sqlite_db.standalone_head == 1


@pytest.mark.parametrize("count", [_STANDALONE_MAX_ROWS, 2 * _STANDALONE_MAX_ROWS + 3])
def test_one_statement_or_several_in_one_transaction(sqlite_db: Database, count: int) -> None:
    append(sqlite_db, 1, stream_id="msn-a")
    assert sqlite_db.insert_standalone(event_rows(1, count, stream_id="msn-b"))
    assert count_events(sqlite_db) == count + 1
    assert sqlite_db.standalone_head == count + 1
    with sqlite_db.read() as conn:
        positions = conn.exec_driver_sql("SELECT position FROM events ORDER BY position")
        assert [position for (position,) in positions] == list(range(1, count + 2))


def test_a_row_refused_in_a_later_statement_undoes_the_earlier_ones(
    sqlite_db: Database,
) -> None:
    append(sqlite_db, 1, stream_id="msn-a")
    rows = event_rows(1, _STANDALONE_MAX_ROWS + 5, stream_id="msn-b")
    rows[-1] = rows[-1]._replace(stream_id="msn-a", version=1)
    assert not sqlite_db.insert_standalone(rows)
    assert count_events(sqlite_db) == 1
    append(sqlite_db, 2, stream_id="msn-c")
    assert count_events(sqlite_db) == 3


@pytest.mark.parametrize("count", [2, _STANDALONE_MAX_ROWS + 2])
def test_a_write_by_another_process_is_seen_and_nothing_is_stored(
    sqlite_db: Database, other: Database, count: int
) -> None:
    append(sqlite_db, 2, stream_id="msn-a")
    append(other, 3, stream_id="msn-b")
    assert not sqlite_db.insert_standalone(event_rows(2, count, stream_id="msn-c"))
    assert count_events(sqlite_db) == 5
    assert sqlite_db.standalone_head is None
    append(sqlite_db, 2, stream_id="msn-c")
    assert sqlite_db.standalone_head == 7


def test_a_head_that_went_back_is_seen_too(sqlite_db: Database, other: Database) -> None:
    append(sqlite_db, 4, stream_id="msn-a")
    with other.write_transaction() as tx:
        tx.connection.exec_driver_sql("DELETE FROM events WHERE position > 2")
    assert not sqlite_db.insert_standalone(event_rows(4, 1, stream_id="msn-b"))
    assert count_events(sqlite_db) == 2


def test_a_refused_row_stores_nothing_of_the_statement(sqlite_db: Database) -> None:
    append(sqlite_db, 1, stream_id="msn-a")
    rows = event_rows(1, 3, stream_id="msn-b")
    rows[2] = rows[2]._replace(stream_id="msn-a", version=1)
    assert not sqlite_db.insert_standalone(rows)
    assert count_events(sqlite_db) == 1
    assert sqlite_db.standalone_head is None


@pytest.mark.parametrize("temporary", [False, True], ids=["trigger", "temp-trigger"])
def test_a_table_with_triggers_is_left_to_a_transaction(
    sqlite_db: Database, temporary: bool
) -> None:
    """A trigger's RAISE(FAIL) keeps the rows before the one it refuses; in a
    statement that is its own transaction they would be committed."""
    append(sqlite_db, 1, stream_id="msn-a")
    temp = "TEMP " if temporary else ""
    with sqlite_db.write_transaction() as tx:
        tx.connection.exec_driver_sql(
            f"CREATE {temp}TRIGGER refuse BEFORE INSERT ON events WHEN NEW.version = 3 "
            "BEGIN SELECT RAISE(FAIL, 'third refused'); END"
        )
    assert not sqlite_db.insert_standalone(event_rows(1, 4, stream_id="msn-b"))
    assert count_events(sqlite_db) == 1
    with sqlite_db.write_transaction() as tx:
        tx.connection.exec_driver_sql("DROP TRIGGER refuse")
    append(sqlite_db, 1, stream_id="msn-c")
    assert sqlite_db.insert_standalone(event_rows(2, 4, stream_id="msn-b"))
    assert count_events(sqlite_db) == 6


@pytest.mark.parametrize("count", [1, _STANDALONE_MAX_ROWS + 1])
def test_a_locked_database_is_unavailable_and_nothing_is_stored(
    sqlite_db: Database, count: int
) -> None:
    append(sqlite_db, 1, stream_id="msn-a")
    path = sqlite_db.sqlite_file
    assert path is not None
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="locked"):
            sqlite_db.insert_standalone(event_rows(1, count, stream_id="msn-b"))
    finally:
        blocker.close()
    assert count_events(sqlite_db) == 1
    append(sqlite_db, 1, stream_id="msn-c")
    assert count_events(sqlite_db) == 2


def test_a_closed_database_refuses(config: Config) -> None:
    db = Database.open(config)
    append(db, 1, stream_id="msn-a")
    db.close()
    with pytest.raises(StoreClosed):
        db.insert_standalone(event_rows(1, 1, stream_id="msn-b"))


@pytest.mark.parametrize(
    ("count", "size"),
    [(1, 1), (15, 15), (16, 16), (17, 32), (33, 64), (250, 256), (256, 256)],
)
def test_statement_sizes_round_up_to_few_shapes(count: int, size: int) -> None:
    assert _standalone_size(count) == size


def test_24_shapes_cover_every_size() -> None:
    shapes = {_standalone_size(count) for count in range(1, _STANDALONE_MAX_ROWS + 1)}
    assert len(shapes) == 24
    assert max(shapes) == _STANDALONE_MAX_ROWS


def test_padding_rows_are_dropped(sqlite_db: Database) -> None:
    append(sqlite_db, 1, stream_id="msn-a")
    rows = event_rows(1, 17, stream_id="msn-b")
    assert sqlite_db.insert_standalone(rows)
    with sqlite_db.read() as conn:
        stored = conn.exec_driver_sql(
            "SELECT position, event_id FROM events WHERE stream_id = 'msn-b' ORDER BY position"
        ).all()
    assert [tuple(row) for row in stored] == [(row.position, row.event_id) for row in rows]
