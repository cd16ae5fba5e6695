"""Subscriptions: catch-up, the switch to live, filters, slow consumers, durability."""

from __future__ import annotations

import anyio
import pytest

from fleet.config import with_overrides
from fleet.errors import ValidationError
from fleet.events import Event, encode_payload
from fleet.store import CaughtUp, LogFilter, open_store
from fleet.vocabulary import (
    MissionCreated,
    MissionUpdated,
    WorkOrderCreated,
    generate_mission_id,
    generate_work_order_id,
)

pytestmark = pytest.mark.anyio


async def fill(store, count: int, mission: str | None = None) -> str:
    mission = mission or generate_mission_id()
    version = await store.stream_version(mission)
    events = [MissionUpdated(description=str(i)) for i in range(count)]
    if version is None:
        events = [MissionCreated(title="t"), *events[1:]]
    await store.append(mission, events)
    return mission


async def take(subscription, count: int) -> list[Event | CaughtUp]:
    """The next ``count`` items of a subscription (fails after 10 s)."""
    items: list[Event | CaughtUp] = []
    with anyio.fail_after(10):
        async for item in subscription:
            items.append(item)
            if len(items) == count:
                break
    return items


def positions(items) -> list[int]:
    return [item.position for item in items if isinstance(item, Event)]


async def test_catches_up_then_delivers_live_events_without_gap_or_repeat(store_config):
    async with open_store(store_config) as store:
        mission = await fill(store, 5)
        async with store.subscribe() as subscription:
            backlog = await take(subscription, 6)
            assert positions(backlog) == [1, 2, 3, 4, 5]
            assert backlog[-1] == CaughtUp(5)
            assert subscription.caught_up
            await fill(store, 3, mission)
            live = await take(subscription, 3)
            assert positions(live) == [6, 7, 8]
            stored = await store.read_all()
            assert [*backlog[:5], *live] == stored.events
            assert subscription.position == 8


async def test_starts_after_the_given_position(store_config):
    async with open_store(store_config) as store:
        await fill(store, 5)
        async with store.subscribe(from_position=3) as subscription:
            assert await take(subscription, 3) == [*(await store.read_all(3)).events, CaughtUp(5)]


async def test_an_empty_log_is_caught_up_at_once(store_config):
    async with open_store(store_config) as store, store.subscribe() as subscription:
        assert await take(subscription, 1) == [CaughtUp(0)]
        await fill(store, 2)
        assert positions(await take(subscription, 2)) == [1, 2]


async def test_events_appended_while_catching_up_are_delivered_once(store_config):
    async with open_store(store_config) as store:
        mission = await fill(store, 1500)
        seen: list[int] = []
        async with store.subscribe() as subscription:
            with anyio.fail_after(20):
                async for item in subscription:
                    if isinstance(item, CaughtUp):
                        continue
                    seen.append(item.position)
                    if item.position in (10, 1200):
                        await fill(store, 50, mission)
                    if len(seen) == 1600:
                        break
        assert seen == list(range(1, 1601))


async def test_filters_apply_to_the_backlog_and_to_live_events(store_config):
    async with open_store(store_config) as store:
        mission = await fill(store, 3)
        order = generate_work_order_id()
        await store.append(order, [WorkOrderCreated(mission_id=mission, title="w")])
        async with (
            store.subscribe(where=LogFilter(stream_prefix="wo")) as orders,
            store.subscribe(
                where=LogFilter(event_types=["MissionCreated", "WorkOrderCreated"])
            ) as created,
        ):
            assert positions(await take(orders, 2)) == [4]
            assert positions(await take(created, 3)) == [1, 4]
            later = generate_work_order_id()
            await fill(store, 2, mission)
            await store.append(later, [WorkOrderCreated(mission_id=mission, title="x")])
            assert positions(await take(orders, 1)) == [7]
            assert positions(await take(created, 1)) == [7]
            assert orders.position == 7


