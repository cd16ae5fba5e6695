"""The HTTP API in-process (httpx over ASGI): endpoints, refusals, auth and request ids."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import structlog
import structlog.testing
import trio
from starlette.types import Receive, Scope, Send

from fleet.config import Config, load_config, with_overrides
from fleet.core.ids import EXAMPLE_BODY, generate_event_id
from fleet.events import encode_payload
from fleet.read_models.http import BUILTIN_API
from fleet.server import create_app, openapi_json
from fleet.server._api_metrics import ApiMetrics
from fleet.server._http import DISCARD_BYTES
from fleet.server._middleware import RequestLog
from fleet.vocabulary import (
    CATALOG,
    MissionUpdated,
    generate_mission_id,
    generate_work_order_id,
)
from tests.server.conftest import (
    Api,
    created,
    drive,
    metric_samples,
    open_api,
    updated,
    with_ids,
)

pytestmark = pytest.mark.trio


async def append(
    api: Api, stream: str, events: list[dict[str, Any]], **body: Any
) -> httpx.Response:
    return await api.client.post(f"/streams/{stream}/events", json={"events": events, **body})


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert set(error) >= {"code", "message", "problems"}
    assert "\n" not in error["message"]
    return error


async def test_append_then_read_the_stream(api: Api) -> None:
    mission = generate_mission_id()
    first = await append(api, mission, [created()], expected_version="no_stream")
    assert first.status_code == 200
    assert first.json() == {
        "stream_id": mission,
        "first_version": 1,
        "last_version": 1,
        "first_position": 1,
        "last_position": 1,
    }
    second = await append(api, mission, [updated("a"), updated("b")], expected_version=1)
    assert second.json()["last_version"] == 3
    page = (await api.client.get(f"/streams/{mission}")).json()
    assert page["stream_id"] == mission
    assert page["next_version"] is None
    assert [e["version"] for e in page["events"]] == [1, 2, 3]
    assert page["events"][0]["data"] == {
        "type": "MissionCreated",
        "title": "Survey the ridge",
        "description": "",
        "priority": "medium",
        "tags": [],
        "due_at": None,
        "metadata": {},
    }
    backwards = await api.client.get(
        f"/streams/{mission}", params={"direction": "backwards", "limit": 2}
    )
    assert [e["version"] for e in backwards.json()["events"]] == [3, 2]
    assert backwards.json()["next_version"] == 1


async def test_wrong_expected_version_is_409_with_expected_and_actual(api: Api) -> None:
    mission = generate_mission_id()
    await append(api, mission, [created()])
    refused = await append(api, mission, [updated("x")], expected_version=5)
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "wrong_expected_version"
    assert (error["expected"], error["actual"]) == (5, 1)
    missing = await append(
        api, generate_mission_id(), [created()], expected_version="stream_exists"
    )
    assert (error_of(missing)["expected"], error_of(missing)["actual"]) == ("stream_exists", None)
    assert (await api.client.get(f"/streams/{mission}")).json()["events"][-1]["version"] == 1


async def test_retry_with_the_same_event_ids_returns_the_original_result(api: Api) -> None:
    mission = generate_mission_id()
    events = with_ids(created(), updated("x"))
    first = await append(api, mission, events, expected_version="no_stream")
    again = await append(api, mission, events, expected_version="no_stream")
    assert again.status_code == 200
    assert again.json() == first.json()
    page = (await api.client.get(f"/streams/{mission}")).json()
    assert [e["event_id"] for e in page["events"]] == [e["event_id"] for e in events]


async def test_partly_repeated_ids_are_a_duplicate(api: Api) -> None:
    mission = generate_mission_id()
    events = with_ids(created())
    await append(api, mission, events)
    refused = await append(api, mission, [*events, *with_ids(updated("x"))])
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "duplicate_event"
    assert events[0]["event_id"] in error["event_ids"]


async def test_atomic_append_to_several_streams(api: Api) -> None:
    mission, order = generate_mission_id(), generate_work_order_id()
    body = {
        "appends": [
            {"stream_id": mission, "events": [created()], "expected_version": "no_stream"},
            {
                "stream_id": order,
                "events": [
                    {"type": "WorkOrderCreated", "data": {"mission_id": mission, "title": "t"}}
                ],
            },
        ]
    }
    done = await api.client.post("/append", json=body)
    assert done.status_code == 200, done.text
    results = done.json()["results"]
    assert [r["stream_id"] for r in results] == [mission, order]
    body["appends"][0]["expected_version"] = "no_stream"
    refused = await api.client.post("/append", json=body)
    assert refused.status_code == 409
    assert (await api.client.get(f"/streams/{order}")).json()["next_version"] is None
    assert len((await api.client.get(f"/streams/{order}")).json()["events"]) == 1


async def test_atomic_append_names_every_bad_share(api: Api) -> None:
    body = {
        "appends": [
            {"stream_id": "nope", "events": [created()]},
            {"stream_id": generate_mission_id(), "events": [{"type": "Nope", "data": {}}]},
        ]
    }
    refused = await api.client.post("/append", json=body)
    assert refused.status_code == 422
    paths = [p["path"] for p in error_of(refused)["problems"]]
    assert paths == ["appends[0].stream_id", "appends[1].events[0].type"]
    empty = await api.client.post("/append", json={"appends": []})
    assert error_of(empty)["code"] == "validation_failed"


async def test_global_log_with_filters_and_paging(api: Api) -> None:
    missions = [generate_mission_id() for _ in range(3)]
    for mission in missions:
        await append(api, mission, [created(), updated("x", metadata={"correlation_id": "c-1"})])
    order = generate_work_order_id()
    await append(
        api,
        order,
        [{"type": "WorkOrderCreated", "data": {"mission_id": missions[0], "title": "t"}}],
    )
    page = (await api.client.get("/events", params={"limit": 4})).json()
    assert [e["position"] for e in page["events"]] == [1, 2, 3, 4]
    assert (page["next_position"], page["end"]) == (4, False)
    rest = (await api.client.get("/events", params={"from_position": 4})).json()
    assert [e["position"] for e in rest["events"]] == [5, 6, 7]
    assert rest["end"] is True
    updates = await api.client.get(
        "/events", params={"event_types": "MissionUpdated,WorkOrderCreated", "stream_prefix": "msn"}
    )
    assert [e["type"] for e in updates.json()["events"]] == ["MissionUpdated"] * 3
    repeated = await api.client.get(
        "/events?event_types=MissionCreated&event_types=WorkOrderCreated"
    )
    assert len(repeated.json()["events"]) == 4
    correlated = await api.client.get("/events", params={"correlation_id": "c-1"})
    assert len(correlated.json()["events"]) == 3
    recorded = rest["events"][0]["recorded_at"]
    window = await api.client.get(
        "/events", params={"recorded_after": recorded, "recorded_before": recorded + 60_000}
    )
    assert window.json()["events"]
    empty = await api.client.get("/events", params={"event_types": ""})
    assert len(empty.json()["events"]) == 7


async def test_pages_end_before_server_page_bytes_and_say_where_to_continue(
    server_config: Config,
) -> None:
    size = len(encode_payload(MissionUpdated(description="x" * 1000)))
    config = with_overrides(server_config, server={"page_bytes": 2 * size})
    async with open_api(config) as api:
        mission = generate_mission_id()
        await append(api, mission, [created(), *[updated("x" * 1000)] * 4])
        pages: list[list[int]] = []
        after = 0
        while True:
            page = (await api.client.get("/events", params={"from_position": after})).json()
            pages.append([e["position"] for e in page["events"]])
            if page["end"]:
                break
            after = page["next_position"]
        assert pages == [[1, 2], [3, 4], [5]]
        versions: list[list[int]] = []
        version: int | None = 1
        while version is not None:
            page = await api.client.get(f"/streams/{mission}", params={"from_version": version})
            versions.append([e["version"] for e in page.json()["events"]])
            version = page.json()["next_version"]
        assert versions == [[1, 2], [3, 4], [5]]


async def test_list_streams_in_pages(api: Api) -> None:
    missions = sorted(generate_mission_id() for _ in range(3))
    for mission in missions:
        await append(api, mission, [created()])
    await append(
        api,
        generate_work_order_id(),
        [{"type": "WorkOrderCreated", "data": {"mission_id": missions[0], "title": "t"}}],
    )
    page = (await api.client.get("/streams", params={"prefix": "msn", "limit": 2})).json()
    assert page["streams"] == [{"stream_id": m, "version": 1} for m in missions[:2]]
    rest = await api.client.get(
        "/streams", params={"prefix": "msn", "after": page["next_after"], "limit": 2}
    )
    assert rest.json() == {
        "streams": [{"stream_id": missions[2], "version": 1}],
        "next_after": None,
    }
    assert len((await api.client.get("/streams")).json()["streams"]) == 4


async def test_get_one_event(api: Api) -> None:
    mission = generate_mission_id()
    events = with_ids(created())
    await append(api, mission, events)
    found = await api.client.get(f"/events/{events[0]['event_id']}")
    assert found.status_code == 200
    assert found.json()["stream_id"] == mission
    missing = await api.client.get(f"/events/{generate_event_id()}")
    assert (missing.status_code, error_of(missing)["code"]) == (404, "not_found")


def assert_shows_the_event_id_form(why: str, bad: str) -> None:
    assert why.startswith(f"invalid event id {bad!r}: expected evt- followed by 26 characters")
    assert why.endswith(f"e.g. evt-{EXAMPLE_BODY}; `fleet id evt` prints a new one")


async def test_a_malformed_event_id_is_refused_with_the_form_it_should_have(api: Api) -> None:
    read = await api.client.get("/events/evt-bad")
    assert read.status_code == 422, read.text
    error = error_of(read)
    assert_shows_the_event_id_form(error["message"], "evt-bad")
    assert error["problems"] == [{"path": "event_id", "message": error["message"]}]

    mission = generate_mission_id()
    appended = await append(api, mission, [created(), created(event_id="evt-bad")])
    assert appended.status_code == 422, appended.text
    (problem,) = error_of(appended)["problems"]
    assert problem["path"] == "events[1].event_id"
    assert_shows_the_event_id_form(problem["message"], "evt-bad")
    assert "regex" not in appended.text

    share = {"stream_id": mission, "events": [created(event_id="evt-bad")]}
    for path in ("/append", "/appends"):
        response = await api.client.post(path, json={"appends": [share]})
        assert "regex" not in response.text, response.text
        assert "expected evt- followed by 26 characters" in response.text
    assert (await api.client.get(f"/streams/{mission}")).status_code == 404


async def test_health(api: Api) -> None:
    live = await api.client.get("/health/live")
    assert live.json() == {"status": "ok"}
    ready = await api.client.get("/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["dialect"] == "sqlite"
    api.service.begin_shutdown()
    stopping = await api.client.get("/health/ready")
    assert stopping.status_code == 503
    assert stopping.headers["retry-after"] == "1"
    assert stopping.json() == {"status": "unavailable", "database": None}


async def test_readiness_reports_an_unhealthy_database(api: Api) -> None:
    path = api.store.database.sqlite_file
    assert path is not None
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    ready = await api.client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["database"]["problems"]


async def test_metrics_count_requests_and_appends(api: Api) -> None:
    mission = generate_mission_id()
    await append(api, mission, [created(), updated("a")])
    await api.client.get("/nope")
    page = await api.client.get("/metrics")
    assert page.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    found = metric_samples(page.text)
    route = "/streams/{stream_id}/events"
    posted = (("method", "POST"), ("route", route), ("status", "200"))
    assert found[("fleet_http_requests_total", posted)] == 1
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert found[("fleet_http_requests_total", unmatched)] == 1
    assert found[("fleet_appends_total", ())] == 1
    assert found[("fleet_appended_events_total", ())] == 2
    assert found[("fleet_append_events_bucket", (("le", "2.0"),))] == 1
    assert found[("fleet_append_events_bucket", (("le", "1.0"),))] == 0
    assert found[("fleet_append_latency_seconds_count", ())] == 1
    assert found[("fleet_store_events_total", ())] == 2
    assert found[("fleet_actors_live", ())] == 1
    assert found[("fleet_subscriber_lag_events", ())] == 0
    assert found[("fleet_mailbox_depth", ())] == 0
    assert found[("fleet_commit_seconds_count", ())] == 1
    assert found[("fleet_commit_events_bucket", (("le", "2.0"),))] == 1
    assert found[("fleet_commit_events_sum", ())] == 2
    assert "# TYPE fleet_append_latency_seconds histogram" in page.text


async def test_openapi_is_served(api: Api) -> None:
    served = await api.client.get("/openapi.json")
    assert served.content == openapi_json(CATALOG, BUILTIN_API)
    assert served.json()["openapi"] == "3.1.0"


# ----------------------------------------------------------------------------- refusals

MISSION = generate_mission_id()
Case = tuple[str, str, dict[str, Any], int, str, str | None]

BAD_INPUTS: list[Case] = [
    # (method, path, request kwargs, status, code, first problem path)
    ("POST", "/streams/{m}/events", {"content": b'{"events": [}'}, 400, "malformed_json", "body"),
    ("POST", "/streams/{m}/events", {"content": b""}, 400, "malformed_json", "body"),
    (
        "POST",
        "/streams/{m}/events",
        {"json": {"events": [{"type": "MissionExploded", "data": {}}]}},
        422,
        "validation_failed",
        "events[0].type",
    ),
    (
        "POST",
        "/streams/{m}/events",
        {"json": {"events": [{"type": "MissionCreated", "data": {"title": "x" * 201}}]}},
        422,
        "validation_failed",
        "events[0].data.title",
    ),
    (
        "POST",
        "/streams/{m}/events",
        {"json": {"events": [{"type": "MissionCreated", "data": {}}]}},
        422,
        "validation_failed",
        "events[0].data",
    ),
    (
        "POST",
        "/streams/{m}/events",
        {"json": {"events": [{"type": "MissionCompleted", "data": {}}]}},
        422,
        "invalid_transition",
        "events",
    ),
    (
        "POST",
        "/streams/{m}/events",
        {"json": {"events": [created()], "expected_version": "later"}},
        422,
        "validation_failed",
        "expected_version",
    ),
    (
        "POST",
        "/streams/{m}/events",
        {"json": {"events": [created()], "extra": 1}},
        422,
        "validation_failed",
        "body",
    ),
    ("POST", "/streams/{m}/events", {"json": [created()]}, 422, "validation_failed", "body"),
    ("POST", "/streams/{m}/events", {"json": {}}, 422, "validation_failed", "body"),
    ("POST", "/streams/{m}/events", {"json": {"events": []}}, 422, "validation_failed", None),
    (
        "POST",
        "/streams/msn-nope/events",
        {"json": {"events": [created()]}},
        422,
        "validation_failed",
        "stream_id",
    ),
    (
        "POST",
        "/streams/{m}/events",
        {"json": {"events": [created(event_id="evt-bad")]}},
        422,
        "validation_failed",
        "events[0].event_id",
    ),
    (
        "POST",
        "/streams/{m}/events",
        {"content": b"[" + b" " * 1_100_000 + b"]"},
        413,
        "body_too_large",
        "body",
    ),
    (
        "POST",
        "/streams/{m}/events",
        {"headers": {"content-length": "x1"}, "content": b"{}"},
        400,
        "bad_request",
        "Content-Length",
    ),
    ("GET", "/events/evt-nope", {}, 422, "validation_failed", "event_id"),
    ("GET", "/streams/wrong", {}, 422, "validation_failed", "stream_id"),
    ("GET", "/streams/{m}", {}, 404, "not_found", None),
    ("GET", "/streams/{m}", {"params": {"direction": "up"}}, 422, "validation_failed", "direction"),
    ("GET", "/streams/{m}", {"params": {"limit": "many"}}, 422, "validation_failed", "limit"),
    ("GET", "/streams/{m}", {"params": {"limit": "0"}}, 422, "validation_failed", "limit"),
    ("GET", "/events", {"params": {"event_types": "Nope"}}, 422, "validation_failed", None),
    ("GET", "/events", {"params": {"from_position": "-1"}}, 422, "validation_failed", None),
    ("GET", "/events", {"params": {"frm_position": "1"}}, 422, "validation_failed", "query"),
    ("GET", "/events?limit=1&limit=2", {}, 422, "validation_failed", "limit"),
    (
        "GET",
        "/events",
        {"params": {"recorded_after": "5", "recorded_before": "4"}},
        422,
        "validation_failed",
        "recorded_before",
    ),
    ("GET", "/streams", {"params": {"prefix": "evt"}}, 422, "validation_failed", "prefix"),
    ("GET", "/nowhere", {}, 404, "not_found", None),
    ("GET", "/streams/", {}, 404, "not_found", None),
    ("DELETE", "/events", {}, 405, "method_not_allowed", None),
    ("DELETE", "/streams/{m}", {"params": {"hard": "maybe"}}, 422, "validation_failed", "hard"),
    (
        "DELETE",
        "/streams/{m}",
        {"params": {"expected_version": "-1"}},
        422,
        "validation_failed",
        "expected_version",
    ),
    ("DELETE", "/streams/{m}", {}, 404, "not_found", None),
    ("PUT", "/append", {}, 405, "method_not_allowed", None),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "where"),
    BAD_INPUTS,
    ids=[f"{c[3]}-{c[4]}-{i}" for i, c in enumerate(BAD_INPUTS)],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    api: Api,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    where: str | None,
) -> None:
    mission = generate_mission_id()
    response = await api.client.request(method, path.format(m=mission), **kwargs)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code
    if where is not None:
        assert error["problems"][0]["path"] == where
    if status == 405:
        assert response.headers["allow"]
    log = (await api.client.get("/events")).json()
    assert log["events"] == []
    assert (await api.client.get("/health/live")).status_code == 200


async def test_a_body_streamed_without_length_is_cut_off_at_the_limit(
    server_config: Config,
) -> None:
    config = with_overrides(server_config, server={"max_body_bytes": 150})
    async with open_api(config) as api:
        app = create_app(api.service)
        path = f"/streams/{generate_mission_id()}/events"
        refused = await drive(app, "POST", path, body=[b"[" + b" " * 20] * 10)
        assert refused.status == 413
        body = msgspec.json.encode({"events": [created()]})
        accepted = await drive(app, "POST", path, body=[body[:10], body[10:]])
        assert accepted.status == 200, accepted.body
        huge = str(150 + DISCARD_BYTES + 1)
        at_once = await drive(app, "POST", path, headers={"content-length": huge}, body=[b"["])
        assert at_once.status == 413
        endless = await drive(app, "POST", path, body=[b" " * 1024 * 1024] * 17 + [b"]"])
        assert endless.status == 413


async def test_a_stalled_body_is_408_and_a_client_leaving_mid_body_is_no_500(
    server_config: Config,
) -> None:
    config = with_overrides(server_config, server={"body_timeout_s": 0.2})
    async with open_api(config) as api:
        app = create_app(api.service)
        path = f"/streams/{generate_mission_id()}/events"
        headers = {"content-length": "1000"}
        with trio.fail_after(10):
            stalled = await drive(
                app, "POST", path, headers=headers, body=[b"{" * 20], then="stall"
            )
        assert stalled.status == 408
        assert msgspec.json.decode(stalled.body)["error"]["code"] == "body_timeout"
        left = await drive(app, "POST", path, headers=headers, body=[b"{" * 20], then="leave")
        assert left.status == 400
        error = msgspec.json.decode(left.body)["error"]
        assert "closed the connection" in error["message"]
        assert (await api.client.get("/events")).json()["events"] == []
        metrics = (await api.client.get("/metrics")).text
        route = "/streams/{stream_id}/events"
        for status in (408, 400):
            line = (
                f'fleet_http_requests_total{{method="POST",route="{route}",status="{status}"}} 1.0'
            )
            assert line in metrics
        assert 'status="500"' not in metrics


async def test_unexpected_errors_are_500_and_the_app_keeps_serving(api: Api) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("boom")

    api.store.statistics = broken  # type: ignore[method-assign]
    with structlog.testing.capture_logs() as logs:
        failed = await api.client.get("/metrics", headers={"x-request-id": "req-1"})
    assert failed.status_code == 500
    assert error_of(failed)["code"] == "internal_error"
    assert error_of(failed)["request_id"] == "req-1"
    assert "req-1" in error_of(failed)["message"]
    assert "boom" not in failed.text
    assert failed.headers["x-request-id"] == "req-1"
    (logged,) = [entry for entry in logs if entry.get("exc_info")]
    assert logged["event"] == "unexpected error"
    assert logged["log_level"] == "error"
    assert logged["request_id"] == "req-1"
    assert isinstance(logged["exc_info"], RuntimeError)
    assert [entry["status"] for entry in logs if entry["event"] == "request"] == [500]
    assert (await api.client.get("/health/live")).status_code == 200


async def test_an_error_that_escapes_outside_the_routes_is_logged_once_and_answered(
    api: Api,
) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    app = RequestLog(broken, ApiMetrics(api.store))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://fleet") as client:
        with structlog.testing.capture_logs() as logs:
            failed = await client.get("/anything", headers={"x-request-id": "req-2"})
    assert failed.status_code == 500
    assert error_of(failed)["request_id"] == "req-2"
    (logged,) = [entry for entry in logs if entry.get("exc_info")]
    assert logged["event"] == "request failed"
    assert logged["log_level"] == "error"


# ----------------------------------------------------------------------------- auth and ids


@pytest.mark.parametrize("token_source", ["config", "environment"])
async def test_bearer_token_protects_everything_but_liveness(
    server_config: Config, monkeypatch: pytest.MonkeyPatch, token_source: str, tmp_path: Path
) -> None:
    if token_source == "config":
        config = with_overrides(server_config, server={"token": "s3cret"})
    else:
        monkeypatch.chdir(tmp_path)
        environ = {"FLEET_SERVER_TOKEN": "s3cret", "FLEET_DATABASE_URL": server_config.database.url}
        config = load_config(environ=environ)
    async with open_api(config) as api:
        assert (await api.client.get("/health/live")).status_code == 200
        for path in ("/health/ready", "/metrics", "/events", "/openapi.json", "/nowhere"):
            refused = await api.client.get(path)
            assert refused.status_code == 401, path
            assert error_of(refused)["code"] == "unauthorized"
            assert refused.headers["www-authenticate"].startswith("Bearer")
        wrong = await api.client.get("/events", headers={"Authorization": "Bearer s3cre"})
        assert wrong.status_code == 401
        basic = await api.client.get("/events", headers={"Authorization": "Basic s3cret"})
        assert basic.status_code == 401
        refused_append = await append(api, generate_mission_id(), [created()])
        assert refused_append.status_code == 401
        assert (await api.client.get("/events")).status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        assert (await api.client.get("/events", headers=good)).json()["events"] == []
        lower = {"Authorization": "bearer s3cret"}
        assert (await api.client.get("/health/ready", headers=lower)).status_code == 200


async def test_request_ids_are_echoed_or_generated(api: Api) -> None:
    echoed = await api.client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await api.client.get("/health/live", headers={"X-Request-ID": "bad id!"})
    assert len(generated.headers["x-request-id"]) == 32
    fresh = await api.client.get("/health/live")
    assert fresh.headers["x-request-id"] != generated.headers["x-request-id"]
