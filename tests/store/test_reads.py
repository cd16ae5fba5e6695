"""The query API: stream pages, the global log with filters, counts, single events."""

from __future__ import annotations

import pytest

from fleet.config import with_overrides
from fleet.core.ids import EXAMPLE_BODY, generate_event_id
from fleet.core.time import now_ms
from fleet.errors import EventNotFound, StreamNotFound, ValidationError
from fleet.events import EventMetadata, NewEvent, encode_payload
from fleet.store import LogFilter, open_store
from fleet.vocabulary import (
    MissionCreated,
    MissionUpdated,
    WorkOrderCreated,
    generate_mission_id,
    generate_work_order_id,
)

pytestmark = pytest.mark.anyio


async def fill(store, mission: str, count: int) -> None:
    await store.append(
        mission,
        [MissionCreated(title="t")]
        + [MissionUpdated(description=str(i)) for i in range(count - 1)],
    )


async def test_read_stream_forwards_and_backwards_in_pages(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        await fill(store, mission, 7)
        page = await store.read_stream(mission, limit=3)
        assert [e.version for e in page.events] == [1, 2, 3]
        assert page.next_version == 4
        page = await store.read_stream(mission, from_version=page.next_version, limit=3)
        assert [e.version for e in page.events] == [4, 5, 6]
        page = await store.read_stream(mission, from_version=page.next_version, limit=3)
        assert [e.version for e in page.events] == [7]
        assert page.next_version is None
        back = await store.read_stream(mission, direction="backwards", limit=4)
        assert [e.version for e in back.events] == [7, 6, 5, 4]
        back = await store.read_stream(
            mission, from_version=back.next_version, direction="backwards", limit=4
        )
        assert [e.version for e in back.events] == [3, 2, 1]
        assert back.next_version is None
        exact = await store.read_stream(mission, limit=7)
        assert exact.next_version is None
        beyond = await store.read_stream(mission, from_version=50)
        assert beyond.events == []
        assert await store.stream_version(mission) == 7
        assert await store.stream_version(generate_mission_id()) is None
        first = exact.events[0]
        assert first.stream_id == mission
        assert isinstance(first.payload, MissionCreated)
        assert first.position >= 1
        assert first.recorded_at >= first.occurred_at - 1000


async def test_read_all_filters_and_pages(store_config):
    mission, other = generate_mission_id(), generate_mission_id()
    order = generate_work_order_id()
    async with open_store(store_config) as store:
        start = now_ms()
        await fill(store, mission, 3)
        await store.append(
            other,
            [MissionCreated(title="o")],
            metadata=EventMetadata(correlation_id="req-7"),
        )
        await store.append(order, [WorkOrderCreated(mission_id=mission, title="w")])
        everything = await store.read_all()
        assert [e.position for e in everything.events] == [1, 2, 3, 4, 5]
        assert everything.end
        assert everything.next_position == 5
        first = await store.read_all(limit=2)
        assert [e.position for e in first.events] == [1, 2]
        assert not first.end
        rest = await store.read_all(from_position=first.next_position, limit=10)
        assert [e.position for e in rest.events] == [3, 4, 5]
        created = await store.read_all(where=LogFilter(event_types=["MissionCreated"]))
        assert [e.stream_id for e in created.events] == [mission, other]
        orders = await store.read_all(where=LogFilter(stream_prefix="wo"))
        assert [e.stream_id for e in orders.events] == [order]
        correlated = await store.read_all(where=LogFilter(correlation_id="req-7"))
        assert [e.stream_id for e in correlated.events] == [other]
        recent = LogFilter(recorded_after=start, recorded_before=now_ms() + 1000)
        assert len((await store.read_all(where=recent)).events) == 5
        assert (await store.read_all(where=LogFilter(recorded_before=start))).events == []
        assert await store.count() == 5
        assert await store.count(where=LogFilter()) == 5
        assert await store.count(where=LogFilter(stream_prefix="msn")) == 4
        two_types = LogFilter(event_types=["MissionUpdated", "WorkOrderCreated"])
        assert await store.count(where=two_types) == 3
        assert [e for e in everything.events if two_types.matches(e)] == (
            await store.read_all(where=two_types)
        ).events
        empty = await store.read_all(from_position=5)
        assert empty.events == []
        assert empty.next_position == 5


async def test_pages_bounded_by_bytes_end_before_the_bound_and_continue(store_config):
    mission = generate_mission_id()
    first, big = MissionCreated(title="t"), MissionUpdated(description="x" * 1000)
    small, size = len(encode_payload(first)), len(encode_payload(big))
    async with open_store(store_config) as store:
        await store.append(mission, [first, big, big, big, big])

        async def log(after: int = 0, **kwargs: object) -> tuple[list[int], int, bool]:
            page = await store.read_all(after, **kwargs)
            return [e.position for e in page.events], page.next_position, page.end

        assert await log(max_bytes=small + 2 * size) == ([1, 2, 3], 3, False)
        assert await log(3, max_bytes=small + 2 * size) == ([4, 5], 5, True)
        assert await log(max_bytes=small + 4 * size) == ([1, 2, 3, 4, 5], 5, True)
        assert await log(max_bytes=1) == ([1], 1, False)
        assert await log(1, max_bytes=1) == ([2], 2, False)
        assert await log(5, max_bytes=1) == ([], 5, True)
        assert await log(limit=2, max_bytes=10**6) == ([1, 2], 2, False)
        updates = LogFilter(event_types=["MissionUpdated"])
        assert await log(where=updates, max_bytes=size) == ([2], 2, False)
        assert await log(4, where=updates, max_bytes=size) == ([5], 5, True)

        async def stream(**kwargs: object) -> tuple[list[int], int | None]:
            page = await store.read_stream(mission, **kwargs)
            return [e.version for e in page.events], page.next_version

        assert await stream(max_bytes=small + size) == ([1, 2], 3)
        assert await stream(from_version=3, max_bytes=small + size) == ([3], 4)
        assert await stream(from_version=4, max_bytes=2 * size) == ([4, 5], None)
        assert await stream(direction="backwards", max_bytes=2 * size) == ([5, 4], 3)
        assert await stream(from_version=2, direction="backwards", max_bytes=size) == ([2], 1)
        assert await stream(from_version=1, direction="backwards", max_bytes=1) == ([1], None)
        assert await stream(limit=2, max_bytes=10**6) == ([1, 2], 3)


@pytest.mark.parametrize("max_bytes", [0, -1, True, "1", 2**63])
async def test_a_bound_in_bytes_is_a_whole_number_of_bytes(store_config, max_bytes):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        await fill(store, mission, 1)
        with pytest.raises(ValidationError, match="invalid max_bytes"):
            await store.read_all(max_bytes=max_bytes)
        with pytest.raises(ValidationError, match="invalid max_bytes"):
            await store.read_stream(mission, max_bytes=max_bytes)
        with pytest.raises(ValidationError, match="invalid page_bytes"):
            store.subscribe(page_bytes=max_bytes)


async def test_get_event(store_config):
    mission = generate_mission_id()
    event = NewEvent(MissionCreated(title="find me"))
    async with open_store(store_config) as store:
        await store.append(mission, [event])
        found = await store.get_event(event.event_id)
        assert found.event_id == event.event_id
        assert found.payload == event.payload
        with pytest.raises(EventNotFound):
            await store.get_event(generate_event_id())
        with pytest.raises(ValidationError, match="invalid event id 'evt-nope'") as bad_id:
            await store.get_event("evt-nope")
        ((where, why),) = bad_id.value.problems
        assert (where, why) == ("event_id", str(bad_id.value))
        assert f"e.g. evt-{EXAMPLE_BODY}; `fleet id evt` prints a new one" in why


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "invalid limit"),
        ({"limit": -5}, "invalid limit"),
        ({"limit": 10**9}, "invalid limit"),
        ({"limit": True}, "invalid limit"),
        ({"from_version": 0}, "invalid from_version"),
        ({"direction": "sideways"}, "invalid direction"),
    ],
)
async def test_bad_stream_reads(store_config, kwargs, message):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        await fill(store, mission, 1)
        with pytest.raises(ValidationError, match=message):
            await store.read_stream(mission, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"from_position": -1}, "from_position"),
        ({"limit": 0}, "limit"),
        ({"where": {"event_types": ["MissionCreated"]}}, "where"),
    ],
)
async def test_bad_log_reads(store_config, kwargs, where):
    async with open_store(store_config) as store:
        with pytest.raises(ValidationError) as info:
            await store.read_all(**kwargs)
        assert where in str(info.value)
        if "where" in kwargs:
            with pytest.raises(ValidationError, match="pass a LogFilter"):
                await store.count(where=kwargs["where"])


