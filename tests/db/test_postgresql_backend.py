"""The PostgreSQL backend's own way: a commit without a round trip for the lock and head.

After this backend's own commit left a known head, :meth:`PostgresBackend._commit_after`
begins an *unchecked* transaction: its first statement -- whatever it is --
takes the database-wide lock and checks that the head is still the known one,
in one round trip, and raises :class:`HeadMoved` (nothing stored) when another
process wrote; the commit then reads the head afresh. What every backend
promises is in ``test_backend_contract.py``; this module runs on PostgreSQL only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from fleet.db import Database, SnapshotRow, positioned
from fleet.db.backends.base import WriteTransaction
from fleet.db.backends.postgresql import (
    COPY_FROM_ROWS,
    HeadMoved,
    PostgresBackend,
    _PostgresTransaction,
)
from fleet.errors import CommitUnknown, ConcurrencyError, FleetError
from tests.db.conftest import (
    append,
    count_events,
    lock_held_briefly,
    pending_rows,
    positions,
    replaced,
)


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """This module runs on PostgreSQL only."""
    return postgres_url


@pytest.fixture
def backend(db: Database) -> PostgresBackend:
    assert isinstance(db.backend, PostgresBackend)
    return db.backend


@contextmanager
def unchecked(backend: PostgresBackend, head: int) -> Iterator[WriteTransaction]:
    """An unchecked transaction after ``head``, ended as ``_commit_after`` ends it."""
    with backend._lock:
        conn, driver = backend._connect()
        txn = _PostgresTransaction(backend, conn, driver, head, unchecked=True)
        try:
            yield txn
        except BaseException as exc:
            backend._end(txn, exc)
            raise
        backend._end(txn, None)


def new_events(db: Database) -> int:
    """The events stored by the first statements below."""
    with db.read() as conn:
        query = sa.text("SELECT count(*) FROM events WHERE stream_id LIKE :new")
        return int(conn.execute(query, {"new": "msn-new-%"}).scalar_one())


def snapshot_count(db: Database) -> int:
    with db.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM snapshots").scalar_one())


def holds_the_write_lock(db: Database, txn: WriteTransaction) -> bool:
    """Whether ``txn``'s session holds an advisory lock, seen from a read connection."""
    pid = txn._driver.info.backend_pid
    with db.read() as conn:
        held = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = :pid"
            ),
            {"pid": pid},
        ).scalar_one()
    return bool(held)


FirstStatement = Callable[[WriteTransaction, Database], None]


_streams = itertools.count(1)


def insert_new_stream(txn: WriteTransaction, count: int) -> None:
    rows = pending_rows(count, stream_id=f"msn-new-{next(_streams)}")
    txn.insert_events(positioned(rows, txn.head_position + 1))


def lone_row(txn: WriteTransaction, db: Database) -> None:
    insert_new_stream(txn, 1)


def pipeline(txn: WriteTransaction, db: Database) -> None:
    insert_new_stream(txn, 5)


def copy(txn: WriteTransaction, db: Database) -> None:
    insert_new_stream(txn, COPY_FROM_ROWS)


def snapshot(txn: WriteTransaction, db: Database) -> None:
    txn.save_snapshots([SnapshotRow("msn-a", 1, 1, b"state", 1)])


def connection(txn: WriteTransaction, db: Database) -> None:
    txn.connection.exec_driver_sql("SELECT 1")


FIRST_STATEMENTS: dict[str, tuple[FirstStatement, int, int]] = {
    "lone row": (lone_row, 1, 0),
    "pipeline": (pipeline, 5, 0),
    "copy": (copy, COPY_FROM_ROWS, 0),
    "snapshot": (snapshot, 0, 1),
    "connection": (connection, 0, 0),
}
"""Each kind of first statement, the events and the snapshots it stores."""


def wrote_before(db: Database, other: Database) -> None:
    append(other, 1, stream_id="msn-other")


def went_back(db: Database, other: Database) -> None:
    with other.write_transaction() as tx:
        tx.connection.exec_driver_sql(f"DELETE FROM events WHERE position > {tx.head_position - 1}")


