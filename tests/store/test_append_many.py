"""Atomic multi-stream appends."""

from __future__ import annotations

import anyio
import pytest

from fleet.errors import InvalidTransition, ValidationError, WrongExpectedVersion
from fleet.store import NO_STREAM, StreamAppend, open_store
from fleet.vocabulary import (
    MissionCompleted,
    MissionCreated,
    MissionUpdated,
    WorkOrderCreated,
    generate_mission_id,
    generate_work_order_id,
)

from .test_append import stored_rows

pytestmark = pytest.mark.anyio

CREATED = MissionCreated(title="Survey the ridge")


async def test_all_streams_commit_together(store_config):
    mission = generate_mission_id()
    order = generate_work_order_id()
    async with open_store(store_config) as store:
        results = await store.append_many(
            [
                StreamAppend(mission, [CREATED], NO_STREAM),
                StreamAppend(order, [WorkOrderCreated(mission_id=mission, title="Dig")], 0),
            ]
        )
        assert [r.stream_id for r in results] == [mission, order]
        positions = sorted(p for r in results for p in r.positions)
        assert positions == list(range(positions[0], positions[0] + 2))
        follow = await store.append(mission, [MissionUpdated(description="x")], expected_version=1)
        assert follow.last_version == 2
    assert len(stored_rows(store_config)) == 3


async def test_one_conflicting_stream_fails_all(store_config):
    a, b, c = (generate_mission_id() for _ in range(3))
    async with open_store(store_config) as store:
        await store.append(b, [CREATED])
        with pytest.raises(WrongExpectedVersion) as info:
            await store.append_many(
                [
                    StreamAppend(a, [CREATED], NO_STREAM),
                    StreamAppend(b, [MissionUpdated(description="x")], NO_STREAM),
                    StreamAppend(c, [CREATED], NO_STREAM),
                ]
            )
        assert info.value.stream_id == b
        # the streams that were held are usable again, and nothing of the batch was stored
        assert (await store.append(a, [CREATED], expected_version=NO_STREAM)).last_version == 1
        assert (await store.append(c, [CREATED], expected_version=NO_STREAM)).last_version == 1
    assert {r[0] for r in stored_rows(store_config)} == {a, b, c}
    assert len(stored_rows(store_config)) == 3


async def test_illegal_transition_in_one_stream_fails_all(store_config):
    a, b = generate_mission_id(), generate_mission_id()
    async with open_store(store_config) as store:
        with pytest.raises(InvalidTransition):
            await store.append_many(
                [StreamAppend(a, [CREATED]), StreamAppend(b, [MissionCompleted()])]
            )
    assert stored_rows(store_config) == []


async def test_invalid_requests(store_config):
    a = generate_mission_id()
    async with open_store(store_config) as store:
        with pytest.raises(ValidationError, match="at least one stream"):
            await store.append_many([])
        with pytest.raises(ValidationError, match="appears twice"):
            await store.append_many([StreamAppend(a, [CREATED]), StreamAppend(a, [CREATED])])
        with pytest.raises(ValidationError, match="at least one event"):
            await store.append_many([StreamAppend(a, [])])
    assert stored_rows(store_config) == []


async def test_crossing_multi_stream_appends_do_not_deadlock(store_config):
    streams = [generate_mission_id() for _ in range(4)]
    async with open_store(store_config) as store:
        for stream in streams:
            await store.append(stream, [CREATED])
        done = 0

        async def crosser(order: list[str], n: int) -> None:
            nonlocal done
            for i in range(10):
                await store.append_many(
                    [StreamAppend(s, [MissionUpdated(description=f"{n}-{i}")]) for s in order]
                )
                done += 1

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(crosser, streams, 1)
                group.start_soon(crosser, list(reversed(streams)), 2)
                group.start_soon(crosser, streams[1:] + streams[:1], 3)
                for stream in streams:
                    for i in range(5):
                        group.start_soon(store.append, stream, [MissionUpdated(description=str(i))])
    assert done == 30
    rows = stored_rows(store_config)
    assert len(rows) == 4 + 30 * 4 + 20
    for stream in streams:
        versions = [r[1] for r in rows if r[0] == stream]
        assert sorted(versions) == list(range(1, len(versions) + 1))
