"""``fleet serve`` as a real subprocess on a free port, driven with httpx over loopback."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from fleet.client import FleetClient
from fleet.core.ids import generate_event_id
from fleet.transfer import iter_log
from fleet.vocabulary import (
    MissionCreated,
    MissionUpdated,
    generate_mission_id,
    generate_work_order_id,
)
from tests.server.conftest import (
    Daemon,
    DaemonFactory,
    created,
    until_shutting_down,
    updated,
    with_ids,
)
from tests.server.test_api import BAD_INPUTS


@contextmanager
def closing_lines(response: httpx.Response) -> Iterator[Iterator[str]]:
    """The response's lines, closed on exit (an SSE stream does not end by itself)."""
    lines = response.iter_lines()
    try:
        yield lines
    finally:
        response.close()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in metrics")


def read_messages(lines: Iterator[str], messages: list[dict[str, str]], count: int) -> None:
    """Read SSE messages (comments left out) until ``messages`` holds ``count``."""
    current: dict[str, str] = {}
    for line in lines:
        if line:
            field, _, value = line.partition(": ")
            current["comment" if field == "" else field] = value
            continue
        if current and "comment" not in current:
            messages.append(current)
        current = {}
        if len(messages) >= count:
            return


def test_core_path(database_url: str, daemon_factory: DaemonFactory) -> None:
    daemon = daemon_factory("--database-url", database_url)
    mission, order = generate_mission_id(), generate_work_order_id()
    with httpx.Client(base_url=daemon.url, timeout=10) as client:
        assert client.get("/health/live").json() == {"status": "ok"}
        ready = client.get("/health/ready").json()
        assert ready["status"] == "ok"
        assert ready["database"]["dialect"] == database_url.split(":")[0].split("+")[0]

        events = with_ids(created(metadata={"correlation_id": "op-1"}))
        first = client.post(
            f"/streams/{mission}/events", json={"events": events, "expected_version": "no_stream"}
        )
        assert first.status_code == 200
        retry = client.post(
            f"/streams/{mission}/events", json={"events": events, "expected_version": "no_stream"}
        )
        assert retry.json() == first.json()
        conflict = client.post(
            f"/streams/{mission}/events", json={"events": [updated("x")], "expected_version": 0}
        )
        assert conflict.status_code == 409
        assert (conflict.json()["error"]["expected"], conflict.json()["error"]["actual"]) == (0, 1)
        many = client.post(
            "/append",
            json={
                "appends": [
                    {
                        "stream_id": mission,
                        "events": [updated("a"), updated("b")],
                        "expected_version": 1,
                    },
                    {
                        "stream_id": order,
                        "events": [
                            {
                                "type": "WorkOrderCreated",
                                "data": {"mission_id": mission, "title": "t"},
                            }
                        ],
                    },
                ]
            },
        )
        assert [r["last_version"] for r in many.json()["results"]] == [3, 1]

        stream = client.get(f"/streams/{mission}", params={"limit": 2}).json()
        assert [e["version"] for e in stream["events"]] == [1, 2]
        assert stream["next_version"] == 3
        one = client.get(f"/events/{events[0]['event_id']}")
        assert one.json()["metadata"]["correlation_id"] == "op-1"

        page = client.get("/events", params={"stream_prefix": "msn", "limit": 2}).json()
        assert [e["position"] for e in page["events"]] == [1, 2]
        rest = (
            client.get(
                "/events",
                params={"stream_prefix": "msn", "limit": 2, "from_position": page["next_position"]},
            )
        ).json()
        assert [e["version"] for e in rest["events"]] == [3]
        assert rest["end"] is True
        typed = client.get("/events", params={"event_types": "WorkOrderCreated"})
        assert [e["stream_id"] for e in typed.json()["events"]] == [order]

        messages: list[dict[str, str]] = []
        with (
            client.stream("GET", "/subscribe", params={"stream_prefix": "msn"}) as sse,
            closing_lines(sse) as lines,
        ):
            assert sse.headers["content-type"].startswith("text/event-stream")
            read_messages(lines, messages, 4)
            live = client.post(f"/streams/{mission}/events", json={"events": [updated("live")]})
            assert live.status_code == 200
            read_messages(lines, messages, 5)
        assert [m["event"] for m in messages] == ["event"] * 3 + ["caught-up", "event"]
        assert json.loads(messages[-1]["data"])["data"]["description"] == "live"
        last_id = messages[2]["id"]

        resumed: list[dict[str, str]] = []
        headers = {"Last-Event-ID": last_id}
        with (
            client.stream("GET", "/subscribe", headers=headers) as sse,
            closing_lines(sse) as lines,
        ):
            read_messages(lines, resumed, 2)
        assert [json.loads(m["data"]).get("position") for m in resumed] == [4, 5]
        assert resumed[0]["event"] == "event"
        far = "9223372036854775806"
        past = client.get("/subscribe", headers={"Last-Event-ID": far})
        assert past.status_code == 400
        assert past.json()["error"]["problems"] == [
            {"path": "Last-Event-ID", "message": f"{far} is past the head of the log (5)"}
        ]
        past = client.get("/subscribe", params={"from_position": 6})
        assert past.status_code == 422
        assert past.json()["error"]["problems"][0]["path"] == "from_position"
        assert "(5)" in past.json()["error"]["problems"][0]["message"]

        deadline = time.monotonic() + 10
        while (view := client.get(f"/missions/{mission}")).status_code == 404:
            assert time.monotonic() < deadline, "the missions read model did not follow"
            time.sleep(0.02)
        assert view.json()["work_orders"] == 1
        settings = client.put(f"/streams/{mission}/metadata", json={"metadata": {"k": 1}})
        assert settings.json()["version"] == 4
        assert client.get(f"/streams/{mission}/metadata").json()["metadata"] == {"k": 1}
        names = {p["name"] for p in client.get("/projections").json()["projections"]}
        assert names == {"missions", "work_orders", "checkpoints"}

        metrics = client.get("/metrics").text
        assert metric(metrics, "fleet_appends_total") == 5
        assert metric(metrics, "fleet_store_events_total") == 5
        assert "fleet_append_latency_seconds_bucket" in metrics
        assert "fleet_subscriber_lag_events" in metrics
    assert daemon.stop() == 0


