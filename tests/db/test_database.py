"""Contract tests of Database and WriteTransaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from fleet.config import Config
from fleet.db import (
    Database,
    PoolStatistics,
    SnapshotRow,
    WriteTransaction,
    latest_snapshot,
    latest_snapshots,
    stream_head,
)
from fleet.errors import (
    AppendFailed,
    ConcurrencyError,
    DuplicateEvent,
    HeadMoved,
    StoreClosed,
    StoreError,
)
from tests.db.conftest import MakeConfig, count_events, event_rows


def positions(db: Database) -> list[int]:
    with db.read() as conn:
        return list(conn.exec_driver_sql("SELECT position FROM events ORDER BY position").scalars())


def test_open_migrates_an_empty_database(db: Database) -> None:
    with db.read() as conn:
        assert sa.inspect(conn).has_table("events")
    assert db.dialect in {"sqlite", "postgresql"}


def test_head_position_starts_at_zero_and_follows_commits(db: Database) -> None:
    with db.write_transaction() as tx:
        assert tx.head_position == 0
        tx.insert_events(event_rows(tx.head_position, 3))
    with db.write_transaction() as tx:
        assert tx.head_position == 3
    assert positions(db) == [1, 2, 3]


def test_inserted_rows_read_back_unchanged(db: Database) -> None:
    rows = event_rows(0, 2)
    with db.write_transaction() as tx:
        tx.insert_events(rows)
    with db.read() as conn:
        stored = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM events ORDER BY position")]
    assert [(*r[:6], bytes(r[6]), *r[7:]) for r in stored] == [tuple(r) for r in rows]


def test_inserting_no_rows_is_a_no_op(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events([])
    assert count_events(db) == 0


def test_saved_snapshots_replace_the_same_stream_and_version(db: Database) -> None:
    first = [SnapshotRow("msn-a", 10, 1, b"old", 1), SnapshotRow("msn-b", 5, 1, b"b", 2)]
    with db.write_transaction() as tx:
        tx.save_snapshots(first)
        tx.save_snapshots([])
    with db.write_transaction() as tx:
        tx.save_snapshots([SnapshotRow("msn-a", 10, 2, b"new", 3)])
    with db.read() as conn:
        found = latest_snapshots(conn, ["msn-a", "msn-b"])
        assert latest_snapshot(conn, "msn-c") is None
    assert sorted((*row[:3], bytes(row.state), row.created_at) for row in found.values()) == [
        ("msn-a", 10, 2, b"new", 3),
        ("msn-b", 5, 1, b"b", 2),
    ]


def test_same_stream_version_is_a_concurrency_error(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 1))
    with pytest.raises(ConcurrencyError) as caught, db.write_transaction() as tx:
        tx.insert_events(event_rows(tx.head_position, 1))
    assert caught.value.__cause__ is not None
    assert count_events(db) == 1


def test_same_event_id_is_a_duplicate_event(db: Database) -> None:
    first = event_rows(0, 1)
    with db.write_transaction() as tx:
        tx.insert_events(first)
    again = event_rows(1, 1, stream_id="wo-other")[0]._replace(event_id=first[0].event_id)
    with pytest.raises(DuplicateEvent), db.write_transaction() as tx:
        tx.insert_events([again])
    assert count_events(db) == 1


def insert_then_fail(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 5))
        raise RuntimeError("boom")


def insert_then_run_bad_sql(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 1))
        tx.connection.exec_driver_sql("SELECT * FROM no_such_table")


def test_an_exception_rolls_back_everything(db: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        insert_then_fail(db)
    assert count_events(db) == 0
    with db.write_transaction() as tx:
        assert tx.head_position == 0


def test_a_driver_error_in_the_block_is_translated_and_rolled_back(db: Database) -> None:
    with pytest.raises(StoreError) as caught:
        insert_then_run_bad_sql(db)
    assert isinstance(caught.value.__cause__, sa.exc.DBAPIError)
    assert count_events(db) == 0


def test_savepoint_isolates_a_failing_bundle(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 1))
    with db.write_transaction() as tx:
        head = tx.head_position
        with tx.savepoint():
            tx.insert_events(event_rows(head, 2, stream_id="wo-good"))
        bad_bundle = [
            *event_rows(head + 2, 1, stream_id="wo-bad"),
            *event_rows(head + 3, 1),
        ]
        with pytest.raises(ConcurrencyError), tx.savepoint():
            tx.insert_events(bad_bundle)
        tx.insert_events(event_rows(head + 2, 1, stream_id="wo-next"))
    with db.read() as conn:
        streams = conn.exec_driver_sql("SELECT stream_id FROM events ORDER BY position")
        assert list(streams.scalars()) == ["msn-test", "wo-good", "wo-good", "wo-next"]


def insert_in_savepoint_then_fail(tx: WriteTransaction) -> None:
    with tx.savepoint():
        tx.insert_events(event_rows(0, 1))
        raise KeyError("boom")


def test_savepoint_rolls_back_on_any_exception(db: Database) -> None:
    with db.write_transaction() as tx:
        with pytest.raises(KeyError):
            insert_in_savepoint_then_fail(tx)
        with pytest.raises(StoreError), tx.savepoint():
            tx.connection.exec_driver_sql("SELECT * FROM no_such_table")
    assert count_events(db) == 0


def test_reader_keeps_its_snapshot_while_the_writer_commits(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 1))
    query = "SELECT count(*) FROM events"
    with db.read() as reader:
        assert reader.exec_driver_sql(query).scalar_one() == 1
        with db.write_transaction() as tx:
            tx.insert_events(event_rows(1, 2, first_version=2))
            assert reader.exec_driver_sql(query).scalar_one() == 1
        assert reader.exec_driver_sql(query).scalar_one() == 1
    assert count_events(db) == 3


def test_two_databases_serialise_their_writers(config: Config) -> None:
    first, second = Database.open(config), Database.open(config)
    errors: list[BaseException] = []

    def write(db: Database, stream_id: str) -> None:
        try:
            for _ in range(20):
                with db.write_transaction() as tx:
                    version = 1 + (stream_head(tx.connection, stream_id) or 0)
                    tx.insert_events(
                        event_rows(tx.head_position, 1, stream_id=stream_id, first_version=version)
                    )
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [
            threading.Thread(target=write, args=(first, "msn-a")),
            threading.Thread(target=write, args=(second, "msn-b")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert positions(first) == list(range(1, 41))
    finally:
        first.close()
        second.close()


def test_pool_statistics_count_lent_connections(db: Database) -> None:
    idle = db.pool_statistics()
    assert isinstance(idle, PoolStatistics)
    assert idle.size == db.config.database.read_pool_size
    assert idle.checked_out == 0
    assert not idle.writer_busy
    with db.read(), db.read():
        assert db.pool_statistics().checked_out == 2
    with db.write_transaction():
        assert db.pool_statistics().writer_busy


def test_closed_database_refuses_work(db: Database) -> None:
    db.close()
    db.close()
    with pytest.raises(StoreClosed), db.write_transaction():
        pass
    with pytest.raises(StoreClosed), db.read():
        pass


def test_a_read_lent_when_the_database_closes_closes_its_connection(db: Database) -> None:
    with db.read() as conn:
        assert count_events(db) == 0
        driver = conn.connection.dbapi_connection
        db.close()
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    assert driver is not None
    with pytest.raises(Exception, match=r"(?i)closed"):
        driver.cursor().execute("SELECT 1")
    assert db.pool_statistics().checked_out == 0


def test_context_manager_closes(config: Config) -> None:
    with Database.open(config) as db:
        assert count_events(db) == 0
    with pytest.raises(StoreClosed), db.read():
        pass


def test_write_transaction_yields_a_write_transaction(db: Database) -> None:
    with db.write_transaction() as tx:
        assert isinstance(tx, WriteTransaction)
        assert tx.connection.in_transaction()


class TestInMemory:
    """``sqlite:///:memory:``: one private database, one connection shared by both roles."""

    def test_write_then_read(self, make_config: MakeConfig) -> None:
        with Database.open(make_config("sqlite:///:memory:")) as db:
            with db.write_transaction() as tx:
                tx.insert_events(event_rows(0, 2))
            assert count_events(db) == 2
            assert db.sqlite_file is None
            assert db.pool_statistics().size == 1

    def test_each_open_is_a_separate_database(self, make_config: MakeConfig) -> None:
        config = make_config("sqlite://")
        with Database.open(config) as first, Database.open(config) as second:
            with first.write_transaction() as tx:
                tx.insert_events(event_rows(0, 1))
            assert count_events(second) == 0

    def test_a_reader_in_another_thread_sees_only_committed_rows(
        self, make_config: MakeConfig
    ) -> None:
        counts: list[int] = []
        with Database.open(make_config("sqlite:///:memory:")) as db:
            reader = threading.Thread(target=lambda: counts.append(count_events(db)))
            with db.write_transaction() as tx:
                reader.start()
                tx.insert_events(event_rows(0, 3))
                assert db.pool_statistics().checked_out == 1
            reader.join()
        assert counts == [3]

    def test_read_inside_write_transaction_on_the_same_thread_is_refused(
        self, make_config: MakeConfig
    ) -> None:
        with (
            Database.open(make_config("sqlite:///:memory:")) as db,
            db.write_transaction(),
            pytest.raises(StoreError, match="transaction's connection"),
            db.read(),
        ):
            pass


