"""The Database itself, on SQLite and PostgreSQL: opening, reading, savepoints, pool
statistics, closing, the in-memory database.

What a write promises (positions, clashes, whole batches, refusals) is in
``test_backend_contract.py``.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from fleet.config import Config
from fleet.db import Database, PoolStatistics, WriteTransaction
from fleet.db.backends import BACKENDS
from fleet.errors import ConcurrencyError, StoreClosed, StoreError
from tests.db.conftest import MakeConfig, append, count_events, event_rows, pending_rows


def test_open_migrates_an_empty_database_and_picks_its_backend(db: Database) -> None:
    with db.read() as conn:
        assert sa.inspect(conn).has_table("events")
    assert type(db.backend) is BACKENDS[db.dialect]
    assert db.backend.name == db.dialect


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
    append(db, 1, stream_id="msn-a")
    db.close()
    db.close()
    with pytest.raises(StoreClosed):
        db.commit(pending_rows(1, stream_id="msn-b"))
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
            assert append(db, 2, stream_id="msn-a") == 3
            assert append(db, 1, stream_id="msn-b") == 5
            assert count_events(db) == 5
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