# ----------------------------------------------------------------------------- shared daemon


HTTP_BAD_INPUTS = [case for case in BAD_INPUTS if "headers" not in case[2]]
"""Every refusal of the in-process table but a malformed Content-Length, which an HTTP
client cannot send (and which the HTTP server refuses before the application sees it)."""


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "where"),
    HTTP_BAD_INPUTS,
    ids=[f"{c[3]}-{c[4]}-{i}" for i, c in enumerate(HTTP_BAD_INPUTS)],
)
def test_bad_input_over_http(
    shared_daemon: Daemon,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    where: str | None,
) -> None:
    mission = generate_mission_id()
    with httpx.Client(base_url=shared_daemon.url, timeout=10) as client:
        before = metric(client.get("/metrics").text, "fleet_store_events_total")
        response = client.request(method, path.format(m=mission), **kwargs)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code
        if where is not None:
            assert error["problems"][0]["path"] == where
        after = metric(client.get("/metrics").text, "fleet_store_events_total")
        assert after == before
        assert client.get(f"/streams/{mission}").status_code == 404
        assert client.get("/health/live").status_code == 200


def test_request_ids_over_http(shared_daemon: Daemon) -> None:
    with httpx.Client(base_url=shared_daemon.url) as client:
        echoed = client.get("/health/live", headers={"X-Request-ID": "trace-7"})
        assert echoed.headers["x-request-id"] == "trace-7"
        assert re.fullmatch(r"[0-9a-f]{32}", client.get("/nope").headers["x-request-id"])


# ----------------------------------------------------------------------------- own daemons