@pytest.mark.parametrize("kind", sorted(FIRST_STATEMENTS))
def test_the_first_statement_takes_the_lock_and_checks_the_head(
    db: Database, other: Database, backend: PostgresBackend, kind: str
) -> None:
    """Whatever it is; when another process wrote before it, or moved the head
    back, or committed while it waited for the lock, nothing is stored."""
    first_statement, events, snapshots = FIRST_STATEMENTS[kind]
    append(db, 4, stream_id="msn-a")
    found: dict[str, tuple[str, int, int]] = {}

    def attempt(scenario: str, head: int) -> None:
        before = (new_events(db), snapshot_count(db))
        outcome = "stored"
        try:
            with unchecked(backend, head) as txn:
                first_statement(txn, db)
                if not holds_the_write_lock(db, txn):
                    outcome = "stored without the lock"
        except HeadMoved:
            outcome = "HeadMoved"
        after = (new_events(db), snapshot_count(db))
        found[scenario] = (outcome, after[0] - before[0], after[1] - before[1])

    attempt("head as known", positions(db)[-1])
    with db.write_transaction() as tx:
        tx.connection.exec_driver_sql("DELETE FROM snapshots")
    head = positions(db)[-1]
    wrote_before(db, other)
    attempt("another process wrote", head)
    head = positions(db)[-1]
    went_back(db, other)
    attempt("the head went back", head)

    head = positions(db)[-1]
    with lock_held_briefly(other, "msn-held"):
        attempt("another process committed while it waited", head)

    assert found == {
        "head as known": ("stored", events, snapshots),
        "another process wrote": ("HeadMoved", 0, 0),
        "the head went back": ("HeadMoved", 0, 0),
        "another process committed while it waited": ("HeadMoved", 0, 0),
    }


def test_a_moved_head_leaves_the_commit_to_a_transaction_that_reads_it(
    db: Database, other: Database, backend: PostgresBackend
) -> None:
    append(db, 2, stream_id="msn-a")
    append(other, 1, stream_id="msn-b")
    assert backend._commit_after(2, pending_rows(3, stream_id="msn-c"), ()) is None
    assert backend.head_rereads == 1
    assert count_events(db) == 3
    assert backend._commit_after(3, pending_rows(3, stream_id="msn-c"), ()) == 4
    assert backend._known_head == 6
    snapshots = [SnapshotRow("msn-c", 3, 1, b"state", 1)]
    assert backend._commit_after(6, [], snapshots) is None
    assert (count_events(db), snapshot_count(db)) == (6, 0)
    assert backend.head_rereads == 1


def broken_snapshot(txn: WriteTransaction, db: Database) -> None:
    txn.save_snapshots([SnapshotRow("msn-a", 1, 1, None, 1)])  # type: ignore[arg-type]


def clashing_lone_row(txn: WriteTransaction, db: Database) -> None:
    rows = [replaced(pending_rows(1)[0], stream_id="msn-a", version=1)]
    txn.insert_events(positioned(rows, txn.head_position + 1))


def clashing_pipeline(txn: WriteTransaction, db: Database) -> None:
    rows = pending_rows(5, stream_id="msn-first")
    rows[-1] = replaced(rows[-1], stream_id="msn-a", version=1)
    txn.insert_events(positioned(rows, txn.head_position + 1))


def clashing_copy(txn: WriteTransaction, db: Database) -> None:
    rows = pending_rows(COPY_FROM_ROWS, stream_id="msn-first")
    rows[-1] = replaced(rows[-1], stream_id="msn-a", version=1)
    txn.insert_events(positioned(rows, txn.head_position + 1))


def test_a_failing_first_statement_reports_its_own_error_unless_the_head_also_moved(
    db: Database, other: Database, backend: PostgresBackend
) -> None:
    """A constraint error under a correct head is the constraint error, never
    :class:`HeadMoved`: the fresh transaction would only meet it again."""
    append(db, 1, stream_id="msn-a")
    found: dict[tuple[str, str], tuple[str, int]] = {}
    failing = {
        "broken snapshot": broken_snapshot,
        "clashing lone row": clashing_lone_row,
        "pipeline clashing in its last row": clashing_pipeline,
        "copy clashing in its last row": clashing_copy,
    }
    for name, first_statement in failing.items():
        for move in ("head as known", "head moved"):
            if move == "head moved":
                append(other, 1, stream_id=f"msn-other-{name}")
            head = positions(db)[-1] - (move == "head moved")
            before = count_events(db)
            try:
                with unchecked(backend, head) as txn:
                    first_statement(txn, db)
                outcome = "stored"
            except FleetError as exc:
                outcome = type(exc).__name__
            found[name, move] = (outcome, count_events(db) - before)
    assert found == {
        ("broken snapshot", "head as known"): ("AppendFailed", 0),
        ("broken snapshot", "head moved"): ("HeadMoved", 0),
        ("clashing lone row", "head as known"): ("ConcurrencyError", 0),
        ("clashing lone row", "head moved"): ("HeadMoved", 0),
        ("pipeline clashing in its last row", "head as known"): ("ConcurrencyError", 0),
        # A later row's clash does not depend on the head: it is the error to report.
        ("pipeline clashing in its last row", "head moved"): ("ConcurrencyError", 0),
        ("copy clashing in its last row", "head as known"): ("ConcurrencyError", 0),
        ("copy clashing in its last row", "head moved"): ("HeadMoved", 0),
    }
    assert snapshot_count(db) == 0


