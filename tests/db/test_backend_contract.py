"""What every backend promises about writes, checked once and run on each backend.

The suite runs on every backend through the ``db`` and ``config`` fixtures,
which follow the ``database_url`` fixture of ``tests/conftest.py``: a third
backend is one more entry in that fixture's parameters, plus its entry in
:data:`DIALECTS` below (the few statements -- a trigger, a lock timeout -- that
no SQL common to all backends can say).

Each promise is checked through :meth:`Database.commit` (the store's one call
per batch) and, where it applies, through
:meth:`Database.write_transaction` and :meth:`WriteTransaction.insert_events`
(the ``write`` fixture). A commit takes one of two ways: right after this
database's own successful write it may commit after the head that write left
(the backend's fast way); after a failure, or when nothing was written yet, it
reads the head afresh. Failure checks try both, in that order.

Promises:

* Positions are ``head + 1, ...``: gap-free, in commit order, the first one
  returned; rows read back unchanged. Also across two :class:`Database`
  objects on one database (two processes) and with threads committing at once.
* A ``(stream_id, version)`` already stored is :class:`ConcurrencyError`; an
  ``event_id`` already stored (or repeated in the batch) is :class:`DuplicateEvent`.
* A batch is stored whole or not at all, at every statement boundary.
* Rows a trigger silently dropped fail the append (:class:`AppendFailed`).
* A transaction that fails at ``COMMIT``, or whose block raises, stores nothing.
* Nothing is stored at a wrong position when another process moved the head
  (forward or back): the commit lands after it, once, and a backend that
  reuses a head counts the reread (``backend.head_rereads``); its own
  consecutive commits never reread.
* Snapshots given to ``commit`` are stored with its rows; one that cannot be
  stored does not fail the commit.
* After a failed commit the next one lands at the head.
* A closed, read-only or corrupt database refuses; a locked one is
  :class:`StoreUnavailable`; a commit waits for a lock held for a moment.
* A look-up of events after a commit whose answer was lost
  (:meth:`Database.find_settled`) waits for the writes begun before it and sees
  what they stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Final

import pytest
import sqlalchemy as sa

from fleet.config import Config
from fleet.db import Database, PendingTuple, SnapshotRow, positioned
from fleet.db.backends import Backend
from fleet.errors import AppendFailed, ConcurrencyError, FleetError, StoreError
from tests.db.conftest import (
    MakeConfig,
    append,
    commit_in_transaction,
    count_events,
    event_rows,
    lock_held_briefly,
    pending_rows,
    positions,
    replaced,
    stored_rows,
)

Write = Callable[[Database, Sequence[PendingTuple]], int]


def commit(db: Database, rows: Sequence[PendingTuple]) -> int:
    return db.commit(rows)


@pytest.fixture(params=[commit, commit_in_transaction], ids=["commit", "write_transaction"])
def write(request: pytest.FixtureRequest) -> Write:
    """Each way of committing a batch: ``Database.commit``, or ``insert_events`` in a
    write transaction."""
    how: Write = request.param
    return how


@dataclass(frozen=True)
class Dialect:
    """The statements the suite needs in each backend's own SQL."""

    dropping_trigger: tuple[str, ...]
    """Create a trigger that silently drops every row of the stream ``msn-dropped``."""
    failing_at_commit: tuple[str, ...]
    """After :data:`PARENT_AND_CHILD`: a trigger that makes a transaction storing a
    row of the stream ``msn-doomed`` fail when it commits (a deferred foreign key)."""
    short_lock_wait: tuple[str, ...]
    """Make connections opened from now on give up waiting for a lock after 200 ms
    (SQLite: nothing, ``busy_timeout_ms`` of the configuration says it)."""


PARENT_AND_CHILD: Final = (
    "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
    "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
)

