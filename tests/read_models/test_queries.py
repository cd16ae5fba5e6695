"""Reading the views: one by id, keyset pages with filters, projection status and errors."""

from __future__ import annotations

import msgspec
import pytest

from fleet.config import with_overrides
from fleet.core import EXAMPLE_BODY
from fleet.errors import ProjectionNotFound, ValidationError, ViewNotFound
from fleet.projections import list_projection_errors, projection_status
from fleet.read_models import (
    BUILTIN_PROJECTIONS,
    get_checkpoint,
    get_mission,
    get_work_order,
    list_checkpoints,
    list_missions,
    list_work_orders,
)
from fleet.vocabulary import (
    CheckpointCreated,
    MissionActivated,
    MissionCompleted,
    MissionCreated,
    WorkOrderCreated,
    generate_checkpoint_id,
    generate_mission_id,
    generate_work_order_id,
)
from tests.read_models.lives import append_raw, open_prepared, project_everything

pytestmark = pytest.mark.anyio


async def all_pages(read, **filters):
    """Every item of a listing, read ``limit=2`` at a time, and the number of pages."""
    items, after, pages = [], None, 0
    while True:
        page = await read(after=after, limit=2, **filters)
        pages += 1
        items.extend(msgspec.structs.astuple(page)[0])
        after = page.next_after
        if after is None:
            return items, pages


async def test_listings_filter_and_page_by_id(store_config):
    config = with_overrides(store_config, store={"max_read_limit": 50})
    async with open_prepared(config) as store:
        missions = sorted(generate_mission_id() for _ in range(5))
        for index, mission in enumerate(missions):
            events = [MissionCreated(title=f"m{index}")]
            if index % 2 == 0:
                events.append(MissionActivated())
            await store.append(mission, events)
        orders = [generate_work_order_id() for _ in range(3)]
        for index, order in enumerate(orders):
            await store.append(order, [WorkOrderCreated(mission_id=missions[index % 2], title="w")])
        point = generate_checkpoint_id()
        await store.append(point, [CheckpointCreated(mission_id=missions[1], label="c")])
        await project_everything(store)

        everything, pages = await all_pages(lambda **kw: list_missions(store, **kw))
        assert [m.mission_id for m in everything] == missions
        assert pages == 3
        active, _ = await all_pages(lambda **kw: list_missions(store, **kw), status="active")
        assert [m.mission_id for m in active] == missions[0::2]
        first = await list_missions(store, limit=1)
        assert first.missions[0].work_orders == 2
        exact = await list_missions(store, status="pending", limit=2)
        assert [m.mission_id for m in exact.missions] == missions[1::2]
        assert exact.next_after is None
        assert (await list_missions(store, status="archived")).missions == []

        by_mission, _ = await all_pages(
            lambda **kw: list_work_orders(store, **kw), mission_id=missions[0]
        )
        assert [w.work_order_id for w in by_mission] == sorted(orders[0::2])
        pending = await list_work_orders(store, status="pending", mission_id=missions[1])
        assert [w.work_order_id for w in pending.work_orders] == [orders[1]]
        assert (await list_checkpoints(store, mission_id=missions[1])).checkpoints[0].label == "c"
        assert (await list_checkpoints(store, status="completed")).checkpoints == []
        assert (await get_checkpoint(store, point)).mission_id == missions[1]
        assert (await get_work_order(store, orders[2])).mission_id == missions[0]
        assert msgspec.json.decode(msgspec.json.encode(first))["missions"][0]["title"] == "m0"


