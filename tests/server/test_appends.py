"""``POST /appends``: independent appends in one request, one outcome each."""

from __future__ import annotations

import pytest

from fleet.vocabulary import generate_mission_id, generate_work_order_id
from tests.server.conftest import Api, created, updated

pytestmark = pytest.mark.trio


async def test_each_append_commits_or_fails_on_its_own(api: Api) -> None:
    first, second, taken = generate_mission_id(), generate_mission_id(), generate_mission_id()
    await api.client.post(f"/streams/{taken}/events", json={"events": [created()]})
    answer = await api.client.post(
        "/appends",
        json={
            "appends": [
                {"stream_id": first, "events": [created("a")], "expected_version": "no_stream"},
                {"stream_id": taken, "events": [updated("x")], "expected_version": 0},
                {"stream_id": generate_work_order_id(), "events": [created()]},
                {"stream_id": "msn-nope", "events": [created()]},
                {"stream_id": second, "events": [created("b"), updated("c")]},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    outcomes = answer.json()["outcomes"]
    assert [o["status"] for o in outcomes] == [200, 409, 422, 422, 200]
    assert outcomes[0]["result"]["stream_id"] == first
    assert outcomes[4]["result"]["last_version"] == 2
    conflict = outcomes[1]["error"]
    assert (conflict["code"], conflict["expected"], conflict["actual"]) == (
        "wrong_expected_version",
        0,
        1,
    )
    assert outcomes[2]["error"]["problems"][0]["path"].startswith("appends[2].events[0]")
    assert outcomes[3]["error"]["problems"][0]["path"] == "appends[3].stream_id"
    assert "result" not in outcomes[1]
    assert "error" not in outcomes[0]
    log = (await api.client.get("/events")).json()["events"]
    assert sorted((e["stream_id"], e["version"]) for e in log) == sorted(
        [(taken, 1), (first, 1), (second, 1), (second, 2)]
    )


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"appends": []}, 422, "appends"),
        ({"appends": [{"stream_id": "msn-x", "events": []}] * 1001}, 422, "appends"),
        ({"appends": [{"stream": "x"}]}, 422, "appends[0]"),
        ({"appends": "all"}, 422, "appends"),
    ],
    ids=["empty", "too-many", "unknown-field", "not-a-list"],
)
async def test_a_malformed_request_is_refused_whole(
    api: Api, body: dict[str, object], status: int, where: str
) -> None:
    answer = await api.client.post("/appends", json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["problems"][0]["path"].startswith(where)
    assert (await api.client.get("/events")).json()["events"] == []