async def test_unknown_stream_and_capped_limits(store_config):
    config = with_overrides(store_config, store={"max_read_limit": 2})
    mission = generate_mission_id()
    async with open_store(config) as store:
        with pytest.raises(StreamNotFound):
            await store.read_stream(mission)
        with pytest.raises(ValidationError, match="invalid stream id"):
            await store.read_stream("nope")
        await fill(store, mission, 3)
        page = await store.read_stream(mission)
        assert len(page.events) == 2
        with pytest.raises(ValidationError, match="1 to 2"):
            await store.read_all(limit=3)


async def test_list_streams_in_pages(store_config):
    missions = sorted(generate_mission_id() for _ in range(5))
    order = generate_work_order_id()
    async with open_store(store_config) as store:
        for i, mission in enumerate(missions):
            await fill(store, mission, i + 1)
        await store.append(order, [WorkOrderCreated(mission_id=missions[0], title="w")])
        first = await store.list_streams(prefix="msn", limit=3)
        assert [s.stream_id for s in first.streams] == missions[:3]
        assert [s.version for s in first.streams] == [1, 2, 3]
        assert first.next_after == missions[2]
        rest = await store.list_streams(prefix="msn", after=first.next_after, limit=3)
        assert [s.stream_id for s in rest.streams] == missions[3:]
        assert rest.next_after is None
        everything = await store.list_streams()
        assert {s.stream_id for s in everything.streams} == {*missions, order}
        with pytest.raises(ValidationError, match="invalid stream prefix"):
            await store.list_streams(prefix="evt")
        with pytest.raises(ValidationError, match="invalid cursor"):
            await store.list_streams(after=5)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="invalid limit"):
            await store.list_streams(limit=0)


async def test_the_head_position_comes_with_every_log_page(store_config):
    async with open_store(store_config) as store:
        assert await store.head_position() == 0
        assert (await store.read_all()).head == 0
        await fill(store, generate_mission_id(), 5)
        updates = LogFilter(event_types=["MissionUpdated"])
        page = await store.read_all(from_position=1, limit=2, where=updates)
        assert (page.head, page.next_position, page.end) == (5, 3, False)
        assert await store.head_position() == 5
