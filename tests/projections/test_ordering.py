"""The ordering guarantee: positions are assigned in commit order with no gaps, so a
reader of "everything after N" never skips an event, even while many tasks append."""

from __future__ import annotations

import random
from functools import partial

import anyio
import pytest

from fleet.config import with_overrides
from fleet.events import Event
from fleet.store import CaughtUp, EventStore, LogFilter, StreamAppend, open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id

pytestmark = pytest.mark.anyio

WRITERS = 24
APPENDS = 12
"""Each writer: one new mission, then appends of 1-3 events to its own streams, now
and then an atomic append to two streams at once (about 700 events in all)."""


async def write(store: EventStore, seed: int) -> None:
    rng = random.Random(seed)
    streams = [generate_mission_id() for _ in range(3)]
    for stream_id in streams:
        await store.append(stream_id, [MissionCreated(title=stream_id)])
    for step in range(APPENDS):
        updates = [
            MissionUpdated(description=f"{seed}.{step}.{i}") for i in range(rng.randint(1, 3))
        ]
        if step % 4 == 3:
            first, second = rng.sample(streams, 2)
            await store.append_many(
                [StreamAppend(first, updates), StreamAppend(second, updates[:1])]
            )
        else:
            await store.append(rng.choice(streams), updates)
        if rng.random() < 0.3:
            await anyio.sleep(0)


async def read_everything(
    store: EventStore, sentinel: str, seen: list[Event], caught_up: list[int], **filters
) -> None:
    """Subscribe from 0 and keep every event until the sentinel stream's last event arrives."""
    async with store.subscribe(from_position=0, **filters) as subscription:
        async for item in subscription:
            if isinstance(item, CaughtUp):
                caught_up.append(item.position)
                continue
            seen.append(item)
            if item.stream_id == sentinel and item.version == 2:
                return


async def read_in_batches(
    store: EventStore, sentinel: str, seen: list[Event], started: list[int]
) -> None:
    """Subscribe once a third of the events are in, through ``batches``, slowly: it falls
    behind its small inbox and back to reading pages, more than once."""
    while await store.count() < WRITERS * APPENDS:
        await anyio.sleep(0.002)
    started.append(await store.count())
    async with store.subscribe(from_position=0) as subscription:
        async for batch in subscription.batches(max_events=7):
            assert 1 <= len(batch) <= 7
            seen.extend(batch)
            await anyio.sleep(0.002)
            if batch[-1].stream_id == sentinel and batch[-1].version == 2:
                return


async def test_concurrent_appends_reach_subscribers_gap_free_in_order_exactly_once(store_config):
    sentinel = generate_mission_id()
    early: list[Event] = []
    late: list[Event] = []
    updates: list[Event] = []
    caught_up: list[int] = []
    started: list[int] = []
    config = with_overrides(store_config, store={"subscriber_buffer": 32})
    async with open_store(config) as store:
        with anyio.fail_after(120):
            async with anyio.create_task_group() as readers:
                readers.start_soon(read_everything, store, sentinel, early, caught_up)
                updates_only = LogFilter(event_types=["MissionUpdated"])
                only_updates = partial(read_everything, where=updates_only)
                readers.start_soon(only_updates, store, sentinel, updates, [])
                readers.start_soon(read_in_batches, store, sentinel, late, started)
                async with anyio.create_task_group() as writers:
                    for seed in range(WRITERS):
                        writers.start_soon(write, store, seed)
                last = [MissionCreated(title="last"), MissionUpdated(description="end")]
                result = await store.append(sentinel, last)
        log = (await store.read_all()).events

    head = result.last_position
    assert head > 600
    assert WRITERS * APPENDS <= started[0] < head - 100
    assert [e.position for e in log] == list(range(1, head + 1))
    for seen, expected in [
        (early, log),
        (late, log),
        (updates, [e for e in log if e.type == "MissionUpdated"]),
    ]:
        assert [(e.position, e.event_id, e.stream_id, e.version) for e in seen] == [
            (e.position, e.event_id, e.stream_id, e.version) for e in expected
        ]
    assert len(caught_up) == 1
    versions: dict[str, int] = {}
    for event in early:
        assert event.version == versions.get(event.stream_id, 0) + 1
        versions[event.stream_id] = event.version