@pytest.mark.parametrize("count", [1, 15, 16, 17, 511, 512, 513, 1100])
def test_any_number_of_rows_is_stored_in_order_and_unchanged(db: Database, count: int) -> None:
    rows = event_rows(0, count)
    with db.write_transaction() as tx:
        tx.insert_events(rows)
    with db.read() as conn:
        stored = [tuple(r) for r in conn.exec_driver_sql("SELECT * FROM events ORDER BY position")]
    assert [(*r[:6], bytes(r[6]), *r[7:]) for r in stored] == [tuple(r) for r in rows]


def test_a_conflict_inside_a_large_insert_stores_nothing(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 10))
    clashing = event_rows(10, 200, stream_id="msn-other")
    clashing[150] = clashing[150]._replace(stream_id="msn-test", version=3)
    with pytest.raises(ConcurrencyError), db.write_transaction() as tx:
        tx.insert_events(clashing)
    repeated = event_rows(10, 200, stream_id="msn-other")
    repeated[199] = repeated[199]._replace(event_id=repeated[0].event_id)
    with pytest.raises(DuplicateEvent), db.write_transaction() as tx:
        tx.insert_events(repeated)
    assert positions(db) == list(range(1, 11))


def test_a_commit_that_fails_stores_nothing_and_leaves_the_database_usable(db: Database) -> None:
    deferred = "DEFERRABLE INITIALLY DEFERRED"
    with (  # noqa: PT012
        pytest.raises(AppendFailed, match=r"(?i)foreign key"),
        db.write_transaction() as tx,
    ):
        tx.insert_events(event_rows(tx.head_position, 2, stream_id="msn-a"))
        conn = tx.connection
        conn.exec_driver_sql("CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql(
            f"CREATE TEMP TABLE child (parent_id INTEGER REFERENCES parent (id) {deferred})"
        )
        conn.exec_driver_sql("INSERT INTO child VALUES (1)")
    assert count_events(db) == 0
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(tx.head_position, 1, stream_id="msn-b"))
    assert count_events(db) == 1


