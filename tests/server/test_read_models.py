"""Stream metadata and the read models over HTTP (in-process), built in or added."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Final

import httpx
import msgspec
import pytest
import sqlalchemy as sa
import trio

from fleet.config import Config, with_overrides
from fleet.core import EXAMPLE_BODY
from fleet.db import admin_connection
from fleet.errors import ViewNotFound
from fleet.read_models.http import BUILTIN_API
from fleet.server import ReadModelApi, ReadOperation, openapi_json, serve
from fleet.store import EventStore
from fleet.vocabulary import (
    CATALOG,
    generate_checkpoint_id,
    generate_mission_id,
    generate_work_order_id,
)
from tests.server.conftest import Api, created, open_api

VIEW_TABLES: Final = {"mission_view", "work_order_view", "checkpoint_view"}
Check = Callable[[httpx.AsyncClient], Awaitable[None]]

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
    assert (kept.json()["deleted"], kept.json()["version"]) == (True, 2)
    cleared = await api.client.put(f"/streams/{mission}/metadata", json={"max_count": None})
    assert cleared.json()["max_count"] is None
    read = (await api.client.get(f"/streams/{mission}/metadata")).json()
    assert (read["version"], read["deleted"], read["max_count"]) == (2, True, None)
    assert (read["truncate_before"], read["deleted_version"], read["hard_deleted"]) == (
        None,
        2,
        False,
    )
    gone = await api.client.get(f"/streams/{mission}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "stream_deleted")


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


@pytest.mark.parametrize(
    ("path", "where", "kind", "prefix"),
    [
        ("/missions/msn-ridge", "mission_id", "mission", "msn"),
        ("/work-orders/wo-1", "work_order_id", "work order", "wo"),
        ("/checkpoints/chk-x", "checkpoint_id", "checkpoint", "chk"),
        ("/work-orders?mission_id=msn-x", "mission_id", "mission", "msn"),
    ],
)
async def test_a_malformed_id_is_refused_with_the_form_it_should_have(
    api: Api, path: str, where: str, kind: str, prefix: str
) -> None:
    response = await api.client.get(path)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    bad = path.rsplit("/", 1)[1].rsplit("=", 1)[-1]
    assert error["message"].startswith(
        f"invalid {kind} id {bad!r}: expected {prefix}- followed by 26 characters"
    )
    assert error["message"].endswith(
        f"e.g. {prefix}-{EXAMPLE_BODY}; `fleet id {prefix}` prints a new one"
    )
    assert error["problems"] == [{"path": where, "message": error["message"]}]


def view_tables(config: Config) -> set[str]:
    with admin_connection(config, read_only=True) as conn, conn.begin():
        return set(sa.inspect(conn).get_table_names()) & VIEW_TABLES


async def serving(config: Config, read_models: ReadModelApi | None, check: Check) -> None:
    """Run ``serve()`` with ``read_models`` and call ``check(client)`` while it listens."""
    stop = trio.Event()
    urls: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(serve, config, urls.append, stop=stop, read_models=read_models))
        with trio.fail_after(10):
            while not urls:
                await trio.sleep(0.01)
        async with httpx.AsyncClient(base_url=urls[0]) as client:
            await check(client)
        stop.set()


async def test_the_daemon_serves_the_built_in_read_models_it_is_given(
    server_config: Config,
) -> None:
    config = with_overrides(server_config, server={"port": 0})
    mission = generate_mission_id()

    async def check(client: httpx.AsyncClient) -> None:
        done = await client.post(f"/streams/{mission}/events", json={"events": [created("r")]})
        assert done.status_code == 200
        with trio.fail_after(10):
            while (view := await client.get(f"/missions/{mission}")).status_code == 404:
                await trio.sleep(0.02)
        assert view.json()["title"] == "r"
        assert (await client.get("/missions")).json()["missions"][0]["mission_id"] == mission
        names = [p["name"] for p in (await client.get("/projections")).json()["projections"]]
        assert names == ["missions", "work_orders", "checkpoints"]
        document = (await client.get("/openapi.json")).content
        assert document == openapi_json(CATALOG, BUILTIN_API)

    await serving(config, BUILTIN_API, check)
    assert view_tables(config) == VIEW_TABLES


async def test_a_daemon_without_read_models_serves_only_the_store(server_config: Config) -> None:
    config = with_overrides(server_config, server={"port": 0})
    mission = generate_mission_id()

    async def check(client: httpx.AsyncClient) -> None:
        done = await client.post(f"/streams/{mission}/events", json={"events": [created()]})
        assert done.status_code == 200
        missing = await client.get(f"/missions/{mission}")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
        assert (await client.get("/projections")).json()["projections"] == []
        refused = await client.post("/projections/missions/rebuild")
        assert refused.status_code == 404
        assert "/missions" not in (await client.get("/openapi.json")).json()["paths"]

    await serving(config, None, check)
    assert view_tables(config) == set()


class Count(msgspec.Struct, frozen=True):
    """How many events a stream holds."""

    stream_id: str
    events: int


class CountQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /counts/{stream_id}``."""

    at_least: int = 0


async def read_count(store: EventStore, path: Mapping[str, str], query: CountQuery) -> Count:
    stream_id = path["stream_id"]
    page = await store.read_stream(stream_id)
    if len(page.events) < query.at_least:
        raise ViewNotFound("count", stream_id)
    return Count(stream_id, len(page.events))


COUNTS = ReadModelApi(
    operations=(
        ReadOperation(
            "count_events",
            "/counts/{stream_id}",
            "How many events a stream holds.",
            Count,
            read_count,
            query=CountQuery,
            not_found=True,
        ),
    )
)


async def test_a_read_operation_added_through_the_extension_point(server_config: Config) -> None:
    mission = generate_mission_id()
    async with open_api(server_config, read_models=COUNTS) as api:
        await api.client.post(f"/streams/{mission}/events", json={"events": [created()]})
        found = await api.client.get(f"/counts/{mission}")
        assert found.json() == {"stream_id": mission, "events": 1}
        missing = await api.client.get(f"/counts/{mission}", params={"at_least": 2})
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
        bad = await api.client.get(f"/counts/{mission}", params={"colour": "red"})
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_failed")
        assert (await api.client.get("/missions")).status_code == 404
        paths = (await api.client.get("/openapi.json")).json()["paths"]
        (parameter, _) = paths["/counts/{stream_id}"]["get"]["parameters"]
        assert (
            parameter["schema"] == paths["/streams/{stream_id}"]["get"]["parameters"][0]["schema"]
        )
