"""Snapshots: periodic and on stop, trusted only when their state version matches."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fleet.config import with_overrides
from fleet.errors import ValidationError
from fleet.store import open_store
from fleet.store.snapshots import snapshot_due
from fleet.vocabulary import MISSION, MissionCreated, MissionUpdated, generate_mission_id

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("version", "snapshot_version", "every", "due"),
    [
        (None, 0, 5, False),
        (4, 0, 5, False),
        (5, 0, 5, True),
        (9, 5, 5, False),
        (10, 5, 5, True),
        (100, 0, 0, False),
    ],
)
def test_snapshot_policy(version, snapshot_version, every, due):
    assert snapshot_due(version, snapshot_version, every) is due


def snapshot_rows(config):
    engine = sa.create_engine(config.database.url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT stream_id, version, schema_version FROM snapshots ORDER BY version"
            ).all()
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


async def test_periodic_snapshots_commit_with_their_events(store_config):
    config = with_overrides(store_config, store={"snapshot_every": 5, "snapshot_on_stop": False})
    mission = generate_mission_id()
    async with open_store(config) as store:
        await store.append(mission, [MissionCreated(title="t")])
        for i in range(11):
            await store.append(mission, [MissionUpdated(description=str(i))])
    assert [r[1] for r in snapshot_rows(config)] == [5, 10]
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
        assert state.version == 12
        assert state.description == "10"
        await store.append(mission, [MissionUpdated(description="more")])
        assert (await store.aggregate_state(mission)).version == 13


async def test_snapshot_on_stop_needs_enough_new_events(store_config):
    config = with_overrides(
        store_config,
        store={"snapshot_every": 0, "snapshot_on_stop": True, "snapshot_on_stop_min_events": 3},
    )
    short, long = generate_mission_id(), generate_mission_id()
    async with open_store(config) as store:
        await store.append(short, [MissionCreated(title="t")])
        await store.append(
            long, [MissionCreated(title="t")] + [MissionUpdated(title=str(i)) for i in range(3)]
        )
    assert [(r[0], r[1]) for r in snapshot_rows(config)] == [(long, 4)]


async def test_a_snapshot_of_another_state_version_is_ignored(store_config):
    config = with_overrides(store_config, store={"snapshot_every": 2})
    mission = generate_mission_id()
    async with open_store(config) as store:
        await store.append(mission, [MissionCreated(title="t"), MissionUpdated(title="u")])
    engine = sa.create_engine(config.database.url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE snapshots SET schema_version = 999")
    engine.dispose()
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
    assert state.title == "u"
    assert state.version == 2


async def test_an_undecodable_snapshot_is_ignored(store_config):
    config = with_overrides(store_config, store={"snapshot_every": 2})
    mission = generate_mission_id()
    async with open_store(config) as store:
        await store.append(mission, [MissionCreated(title="t"), MissionUpdated(title="u")])
    engine = sa.create_engine(config.database.url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM snapshots")
    engine.dispose()
    placeholder = "%s" if config.database.url.startswith("postgresql") else "?"
    engine = sa.create_engine(config.database.url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO snapshots VALUES ({', '.join([placeholder] * 5)})",
            (mission, 2, MISSION.state_schema_version, b"{broken", 0),
        )
    engine.dispose()
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
    assert state.title == "u"


async def test_prune_keeps_the_newest_snapshots_per_stream(store_config):
    config = with_overrides(
        store_config, store={"snapshot_every": 2, "snapshot_on_stop": False, "snapshot_keep": 2}
    )
    one, two = generate_mission_id(), generate_mission_id()
    async with open_store(config) as store:
        for stream in (one, two):
            await store.append(stream, [MissionCreated(title="t")])
            for i in range(7):
                await store.append(stream, [MissionUpdated(description=str(i))])
        assert len(snapshot_rows(config)) == 8
        assert await store.prune_snapshots() == 4
        assert await store.prune_snapshots() == 0
        assert await store.prune_snapshots(keep=1) == 2
        with pytest.raises(ValidationError, match="invalid keep"):
            await store.prune_snapshots(keep=0)
        state = await store.aggregate_state(one)
        assert state.version == 8
    assert sorted((r[0], r[1]) for r in snapshot_rows(config)) == sorted([(one, 8), (two, 8)])
