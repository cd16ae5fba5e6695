"""Deciding inside the stream's actor, and retrying across processes."""

from __future__ import annotations

import random

import anyio
import pytest

from fleet.core import generate_event_id
from fleet.errors import InvalidTransition, ValidationError, WrongExpectedVersion
from fleet.events import EventMetadata, NewEvent
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


async def test_execute_stores_its_metadata_on_the_events_decide_returns(store_config):
    mission = generate_mission_id()
    meta = EventMetadata(correlation_id="req-1", causation_id="cmd-9", actor="alice")
    own = EventMetadata(correlation_id="req-2", actor="bob")
    chosen = generate_event_id()

    def decide(state):
        return [
            MissionCreated(title="Survey"),
            NewEvent(MissionUpdated(description="own"), event_id=chosen, metadata=own),
            NewEvent(MissionActivated(), event_id=generate_event_id()),
        ]

    async with open_store(store_config) as store:
        result = await store.execute(mission, decide, metadata=meta)
        assert result is not None
        assert result.last_version == 3
        events = (await store.read_stream(mission)).events
    assert [event.metadata for event in events] == [meta, own, meta]
    assert [event.stream_id for event in events] == [mission] * 3
    assert events[1].event_id == chosen


async def test_execute_refuses_what_decide_returns_as_an_append_to_its_stream_would(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        with pytest.raises(ValidationError) as refused:
            await store.execute(mission, lambda state: [MissionCreated(title="")])
        assert refused.value.problems
        assert mission in str(refused.value)
        with pytest.raises(ValidationError):
            await store.execute(mission, lambda state: ["not an event"])
        assert await store.execute(mission, activate_once) is not None
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