def drop_rows_of(db: Database, stream_id: str) -> None:
    """A trigger that silently drops every row of ``stream_id``."""
    with db.write_transaction() as tx:
        conn = tx.connection
        if db.dialect == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER drop_rows BEFORE INSERT ON events "
                f"WHEN NEW.stream_id = '{stream_id}' BEGIN SELECT RAISE(IGNORE); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION drop_rows() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.stream_id = '{stream_id}' THEN RETURN NULL; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER drop_rows BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION drop_rows()"
            )


@pytest.mark.parametrize("reuse_head", [False, True], ids=["fresh-head", "reused-head"])
@pytest.mark.parametrize("count", [1, 5, 100])
def test_rows_a_trigger_dropped_fail_the_insert(db: Database, count: int, reuse_head: bool) -> None:
    """Every insert path: plain statements, PostgreSQL's locking pipeline (a
    reused head) and ``COPY`` (100 rows). On PostgreSQL a dropped first row of
    the locking statement reads as a moved head: the writer then retries with
    the head read afresh, which takes the plain path."""
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(tx.head_position, 1, stream_id="msn-first"))
    drop_rows_of(db, "msn-dropped")
    rows = event_rows(1, count, stream_id="msn-kept")
    rows[-1] = rows[-1]._replace(stream_id="msn-dropped")
    locking_first = db.dialect == "postgresql" and reuse_head and count == 1
    expected = (
        pytest.raises(HeadMoved)
        if locking_first
        else pytest.raises(AppendFailed, match=r"1 of \d+ events were not stored")
    )
    with expected, db.write_transaction(reuse_head=reuse_head) as tx:
        tx.insert_events(rows)
    assert count_events(db) == 1
