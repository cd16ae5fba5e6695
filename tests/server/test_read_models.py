"""Stream metadata and the read models over HTTP (in-process)."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.config import Config, with_overrides
from fleet.vocabulary import generate_checkpoint_id, generate_mission_id, generate_work_order_id
from tests.server.conftest import Api, created, open_api

pytestmark = pytest.mark.trio


async def test_stream_metadata_round_trip(api: Api) -> None:
    mission = generate_mission_id()
    missing = await api.client.get(f"/streams/{mission}/metadata")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    saved = await api.client.put(
        f"/streams/{mission}/metadata", json={"metadata": {"owner": "ops"}, "max_count": 100}
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["stream_id"] == mission
    assert (body["version"], body["max_count"], body["metadata"]) == (None, 100, {"owner": "ops"})
    await api.client.post(f"/streams/{mission}/events", json={"events": [created()]})
    kept = await api.client.put(f"/streams/{mission}/metadata", json={"deleted": True})
    assert kept.json()["metadata"] == {"owner": "ops"}
    assert kept.json()["deleted"] is True
    cleared = await api.client.put(f"/streams/{mission}/metadata", json={"max_count": None})
    assert cleared.json()["max_count"] is None
    read = (await api.client.get(f"/streams/{mission}/metadata")).json()
    assert (read["version"], read["deleted"], read["max_count"]) == (1, True, None)


@pytest.mark.parametrize(
    ("stream", "kwargs", "status", "where"),
    [
        ("{m}", {"json": {"max_count": 0}}, 422, "max_count"),
        ("{m}", {"json": {"deleted": "yes"}}, 422, "deleted"),
        ("{m}", {"json": {"metadata": [1]}}, 422, "metadata"),
        ("{m}", {"json": {"metadata": {"x": "y" * 70_000}}}, 422, "metadata"),
        ("{m}", {"json": {"colour": "red"}}, 422, "body"),
        ("{m}", {"content": b"{"}, 400, "body"),
        ("wo-nope", {"json": {}}, 422, "stream_id"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_is_saved(
    api: Api, stream: str, kwargs: dict[str, Any], status: int, where: str
) -> None:
    mission = generate_mission_id()
    path = f"/streams/{stream.format(m=mission)}/metadata"
    refused = await api.client.put(path, **kwargs)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"]["problems"][0]["path"] == where
    assert (await api.client.get(f"/streams/{mission}/metadata")).status_code == 404


async def fill_views(api: Api) -> tuple[str, str, str]:
    mission, order, checkpoint = (
        generate_mission_id(),
        generate_work_order_id(),
        generate_checkpoint_id(),
    )
    body = {
        "appends": [
            {"stream_id": mission, "events": [created("Map the ridge")]},
            {
                "stream_id": order,
                "events": [
                    {"type": "WorkOrderCreated", "data": {"mission_id": mission, "title": "t"}}
                ],
            },
            {
                "stream_id": checkpoint,
                "events": [
                    {
                        "type": "CheckpointCreated",
                        "data": {"mission_id": mission, "label": "before"},
                    }
                ],
            },
        ]
    }
    done = await api.client.post("/append", json=body)
    assert done.status_code == 200, done.text
    return mission, order, checkpoint


async def test_read_models_follow_the_log(server_config: Config) -> None:
    async with open_api(server_config, live_projections=True) as api:
        mission, order, checkpoint = await fill_views(api)
        runner = api.service.projections
        assert runner is not None
        await runner.wait_for_position(3)

        missions = (await api.client.get("/missions")).json()
        assert [m["mission_id"] for m in missions["missions"]] == [mission]
        assert missions["next_after"] is None
        one = (await api.client.get(f"/missions/{mission}")).json()
        assert (one["title"], one["status"], one["work_orders"], one["checkpoints"]) == (
            "Map the ridge",
            "pending",
            1,
            1,
        )
        active = await api.client.get("/missions", params={"status": "active"})
        assert active.json()["missions"] == []
        orders = await api.client.get("/work-orders", params={"mission_id": mission, "limit": 1})
        assert [o["work_order_id"] for o in orders.json()["work_orders"]] == [order]
        assert (await api.client.get(f"/work-orders/{order}")).json()["mission_id"] == mission
        checkpoints = await api.client.get("/checkpoints", params={"status": "in_progress"})
        assert [c["checkpoint_id"] for c in checkpoints.json()["checkpoints"]] == [checkpoint]
        assert (await api.client.get(f"/checkpoints/{checkpoint}")).json()["label"] == "before"

        status = (await api.client.get("/projections")).json()["projections"]
        assert {p["name"] for p in status} == {"missions", "work_orders", "checkpoints"}
        assert all(p["state"] == "live" and p["lag"] == 0 for p in status)

        rebuilt = await api.client.post("/projections/missions/rebuild")
        assert rebuilt.status_code == 200
        assert rebuilt.json()["name"] == "missions"
        assert rebuilt.json()["errors"] == 0
        assert (await api.client.get(f"/missions/{mission}")).json()["title"] == "Map the ridge"
        errors = await api.client.get("/projections/missions/errors", params={"limit": 10})
        assert errors.json() == {"errors": [], "next_after": None}


async def test_read_models_without_a_runner(api: Api) -> None:
    mission, _, _ = await fill_views(api)
    status = (await api.client.get("/projections")).json()["projections"]
    assert all(p["state"] is None for p in status)
    assert (await api.client.get(f"/missions/{mission}")).status_code == 404
    rebuilt = await api.client.post("/projections/missions/rebuild")
    assert rebuilt.json()["events"] == 1
    assert (await api.client.get(f"/missions/{mission}")).json()["mission_id"] == mission
    assert (await api.client.get("/projections/missions/errors")).json()["errors"] == []


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/missions/{m}", 404, "not_found"),
        ("GET", "/missions/wo-x", 422, "validation_failed"),
        ("GET", "/work-orders/{m}", 422, "validation_failed"),
        ("GET", "/checkpoints/{m}", 422, "validation_failed"),
        ("GET", "/missions?status=sleeping", 422, "validation_failed"),
        ("GET", "/work-orders?limit=0", 422, "validation_failed"),
        ("GET", "/checkpoints?mission_id=nope", 422, "validation_failed"),
        ("GET", "/projections/nope/errors", 404, "not_found"),
        ("GET", "/projections/missions/errors?after=x", 422, "validation_failed"),
        ("POST", "/projections/nope/rebuild", 404, "not_found"),
        ("GET", "/projections/missions/rebuild", 405, "method_not_allowed"),
    ],
)
async def test_read_model_refusals(
    server_config: Config, method: str, path: str, status: int, code: str
) -> None:
    config = with_overrides(server_config, projections={"enabled": False})
    async with open_api(config, live_projections=True) as api:
        response = await api.client.request(method, path.format(m=generate_mission_id()))
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
