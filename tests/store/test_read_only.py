"""A store opened read-only reads everything and changes nothing, on both backends."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleet.config import Config
from fleet.db.engine import resolve_url, sqlite_path
from fleet.errors import DatabaseMissing, SchemaOutOfDate, StoreReadOnly
from fleet.store import NO_STREAM, StreamAppend, open_store
from fleet.vocabulary import MissionActivated, MissionCreated, generate_mission_id

pytestmark = pytest.mark.anyio


async def _recorded(config: Config) -> str:
    mission = generate_mission_id()
    async with open_store(config) as store:
        await store.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await store.append(mission, [MissionActivated()], expected_version=1)
    return mission


def _fingerprint(config: Config) -> str:
    """The stored rows of every table, as one digest."""
    engine = sa.create_engine(resolve_url(config))
    digest = hashlib.sha256()
    try:
        with engine.connect() as conn:
            for name in sorted(sa.inspect(conn).get_table_names()):
                rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').all()
                digest.update(f"{name}:{sorted(map(repr, rows))}".encode())
    finally:
        engine.dispose()
    return digest.hexdigest()


async def test_reads_work_and_every_write_is_refused(store_config: Config) -> None:
    mission = await _recorded(store_config)
    before = _fingerprint(store_config)
    async with open_store(store_config, read_only=True) as store:
        page = await store.read_stream(mission)
        assert [event.type for event in page.events] == ["MissionCreated", "MissionActivated"]
        assert (await store.aggregate_state(mission)).status == "active"
        assert await store.stream_version(mission) == 2
        with pytest.raises(StoreReadOnly, match="read-only"):
            await store.append(mission, [MissionActivated()])
        with pytest.raises(StoreReadOnly):
            await store.append_many([StreamAppend(mission, [MissionActivated()])])
        with pytest.raises(StoreReadOnly):
            await store.execute(mission, lambda state: [MissionActivated()])
        with pytest.raises(StoreReadOnly):
            await store.set_stream_metadata(mission, max_count=3)
        with pytest.raises(StoreReadOnly):
            await store.prune_snapshots(1)
        async with store.subscribe(from_position=0, name="reader") as subscription:
            with pytest.raises(StoreReadOnly):
                await subscription.save_checkpoint()
    assert _fingerprint(store_config) == before


async def test_a_missing_sqlite_file_is_not_created(sqlite_config: Config) -> None:
    path = sqlite_path(resolve_url(sqlite_config))
    assert path is not None
    with pytest.raises(DatabaseMissing, match="fleet db upgrade"):
        async with open_store(sqlite_config, read_only=True):
            pass
    assert not path.exists()
    assert list(Path(sqlite_config.project_dir).iterdir()) == []


async def test_an_empty_database_is_not_migrated(store_config: Config) -> None:
    path = sqlite_path(resolve_url(store_config))
    if path is not None:
        path.touch()
    with pytest.raises(SchemaOutOfDate, match="fleet db upgrade"):
        async with open_store(store_config, read_only=True):
            pass
    engine = sa.create_engine(resolve_url(store_config))
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()
    if path is not None:
        assert path.stat().st_size == 0