DIALECTS: Final = {
    "sqlite": Dialect(
        dropping_trigger=(
            "CREATE TRIGGER drop_rows BEFORE INSERT ON events "
            "WHEN NEW.stream_id = 'msn-dropped' BEGIN SELECT RAISE(IGNORE); END",
        ),
        failing_at_commit=(
            "CREATE TRIGGER doom AFTER INSERT ON events "
            "WHEN NEW.stream_id = 'msn-doomed' BEGIN INSERT INTO child VALUES (1); END",
        ),
        short_lock_wait=(),
    ),
    "postgresql": Dialect(
        dropping_trigger=(
            "CREATE FUNCTION drop_rows() RETURNS trigger AS $$ BEGIN "
            "IF NEW.stream_id = 'msn-dropped' THEN RETURN NULL; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER drop_rows BEFORE INSERT ON events "
            "FOR EACH ROW EXECUTE FUNCTION drop_rows()",
        ),
        failing_at_commit=(
            "CREATE FUNCTION doom() RETURNS trigger AS $$ BEGIN "
            "IF NEW.stream_id = 'msn-doomed' THEN INSERT INTO child VALUES (1); END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER doom AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION doom()",
        ),
        short_lock_wait=(
            "DO $$ BEGIN EXECUTE 'ALTER DATABASE ' || quote_ident(current_database()) "
            "|| ' SET lock_timeout = 200'; END $$",
        ),
    ),
}
"""Each backend's statements, by dialect name."""

SIZES: Final = (1, 15, 16, 17, 63, 64, 65, 128, 129, 256, 257, 600)
"""Batch sizes on each side of every statement boundary of every backend: SQLite's
multi-row statements (16, 128 rows) and one-statement commits (256); PostgreSQL's
``COPY`` (64 rows and more)."""


def run(db: Database, statements: Sequence[str]) -> None:
    with db.write_transaction() as tx:
        for sql in statements:
            tx.connection.exec_driver_sql(sql)


def failure(write: Write, db: Database, rows: Sequence[PendingTuple]) -> str:
    """The name of the fleet error ``write`` raised, or where it stored the rows."""
    try:
        first = write(db, rows)
    except FleetError as exc:
        return type(exc).__name__
    return f"stored at {first}"


def reuses_head(db: Database) -> bool:
    """Whether the backend may commit after the head its last commit left."""
    return type(db.backend)._commit_after is not Backend._commit_after


def snapshot(stream_id: str, version: int, state: bytes) -> SnapshotRow:
    return SnapshotRow(stream_id, version, 1, state, 1_700_000_000_000)


def stored_snapshots(db: Database) -> list[tuple[str, int, bytes]]:
    """Every stored snapshot: its stream, version and state."""
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT stream_id, version, state FROM snapshots").all()
    return sorted((stream_id, version, bytes(state)) for stream_id, version, state in rows)


# -- positions ---------------------------------------------------------------------


def test_batches_of_any_size_are_stored_unchanged_at_the_next_positions(
    db: Database, write: Write
) -> None:
    batches = [pending_rows(size, stream_id=f"msn-{size}") for size in SIZES]
    firsts = [write(db, rows) for rows in batches]
    every = [row for rows in batches for row in rows]
    assert firsts == list(accumulate((len(rows) for rows in batches[:-1]), initial=1))
    assert stored_rows(db) == [(position, *row) for position, row in enumerate(every, 1)]
    assert db.backend.head_rereads == 0


def test_commit_and_write_transaction_share_one_head(db: Database) -> None:
    with db.write_transaction() as tx:
        assert (tx.head_position, tx.last_position) == (0, 0)
        tx.insert_events([])
        tx.insert_events(event_rows(0, 3, stream_id="msn-a"))
        assert (tx.head_position, tx.last_position) == (0, 3)
    assert db.commit(pending_rows(2, stream_id="msn-b")) == 4
    with db.write_transaction() as tx:
        assert tx.head_position == 5
    db.commit([])
    assert db.commit(pending_rows(1, stream_id="msn-c")) == 6
    assert commit_in_transaction(db, pending_rows(1, stream_id="msn-d")) == 7
    assert db.commit(pending_rows(1, stream_id="msn-e")) == 8
    assert positions(db) == list(range(1, 9))
    assert db.backend.head_rereads == 0


