"""Rebuilding a read model from position 0 gives what live processing gave."""

from __future__ import annotations

import pytest

from fleet.config import with_overrides
from fleet.errors import ProjectionNotFound
from fleet.projections import list_projection_errors, projection_status, rebuild, reset_projection
from fleet.read_models import (
    BUILTIN_PROJECTIONS,
    MISSIONS,
    list_checkpoints,
    list_missions,
    list_work_orders,
    rebuild_read_model,
)
from fleet.store import EventStore
from fleet.vocabulary import MissionActivated, MissionCompleted, MissionCreated, generate_mission_id
from tests.read_models.lives import append_raw, live_a_life, open_prepared, project_everything

pytestmark = pytest.mark.anyio


async def every_view(store: EventStore) -> tuple[object, ...]:
    return (
        await list_missions(store),
        await list_work_orders(store),
        await list_checkpoints(store),
    )


async def test_rebuild_reproduces_the_live_views_and_reports_progress(store_config):
    config = with_overrides(store_config, projections={"batch_events": 4})
    async with open_prepared(config) as store:
        life = await live_a_life(store)
        await live_a_life(store)
        mission = generate_mission_id()
        await store.append(mission, [MissionCreated(title="t")])
        await append_raw(store, mission, 2, [MissionCompleted(), MissionActivated()])
        await project_everything(store, batch=3)
        live = await every_view(store)
        assert len(live[0].missions) == 5

        reports = {}
        calls: dict[str, list[tuple[int, int]]] = {}
        for name in ("missions", "work_orders", "checkpoints"):
            calls[name] = []
            reports[name] = await rebuild(
                store,
                name,
                projections=BUILTIN_PROJECTIONS,
                progress=lambda done, total, name=name: calls[name].append((done, total)),
            )
        assert await every_view(store) == live

        missions = reports["missions"]
        mission_events = 2 * 12 + 3
        assert (missions.name, missions.events, missions.errors) == ("missions", mission_events, 1)
        assert missions.position == (await store.read_all()).events[-1].position
        progress = calls["missions"]
        assert progress[0] == (0, mission_events)
        assert progress[-1] == (mission_events, mission_events)
        assert [done for done, _ in progress] == sorted({done for done, _ in progress})
        assert len(progress) == 1 + -(-mission_events // 4)
        assert calls["checkpoints"][-1] == (2 * 7, 2 * 7)

        errors = await list_projection_errors(store, "missions", projections=BUILTIN_PROJECTIONS)
        assert [e.stream_id for e in errors.errors] == [mission]
        status = {s.name: s for s in await projection_status(store, BUILTIN_PROJECTIONS)}
        assert status["missions"].errors == 1
        assert status["missions"].lag == 0
        assert all(s.position == missions.position or s.lag == 0 for s in status.values())
        assert life.missions[0] in {m.mission_id for m in live[0].missions}


async def test_rebuild_of_an_empty_log_and_of_an_unknown_name(store_config):
    async with open_prepared(store_config) as store:
        seen: list[tuple[int, int]] = []
        report = await rebuild_read_model(
            store, "checkpoints", progress=lambda d, t: seen.append((d, t))
        )
        assert (report.events, report.errors, report.position) == (0, 0, 0)
        assert seen == [(0, 0)]
        with pytest.raises(ProjectionNotFound, match="nope"):
            await rebuild_read_model(store, "nope")


async def test_a_rebuild_whose_checkpoint_is_reset_elsewhere_starts_over(store_config):
    config = with_overrides(store_config, projections={"batch_events": 5})
    async with open_prepared(config) as store:
        await live_a_life(store)
        await project_everything(store)
        live = await every_view(store)
        resets = []

        def reset_once(done: int, total: int) -> None:
            if done >= 5 and not resets:
                resets.append(done)
                reset_projection(store.database, MISSIONS)

        report = await rebuild_read_model(store, "missions", progress=reset_once)
        assert resets == [5]
        assert report.events == 12 + 5
        assert await every_view(store) == live
