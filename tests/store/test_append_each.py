"""append_each: independent appends made at once, each with its own outcome."""

from __future__ import annotations

import pytest

from fleet.config import with_overrides
from fleet.errors import StoreReadOnly, ValidationError, WrongExpectedVersion
from fleet.store import NO_STREAM, AppendResult, StreamAppend, open_store
from fleet.vocabulary import (
    MissionActivated,
    MissionCreated,
    MissionUpdated,
    WorkOrderStarted,
    generate_mission_id,
)

pytestmark = pytest.mark.anyio


async def test_each_append_commits_or_fails_on_its_own(store_config):
    first, second, taken = generate_mission_id(), generate_mission_id(), generate_mission_id()
    async with open_store(store_config) as store:
        await store.append(taken, [MissionCreated(title="t")])
        outcomes = await store.append_each(
            [
                StreamAppend(first, [MissionCreated(title="a")], NO_STREAM),
                StreamAppend(taken, [MissionUpdated(description="x")], 0),
                StreamAppend(second, [MissionCreated(title="b")]),
                StreamAppend("msn-nope", [MissionCreated(title="c")]),
                StreamAppend(second, [MissionActivated(), MissionUpdated(description="d")]),
                StreamAppend(first, [WorkOrderStarted()]),
            ]
        )
        assert [type(o).__name__ for o in outcomes] == [
            "AppendResult",
            "WrongExpectedVersion",
            "AppendResult",
            "ValidationError",
            "AppendResult",
            "ValidationError",
        ]
        assert isinstance(outcomes[1], WrongExpectedVersion)
        assert (outcomes[1].expected, outcomes[1].actual) == (0, 1)
        later = outcomes[4]
        assert isinstance(later, AppendResult)
        # Appends to one stream keep the order given.
        assert (later.first_version, later.last_version) == (2, 3)
        assert [e.version for e in (await store.read_stream(second)).events] == [1, 2, 3]
        assert (await store.stream_version(first)) == 1
        assert await store.append_each([]) == []


async def test_a_read_only_store_refuses(store_config):
    async with open_store(store_config):
        pass
    async with open_store(store_config, read_only=True) as store:
        with pytest.raises(StoreReadOnly):
            await store.append_each([StreamAppend(generate_mission_id(), [])])
    async with open_store(store_config) as store:
        (outcome,) = await store.append_each([StreamAppend(generate_mission_id(), [])])
        assert isinstance(outcome, ValidationError)


async def test_appends_beyond_a_full_mailbox_wait_their_turn(store_config):
    config = with_overrides(store_config, store={"mailbox_size": 2})
    mission = generate_mission_id()
    async with open_store(config) as store:
        outcomes = await store.append_each(
            [StreamAppend(mission, [MissionCreated(title="t")])]
            + [StreamAppend(mission, [MissionUpdated(description=str(n))]) for n in range(9)]
        )
        assert [o.first_version for o in outcomes if isinstance(o, AppendResult)] == list(
            range(1, 11)
        )
        page = await store.read_stream(mission)
        assert [e.payload for e in page.events[1:]] == [
            MissionUpdated(description=str(n)) for n in range(9)
        ]