async def test_a_slow_subscriber_falls_back_to_paging_and_misses_nothing(store_config):
    config = with_overrides(store_config, store={"subscriber_buffer": 10})
    async with open_store(config) as store, store.subscribe() as subscription:
        assert await take(subscription, 1) == [CaughtUp(0)]
        mission = await fill(store, 4)
        for _ in range(30):
            await fill(store, 4, mission)
        assert store.statistics()["subscriptions"]["buffered_events"] <= 10
        received = await take(subscription, 124)
        assert positions(received) == list(range(1, 125))
        assert subscription.caught_up
        await fill(store, 1, mission)
        assert positions(await take(subscription, 1)) == [125]


async def test_large_payloads_overflow_the_byte_bound_long_before_the_event_bound(
    store_config,
):
    config = with_overrides(
        store_config, store={"subscriber_buffer": 10_000, "subscriber_buffer_bytes": 20_000}
    )
    text = "x" * 3_000  # each event's payload is a little over 3,000 bytes
    async with open_store(config) as store, store.subscribe() as subscription:
        assert await take(subscription, 1) == [CaughtUp(0)]
        mission = await fill(store, 1)
        buffered = []
        for _ in range(12):
            await store.append(mission, [MissionUpdated(description=text)])
            buffered.append(store.statistics()["subscriptions"]["buffered_bytes"])
        assert 0 < max(buffered) <= 20_000
        assert buffered[-1] < 20_000 - 3_000 * 2  # overflowed: dropped, then refilling
        assert store.statistics()["subscriptions"]["buffered_events"] < 10
        received = await take(subscription, 13)
        assert positions(received) == list(range(1, 14))
        assert [e.payload.description for e in received[1:]] == [text] * 12
        assert subscription.caught_up
        await fill(store, 1, mission)
        assert positions(await take(subscription, 1)) == [14]


async def test_a_subscriber_that_keeps_up_stays_live_beside_an_overflowed_one(store_config):
    config = with_overrides(store_config, store={"subscriber_buffer": 10})
    async with (
        open_store(config) as store,
        store.subscribe() as slow,
        store.subscribe() as quick,
    ):
        assert await take(slow, 1) == [CaughtUp(0)]
        assert await take(quick, 1) == [CaughtUp(0)]
        mission = await fill(store, 4)
        received = await take(quick, 4)
        for _ in range(10):
            await fill(store, 4, mission)
            received += await take(quick, 4)
            assert quick.caught_up
        assert positions(received) == list(range(1, 45))
        # The slow one's inbox overflowed: it dropped its notices and pages instead.
        assert store.statistics()["subscriptions"]["buffered_events"] <= 10
        assert positions(await take(slow, 44)) == list(range(1, 45))


async def test_batches_are_bounded_and_move_the_position(store_config):
    async with open_store(store_config) as store:
        mission = await fill(store, 25)
        async with store.subscribe() as subscription:
            sizes: list[int] = []
            with anyio.fail_after(10):
                async for batch in subscription.batches(max_events=10):
                    assert subscription.position == batch[-1].position
                    sizes.append(len(batch))
                    if sum(sizes) == 25:
                        break
            assert sizes == [10, 10, 5]
            assert subscription.position == 25
            await fill(store, 12, mission)
            with anyio.fail_after(10):
                async for batch in subscription.batches(max_events=5):
                    sizes.append(len(batch))
                    if sum(sizes) == 37:
                        break
            assert sizes[3:] == [5, 5, 2]
            with pytest.raises(ValueError, match="max_events"):
                subscription.batches(max_events=0)