async def test_bad_arguments_and_unknown_ids(store_config):
    config = with_overrides(store_config, store={"max_read_limit": 50})
    async with open_prepared(config) as store:
        for call, match in [
            (get_mission(store, "wo-nope"), "invalid mission id"),
            (get_work_order(store, "msn-1"), "invalid work order id"),
            (list_missions(store, status="done"), "invalid mission status 'done'"),
            (list_missions(store, after=5), "invalid cursor"),
            (list_missions(store, limit=51), "invalid limit"),
            (list_work_orders(store, mission_id="x"), "invalid mission id"),
            (list_checkpoints(store, limit=0), "invalid limit"),
            (
                list_projection_errors(
                    store, "missions", projections=BUILTIN_PROJECTIONS, after=-1
                ),
                "invalid cursor",
            ),
        ]:
            with pytest.raises(ValidationError, match=match) as info:
                await call
            assert info.value.problems
        for get, stream_id in [
            (get_mission, generate_mission_id()),
            (get_work_order, generate_work_order_id()),
            (get_checkpoint, generate_checkpoint_id()),
        ]:
            with pytest.raises(ViewNotFound, match=stream_id) as missing:
                await get(store, stream_id)
            assert missing.value.item_id == stream_id
        with pytest.raises(ProjectionNotFound):
            await list_projection_errors(store, "nope", projections=BUILTIN_PROJECTIONS)


@pytest.mark.parametrize(
    ("read", "bad", "where", "kind", "prefix"),
    [
        (get_mission, "msn-ridge", "mission_id", "mission", "msn"),
        (get_work_order, "wo-1", "work_order_id", "work order", "wo"),
        (get_checkpoint, "chk-x", "checkpoint_id", "checkpoint", "chk"),
        (get_mission, f"wo-{EXAMPLE_BODY}", "mission_id", "mission", "msn"),
        (
            lambda store, bad: list_work_orders(store, mission_id=bad),
            "msn-x",
            "mission_id",
            "mission",
            "msn",
        ),
        (
            lambda store, bad: list_checkpoints(store, mission_id=bad),
            7,
            "mission_id",
            "mission",
            "msn",
        ),
    ],
)
async def test_a_malformed_id_is_refused_with_the_form_it_should_have(
    store_config, read, bad, where, kind, prefix
):
    async with open_prepared(store_config) as store:
        with pytest.raises(ValidationError) as info:
            await read(store, bad)
    why = str(info.value)
    assert info.value.problems == ((where, why),)
    assert why.startswith(
        f"invalid {kind} id {bad!r}: expected {prefix}- followed by 26 characters"
    )
    assert why.endswith(f"e.g. {prefix}-{EXAMPLE_BODY}; `fleet id {prefix}` prints a new one")


async def test_status_counts_what_each_projection_still_wants(store_config):
    async with open_prepared(store_config) as store:
        assert [
            (s.name, s.position, s.head, s.lag, s.errors)
            for s in await projection_status(store, BUILTIN_PROJECTIONS)
        ] == [
            ("missions", 0, 0, 0, 0),
            ("work_orders", 0, 0, 0, 0),
            ("checkpoints", 0, 0, 0, 0),
        ]
        missions = [generate_mission_id() for _ in range(3)]
        for mission in missions:
            await store.append(mission, [MissionCreated(title="m")])
            await append_raw(store, mission, 2, [MissionCompleted()])
        await store.append(
            generate_work_order_id(), [WorkOrderCreated(mission_id=missions[0], title="w")]
        )
        status = await projection_status(store, BUILTIN_PROJECTIONS)
        assert [(s.lag, s.head, s.updated_at) for s in status] == [
            (6, 7, None),
            (1, 7, None),
            (0, 7, None),
        ]
        await project_everything(store)
        status = await projection_status(store, BUILTIN_PROJECTIONS)
        assert [(s.position, s.lag, s.errors) for s in status] == [(7, 0, 3), (7, 0, 0), (7, 0, 0)]
        assert status[0].updated_at is not None
        assert status[0].state is None

        first = await list_projection_errors(
            store, "missions", projections=BUILTIN_PROJECTIONS, limit=2
        )
        assert [e.stream_id for e in first.errors] == missions[:2]
        assert first.next_after == first.errors[-1].position
        rest = await list_projection_errors(
            store, "missions", projections=BUILTIN_PROJECTIONS, after=first.next_after
        )
        assert [e.stream_id for e in rest.errors] == missions[2:]
        assert rest.next_after is None
        assert rest.errors[0].event_type == "MissionCompleted"
        assert (
            await list_projection_errors(store, "work_orders", projections=BUILTIN_PROJECTIONS)
        ).errors == []
        with pytest.raises(ViewNotFound):
            await get_mission(store, generate_mission_id())