def fail_in_block(db: Database, stream_id: str) -> None:
    with pytest.raises(RuntimeError), db.write_transaction():
        raise RuntimeError("the block failed")


def fail_to_commit(db: Database, stream_id: str) -> None:
    with pytest.raises(ConcurrencyError):
        append(db, 1, stream_id=stream_id)


def test_a_failed_write_forgets_the_head(
    db: Database, other: Database, backend: PostgresBackend
) -> None:
    """The commit after it reads the head afresh: it does not count as a reread."""
    found: dict[str, tuple[int | None, int, int, bool]] = {}
    for fail in (fail_in_block, fail_to_commit):
        name = fail.__name__
        append(db, 1, stream_id=f"msn-{name}")
        fail(db, f"msn-{name}")
        forgotten = backend._known_head
        head = append(other, 1, stream_id=f"msn-other-{name}")
        rereads = backend.head_rereads
        first = append(db, 1, stream_id=f"msn-after-{name}")
        found[name] = (
            forgotten,
            first - head,
            backend.head_rereads - rereads,
            backend._known_head == first,
        )
    assert found == {
        "fail_in_block": (None, 1, 0, True),
        "fail_to_commit": (None, 1, 0, True),
    }


class _Recording(psycopg.Cursor[Any]):
    """A cursor that notes the first words of what it sends."""

    sent: list[str]

    def _note(self, query: Any, how: str) -> None:
        text = query if isinstance(query, str) else bytes(query).decode()
        words = text.split()
        self.sent.append(f"{how} {words[0]} {'locking' if 'pg_advisory' in text else ''}".strip())

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        self._note(query, "execute")
        return super().execute(query, params, **kwargs)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> Any:
        self._note(query, "executemany")
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        self._note(statement, "copy")
        return super().copy(statement, params, **kwargs)


@contextmanager
def recording(backend: PostgresBackend) -> Iterator[list[str]]:
    """What the kept write connection's cursors send in the block."""
    assert backend._connection is not None
    driver: Any = backend._connection.connection.dbapi_connection
    sent: list[str] = []
    previous, driver.cursor_factory = (
        driver.cursor_factory,
        type("Recording", (_Recording,), {"sent": sent}),
    )
    try:
        yield sent
    finally:
        driver.cursor_factory = previous


def test_a_commit_after_the_known_head_sends_the_lock_with_its_first_statement(
    db: Database, backend: PostgresBackend
) -> None:
    """One statement for a lone row, a pipeline behind it for more; from
    ``COPY_FROM_ROWS`` rows on, the lock and the head query pipelined before ``COPY``."""
    append(db, 1, stream_id="msn-a")
    found: dict[int, list[str]] = {}
    for count in (1, 5, COPY_FROM_ROWS - 1, COPY_FROM_ROWS):
        with recording(backend) as sent:
            append(db, count, stream_id=f"msn-{count}")
        found[count] = sent
    assert found == {
        1: ["execute INSERT locking"],
        5: ["execute INSERT locking", "executemany INSERT"],
        COPY_FROM_ROWS - 1: ["execute INSERT locking", "executemany INSERT"],
        COPY_FROM_ROWS: ["execute SELECT locking", "execute SELECT", "copy COPY"],
    }
    assert positions(db) == list(range(1, 1 + 1 + 5 + 2 * COPY_FROM_ROWS))
    assert backend.head_rereads == 0


def test_a_settled_look_up_gives_up_on_a_lock_held_too_long_as_commit_unknown(
    db: Database, other: Database
) -> None:
    rows = pending_rows(1, stream_id="msn-still-committing")
    with other.write_transaction() as tx:
        tx.insert_events(positioned(rows, tx.head_position + 1))
        with pytest.raises(CommitUnknown, match=r"still held after 0\.2 s"):
            db.find_settled([rows[0][0]], 0.2)
    assert [ref.event_id for ref in db.find_settled([rows[0][0]], 0.2)] == [rows[0][0]]
    assert append(db, 1, stream_id="msn-after") == 2