async def test_a_named_subscription_resumes_after_a_restart(store_config):
    async with open_store(store_config) as store:
        await fill(store, 6)
        async with store.subscribe(name="mailer") as subscription:
            assert positions(await take(subscription, 4)) == [1, 2, 3, 4]
    async with open_store(store_config) as store:
        async with store.subscribe(name="mailer") as subscription:
            assert await take(subscription, 3) == [
                *(await store.read_all(4)).events,
                CaughtUp(6),
            ]
            await subscription.save_checkpoint()

        async def fail_while_handling() -> None:
            async with store.subscribe(name="mailer") as subscription:
                await fill(store, 1)
                assert positions(await take(subscription, 1)) == [7]
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await fail_while_handling()
        async with store.subscribe(name="mailer") as subscription:
            assert positions(await take(subscription, 1)) == [7]
        async with store.subscribe(name="mailer", from_position=0) as subscription:
            assert positions(await take(subscription, 1)) == [1]


async def test_events_from_another_store_on_the_same_database_arrive_by_polling(store_config):
    async with open_store(store_config) as store, open_store(store_config) as other:
        mission = await fill(store, 1)
        async with store.subscribe(poll_interval=0.05) as subscription:
            assert await take(subscription, 2) == [*(await store.read_all()).events, CaughtUp(1)]
            await fill(other, 2, mission)
            assert positions(await take(subscription, 2)) == [2, 3]
            await fill(other, 1, mission)
            await fill(store, 1, mission)
            assert positions(await take(subscription, 2)) == [4, 5]


@pytest.mark.parametrize("where", [LogFilter(), LogFilter(event_types=["MissionUpdated"])])
async def test_pages_bounded_by_bytes_catch_up_a_page_at_a_time(store_config, where):
    async with open_store(store_config) as store:
        mission = await fill(store, 5)
        expected = [e.position for e in (await store.read_all(where=where)).events]
        async with store.subscribe(where=where, page_bytes=1) as subscription:
            first = await take(subscription, 1)
            assert not subscription.caught_up
            rest = await take(subscription, len(expected))
            assert positions([*first, *rest]) == expected
            assert rest[-1] == CaughtUp(5)
            await fill(store, 2, mission)
            assert positions(await take(subscription, 2)) == [6, 7]


async def test_bad_arguments_are_refused(store_config):
    async with open_store(store_config) as store:
        for bad in ({"from_position": -1}, {"name": ""}, {"where": {"stream_prefix": "wo"}}):
            with pytest.raises(ValidationError):
                store.subscribe(**bad)
        async with store.subscribe() as subscription:
            with pytest.raises(ValueError, match="named"):
                await subscription.save_checkpoint()


async def test_one_consumer_at_a_time(store_config):
    async with open_store(store_config) as store, store.subscribe() as subscription:
        assert await subscription.__anext__() == CaughtUp(0)
        received: list[Event | CaughtUp] = []

        async def wait_for_one() -> None:
            received.append(await subscription.__anext__())

        async with anyio.create_task_group() as group:
            group.start_soon(wait_for_one)
            await anyio.wait_all_tasks_blocked()
            with pytest.raises(RuntimeError, match="one consumer"):
                await subscription.__anext__()
            await fill(store, 1)
        assert positions(received) == [1]


async def test_statistics_show_lag(store_config):
    async with open_store(store_config) as store, store.subscribe() as subscription:
        await fill(store, 3)
        stats = store.statistics()["subscriptions"]
        assert stats == {
            "subscriptions": 1,
            "live_subscriptions": 0,
            "max_subscriber_lag": 3,
            "buffered_events": 3,
            "buffered_bytes": sum(
                len(encode_payload(payload))
                for payload in (
                    MissionCreated(title="t"),
                    MissionUpdated(description="1"),
                    MissionUpdated(description="2"),
                )
            ),
        }
        await take(subscription, 4)
        assert store.statistics()["subscriptions"]["max_subscriber_lag"] == 0


async def test_a_named_subscription_leaving_mid_page_resumes_after_its_last_batch(store_config):
    async with open_store(store_config) as store:
        await fill(store, 25)
        async with store.subscribe(name="reporter") as subscription:
            async for batch in subscription.batches(max_events=10):
                assert positions(batch) == list(range(1, 11))
                break
        async with store.subscribe(name="reporter") as subscription:
            async for batch in subscription.batches(max_events=100):
                assert positions(batch) == list(range(11, 26))
                break
