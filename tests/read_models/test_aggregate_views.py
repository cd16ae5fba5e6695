"""The built-in read models fold each stream with its aggregate's transition table."""

from __future__ import annotations

import anyio.to_thread
import pytest
import sqlalchemy as sa

from fleet.core import DELETION_TYPE
from fleet.db.schema import projection_errors
from fleet.errors import ViewNotFound
from fleet.read_models import MISSIONS, AggregateView, get_checkpoint, get_mission, get_work_order
from fleet.read_models.tables import mission_view
from fleet.store import EventStore
from fleet.vocabulary import (
    MISSION,
    MissionActivated,
    MissionAssigned,
    MissionCompleted,
    MissionCreated,
    MissionUpdated,
    WorkOrderAssigned,
    WorkOrderCreated,
    WorkOrderStarted,
    generate_mission_id,
    generate_work_order_id,
)
from tests.read_models.lives import (
    append_raw,
    live_a_life,
    open_prepared,
    project_everything,
    state_fields,
    view_fields,
)

pytestmark = pytest.mark.anyio


def spoil(store: EventStore, schema: int, state: bytes) -> None:
    """Make every mission row's stored state unusable."""
    with store.database.write_transaction() as tx:
        tx.connection.execute(sa.update(mission_view).values(state_schema=schema, state=state))


async def test_a_life_folds_into_views_that_agree_with_the_aggregates(store_config):
    async with open_prepared(store_config) as store:
        life = await live_a_life(store)
        assert await project_everything(store, batch=7) == []
        last_positions = {}
        for event in (await store.read_all()).events:
            last_positions[event.stream_id] = event.position
        for stream_id, get in [
            *((m, get_mission) for m in life.missions),
            *((w, get_work_order) for w in life.work_orders),
            *((c, get_checkpoint) for c in life.checkpoints),
        ]:
            view = await get(store, stream_id)
            state = await store.aggregate_state(stream_id)
            assert view_fields(view, state) == state_fields(state)
            assert view.event_count == state.version
            assert view.last_position == last_positions[stream_id]

        main = await get_mission(store, life.missions[0])
        assert (main.status, main.priority, main.assignee) == ("completed", "critical", "alice")
        assert main.tags == ("survey", "reef")
        assert main.metadata == {"site": "north", "boats": 2}
        assert main.closed_at is not None
        assert main.closed_at >= main.created_at
        assert main.work_orders == 3
        assert main.work_orders_by_status == {"completed": 2, "cancelled": 1}
        assert main.checkpoints == 2
        other = await get_mission(store, life.missions[1])
        assert (other.status, other.work_orders, other.checkpoints) == ("archived", 0, 0)

        retried = await get_work_order(store, life.work_orders[1])
        assert (retried.status, retried.attempt, retried.assignee) == ("completed", 2, "dave")
        assert retried.description == "use the spare camera"
        saved = await get_checkpoint(store, life.checkpoints[0])
        assert (saved.status, saved.progress, saved.restore_count) == ("verified", 100, 1)
        assert saved.work_order_id == life.work_orders[0]


async def test_an_illegal_event_is_an_error_row_and_later_events_still_apply(store_config):
    mission, order = generate_mission_id(), generate_work_order_id()
    async with open_prepared(store_config) as store:
        await store.append(mission, [MissionCreated(title="t")])
        bad = await append_raw(store, mission, 2, [MissionCompleted(summary="too early")])
        await append_raw(store, mission, 3, [MissionActivated(), MissionAssigned(assignee="ann")])
        orphan = await append_raw(
            store, order, 1, [WorkOrderStarted(), WorkOrderAssigned(assignee="x")]
        )
        await project_everything(store, batch=2)
        await anyio.to_thread.run_sync(spoil, store, MISSION.state_schema_version + 1, b"{}")
        await append_raw(store, mission, 5, [MissionUpdated(title="refolded")])
        await project_everything(store, batch=2)

        view = await get_mission(store, mission)
        assert (view.status, view.assignee, view.title) == ("active", "ann", "refolded")
        assert (view.version, view.event_count) == (5, 4)
        with pytest.raises(ViewNotFound, match=order):
            await get_work_order(store, order)

        def errors():
            query = sa.select(
                projection_errors.c.projection,
                projection_errors.c.position,
                projection_errors.c.stream_id,
                projection_errors.c.event_type,
                projection_errors.c.message,
            ).order_by(projection_errors.c.position)
            with store.database.read() as conn:
                return [tuple(row) for row in conn.execute(query)]

        found = await anyio.to_thread.run_sync(errors)
        assert [row[:4] for row in found] == [
            ("missions", bad, mission, "MissionCompleted"),
            ("work_orders", orphan - 1, order, "WorkOrderStarted"),
            ("work_orders", orphan, order, "WorkOrderAssigned"),
        ]
        assert found[0][4] == "MissionCompleted is not allowed for a mission in status 'pending'"
        assert "(no stream)" in found[1][4]


async def test_a_row_with_an_unusable_state_is_folded_again_from_its_stream(store_config):
    mission = generate_mission_id()
    async with open_prepared(store_config) as store:
        await store.append(mission, [MissionCreated(title="t"), MissionAssigned(assignee="ann")])
        await project_everything(store)

        for schema, state in [(MISSION.state_schema_version + 1, b"{}"), (1, b"not json")]:
            await anyio.to_thread.run_sync(spoil, store, schema, state)
            await store.append(mission, [MissionUpdated(description=state.decode())])
            await project_everything(store)
            view = await get_mission(store, mission)
            current = await store.aggregate_state(mission)
            assert view_fields(view, current) == state_fields(current)
            assert view.event_count == current.version


def test_a_view_table_must_only_hold_state_fields():
    table = sa.Table(
        "odd_view",
        sa.MetaData(),
        sa.Column("mission_id", sa.String, primary_key=True),
        sa.Column("status", sa.String),
        sa.Column("colour", sa.String),
    )
    with pytest.raises(ValueError, match="colour"):
        AggregateView("odd", MISSION, table, "mission_id")
    assert "missions" in repr(MISSIONS)
    assert MISSIONS.event_types == MISSION.event_types | {DELETION_TYPE}


@pytest.mark.parametrize("batch", [1, 3, 100])
async def test_a_deleted_stream_leaves_the_views_and_a_restarted_one_comes_back(
    store_config, batch
):
    kept, dropped, restarted = generate_mission_id(), generate_mission_id(), generate_mission_id()
    order = generate_work_order_id()
    async with open_prepared(store_config) as store:
        for mission in (kept, dropped, restarted):
            await store.append(mission, [MissionCreated(title=mission), MissionActivated()])
        assert await project_everything(store, batch=batch) == []
        assert (await get_mission(store, dropped)).status == "active"
        await store.delete_stream(dropped, hard=True)
        await store.delete_stream(restarted)
        await store.append(restarted, [MissionCreated(title="again")])
        await store.append(order, [WorkOrderCreated(mission_id=kept, title="w")])
        await store.delete_stream(order)
        assert await project_everything(store, batch=batch) == []

        with pytest.raises(ViewNotFound, match=dropped):
            await get_mission(store, dropped)
        with pytest.raises(ViewNotFound, match=order):
            await get_work_order(store, order)
        again = await get_mission(store, restarted)
        assert (again.title, again.status, again.event_count, again.version) == (
            "again",
            "pending",
            1,
            4,
        )
        assert (await get_mission(store, kept)).work_orders == 0
        state = await store.aggregate_state(restarted)
        assert view_fields(again, state) == state_fields(state)
