"""The SQLite backend's own ways: multi-row statements and the one-statement commit.

After this backend's own commit left a known head, :meth:`SQLiteBackend._commit_after`
commits a batch of up to 256 rows by one statement that is its own transaction,
and more by one ``BEGIN IMMEDIATE`` transaction of such statements. Each
statement stores nothing unless the head is still the known one and ``events``
has no trigger; then the commit reads the head afresh. What every backend
promises is in ``test_backend_contract.py``; this module runs on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any

import pytest

from fleet.db import Database, SnapshotRow, positioned
from fleet.db.backends.sqlite import (
    ROW_STEP,
    ROWS_PER_STATEMENT,
    STANDALONE_MAX_ROWS,
    SQLiteBackend,
    standalone_size,
    statement_sizes,
)
from fleet.errors import AppendFailed, ConcurrencyError
from tests.db.conftest import (
    append,
    append_in_transaction,
    count_events,
    pending_rows,
    positions,
    replaced,
)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """This module runs on SQLite only."""
    return sqlite_url


@pytest.fixture
def backend(db: Database) -> SQLiteBackend:
    assert isinstance(db.backend, SQLiteBackend)
    return db.backend


@contextmanager
def traced(backend: SQLiteBackend) -> Iterator[list[str]]:
    """The statements the kept write connection runs in the block (the first word of each,
    ``INSERT OR ROLLBACK`` for a one-statement commit)."""
    connection = backend._connection
    assert connection is not None, "no write connection is kept: nothing was written yet"
    driver: Any = connection.connection.dbapi_connection
    sent: list[str] = []

    def record(sql: str) -> None:
        words = sql.split()
        sent.append(" ".join(words[:3]) if words[:3] == ["INSERT", "OR", "ROLLBACK"] else words[0])

    driver.set_trace_callback(record)
    try:
        yield sent
    finally:
        driver.set_trace_callback(None)


ONE_STATEMENT = ["INSERT OR ROLLBACK"]


def fresh_head(count: int) -> list[str]:
    """The statements of a commit of ``count`` rows that reads the head first."""
    return ["BEGIN", "SELECT", *["INSERT"] * len(statement_sizes(count)), "COMMIT"]


# -- statement shapes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "size"),
    [(1, 1), (15, 15), (16, 16), (17, 32), (33, 64), (250, 256), (256, 256)],
)
def test_one_statement_sizes_round_up_to_few_shapes(count: int, size: int) -> None:
    assert standalone_size(count) == size


def test_24_shapes_cover_every_one_statement_size() -> None:
    shapes = {standalone_size(count) for count in range(1, STANDALONE_MAX_ROWS + 1)}
    assert len(shapes) == 24
    assert max(shapes) == STANDALONE_MAX_ROWS
    assert all(standalone_size(count) >= count for count in range(1, STANDALONE_MAX_ROWS + 1))


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        (0, []),
        (1, [1]),
        (15, [15]),
        (16, [16]),
        (17, [16, 1]),
        (128, [128]),
        (129, [128, 1]),
        (300, [128, 128, 32, 12]),
    ],
)
def test_multi_row_statements_come_in_few_sizes(count: int, sizes: list[int]) -> None:
    assert statement_sizes(count) == sizes


def test_multi_row_statements_carry_every_row_once_in_order(backend: SQLiteBackend) -> None:
    shapes: set[int] = set()
    for count in range(1, 2 * ROWS_PER_STATEMENT + 2 * ROW_STEP):
        rows = positioned(pending_rows(count), 1)
        steps = backend.insert_steps(rows)
        sent = list(chain.from_iterable(chain.from_iterable(params) for _, params in steps))
        assert sent == list(chain.from_iterable(rows)), count
        for sql, params in steps:
            markers = sql.count("?")
            assert markers == sum(len(p) for p in params) // len(params), (count, sql)
            shapes.add(markers)
    assert len(shapes) == ROW_STEP - 1 + ROWS_PER_STATEMENT // ROW_STEP


def test_a_one_statement_commit_binds_spare_rows_as_nulls_that_are_dropped(
    backend: SQLiteBackend, db: Database
) -> None:
    append(db, 1, stream_id="msn-a")
    rows = positioned(pending_rows(17, stream_id="msn-b"), 2)
    sql, parameters = backend.standalone_statement(rows, 1)
    width = len(rows[0])
    assert sql.count("?") == len(parameters) == 32 * width + 1
    assert parameters == [*chain.from_iterable(rows), *[None] * (15 * width), 1]
    assert backend._commit_after(1, [row[1:] for row in rows], ()) == 2
    with db.read() as conn:
        stored = conn.exec_driver_sql(
            "SELECT position, event_id FROM events WHERE stream_id = 'msn-b' ORDER BY position"
        ).all()
    assert [tuple(row) for row in stored] == [(row[0], row[1]) for row in rows]
    assert count_events(db) == 18


# -- the one-statement commit ----------------------------------------------------------


def test_a_commit_after_the_known_head_is_one_statement_or_one_transaction_of_them(
    backend: SQLiteBackend, db: Database
) -> None:
    assert backend._known_head is None
    append_in_transaction(db, 1, stream_id="msn-a")
    found: dict[int, tuple[int, list[str], int | None]] = {}
    for count in (1, 3, 17, 256, 257, 515):
        with traced(backend) as sent:
            first = append(db, count, stream_id=f"msn-{count}")
        found[count] = (first, sent, backend._known_head)
    expected: dict[int, tuple[int, list[str], int | None]] = {}
    head = 1
    for count in found:
        statements = -(-count // STANDALONE_MAX_ROWS)
        expected[count] = (
            head + 1,
            ONE_STATEMENT if statements == 1 else ["BEGIN", *ONE_STATEMENT * statements, "COMMIT"],
            head + count,
        )
        head += count
    assert found == expected
    assert positions(db) == list(range(1, head + 1))
    assert backend.head_rereads == 0


def test_after_a_failed_commit_the_next_one_reads_the_head(
    backend: SQLiteBackend, db: Database
) -> None:
    append(db, 1, stream_id="msn-a")
    with pytest.raises(ConcurrencyError):
        append(db, 1, stream_id="msn-a")
    assert backend._known_head is None
    with traced(backend) as sent:
        assert append(db, 2, stream_id="msn-b") == 2
    assert sent == fresh_head(2)
    assert backend._known_head == 3


@pytest.mark.parametrize(
    ("head", "count", "snapshots"),
    [
        (4, 1, False),
        (1, 1, False),
        (2, 0, False),
        (2, 1, True),
        (4, STANDALONE_MAX_ROWS + 1, False),
    ],
    ids=["head-above", "head-below", "no-rows", "snapshots", "head-above-several-statements"],
)
def test_a_batch_it_cannot_take_is_declined_and_nothing_is_stored(
    backend: SQLiteBackend, db: Database, head: int, count: int, snapshots: bool
) -> None:
    append(db, 2, stream_id="msn-a")
    given = [SnapshotRow("msn-a", 2, 1, b"state", 1)] if snapshots else []
    assert backend._commit_after(head, pending_rows(count, stream_id="msn-b"), given) is None
    assert count_events(db) == 2
    assert backend._connection is not None
    assert not backend._connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]


@pytest.mark.parametrize("count", [2, STANDALONE_MAX_ROWS + 2])
@pytest.mark.parametrize("move", ["forward", "back"])
def test_a_head_another_process_moved_makes_it_decline_and_the_commit_reads_it_afresh(
    backend: SQLiteBackend, db: Database, other: Database, count: int, move: str
) -> None:
    append(db, 4, stream_id="msn-a")
    if move == "forward":
        append(other, 3, stream_id="msn-b")
    else:
        with other.write_transaction() as tx:
            tx.connection.exec_driver_sql("DELETE FROM events WHERE position > 2")
    head = positions(db)[-1]
    with traced(backend) as sent:
        assert append(db, count, stream_id="msn-c") == head + 1
    several = count > STANDALONE_MAX_ROWS
    declined = ["BEGIN", *ONE_STATEMENT, "ROLLBACK"] if several else ONE_STATEMENT
    assert sent == declined + fresh_head(count)
    assert backend.head_rereads == 1
    assert backend._known_head == head + count
    assert positions(db) == list(range(1, head + count + 1))


def test_a_row_refused_by_the_statement_stores_none_of_it(
    backend: SQLiteBackend, db: Database
) -> None:
    append(db, 1, stream_id="msn-a")
    rows = pending_rows(3, stream_id="msn-b")
    rows[2] = replaced(rows[2], stream_id="msn-a", version=1)
    assert backend._commit_after(1, rows, ()) is None
    assert count_events(db) == 1
    assert append(db, 2, stream_id="msn-c") == 2


def test_a_row_refused_in_a_later_statement_undoes_the_earlier_ones(
    backend: SQLiteBackend, db: Database
) -> None:
    append(db, 1, stream_id="msn-a")
    rows = pending_rows(STANDALONE_MAX_ROWS + 5, stream_id="msn-b")
    rows[-1] = replaced(rows[-1], stream_id="msn-a", version=1)
    assert backend._commit_after(1, rows, ()) is None
    assert count_events(db) == 1
    assert backend._connection is not None
    assert not backend._connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    assert append(db, 2, stream_id="msn-c") == 2
    assert count_events(db) == 3


@pytest.mark.parametrize("temporary", [False, True], ids=["trigger", "temp-trigger"])
def test_a_table_with_triggers_makes_it_decline(
    backend: SQLiteBackend, db: Database, temporary: bool
) -> None:
    """A trigger's ``RAISE(FAIL)`` keeps the rows before the one it refuses; in a
    statement that is its own transaction they would be committed. A temporary
    trigger lives on the write connection only, so its schema is checked too."""
    append(db, 1, stream_id="msn-a")
    temp = "TEMP " if temporary else ""
    with db.write_transaction() as tx:
        tx.connection.exec_driver_sql(
            f"CREATE {temp}TRIGGER refuse BEFORE INSERT ON events WHEN NEW.version = 3 "
            "BEGIN SELECT RAISE(FAIL, 'third refused'); END"
        )
    assert backend._commit_after(1, pending_rows(4, stream_id="msn-b"), ()) is None
    assert count_events(db) == 1
    with pytest.raises(AppendFailed, match="third refused"):
        append(db, 4, stream_id="msn-b")
    assert count_events(db) == 1
    with db.write_transaction() as tx:
        tx.connection.exec_driver_sql("DROP TRIGGER refuse")
    append(db, 1, stream_id="msn-c")
    with traced(backend) as sent:
        assert append(db, 4, stream_id="msn-b") == 3
    assert sent == ONE_STATEMENT
    assert count_events(db) == 6
