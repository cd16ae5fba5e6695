"""``GET /subscribe`` in-process: backlog, caught-up, live, resume, filters, keep-alive, endings."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
import trio

from fleet.config import Config, with_overrides
from fleet.server import create_app
from fleet.store import open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id
from tests.server.conftest import Api, Exchange, drive, open_api

pytestmark = pytest.mark.trio


def parse_sse(data: bytes) -> list[dict[str, str]]:
    """Messages of an SSE body; a comment becomes ``{"comment": text}``."""
    messages = []
    for block in data.decode().split("\n\n"):
        if not block:
            continue
        message: dict[str, str] = {}
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            message["comment" if field == "" else field] = value
        messages.append(message)
    return messages


def events_in(exchange: Exchange) -> list[dict[str, Any]]:
    return [json.loads(m["data"]) for m in parse_sse(exchange.body) if m.get("event") == "event"]


def seen(predicate: Callable[[list[dict[str, str]]], bool]) -> Callable[[Exchange], bool]:
    return lambda exchange: predicate(parse_sse(exchange.body))


async def fill(api: Api, mission: str, count: int) -> None:
    payloads = [MissionCreated(title="t")] + [
        MissionUpdated(description=str(i)) for i in range(1, count)
    ]
    await api.store.append(mission, payloads)


async def test_backlog_then_caught_up_then_live_events(api: Api) -> None:
    mission = generate_mission_id()
    await fill(api, mission, 3)
    app = create_app(api.service)
    caught_up = trio.Event()
    results: list[Exchange] = []

    def until(exchange: Exchange) -> bool:
        messages = parse_sse(exchange.body)
        if any(m.get("event") == "caught-up" for m in messages):
            caught_up.set()
        return sum(m.get("event") == "event" for m in messages) >= 5

    async def subscriber() -> None:
        results.append(await drive(app, "GET", "/subscribe", until=until))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(subscriber)
        await caught_up.wait()
        await api.store.append(mission, [MissionUpdated(description="live 1")])
        await api.store.append(mission, [MissionUpdated(description="live 2")])
    exchange = results[0]
    assert exchange.status == 200
    assert exchange.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert exchange.headers["cache-control"] == "no-cache"
    messages = parse_sse(exchange.body)
    kinds = [m.get("event") for m in messages]
    assert kinds == ["event"] * 3 + ["caught-up"] + ["event"] * 2
    assert [m["id"] for m in messages] == ["1", "2", "3", "3", "4", "5"]
    assert json.loads(messages[3]["data"]) == {"position": 3}
    assert [e["data"].get("description") for e in events_in(exchange)][3:] == ["live 1", "live 2"]
    metrics = api.service.metrics
    assert metrics.registry.get_sample_value("fleet_sse_streams") == 0
    assert metrics.registry.get_sample_value("fleet_sse_messages_total") == 6


@pytest.mark.parametrize(
    ("headers", "query", "positions"),
    [
        ({"Last-Event-ID": "3"}, "", [4, 5]),
        ({"Last-Event-ID": "3"}, "from_position=1", [4, 5]),
        ({}, "from_position=4", [5]),
        ({}, "event_types=MissionCreated", [1]),
        ({}, "stream_prefix=wo", []),
    ],
)
async def test_resume_and_filters(
    api: Api, headers: dict[str, str], query: str, positions: list[int]
) -> None:
    await fill(api, generate_mission_id(), 5)
    app = create_app(api.service)
    caught_up = seen(lambda messages: any(m.get("event") == "caught-up" for m in messages))
    exchange = await drive(app, "GET", "/subscribe", headers=headers, query=query, until=caught_up)
    assert [e["position"] for e in events_in(exchange)] == positions
    assert parse_sse(exchange.body)[-1] == {
        "id": "5",
        "event": "caught-up",
        "data": '{"position":5}',
    }


async def test_silence_sends_keep_alive_comments(server_config: Config) -> None:
    async with open_api(server_config, keepalive_s=0.01) as api:
        app = create_app(api.service)
        comments = seen(
            lambda messages: (
                sum("comment" in m for m in messages) >= 2
                and any(m.get("event") == "caught-up" for m in messages)
            )
        )
        exchange = await drive(app, "GET", "/subscribe", until=comments)
    messages = parse_sse(exchange.body)
    assert [m for m in messages if "comment" in m][:2] == [{"comment": "keep-alive"}] * 2
    assert {"id": "0", "event": "caught-up", "data": '{"position":0}'} in messages


async def test_shutdown_ends_the_stream(api: Api) -> None:
    app = create_app(api.service)
    results: list[Exchange] = []

    def until(exchange: Exchange) -> bool:
        api.service.begin_shutdown()
        return False

    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: _append_result(results, drive(app, "GET", "/subscribe", until=until))
        )
    assert results[0].status == 200
    assert results[0].chunks[-1] == b""


async def _append_result(results: list[Exchange], call: Any) -> None:
    results.append(await call)


async def test_head_sends_only_headers(api: Api) -> None:
    exchange = await drive(create_app(api.service), "HEAD", "/subscribe")
    assert exchange.status == 200
    assert exchange.body == b""


@pytest.mark.parametrize(
    ("headers", "query", "status", "code"),
    [
        ({"Last-Event-ID": "evt-1"}, "", 400, "bad_request"),
        ({}, "event_types=Nope", 422, "validation_failed"),
        ({}, "from_position=x", 422, "validation_failed"),
        ({}, "name=mine", 422, "validation_failed"),
    ],
)
async def test_bad_subscriptions_are_refused_before_streaming(
    api: Api, headers: dict[str, str], query: str, status: int, code: str
) -> None:
    exchange = await drive(
        create_app(api.service), "GET", "/subscribe", headers=headers, query=query
    )
    assert exchange.status == status
    assert json.loads(exchange.body)["error"]["code"] == code


async def test_a_failing_store_ends_the_stream_with_an_error_event(server_config: Config) -> None:
    config = with_overrides(server_config, store={"subscription_poll_s": 0.01})
    async with open_api(config) as api:
        app = create_app(api.service)
        path = api.store.database.sqlite_file

        dropped: list[bool] = []

        def until(exchange: Exchange) -> bool:
            if not dropped and any(m.get("event") == "caught-up" for m in parse_sse(exchange.body)):
                with sqlite3.connect(path) as conn:
                    conn.execute("DROP TABLE events")
                dropped.append(True)
            return False

        exchange = await drive(app, "GET", "/subscribe", until=until)
    last = parse_sse(exchange.body)[-1]
    assert last["event"] == "error"
    assert json.loads(last["data"])["error"]["code"] in {"unavailable", "internal_error"}
    assert exchange.chunks[-1] == b""


@pytest.mark.parametrize(
    ("headers", "query", "status", "code", "given", "start"),
    [
        ({"Last-Event-ID": "9223372036854775806"}, "", 400, "bad_request", "Last-Event-ID", None),
        ({"Last-Event-ID": "6"}, "", 400, "bad_request", "Last-Event-ID", None),
        ({"Last-Event-ID": "6"}, "from_position=2", 400, "bad_request", "Last-Event-ID", None),
        ({}, "from_position=6", 422, "validation_failed", "from_position", 6),
        ({}, "from_position=9223372036854775806", 422, "validation_failed", "from_position", None),
    ],
)
async def test_a_start_past_the_head_of_the_log_is_refused_naming_the_head(
    api: Api,
    headers: dict[str, str],
    query: str,
    status: int,
    code: str,
    given: str,
    start: int | None,
) -> None:
    await fill(api, generate_mission_id(), 5)
    exchange = await drive(
        create_app(api.service), "GET", "/subscribe", headers=headers, query=query
    )
    assert exchange.status == status
    error = json.loads(exchange.body)["error"]
    assert error["code"] == code
    position = headers.get("Last-Event-ID") or query.partition("=")[2]
    assert error["problems"] == [
        {"path": given, "message": f"{position} is past the head of the log (5)"}
    ]
    assert "position 5" in error["message"]
    assert api.service.metrics.registry.get_sample_value("fleet_sse_streams") == 0


async def test_the_head_a_start_is_checked_against_is_the_databases(
    api: Api, server_config: Config
) -> None:
    mission = generate_mission_id()
    async with open_store(server_config) as other:
        await other.append(mission, [MissionCreated(title="t"), MissionUpdated(description="1")])
        app = create_app(api.service)
        refused = await drive(app, "GET", "/subscribe", headers={"Last-Event-ID": "3"})
        assert refused.status == 400
        assert "(2)" in json.loads(refused.body)["error"]["problems"][0]["message"]
        caught_up = trio.Event()
        results: list[Exchange] = []

        def until(exchange: Exchange) -> bool:
            messages = parse_sse(exchange.body)
            if any(m.get("event") == "caught-up" for m in messages):
                caught_up.set()
            return any(m.get("event") == "event" for m in messages)

        async def subscriber() -> None:
            headers = {"Last-Event-ID": "2"}
            results.append(await drive(app, "GET", "/subscribe", headers=headers, until=until))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(subscriber)
                await caught_up.wait()
                await other.append(mission, [MissionUpdated(description="live")])
    messages = parse_sse(results[0].body)
    assert [(m["id"], m.get("event")) for m in messages] == [("2", "caught-up"), ("3", "event")]