def test_a_head_another_process_moved_is_read_afresh_and_nothing_lands_at_a_wrong_position(
    db: Database, other: Database
) -> None:
    """Forward (the other process appended) and back (it deleted the newest
    rows), before batches of each kind of statement."""
    append(db, 4, stream_id="msn-start")
    found: dict[tuple[int, str], tuple[int, list[int], int]] = {}
    expected: dict[tuple[int, str], tuple[int, list[int], int]] = {}
    for count in (1, 5, 17, 64, 257, 300):
        for move in ("forward", "back"):
            if move == "forward":
                append(other, 2, stream_id=f"msn-other-{count}")
            else:
                with other.write_transaction() as tx:
                    tx.connection.exec_driver_sql(
                        f"DELETE FROM events WHERE position > {tx.head_position - 2}"
                    )
            head = positions(db)[-1]
            rereads = db.backend.head_rereads
            rows = pending_rows(count, stream_id=f"msn-{count}-{move}")
            first = db.commit(rows)
            with db.read() as conn:
                landed = conn.execute(
                    sa.text("SELECT position FROM events WHERE stream_id = :s ORDER BY position"),
                    {"s": f"msn-{count}-{move}"},
                ).scalars()
                found[count, move] = (first, list(landed), db.backend.head_rereads - rereads)
            expected[count, move] = (
                head + 1,
                list(range(head + 1, head + 1 + count)),
                int(reuses_head(db)),
            )
    assert found == expected
    assert positions(db) == list(range(1, count_events(db) + 1))


def test_a_commit_waits_for_another_process_holding_the_lock_and_lands_after_it(
    db: Database, other: Database
) -> None:
    append(db, 1, stream_id="msn-a")
    after_the_holder: dict[int, int] = {}
    for count in (1, 5, 100):
        with lock_held_briefly(other, f"msn-held-{count}") as held:
            first = db.commit(pending_rows(count, stream_id=f"msn-{count}"))
        after_the_holder[count] = first - held
    assert after_the_holder == {1: 1, 5: 1, 100: 1}
    assert positions(db) == list(range(1, 1 + 3 + 106 + 1))  # gap-free, every row once


def test_threads_committing_at_once_through_two_databases_get_gap_free_positions(
    db: Database, other: Database
) -> None:
    """Each thread alternates ``commit`` and ``write_transaction``; every batch must
    land where its call said, after the thread's previous one."""
    batches = 12
    writers = [(db, "msn-a"), (db, "msn-b"), (other, "msn-c"), (other, "msn-d")]
    start = threading.Barrier(len(writers))
    committed: dict[str, list[tuple[int, list[str]]]] = {stream: [] for _, stream in writers}
    errors: list[BaseException] = []

    def write_batches(database: Database, stream_id: str) -> None:
        try:
            start.wait(10)
            version = 1
            for i in range(batches):
                rows = pending_rows(1 + i % 4, stream_id=stream_id, first_version=version)
                how: Write = commit_in_transaction if i % 2 else commit
                first = how(database, rows)
                committed[stream_id].append((first, [row[0] for row in rows]))
                version += len(rows)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write_batches, args=writer) for writer in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with db.read() as conn:
        stored: dict[str, int] = dict(
            conn.exec_driver_sql("SELECT event_id, position FROM events").all()
        )
    for stream_id, done in committed.items():
        firsts = [first for first, _ in done]
        assert firsts == sorted(firsts), stream_id
        for first, event_ids in done:
            assert [stored[event_id] for event_id in event_ids] == list(
                range(first, first + len(event_ids))
            ), stream_id
    assert positions(db) == list(range(1, len(writers) * 30 + 1))


# -- clashes -----------------------------------------------------------------------


