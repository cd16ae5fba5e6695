"""Hostile requests on both backends: each is a 4xx naming the problem, and nothing is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from fleet.config import Config, with_overrides
from fleet.core.storable import LARGEST_STORED_INT
from fleet.vocabulary import generate_mission_id
from tests.server.conftest import Api, created, open_api, updated

pytestmark = pytest.mark.trio

TOO_BIG = str(LARGEST_STORED_INT + 1)
HUGE = "1" + "0" * 26


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The app with live read models, on SQLite and on PostgreSQL."""
    config = with_overrides(Config(project_dir=str(tmp_path)), database={"url": database_url})
    async with open_api(config, live_projections=True) as opened:
        yield opened


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    return error


async def nothing_stored(api: Api) -> None:
    assert (await api.client.get("/events")).json()["events"] == []


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def test_deeply_nested_bodies_are_refused_on_every_endpoint(api: Api) -> None:
    mission = generate_mission_id()
    deep = nested(1_000)
    bodies = [
        ("POST", f"/streams/{mission}/events", b'{"events": ' + deep + b"}"),
        (
            "POST",
            f"/streams/{mission}/events",
            b'{"events": [{"type": "MissionCreated", "data": {"title": ' + deep + b"}}]}",
        ),
        ("POST", "/append", b'{"appends": ' + deep + b"}"),
        ("PUT", f"/streams/{mission}/metadata", b'{"metadata": {"a": ' + deep + b"}}"),
    ]
    for method, path, body in bodies:
        response = await api.client.request(method, path, content=body)
        error = error_of(response, 400, "malformed_json")
        assert "nested deeper than 32 levels" in error["message"]
    await nothing_stored(api)
    assert (await api.client.get(f"/streams/{mission}/metadata")).status_code == 404


async def test_metadata_nested_within_the_bound_is_kept(api: Api) -> None:
    mission = generate_mission_id()
    value: Any = "bottom"
    for _ in range(30):  # with the body and "metadata" objects: 32 levels
        value = [value]
    response = await api.client.put(f"/streams/{mission}/metadata", json={"metadata": {"v": value}})
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"v": value}


@pytest.mark.parametrize(
    "body",
    [
        b'{"events": [{"type": "MissionCreated", "data": {"title": "", "title": "ok"}}]}',
        b'{"events": [], "events": [{"type": "MissionCreated", "data": {"title": "ok"}}]}',
        b'{"events": [{"type": "MissionCreated", "data": {"title": "a", "\\u0074itle": "b"}}]}',
    ],
)
async def test_a_repeated_key_is_refused_not_silently_overwritten(api: Api, body: bytes) -> None:
    response = await api.client.post(f"/streams/{generate_mission_id()}/events", content=body)
    error = error_of(response, 400, "malformed_json")
    assert "appears twice in one object" in error["message"]
    await nothing_stored(api)


async def test_the_same_key_in_different_objects_is_fine(api: Api) -> None:
    events = [created("one"), updated("two")]
    path = f"/streams/{generate_mission_id()}/events"
    response = await api.client.post(path, json={"events": events})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/events", "from_position"),
        ("/events", "recorded_after"),
        ("/events", "recorded_before"),
        ("/streams/{m}", "from_version"),
        ("/subscribe", "from_position"),
        ("/projections/missions/errors", "after"),
    ],
)
async def test_integers_beyond_what_a_column_holds_are_422(
    api: Api, path: str, parameter: str
) -> None:
    mission = generate_mission_id()
    assert (
        await api.client.post(f"/streams/{mission}/events", json={"events": [created()]})
    ).status_code == 200
    for value in (TOO_BIG, HUGE):
        response = await api.client.get(path.format(m=mission), params={parameter: value})
        error = error_of(response, 422, "validation_failed")
        assert error["problems"][0]["path"] == parameter
    largest = await api.client.get("/events", params={"from_position": str(LARGEST_STORED_INT)})
    assert largest.status_code == 200
    assert largest.json()["events"] == []


@pytest.mark.parametrize("header", ["²", "1²", HUGE, TOO_BIG, "-1", "1e3", ""])
async def test_a_last_event_id_that_is_not_a_position_is_400(api: Api, header: str) -> None:
    response = await api.client.get(
        "/subscribe", headers={"Last-Event-ID": header.encode("latin-1")}
    )
    error = error_of(response, 400, "bad_request")
    assert error["problems"][0]["path"] == "Last-Event-ID"


async def test_a_nul_character_is_refused_wherever_text_is_stored(api: Api) -> None:
    mission = generate_mission_id()
    refused = [
        ("POST", f"/streams/{mission}/events", {"events": [created("a\u0000b")]}, "events[0].data"),
        (
            "POST",
            f"/streams/{mission}/events",
            {"events": [created(metadata={"actor": "x\u0000"})]},
            "events[0].metadata",
        ),
        ("PUT", f"/streams/{mission}/metadata", {"metadata": {"k": "v\u0000"}}, "metadata"),
        ("PUT", f"/streams/{mission}/metadata", {"metadata": {"k\u0000": 1}}, "metadata"),
    ]
    for method, path, body, where in refused:
        response = await api.client.request(method, path, json=body)
        error = error_of(response, 422, "validation_failed")
        assert error["problems"][0]["path"].startswith(where), error
        assert "NUL" in error["problems"][0]["message"]
    for parameter in ("correlation_id", "after"):
        response = await api.client.get(
            "/events" if parameter == "correlation_id" else "/streams",
            params={parameter: "a\u0000"},
        )
        error_of(response, 422, "validation_failed")
    await nothing_stored(api)
    assert (await api.client.get(f"/streams/{mission}/metadata")).status_code == 404


async def test_the_text_backslash_u0000_is_not_a_nul_and_reads_back(api: Api) -> None:
    mission = generate_mission_id()
    title = "literally \\u0000"
    response = await api.client.post(
        f"/streams/{mission}/events", json={"events": [created(title)]}
    )
    assert response.status_code == 200, response.text
    stored = (await api.client.get(f"/streams/{mission}")).json()["events"][0]
    assert stored["data"]["title"] == title
    with trio.fail_after(10):
        while (found := await api.client.get(f"/missions/{mission}")).status_code != 200:
            await trio.sleep(0.02)
    assert found.json()["title"] == title


@pytest.mark.parametrize("declared", ["²", "1_0", " 5", "0x10"])
async def test_a_content_length_that_is_not_ascii_digits_is_400(api: Api, declared: str) -> None:
    response = await api.client.post(
        f"/streams/{generate_mission_id()}/events",
        headers={"content-length": declared.encode("latin-1")},
        content=b"{}",
    )
    error = error_of(response, 400, "bad_request")
    assert error["problems"][0]["path"] == "Content-Length"
