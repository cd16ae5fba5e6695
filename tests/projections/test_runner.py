"""The runner keeps projections live beside the writer, resumes, retries and pauses for rebuilds."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.to_thread
import pytest
import sqlalchemy as sa

from fleet.config import with_overrides
from fleet.db import Database
from fleet.errors import ProjectionNotFound, StoreUnavailable
from fleet.events import Event
from fleet.projections import (
    EventFailure,
    ProjectionRunner,
    list_projection_errors,
    open_projections,
    reset_projection,
)
from fleet.read_models import (
    BUILTIN_PROJECTIONS,
    MISSIONS,
    get_checkpoint,
    get_mission,
    get_work_order,
    open_read_models,
    upgrade_read_models,
)
from fleet.store import EventStore, open_store
from fleet.vocabulary import MissionActivated, MissionCompleted, MissionCreated, generate_mission_id
from tests.read_models.lives import (
    Life,
    append_raw,
    live_a_life,
    open_prepared,
    state_fields,
    view_fields,
)

pytestmark = pytest.mark.anyio

BOTH_LOOPS = pytest.mark.parametrize("anyio_backend", ["trio", "asyncio"])


async def head(store: EventStore) -> int:
    page = await store.read_all()
    return page.events[-1].position if page.events else 0


async def settle(store: EventStore, runner: ProjectionRunner) -> None:
    with anyio.fail_after(30):
        await runner.wait_for_position(await head(store))


async def assert_views_agree(store: EventStore, lives: Sequence[Life]) -> None:
    for life in lives:
        for stream_id, get in [
            *((m, get_mission) for m in life.missions),
            *((w, get_work_order) for w in life.work_orders),
            *((c, get_checkpoint) for c in life.checkpoints),
        ]:
            view = await get(store, stream_id)
            state = await store.aggregate_state(stream_id)
            assert view_fields(view, state) == state_fields(state)
            assert view.event_count == state.version


@BOTH_LOOPS
async def test_the_runner_keeps_up_with_concurrent_appends(store_config):
    config = with_overrides(store_config, projections={"batch_events": 16})
    lives: list[Life] = []
    async with open_prepared(config) as store, open_read_models(store) as runner:

        async def one_life() -> None:
            lives.append(await live_a_life(store))

        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(one_life)
        await settle(store, runner)
        await assert_views_agree(store, lives)
        status = await runner.status()
        assert [s.name for s in status] == ["missions", "work_orders", "checkpoints"]
        assert all(s.lag == 0 and s.errors == 0 for s in status)
        assert {s.state for s in status} == {"live"}
        assert runner.projections[0] is MISSIONS


async def test_a_restart_resumes_from_the_checkpoint_without_counting_twice(store_config):
    config = with_overrides(store_config, projections={"batch_events": 5})
    async with open_prepared(config) as store:
        async with open_read_models(store) as runner:
            first = await live_a_life(store)
            await settle(store, runner)
        second = await live_a_life(store)
    async with open_prepared(config) as store, open_read_models(store) as runner:
        third = await live_a_life(store)
        await settle(store, runner)
        await assert_views_agree(store, [first, second, third])


async def test_an_illegal_event_in_the_live_log_is_recorded_and_the_lane_goes_on(store_config):
    mission, later = generate_mission_id(), generate_mission_id()
    async with open_prepared(store_config) as store, open_read_models(store) as runner:
        await store.append(mission, [MissionCreated(title="t")])
        await settle(store, runner)
        bad = await append_raw(store, mission, 2, [MissionCompleted(), MissionActivated()])
        await store.append(later, [MissionCreated(title="later")])
        await settle(store, runner)
        view = await get_mission(store, mission)
        assert (view.status, view.version, view.event_count) == ("active", 3, 2)
        assert (await get_mission(store, later)).title == "later"
        errors = await list_projection_errors(store, "missions", projections=BUILTIN_PROJECTIONS)
        assert [(e.position, e.stream_id) for e in errors.errors] == [(bad - 1, mission)]
        assert [s.errors for s in await runner.status()] == [1, 0, 0]


class Flaky:
    """The missions projection, on a database that fails its first transactions."""

    name = "flaky_missions"
    event_types = MISSIONS.event_types

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def handle(self, conn: sa.Connection, events: Sequence[Event]) -> Sequence[EventFailure]:
        self.calls += 1
        if self.calls <= self.failures:
            raise StoreUnavailable("database is locked")
        return MISSIONS.handle(conn, events)

    def reset(self, conn: sa.Connection) -> None:
        MISSIONS.reset(conn)


@BOTH_LOOPS
async def test_database_trouble_makes_the_lane_wait_and_retry(store_config):
    flaky = Flaky(failures=2)
    mission = generate_mission_id()
    states: set[str] = set()
    async with open_prepared(store_config) as store, open_projections(store, [flaky]) as runner:
        states.add(runner.state("flaky_missions"))
        await store.append(mission, [MissionCreated(title="t"), MissionActivated()])
        while flaky.calls < 3:
            states.add(runner.state("flaky_missions"))
            await anyio.sleep(0.002)
        await settle(store, runner)
        assert {"starting", "retrying"} <= states
        assert flaky.calls == 3
        assert (await get_mission(store, mission)).event_count == 2
        (status,) = await runner.status()
        assert status.name == "flaky_missions"
        assert status.last_error == "StoreUnavailable: database is locked"
        assert status.state == "live"


async def test_rebuild_through_the_runner_pauses_the_lane_while_appends_go_on(store_config):
    config = with_overrides(store_config, projections={"batch_events": 8})
    lives: list[Life] = []
    states: set[str] = set()
    async with open_prepared(config) as store, open_read_models(store) as runner:
        lives.append(await live_a_life(store))
        await settle(store, runner)

        def progress(done: int, total: int) -> None:
            states.add(runner.state("missions"))

        async def appends() -> None:
            for _ in range(3):
                lives.append(await live_a_life(store))

        async with anyio.create_task_group() as group:
            group.start_soon(appends)
            report = await runner.rebuild("missions", progress=progress)
            again = await runner.rebuild("work_orders")
        assert report.events >= 12
        assert again.errors == 0
        assert states == {"rebuilding"}
        await settle(store, runner)
        await assert_views_agree(store, lives)
        assert runner.state("missions") == "live"
        with pytest.raises(ProjectionNotFound):
            await runner.rebuild("nope")
        with pytest.raises(ProjectionNotFound):
            runner.state("nope")


async def test_a_checkpoint_moved_elsewhere_sends_the_lane_back_to_it(store_config):
    async with open_prepared(store_config) as store, open_read_models(store) as runner:
        first = await live_a_life(store)
        await settle(store, runner)
        await anyio.to_thread.run_sync(reset_projection, store.database, MISSIONS)
        second = await live_a_life(store)
        await settle(store, runner)
        await assert_views_agree(store, [first, second])


async def test_a_disabled_runner_keeps_nothing_live_but_still_rebuilds(store_config):
    config = with_overrides(store_config, projections={"enabled": False})
    async with open_prepared(config) as store, open_read_models(store) as runner:
        life = await live_a_life(store)
        before = {s.name: s for s in await runner.status()}
        assert before["missions"].state == "stopped"
        assert before["missions"].lag == 12
        await runner.rebuild("missions")
        assert (await get_mission(store, life.missions[0])).status == "completed"
        assert (await runner.status())[0].lag == 0


async def test_projection_names_must_be_unique(store_config):
    async with open_prepared(store_config) as store:
        with pytest.raises(ValueError, match="missions"):
            async with open_projections(store, [MISSIONS, MISSIONS]):
                pass


async def test_two_rebuilds_of_one_projection_take_turns(store_config):
    async with open_prepared(store_config) as store, open_read_models(store) as runner:
        life = await live_a_life(store)
        reports = []

        async def rebuild() -> None:
            reports.append(await runner.rebuild("checkpoints"))

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(rebuild)
        assert [(r.events, r.errors) for r in reports] == [(7, 0)] * 3
        await settle(store, runner)
        await assert_views_agree(store, [life])


async def test_a_lane_stops_when_the_database_is_closed_under_it(store_config):
    async with open_prepared(store_config) as store, open_read_models(store) as runner:
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
        await settle(store, runner)
        await anyio.to_thread.run_sync(store.database.close)
        with anyio.fail_after(10):
            while {runner.state(name) for name in ("missions", "work_orders")} != {"stopped"}:
                await anyio.sleep(0.01)


async def test_lanes_prepare_the_tables_first_and_wait_while_that_fails(store_config):
    attempts: list[str] = []

    def prepare(db: Database) -> None:
        if len(attempts) < 2:
            attempts.append("failed")
            raise StoreUnavailable("database is read-only")
        attempts.append("done")
        upgrade_read_models(db)

    mission = generate_mission_id()
    async with open_store(store_config) as store:
        await store.append(mission, [MissionCreated(title="t")])
        async with open_projections(store, BUILTIN_PROJECTIONS, prepare=[prepare]) as runner:
            await settle(store, runner)
            assert (await get_mission(store, mission)).title == "t"
            status = await runner.status()
            assert all(s.state == "live" for s in status)
            assert any(s.last_error == "StoreUnavailable: database is read-only" for s in status)
            await runner.rebuild("missions")
        assert attempts == ["failed", "failed", "done"]


class Counting:
    """The missions projection, counting the batches it is handed."""

    name = "counted_missions"
    event_types = MISSIONS.event_types

    def __init__(self) -> None:
        self.batches: list[int] = []

    def handle(self, conn: sa.Connection, events: Sequence[Event]) -> Sequence[EventFailure]:
        self.batches.append(len(events))
        return MISSIONS.handle(conn, events)

    def reset(self, conn: sa.Connection) -> None:
        MISSIONS.reset(conn)


async def _one_append_at_a_time(config, appends: int) -> list[int]:
    """The batch sizes a live lane applies while ``appends`` single appends arrive."""
    counting = Counting()
    async with open_prepared(config) as store, open_projections(store, [counting]) as runner:
        await settle(store, runner)
        for _ in range(appends):
            await store.append(generate_mission_id(), [MissionCreated(title="t")])
            await anyio.sleep(0.002)
        await settle(store, runner)
    assert sum(counting.batches) == appends
    return counting.batches


async def test_a_live_lane_gathers_events_into_few_batches(store_config):
    gathered = await _one_append_at_a_time(
        with_overrides(store_config, projections={"gather_ms": 200.0}), 40
    )
    at_once = await _one_append_at_a_time(
        with_overrides(store_config, projections={"gather_ms": 0.0}), 40
    )
    # Appends about 2 ms apart: gathering for 200 ms makes a handful of batches,
    # taking each as it comes makes about one per append.
    assert len(gathered) <= 8
    assert len(at_once) >= 20


async def test_waiting_for_a_position_cuts_the_gathering_short(store_config):
    config = with_overrides(store_config, projections={"gather_ms": 60_000.0})
    async with open_prepared(config) as store, open_read_models(store) as runner:
        for n in range(3):
            mission = generate_mission_id()
            result = await store.append(mission, [MissionCreated(title=str(n))])
            with anyio.fail_after(5):
                await runner.wait_for_position(result.last_position)
            assert (await get_mission(store, mission)).title == str(n)
