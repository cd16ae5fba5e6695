"""The database, not a stream actor's memory, has the last word on a stream's version.

Two stores on one database stand for two processes: each has its own actors,
whose cached heads fall behind whenever the other store writes.
"""

from __future__ import annotations

import threading

import anyio
import pytest

from fleet.errors import InvalidTransition, WrongExpectedVersion
from fleet.events import NewEvent
from fleet.store import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    StreamAppend,
    open_store,
    retry_on_conflict,
    stream_actor,
)
from fleet.vocabulary import (
    MissionActivated,
    MissionCompleted,
    MissionCreated,
    MissionDeactivated,
    MissionUpdated,
    generate_mission_id,
)
from tests.store.test_append import stored_rows

pytestmark = pytest.mark.anyio


async def test_an_actor_behind_another_store_catches_up_on_the_right_version(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await b.append(mission, [MissionUpdated(description="b")], expected_version=1)
        assert await a.stream_version(mission) == 2
        done = await a.append(mission, [MissionUpdated(description="a")], expected_version=2)
        assert (done.first_version, done.last_version) == (3, 3)
        with pytest.raises(WrongExpectedVersion) as refused:
            await b.append(mission, [MissionUpdated(description="b")], expected_version=2)
        assert refused.value.actual == 3


async def test_a_stale_refusal_names_the_true_version(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await b.append(mission, [MissionUpdated(description="b")], expected_version=1)
        await b.append(mission, [MissionUpdated(description="b")], expected_version=2)
        with pytest.raises(WrongExpectedVersion) as refused:
            await a.append(mission, [MissionUpdated(description="a")], expected_version=1)
        assert refused.value.actual == 3
        with pytest.raises(WrongExpectedVersion) as refused:
            await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        assert refused.value.actual == 3


async def test_any_and_stream_exists_appends_apply_again_after_a_reload(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await b.append(mission, [MissionUpdated(description="b")], expected_version=1)
        first = await a.append(mission, [MissionUpdated(description="a")], expected_version=ANY)
        assert first.first_version == 3
        await b.append(mission, [MissionUpdated(description="b")], expected_version=ANY)
        second = await a.append(
            mission, [MissionUpdated(description="a")], expected_version=STREAM_EXISTS
        )
        assert second.first_version == 5
    assert [row[1] for row in stored_rows(store_config, mission)] == [1, 2, 3, 4, 5]


async def test_execute_decides_again_on_the_fresh_state(store_config):
    mission = generate_mission_id()
    seen: list[str] = []

    def activate_if_pending(state):
        seen.append(state.status)
        return [MissionActivated()] if state.status == "pending" else []

    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await b.append(mission, [MissionActivated()], expected_version=1)
        assert await a.execute(mission, activate_if_pending) is None
        assert seen[-1] == "active"
        assert (await a.aggregate_state(mission)).status == "active"
        assert await a.stream_version(mission) == 2


async def test_aggregate_state_is_never_behind_the_database(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        assert (await a.aggregate_state(mission)).status == "pending"
        await b.append(mission, [MissionActivated()], expected_version=1)
        assert (await a.aggregate_state(mission)).status == "active"


async def test_retry_on_conflict_converges_after_one_re_read(store_config):
    mission = generate_mission_id()
    runs = 0
    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await a.append(mission, [MissionUpdated(description="a")], expected_version=1)
        await b.append(mission, [MissionUpdated(description="b")], expected_version=2)

        async def append_after_reading():
            nonlocal runs
            runs += 1
            version = await a.stream_version(mission)
            return await a.append(
                mission, [MissionUpdated(description="r")], expected_version=version
            )

        done = await retry_on_conflict(append_after_reading)
        assert done.first_version == 4
        assert runs == 1


async def test_contended_any_appends_from_two_stores_all_commit(store_config):
    streams = [generate_mission_id() for _ in range(3)]
    async with open_store(store_config) as a, open_store(store_config) as b:
        for stream in streams:
            await a.append(stream, [MissionCreated(title="t")], expected_version=NO_STREAM)

        async def hammer(store, tag: str) -> None:
            for n in range(25):
                stream = streams[n % len(streams)]
                await store.append(stream, [MissionUpdated(description=f"{tag}{n}")])

        async with anyio.create_task_group() as tasks:
            for index in range(6):
                tasks.start_soon(hammer, a if index % 2 else b, f"w{index}-")
    rows = stored_rows(store_config)
    assert len(rows) == 3 + 6 * 25
    assert sorted(row[2] for row in rows) == list(range(1, len(rows) + 1))
    for stream in streams:
        versions = [row[1] for row in rows if row[0] == stream]
        assert sorted(versions) == list(range(1, len(versions) + 1))


async def test_a_retry_that_arrives_while_the_original_commits_gets_its_result(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        event = NewEvent(MissionCreated(title="t"))
        results: list[object] = []

        async def send() -> None:
            try:
                results.append(await store.append(mission, [event], expected_version=NO_STREAM))
            except Exception as exc:
                results.append(exc)

        async with anyio.create_task_group() as tasks:
            for _ in range(10):
                tasks.start_soon(send)
        firsts = {getattr(result, "first_position", result) for result in results}
        assert len(firsts) == 1, results
        event_any = NewEvent(MissionUpdated(description="u"))
        results.clear()

        async def send_any() -> None:
            try:
                results.append(await store.append(mission, [event_any]))
            except Exception as exc:
                results.append(exc)

        async with anyio.create_task_group() as tasks:
            for _ in range(10):
                tasks.start_soon(send_any)
        assert len({getattr(result, "first_position", result) for result in results}) == 1, results
    assert len(stored_rows(store_config)) == 2


async def test_an_atomic_append_behind_another_store_runs_again_and_commits(store_config):
    first, second = generate_mission_id(), generate_mission_id()
    async with open_store(store_config) as a, open_store(store_config) as b:
        for stream in (first, second):
            await a.append(stream, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await b.append(first, [MissionUpdated(description="b")], expected_version=ANY)
        results = await a.append_many(
            [
                StreamAppend(first, [MissionUpdated(description="a")], ANY),
                StreamAppend(second, [MissionUpdated(description="a")], 1),
            ]
        )
        assert [(r.stream_id, r.first_version) for r in results] == [(first, 3), (second, 2)]
        await b.append(second, [MissionUpdated(description="b")], expected_version=ANY)
        with pytest.raises(WrongExpectedVersion) as refused:
            await a.append_many([StreamAppend(second, [MissionUpdated(description="a")], 2)])
        assert refused.value.actual == 3


@pytest.fixture
def locked_at_once(monkeypatch):
    """Every append that lost once to another store is processed under the write lock."""
    monkeypatch.setattr(stream_actor, "LOCKED_AFTER", 1)


async def test_an_append_that_lost_commits_under_the_write_lock(store_config, locked_at_once):
    mission = generate_mission_id()
    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await b.append(mission, [MissionUpdated(description="b")], expected_version=ANY)
        await b.append(mission, [MissionUpdated(description="b")], expected_version=ANY)
        done = await a.append(
            mission,
            [MissionUpdated(description="a1"), MissionUpdated(description="a2")],
            expected_version=ANY,
        )
        assert (done.first_version, done.last_version) == (4, 5)
        assert (done.first_position, done.last_position) == (4, 5)
        assert await a.head_position() == 5
        # The actor adopted the stream as the locked commit left it.
        after = await a.append(mission, [MissionActivated()], expected_version=5)
        assert after.first_version == 6
        assert (await a.aggregate_state(mission)).status == "active"
    rows = stored_rows(store_config, mission)
    assert [row[1] for row in rows] == [1, 2, 3, 4, 5, 6]
    assert [row[2] for row in rows] == [1, 2, 3, 4, 5, 6]


async def test_under_the_write_lock_refusals_are_the_databases(store_config, locked_at_once):
    mission = generate_mission_id()
    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await b.append(mission, [MissionActivated()], expected_version=1)
        await b.append(mission, [MissionCompleted(summary="done")], expected_version=2)
        with pytest.raises(WrongExpectedVersion) as refused:
            await a.append(mission, [MissionUpdated(description="a")], expected_version=1)
        assert refused.value.actual == 3
    async with open_store(store_config) as a, open_store(store_config) as b:
        other = generate_mission_id()
        await a.append(other, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await b.append(other, [MissionActivated()], expected_version=1)
        await b.append(other, [MissionCompleted(summary="done")], expected_version=2)
        with pytest.raises(InvalidTransition):
            await a.append(other, [MissionActivated()], expected_version=ANY)
        assert await a.stream_version(other) == 3
    assert [row[1] for row in stored_rows(store_config, mission)] == [1, 2, 3]


async def test_under_the_write_lock_execute_decides_on_the_stored_state(
    store_config, locked_at_once
):
    mission = generate_mission_id()
    seen: list[tuple[str, int]] = []

    def update_unless_paused(state):
        seen.append((state.status, threading.get_ident()))
        return [] if state.status == "paused" else [MissionUpdated(description="a")]

    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)
        await a.append(mission, [MissionActivated()], expected_version=1)
        await b.append(mission, [MissionUpdated(description="b")], expected_version=2)
        # a's cache is at version 2: the decision's rows collide, the second
        # decision is taken under the lock, on version 3.
        done = await a.execute(mission, update_unless_paused)
        assert done is not None
        assert done.first_version == 4
        await b.append(mission, [MissionDeactivated()], expected_version=4)
        assert await a.execute(mission, update_unless_paused) is None
        assert await a.stream_version(mission) == 5
    assert [status for status, _ in seen] == ["active", "active", "active", "paused"]
    assert seen[1][1] != seen[0][1]  # decided again in a worker thread
    assert [row[1] for row in stored_rows(store_config, mission)] == [1, 2, 3, 4, 5]


async def test_a_stream_two_stores_write_without_pause_starves_neither(store_config):
    mission = generate_mission_id()
    acknowledged: list[tuple[str, int]] = []
    async with open_store(store_config) as a, open_store(store_config) as b:
        await a.append(mission, [MissionCreated(title="t")], expected_version=NO_STREAM)

        async def write(store, name: str) -> None:
            for _ in range(60):
                done = await store.append(mission, [MissionUpdated(description=name)])
                acknowledged.append((name, done.first_version))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for store, name in ((a, "a"), (b, "b")):
                    for _ in range(4):
                        tg.start_soon(write, store, name)
    assert len(acknowledged) == 480
    assert sorted(version for _, version in acknowledged) == list(range(2, 482))
    rows = stored_rows(store_config, mission)
    assert [row[1] for row in rows] == list(range(1, 482))
