"""Live subscriptions see what another process commits, without waiting for their poll."""

from __future__ import annotations

import anyio
import pytest

from fleet.config import with_overrides
from fleet.store import CaughtUp, open_store
from fleet.vocabulary import MissionCreated, generate_mission_id

pytestmark = pytest.mark.anyio


async def test_a_subscriber_gets_another_stores_events_long_before_its_poll(store_config):
    config = with_overrides(store_config, store={"subscription_poll_s": 3600.0})
    async with open_store(config) as writer, open_store(config) as reader:
        await writer.append(generate_mission_id(), [MissionCreated(title="before")])
        async with reader.subscribe(from_position=0) as subscription:
            items = aiter(subscription)
            assert (await anext(items)).position == 1
            assert isinstance(await anext(items), CaughtUp)
            for round_ in range(3):
                await writer.append(generate_mission_id(), [MissionCreated(title=f"{round_}")])
                with anyio.fail_after(30):
                    event = await anext(items)
                assert event.position == round_ + 2