def test_a_stream_version_already_stored_is_a_concurrency_error(
    db: Database, other: Database, write: Write
) -> None:
    write(db, pending_rows(2, stream_id="msn-a"))
    taken = pending_rows(1, stream_id="msn-a", first_version=2)
    twice = [*pending_rows(1, stream_id="msn-b"), *pending_rows(1, stream_id="msn-b")]
    causes: list[BaseException | None] = []
    for rows in (taken, taken, twice):  # after a commit, then after failures
        with pytest.raises(ConcurrencyError) as caught:
            write(db, rows)
        causes.append(caught.value.__cause__)
    write(db, pending_rows(1, stream_id="msn-c"))
    append(other, 1, stream_id="msn-other")  # the head this database knows is stale
    with pytest.raises(ConcurrencyError):
        write(db, taken)
    assert None not in causes
    assert positions(db) == [1, 2, 3, 4]
    assert write(db, pending_rows(1, stream_id="msn-a", first_version=3)) == 5


def test_an_event_id_already_stored_or_repeated_is_a_duplicate_event(
    db: Database, other: Database, write: Write
) -> None:
    first = pending_rows(1, stream_id="msn-a")
    write(db, first)
    again = [replaced(pending_rows(1, stream_id="msn-b")[0], event_id=first[0][0])]
    twice = pending_rows(2, stream_id="msn-c")
    twice[1] = replaced(twice[1], event_id=twice[0][0])
    outcomes = [failure(write, db, again), failure(write, db, again)]
    write(db, pending_rows(1, stream_id="msn-d"))
    outcomes += [failure(write, db, twice), failure(write, db, twice)]
    write(db, pending_rows(1, stream_id="msn-e"))
    append(other, 1, stream_id="msn-other")  # the head this database knows is stale
    outcomes.append(failure(write, db, again))
    assert outcomes == ["DuplicateEvent"] * 5
    assert positions(db) == [1, 2, 3, 4]
    assert write(db, pending_rows(1, stream_id="msn-f")) == 5


def test_a_batch_with_a_clash_in_its_last_row_stores_nothing_at_every_size(
    db: Database, write: Write
) -> None:
    taken = pending_rows(1, stream_id="msn-taken")
    write(db, taken)
    found: dict[int, tuple[str, ...]] = {}
    for size in SIZES:
        version_clash = pending_rows(size, stream_id=f"msn-{size}")
        version_clash[-1] = replaced(version_clash[-1], stream_id="msn-taken", version=1)
        id_clash = pending_rows(size, stream_id=f"msn-{size}")
        id_clash[-1] = replaced(id_clash[-1], event_id=taken[0][0])
        outcomes: list[str] = []
        stored = 0
        for clashes in ((version_clash, id_clash), (id_clash, version_clash)):
            write(db, pending_rows(1, stream_id=f"msn-{size}-{len(outcomes)}"))
            before = count_events(db)
            # The first with the head the write above left, the second after a failure.
            outcomes += [failure(write, db, rows) for rows in clashes]
            stored += count_events(db) - before
        found[size] = (*outcomes, f"{stored} stored")
    refused = ("ConcurrencyError", "DuplicateEvent", "DuplicateEvent", "ConcurrencyError")
    assert found == dict.fromkeys(SIZES, (*refused, "0 stored"))
    assert positions(db) == list(range(1, count_events(db) + 1))


# -- failures that store nothing -----------------------------------------------------


def test_rows_a_trigger_dropped_fail_the_append_and_nothing_is_stored(
    db: Database, write: Write
) -> None:
    run(db, DIALECTS[db.dialect].dropping_trigger)
    found: dict[tuple[int, int], tuple[str, str, int]] = {}
    for count in (1, 5, 17, 64, 100, 257):
        for dropped in sorted({0, count - 1}):
            write(db, pending_rows(1, stream_id=f"msn-ok-{count}-{dropped}"))
            rows = pending_rows(count, stream_id=f"msn-{count}-{dropped}")
            rows[dropped] = replaced(rows[dropped], stream_id="msn-dropped")
            before = count_events(db)
            known, fresh = failure(write, db, rows), failure(write, db, rows)
            found[count, dropped] = (known, fresh, count_events(db) - before)
    assert found == dict.fromkeys(found, ("AppendFailed", "AppendFailed", 0))
    head = count_events(db)
    assert write(db, pending_rows(1, stream_id="msn-last")) == head + 1


