"""Databases that are not fit to be written: someone else's, or damaged.

Fleet refuses them before changing anything, and a store that finds its file
corrupt refuses every later write.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleet.config import Config, with_overrides
from fleet.db import Database, health_report, migrations
from fleet.db.engine import admin_connection, resolve_url, sqlite_path
from fleet.errors import DatabaseCorrupt, SchemaError
from fleet.store import open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id

pytestmark = pytest.mark.anyio


def _foreign_sqlite(path: Path, *, with_events: bool = False) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
        if with_events:
            conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)")
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        mode: str = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    return mode


@pytest.mark.parametrize("with_events", [False, True])
async def test_a_foreign_sqlite_file_is_refused_untouched(
    sqlite_config: Config, with_events: bool
) -> None:
    path = sqlite_path(resolve_url(sqlite_config))
    assert path is not None
    digest = _foreign_sqlite(path, with_events=with_events)
    with pytest.raises(SchemaError, match="not fleet's" if not with_events else "no recorded"):
        async with open_store(sqlite_config):
            pass
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert _journal_mode(path) == "delete"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


async def test_a_foreign_postgres_database_is_refused_untouched(postgres_url, tmp_path) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT)")
        config = with_overrides(Config(project_dir=str(tmp_path)), database={"url": postgres_url})
        with pytest.raises(SchemaError, match="not fleet's"):
            async with open_store(config):
                pass
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == ["customers"]
    finally:
        engine.dispose()


async def test_fleet_db_upgrade_adds_fleets_tables_to_a_foreign_database_on_request(
    sqlite_config: Config,
) -> None:
    path = sqlite_path(resolve_url(sqlite_config))
    assert path is not None
    _foreign_sqlite(path)
    with admin_connection(sqlite_config) as conn:
        assert migrations.status(conn).state == "foreign"
        assert migrations.upgrade(conn).state == "current"
    assert _journal_mode(path) == "wal"
    async with open_store(sqlite_config) as store:
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM customers").fetchall() == [("Ada",)]
    conn.close()


def _corrupt_the_events_index(path: Path) -> None:
    """Overwrite the pages of one index with garbage, leaving the schema readable."""
    with sqlite3.connect(path) as conn:
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'ix_events_type_position'"
        ).fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)


async def test_corruption_found_by_the_health_check_stops_every_write(sqlite_config: Config):
    mission = generate_mission_id()
    async with open_store(sqlite_config) as store:
        await store.append(mission, [MissionCreated(title="t")])
        for n in range(200):
            await store.append(mission, [MissionUpdated(description=f"{n}")])
    path = sqlite_path(resolve_url(sqlite_config))
    assert path is not None
    _corrupt_the_events_index(path)
    async with open_store(sqlite_config) as store:
        report = health_report(store.database)
        assert not report.ok
        assert store.database.corrupt is not None
        with pytest.raises(DatabaseCorrupt, match="writes are refused"):
            await store.append(generate_mission_id(), [MissionCreated(title="after")])
        with pytest.raises(DatabaseCorrupt):
            await store.set_stream_metadata(mission, max_count=5)


def test_the_first_reason_for_corruption_is_kept(sqlite_config: Config) -> None:
    with Database.open(sqlite_config) as db:
        assert db.corrupt is None
        db.mark_corrupt("a page failed its check")
        db.mark_corrupt("a later finding")
        assert db.corrupt == "a page failed its check"