@pytest.mark.trio
@pytest.mark.parametrize("source", ["flag", "environment"])
async def test_token_on_and_off(daemon_factory: DaemonFactory, tmp_path: Path, source: str) -> None:
    if source == "flag":
        daemon = daemon_factory("--token", "t0ken")
    else:
        daemon = daemon_factory(env={"FLEET_SERVER_TOKEN": "t0ken"})
    assert daemon.url.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient(base_url=daemon.url) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 401
        post = await client.post(
            f"/streams/{generate_mission_id()}/events", json={"events": [created()]}
        )
        assert post.json()["error"]["code"] == "unauthorized"
        good = {"Authorization": "Bearer t0ken"}
        assert (await client.get("/health/ready", headers=good)).status_code == 200
    assert daemon.stop() == 0
    assert (tmp_path / ".fleet" / "fleet.db").is_file()


@pytest.mark.trio
async def test_the_client_reads_the_log_through_pages_the_daemon_bounds_by_bytes(
    daemon_factory: DaemonFactory,
) -> None:
    daemon = daemon_factory(env={"FLEET_SERVER_PAGE_BYTES": "3000"})
    mission = generate_mission_id()
    big = MissionUpdated(description="x" * 1000)
    async with FleetClient(daemon.url) as client:
        await client.append(mission, [MissionCreated(title="t"), *[big] * 9])
        pages = [[event.position for event in page] async for page in iter_log(client)]
        first = await client.read_stream(mission)
    assert [position for page in pages for position in page] == list(range(1, 11))
    assert len(pages) > 1
    assert all(len(page) <= 3 for page in pages)
    assert first.next_version == len(first.events) + 1 <= 4
    assert daemon.stop() == 0


@pytest.mark.trio
async def test_json_logs_in_production_mode(daemon_factory: DaemonFactory) -> None:
    daemon = daemon_factory(env={"FLEET_LOG_FORMAT": "json"})
    async with httpx.AsyncClient(base_url=daemon.url) as client:
        await client.get("/events", headers={"X-Request-ID": "log-1"})
    assert daemon.stop() == 0
    lines = [json.loads(line) for line in daemon.stderr().splitlines()]
    request = next(line for line in lines if line.get("request_id") == "log-1")
    assert request["event"] == "request"
    assert (request["method"], request["path"], request["status"]) == ("GET", "/events", 200)
    assert request["duration_ms"] >= 0
    assert [line["event"] for line in lines][-1] == "stopped"


@pytest.mark.trio
async def test_sigterm_drains_in_flight_appends(
    daemon_factory: DaemonFactory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'drain.db'}"
    daemon = daemon_factory("--database-url", url)
    missions = [generate_mission_id() for _ in range(8)]
    answers: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=daemon.url, timeout=20) as client:
        before = await client.post(f"/streams/{missions[0]}/events", json={"events": [created()]})
        assert before.status_code == 200

        async def append(mission: str) -> None:
            body = {"events": [created(event_id=generate_event_id())]}
            response = await client.post(f"/streams/{mission}/events", json=body)
            answers[mission] = response.status_code

        lock = sqlite3.connect(tmp_path / "drain.db", isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            async with trio.open_nursery() as nursery:
                for mission in missions[1:]:
                    nursery.start_soon(append, mission)
                with trio.fail_after(10):
                    while metric(
                        (await client.get("/metrics")).text, "fleet_http_requests_in_flight"
                    ) < len(missions):
                        await trio.sleep(0.01)
                daemon.process.send_signal(signal.SIGTERM)
                signalled = time.monotonic()
                await until_shutting_down(daemon.url)
                lock.execute("ROLLBACK")
        finally:
            lock.close()
    assert answers == dict.fromkeys(missions[1:], 200)
    assert daemon.process.wait(timeout=15) == 0
    assert time.monotonic() - signalled < 10.0

    again = daemon_factory("--database-url", url)
    async with httpx.AsyncClient(base_url=again.url) as client:
        for mission in missions:
            page = (await client.get(f"/streams/{mission}")).json()
            assert [e["version"] for e in page["events"]] == [1]
    assert again.stop(signal.SIGINT) == 0