def test_a_transaction_that_fails_at_commit_stores_nothing(db: Database, write: Write) -> None:
    run(db, (*PARENT_AND_CHILD, *DIALECTS[db.dialect].failing_at_commit))
    write(db, pending_rows(1, stream_id="msn-a"))
    doomed = pending_rows(3, stream_id="msn-b")
    doomed[-1] = replaced(doomed[-1], stream_id="msn-doomed")
    outcomes = [failure(write, db, doomed), failure(write, db, doomed)]
    assert outcomes == ["AppendFailed", "AppendFailed"]
    assert count_events(db) == 1
    assert write(db, pending_rows(1, stream_id="msn-c")) == 2


def test_a_write_transaction_whose_block_fails_at_commit_stores_nothing(db: Database) -> None:
    with (  # noqa: PT012
        pytest.raises(AppendFailed, match=r"(?i)foreign key"),
        db.write_transaction() as tx,
    ):
        tx.insert_events(event_rows(tx.head_position, 2, stream_id="msn-a"))
        conn = tx.connection
        for sql in PARENT_AND_CHILD:
            conn.exec_driver_sql(sql.replace("CREATE TABLE", "CREATE TEMP TABLE"))
        conn.exec_driver_sql("INSERT INTO child VALUES (1)")
    assert count_events(db) == 0
    assert append(db, 1, stream_id="msn-b") == 1


def insert_then_raise(db: Database, error: BaseException | None) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(tx.head_position, 5))
        if error is not None:
            raise error
        tx.connection.exec_driver_sql("SELECT * FROM no_such_table")


def test_a_write_transaction_whose_block_raises_stores_nothing(db: Database) -> None:
    append(db, 1, stream_id="msn-a")
    with pytest.raises(RuntimeError, match="boom"):
        insert_then_raise(db, RuntimeError("boom"))
    with pytest.raises(StoreError) as caught:
        insert_then_raise(db, None)
    assert isinstance(caught.value.__cause__, sa.exc.DBAPIError)
    assert count_events(db) == 1
    assert append(db, 1, stream_id="msn-b") == 2


# -- snapshots -----------------------------------------------------------------------


def test_snapshots_given_to_commit_are_stored_with_its_rows(db: Database) -> None:
    """Also alone; the same (stream, version) again replaces the state; rows that
    fail take their snapshots with them."""
    assert db.commit(pending_rows(2, stream_id="msn-a"), [snapshot("msn-a", 2, b"two")]) == 1
    three = [snapshot("msn-a", 3, b"three"), snapshot("msn-b", 1, b"b")]
    assert db.commit(pending_rows(1, stream_id="msn-a", first_version=3), three) == 3
    db.commit([], [snapshot("msn-a", 3, b"three again")])
    clashing = pending_rows(1, stream_id="msn-a")
    for _ in range(2):  # with the head known, then after a failure
        with pytest.raises(ConcurrencyError):
            db.commit(clashing, [snapshot("msn-c", 1, b"c")])
    assert count_events(db) == 3
    assert stored_snapshots(db) == [
        ("msn-a", 2, b"two"),
        ("msn-a", 3, b"three again"),
        ("msn-b", 1, b"b"),
    ]
    assert db.commit(pending_rows(1, stream_id="msn-c"), [snapshot("msn-c", 1, b"c")]) == 4
    assert ("msn-c", 1, b"c") in stored_snapshots(db)


