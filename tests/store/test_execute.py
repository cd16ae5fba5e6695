"""Deciding inside the stream's actor, and retrying across processes."""

from __future__ import annotations

import random

import anyio
import pytest

from fleet.errors import InvalidTransition, WrongExpectedVersion
from fleet.store import open_store, retry_on_conflict
from fleet.vocabulary import MissionActivated, MissionCreated, MissionUpdated, generate_mission_id

from .test_append import stored_rows

pytestmark = pytest.mark.anyio


def activate_once(state):
    if state is None:
        return [MissionCreated(title="Survey")]
    if state.status == "pending":
        return [MissionActivated()]
    return []


async def test_execute_decides_against_current_state(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        first = await store.execute(mission, activate_once)
        second = await store.execute(mission, activate_once)
        third = await store.execute(mission, activate_once)
        state = await store.aggregate_state(mission)
    assert first is not None
    assert first.last_version == 1
    assert second is not None
    assert second.last_version == 2
    assert third is None
    assert state.status == "active"


async def test_concurrent_executes_need_no_retry(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        await store.append(mission, [MissionCreated(title="Count")])

        def bump(state):
            return [MissionUpdated(description=f"after {state.version}")] if state else []

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(store.execute, mission, bump)
    assert len(stored_rows(store_config, mission)) == 51


async def test_decide_errors_reach_the_caller_and_store_nothing(store_config):
    mission = generate_mission_id()

    def broken(state):
        raise RuntimeError("decider bug")

    async with open_store(store_config) as store:
        with pytest.raises(RuntimeError, match="decider bug"):
            await store.execute(mission, broken)
        with pytest.raises(InvalidTransition):
            await store.execute(mission, lambda state: [MissionActivated()])
        assert (await store.execute(mission, activate_once)).last_version == 1
    assert len(stored_rows(store_config)) == 1


async def test_retry_on_conflict_across_two_stores(store_config):
    mission = generate_mission_id()
    attempts = 0
    async with open_store(store_config) as one, open_store(store_config) as two:
        await one.append(mission, [MissionCreated(title="Race")])
        await two.append(mission, [MissionUpdated(description="moved elsewhere")])

        async def operation():
            nonlocal attempts
            attempts += 1
            # the first attempt uses a stale expectation; later ones read the truth
            expected = 1 if attempts == 1 else 2
            return await one.append(
                mission, [MissionUpdated(description="mine")], expected_version=expected
            )

        result = await retry_on_conflict(operation, rng=random.Random(1), base_delay=0.001)
    assert attempts == 2
    assert result.last_version == 3


async def test_retry_gives_up():
    calls = 0

    async def always_conflicts():
        nonlocal calls
        calls += 1
        raise WrongExpectedVersion("msn-x", 1, 2)

    with pytest.raises(WrongExpectedVersion):
        await retry_on_conflict(always_conflicts, attempts=3, base_delay=0.0001)
    assert calls == 3
    with pytest.raises(ValueError, match="at least 1"):
        await retry_on_conflict(always_conflicts, attempts=0)
