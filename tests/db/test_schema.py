"""SQLite-specific storage guarantees of the schema."""

from __future__ import annotations

from fleet.db import Database
from tests.db.conftest import MakeConfig, event_rows


def test_sqlite_position_is_the_rowid(make_config: MakeConfig, sqlite_url: str) -> None:
    with Database.open(make_config(sqlite_url)) as db:
        with db.write_transaction() as tx:
            tx.insert_events(event_rows(99, 1))
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT rowid, position FROM events").one() == (100, 100)


PRAGMAS = (
    "journal_mode",
    "synchronous",
    "busy_timeout",
    "foreign_keys",
    "cache_size",
    "wal_autocheckpoint",
)


def test_sqlite_pragmas_are_set_on_every_connection(
    make_config: MakeConfig, sqlite_url: str
) -> None:
    config = make_config(
        sqlite_url,
        synchronous="NORMAL",
        busy_timeout_ms=1234,
        cache_size_kib=512,
        checkpoint_pages=100,
    )
    with Database.open(config) as db, db.read() as conn:
        values = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in PRAGMAS}
    assert values == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 1234,
        "foreign_keys": 1,
        "cache_size": -512,
        "wal_autocheckpoint": 100,
    }


def test_the_write_connection_keeps_temporary_data_in_memory(
    make_config: MakeConfig, sqlite_url: str
) -> None:
    with Database.open(make_config(sqlite_url)) as db:
        with db.write_transaction() as tx:
            written = tx.connection.exec_driver_sql("PRAGMA temp_store").scalar_one()
        with db.read() as conn:
            read = conn.exec_driver_sql("PRAGMA temp_store").scalar_one()
    assert (written, read) == (2, 0)


def test_relative_sqlite_path_is_under_the_project_dir(make_config: MakeConfig) -> None:
    config = make_config("sqlite:///.fleet/fleet.db")
    with Database.open(config) as db:
        assert db.sqlite_file is not None
        assert db.sqlite_file.is_file()
        assert str(db.sqlite_file).startswith(config.project_dir)