def test_a_snapshot_that_cannot_be_stored_does_not_fail_the_commit(db: Database) -> None:
    broken = SnapshotRow("msn-a", 1, 1, None, 1)  # type: ignore[arg-type]
    assert db.commit(pending_rows(1, stream_id="msn-a"), [broken]) == 1
    assert db.commit(pending_rows(1, stream_id="msn-a", first_version=2), [broken]) == 2
    assert db.commit(pending_rows(1, stream_id="msn-b"), [snapshot("msn-b", 1, b"b")]) == 3
    assert count_events(db) == 3
    assert stored_snapshots(db) == [("msn-b", 1, b"b")]


def test_saved_snapshots_replace_the_same_stream_and_version(db: Database) -> None:
    first = [snapshot("msn-a", 10, b"old"), snapshot("msn-b", 5, b"b")]
    with db.write_transaction() as tx:
        tx.save_snapshots(first)
        tx.save_snapshots([])
    with db.write_transaction() as tx:
        tx.save_snapshots([snapshot("msn-a", 10, b"new")])
    assert stored_snapshots(db) == [("msn-a", 10, b"new"), ("msn-b", 5, b"b")]


# -- databases that may not be written ------------------------------------------------


@pytest.fixture
def refusing(config: Config) -> Iterator[dict[str, Database]]:
    """A closed, a read-only and a corrupt database object, each on the database of ``db``."""
    closed = Database.open(config)
    append(closed, 1, stream_id="msn-closed")
    closed.close()
    corrupt = Database.open(config)
    append(corrupt, 1, stream_id="msn-corrupt")
    corrupt.mark_corrupt("a test found it corrupt")
    with Database.open(config, read_only=True) as read_only, corrupt:
        yield {"closed": closed, "read-only": read_only, "corrupt": corrupt}


def test_a_database_that_may_not_be_written_refuses_and_stores_nothing(
    db: Database, refusing: dict[str, Database]
) -> None:
    rows = pending_rows(1, stream_id="msn-refused")
    found = {
        name: (failure(commit, database, rows), failure(commit_in_transaction, database, rows))
        for name, database in refusing.items()
    }
    assert found == {
        "closed": ("StoreClosed", "StoreClosed"),
        "read-only": ("StoreReadOnly", "StoreReadOnly"),
        "corrupt": ("DatabaseCorrupt", "DatabaseCorrupt"),
    }
    assert count_events(db) == 2


def test_a_locked_database_is_unavailable_and_nothing_is_stored(
    db: Database, database_url: str, make_config: MakeConfig
) -> None:
    run(db, DIALECTS[db.dialect].short_lock_wait)
    impatient = make_config(database_url, busy_timeout_ms=200)
    with Database.open(impatient) as waiting, Database.open(impatient) as holder:
        found: dict[int, tuple[str, str]] = {}
        for count in (1, 257):
            append(waiting, 1, stream_id=f"msn-before-{count}")
            rows = pending_rows(count, stream_id=f"msn-{count}")
            with holder.write_transaction():
                # With the head the commit above left, then after a failure.
                found[count] = (failure(commit, waiting, rows), failure(commit, waiting, rows))
        assert found == dict.fromkeys(found, ("StoreUnavailable", "StoreUnavailable"))
        with holder.write_transaction():
            assert failure(commit_in_transaction, waiting, rows) == "StoreUnavailable"
        assert count_events(waiting) == 2
        assert append(waiting, 1, stream_id="msn-after") == 3


def test_a_settled_look_up_sees_what_a_write_begun_before_it_stored(
    db: Database, other: Database
) -> None:
    rows = pending_rows(1, stream_id="msn-settling")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with other.write_transaction() as tx:
            tx.insert_events(positioned(rows, tx.head_position + 1))
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    timer = threading.Timer(0.3, release.set)
    try:
        assert holding.wait(10)
        timer.start()
        found = db.find_settled([rows[0][0], "evt-never-stored"], 10.0)
    finally:
        release.set()
        thread.join(10)
    assert [(ref.event_id, ref.position) for ref in found] == [(rows[0][0], 1)]
    assert append(db, 1, stream_id="msn-after") == 2
