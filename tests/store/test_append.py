"""The append contract, on both backends, under trio and asyncio."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from fleet.errors import (
    DuplicateEvent,
    InvalidTransition,
    StoreClosed,
    ValidationError,
    WrongExpectedVersion,
)
from fleet.events import EventMetadata, NewEvent, Payload
from fleet.store import ANY, NO_STREAM, STREAM_EXISTS, open_store
from fleet.vocabulary import (
    MissionActivated,
    MissionArchived,
    MissionCompleted,
    MissionCreated,
    MissionUpdated,
    WorkOrderCreated,
    generate_checkpoint_id,
    generate_mission_id,
    generate_work_order_id,
)

pytestmark = pytest.mark.anyio

CREATED = MissionCreated(title="Survey the ridge")


def updated(n: int) -> MissionUpdated:
    return MissionUpdated(description=f"step {n}")


def stored_rows(config, stream_id=None):
    engine = sa.create_engine(config.database.url)
    try:
        with engine.connect() as conn:
            sql = "SELECT stream_id, version, position, event_id, type FROM events"
            if stream_id:
                rows = conn.exec_driver_sql(
                    sql + " WHERE stream_id = %s ORDER BY version"
                    if engine.dialect.name == "postgresql"
                    else sql + " WHERE stream_id = ? ORDER BY version",
                    (stream_id,),
                ).all()
            else:
                rows = conn.exec_driver_sql(sql + " ORDER BY position").all()
            return [tuple(r) for r in rows]
    finally:
        engine.dispose()


async def test_append_returns_versions_and_positions(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        first = await store.append(mission, [CREATED], expected_version=NO_STREAM)
        second = await store.append(mission, [updated(1), updated(2)], expected_version=1)
    assert (first.first_version, first.last_version) == (1, 1)
    assert (second.first_version, second.last_version) == (2, 3)
    assert second.first_position == first.last_position + 1
    assert list(second.positions) == [second.first_position, second.first_position + 1]
    rows = stored_rows(store_config, mission)
    assert [(r[1], r[4]) for r in rows] == [
        (1, "MissionCreated"),
        (2, "MissionUpdated"),
        (3, "MissionUpdated"),
    ]


EXPECTATIONS = [
    # (events already in the stream, expected version, allowed?)
    (0, ANY, True),
    (2, ANY, True),
    (0, NO_STREAM, True),
    (1, NO_STREAM, False),
    (0, STREAM_EXISTS, False),
    (2, STREAM_EXISTS, True),
    (0, 0, True),
    (2, 2, True),
    (2, 1, False),
    (2, 3, False),
    (2, "any", True),
    (2, "no_stream", False),
]


@pytest.mark.parametrize(("existing", "expected", "allowed"), EXPECTATIONS)
async def test_expected_version_semantics(store_config, existing, expected, allowed):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        if existing:
            await store.append(mission, [CREATED] + [updated(i) for i in range(existing - 1)])
        event = CREATED if existing == 0 else updated(99)
        if allowed:
            result = await store.append(mission, [event], expected_version=expected)
            assert result.last_version == existing + 1
        else:
            with pytest.raises(WrongExpectedVersion) as info:
                await store.append(mission, [event], expected_version=expected)
            assert info.value.stream_id == mission
            assert info.value.actual == (existing or None)
    assert len(stored_rows(store_config, mission)) == existing + (1 if allowed else 0)


async def test_events_may_come_in_any_sequence(store_config):
    async with open_store(store_config) as store:
        assert (await store.append(generate_mission_id(), (CREATED,))).last_version == 1


async def test_invalid_input_is_refused_and_nothing_stored(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        with pytest.raises(ValidationError, match="at least one event"):
            await store.append(mission, [])
        with pytest.raises(ValidationError, match="invalid stream id"):
            await store.append("msn-nope", [CREATED])
        with pytest.raises(ValidationError, match="invalid stream id"):
            await store.append(generate_mission_id().replace("msn", "evt"), [CREATED])
        with pytest.raises(ValidationError, match="belongs in wo- streams"):
            await store.append(
                mission, [WorkOrderCreated(mission_id=mission, title="Dig the trench")]
            )
        with pytest.raises(ValidationError, match="belongs in msn- streams"):
            await store.append(generate_work_order_id(), [CREATED])
        with pytest.raises(ValidationError, match="belongs in msn- streams") as enveloped:
            await store.append(generate_work_order_id(), [NewEvent(CREATED)])
        assert [where for where, _ in enveloped.value.problems] == ["events[0]"]
        with pytest.raises(ValidationError, match=r"events\[1\]"):
            await store.append(mission, [CREATED, MissionCreated(title="")])
        with pytest.raises(ValidationError, match="events must be a list of events") as text:
            await store.append(mission, "MissionCreated")  # type: ignore[arg-type]
        assert text.value.problems == (("events", "not a list"),)
        with pytest.raises(ValidationError, match="an append needs at least one event") as empty:
            await store.append(mission, [])
        assert empty.value.problems == (("events", "empty"),)
        with pytest.raises(ValidationError, match="invalid event id"):
            await store.append(mission, [NewEvent(CREATED, event_id=generate_mission_id())])
        with pytest.raises(ValidationError, match="not an event: dict"):
            await store.append(mission, [CREATED, {"type": "MissionCreated"}])  # type: ignore[list-item]
        with pytest.raises(ValidationError, match="invalid expected version"):
            await store.append(mission, [CREATED], expected_version=-3)
        with pytest.raises(ValidationError, match="invalid event id") as bad_id:
            await store.append(mission, [NewEvent(CREATED, event_id="evt-bad")])
        ((where, why),) = bad_id.value.problems
        assert where == "events[0].event_id"
        assert why.startswith("invalid event id 'evt-bad': expected evt- followed by 26")
        assert why.endswith("`fleet id evt` prints a new one")
        event = NewEvent(CREATED)
        with pytest.raises(ValidationError, match="repeats"):
            await store.append(mission, [event, event])
    assert stored_rows(store_config) == []


async def test_illegal_transition_is_refused_before_storing(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        with pytest.raises(InvalidTransition):
            await store.append(mission, [MissionCompleted()])
        await store.append(mission, [CREATED, MissionActivated(), MissionCompleted()])
        await store.append(mission, [MissionArchived()])
        with pytest.raises(InvalidTransition):
            await store.append(mission, [updated(1)])
        state = await store.aggregate_state(mission)
    assert state.status == "archived"
    assert len(stored_rows(store_config, mission)) == 4


async def test_metadata_is_stored(store_config):
    mission = generate_mission_id()
    meta = EventMetadata(correlation_id="req-1", causation_id="cmd-9", actor="alice")
    async with open_store(store_config) as store:
        await store.append(mission, [CREATED, NewEvent(updated(1))], metadata=meta)
    engine = sa.create_engine(store_config.database.url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT correlation_id, causation_id, actor FROM events ORDER BY position"
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("req-1", "cmd-9", "alice")] * 2


async def test_idempotent_retry_returns_original_result(store_config):
    mission = generate_mission_id()
    events = [NewEvent(CREATED), NewEvent(updated(1))]
    async with open_store(store_config) as store:
        original = await store.append(mission, events, expected_version=NO_STREAM)
        await store.append(mission, [updated(2)])
        again = await store.append(mission, events, expected_version=NO_STREAM)
        assert again == original
        again_any = await store.append(mission, events)
        assert again_any == original
    async with open_store(store_config) as store:
        after_restart = await store.append(mission, events, expected_version=NO_STREAM)
        assert after_restart == original
    assert len(stored_rows(store_config, mission)) == 3


async def test_partial_overlap_is_a_duplicate(store_config):
    mission = generate_mission_id()
    first, second = NewEvent(CREATED), NewEvent(updated(1))
    async with open_store(store_config) as store:
        await store.append(mission, [first])
        with pytest.raises(DuplicateEvent) as info:
            await store.append(mission, [first, second], expected_version=1)
        assert info.value.event_ids == (first.event_id,)
        with pytest.raises(DuplicateEvent):
            await store.append(mission, [second, first])
        other = generate_mission_id()
        with pytest.raises(DuplicateEvent):
            await store.append(other, [NewEvent(CREATED, event_id=first.event_id)])
        assert (await store.append(mission, [second])).last_version == 2
    assert len(stored_rows(store_config)) == 2


async def test_concurrent_appenders_to_one_stream(store_config):
    mission = generate_mission_id()
    results = []
    async with open_store(store_config) as store:
        await store.append(mission, [CREATED])

        async def appender(n: int) -> None:
            for i in range(5):
                results.append(await store.append(mission, [updated(n * 100 + i)]))

        async with anyio.create_task_group() as group:
            for n in range(40):
                group.start_soon(appender, n)
        stats = store.statistics()
    versions = sorted(r.last_version for r in results)
    assert versions == list(range(2, 202))
    rows = stored_rows(store_config, mission)
    assert [r[1] for r in rows] == list(range(1, 202))
    positions = [r[2] for r in rows]
    assert positions == sorted(positions)
    assert stats["writer"]["mean_batch_events"] > 1


async def test_conflicting_concurrent_expectations_one_wins(store_config):
    mission = generate_mission_id()
    outcomes: list[object] = []
    async with open_store(store_config) as store:
        await store.append(mission, [CREATED])

        async def contender(n: int) -> None:
            try:
                outcomes.append(await store.append(mission, [updated(n)], expected_version=1))
            except WrongExpectedVersion as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as group:
            for n in range(10):
                group.start_soon(contender, n)
    winners = [o for o in outcomes if not isinstance(o, WrongExpectedVersion)]
    assert len(winners) == 1
    assert len(stored_rows(store_config, mission)) == 2


async def test_positions_gap_free_across_many_streams(store_config):
    async with open_store(store_config) as store:

        async def one_stream() -> None:
            stream = generate_mission_id()
            await store.append(stream, [CREATED])
            for i in range(3):
                await store.append(stream, [updated(i)])

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(one_stream)
    rows = stored_rows(store_config)
    assert [r[2] for r in rows] == list(range(1, 201))


async def test_graceful_shutdown_commits_everything_accepted(store_config):
    streams = [generate_mission_id() for _ in range(30)]
    acknowledged = []
    async with open_store(store_config) as store, anyio.create_task_group() as group:
        for stream in streams:

            async def go(stream: str = stream) -> None:
                acknowledged.append(await store.append(stream, [CREATED, updated(1)]))

            group.start_soon(go)
    assert len(acknowledged) == 30
    assert len(stored_rows(store_config)) == 60
    with pytest.raises(StoreClosed):
        await store.append(generate_mission_id(), [CREATED])


async def test_other_aggregates(store_config):
    mission = generate_mission_id()
    order = generate_work_order_id()
    checkpoint = generate_checkpoint_id()
    from fleet.vocabulary import CheckpointCreated, WorkOrderAssigned

    async with open_store(store_config) as store:
        await store.append(mission, [CREATED])
        await store.append(order, [WorkOrderCreated(mission_id=mission, title="Dig")])
        await store.append(order, [WorkOrderAssigned(assignee="agent-7")])
        await store.append(checkpoint, [CheckpointCreated(mission_id=mission, label="before dig")])
        state = await store.aggregate_state(order)
    assert state.status == "assigned"


async def test_commit_observers_see_each_batch_until_stopped(store_config):
    seen: list[tuple[int, float]] = []
    async with open_store(store_config) as store:
        stop = store.observe_commits(lambda events, seconds: seen.append((events, seconds)))
        await store.append(generate_mission_id(), [MissionCreated(title="a")])
        stop()
        stop()
        await store.append(generate_mission_id(), [MissionCreated(title="b")])
    assert len(seen) == 1
    assert seen[0][0] == 1
    assert 0 < seen[0][1] < 10


class OrderPlaced(Payload, frozen=True, tag="OrderPlaced"):
    """A payload class no family declares."""

    order: str


class LateMissionNote(MissionCreated, frozen=True, tag="LateMissionNote"):
    """A subclass of a registered payload, itself never registered."""


@pytest.mark.parametrize(
    "payload",
    [OrderPlaced(order="1001"), LateMissionNote(title="t")],
    ids=["own-base", "registered-parent"],
)
async def test_an_unregistered_payload_class_is_refused_by_name(store_config, payload):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        with pytest.raises(ValidationError) as info:
            await store.append(mission, [CREATED, payload])
    (where, why), *_ = info.value.problems
    assert where == "events[1]"
    assert why.startswith(f"{type(payload).__name__} is not an event type of category 'msn'")
    assert "MissionCreated" in why
    assert "the catalog's categories: chk, msn, wo" in why
    assert stored_rows(store_config) == []
