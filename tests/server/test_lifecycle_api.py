"""Stream lifecycle over HTTP: DELETE, retention settings, /scavenge."""

from __future__ import annotations

import pytest
import trio

from fleet.config import Config, with_overrides
from fleet.db import ScavengeProgress, ScavengeReport
from fleet.server._errors import Refusal
from fleet.server._scavenge import ScavengeJob
from fleet.vocabulary import generate_mission_id
from tests.server.conftest import Api, created, open_api, updated

pytestmark = pytest.mark.trio


async def append(api: Api, stream: str, *events: dict[str, object], **body: object) -> int:
    answer = await api.client.post(f"/streams/{stream}/events", json={"events": events, **body})
    assert answer.status_code == 200, answer.text
    version: int = answer.json()["last_version"]
    return version


async def versions(api: Api, stream: str, **params: object) -> list[int]:
    page = await api.client.get(f"/streams/{stream}", params=params)
    assert page.status_code == 200, page.text
    return [event["version"] for event in page.json()["events"]]


async def test_a_soft_delete_hides_the_stream_until_an_append_starts_it_again(api: Api) -> None:
    mission = generate_mission_id()
    await append(api, mission, created(), updated("a"))
    deleted = await api.client.delete(f"/streams/{mission}", params={"expected_version": 2})
    assert deleted.status_code == 200, deleted.text
    body = deleted.json()
    assert (body["stream_id"], body["version"], body["hard"]) == (mission, 3, False)

    gone = await api.client.get(f"/streams/{mission}")
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "stream_deleted")
    listed = (await api.client.get("/streams", params={"prefix": "msn"})).json()["streams"]
    assert mission not in [entry["stream_id"] for entry in listed]
    again = await api.client.delete(f"/streams/{mission}")
    assert again.json() == body

    refused = await api.client.post(f"/streams/{mission}/events", json={"events": [updated("b")]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_transition")
    assert await append(api, mission, created("again"), expected_version="no_stream") == 4
    assert await versions(api, mission) == [4]
    log = (await api.client.get("/events", params={"event_types": "$deleted"})).json()["events"]
    assert [(e["stream_id"], e["version"], e["data"]) for e in log] == [
        (mission, 3, {"type": "$deleted", "hard": False})
    ]


async def test_a_hard_delete_is_gone_for_good(api: Api) -> None:
    mission = generate_mission_id()
    await append(api, mission, created())
    tombstone = await api.client.delete(f"/streams/{mission}", params={"hard": "true"})
    assert tombstone.json()["hard"] is True
    for method, path, kwargs in [
        ("GET", f"/streams/{mission}", {}),
        ("POST", f"/streams/{mission}/events", {"json": {"events": [created()]}}),
        ("PUT", f"/streams/{mission}/metadata", {"json": {"max_count": 3}}),
        ("DELETE", f"/streams/{mission}", {}),
        ("DELETE", f"/streams/{mission}", {"params": {"hard": "true"}}),
        (
            "POST",
            "/append",
            {"json": {"appends": [{"stream_id": mission, "events": [created()]}]}},
        ),
    ]:
        answer = await api.client.request(method, path, **kwargs)
        assert (answer.status_code, answer.json()["error"]["code"]) == (410, "stream_deleted"), (
            method,
            path,
        )
    metadata = (await api.client.get(f"/streams/{mission}/metadata")).json()
    assert (metadata["version"], metadata["deleted"], metadata["hard_deleted"]) == (2, True, True)


async def test_a_delete_at_the_wrong_version_or_of_nothing_changes_nothing(api: Api) -> None:
    mission = generate_mission_id()
    missing = await api.client.delete(f"/streams/{mission}")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    await append(api, mission, created())
    wrong = await api.client.delete(f"/streams/{mission}", params={"expected_version": 5})
    assert wrong.status_code == 409
    assert (wrong.json()["error"]["expected"], wrong.json()["error"]["actual"]) == (5, 1)
    assert await versions(api, mission) == [1]


async def test_retention_settings_hold_for_reads_at_once(api: Api) -> None:
    mission = generate_mission_id()
    await append(api, mission, created(), *(updated(str(n)) for n in range(5)))
    saved = await api.client.put(f"/streams/{mission}/metadata", json={"max_count": 3})
    assert saved.json()["version"] == 6
    assert await versions(api, mission) == [4, 5, 6]
    assert await versions(api, mission, direction="backwards") == [6, 5, 4]
    first = (await api.client.get(f"/streams/{mission}", params={"limit": 2})).json()
    assert ([e["version"] for e in first["events"]], first["next_version"]) == ([4, 5], 6)
    await api.client.put(
        f"/streams/{mission}/metadata", json={"max_count": None, "truncate_before": 3}
    )
    assert await versions(api, mission) == [3, 4, 5, 6]
    back = (
        await api.client.get(
            f"/streams/{mission}", params={"direction": "backwards", "from_version": 4, "limit": 2}
        )
    ).json()
    assert ([e["version"] for e in back["events"]], back["next_version"]) == ([4, 3], None)
    assert len((await api.client.get("/events")).json()["events"]) == 6


async def test_scavenge_removes_what_was_released_and_reports_it(api: Api) -> None:
    kept, trimmed, gone = generate_mission_id(), generate_mission_id(), generate_mission_id()
    for mission in (kept, trimmed, gone):
        await append(api, mission, created(), updated("a"), updated("b"))
    await api.client.put(f"/streams/{trimmed}/metadata", json={"max_count": 1})
    await api.client.delete(f"/streams/{gone}", params={"hard": "true"})
    await append(api, kept, updated("last"))
    status = (await api.client.get("/scavenge")).json()
    assert status == {"running": False, "progress": None, "last": None}

    done = await api.client.post("/scavenge", params={"batch_size": 1})
    assert done.status_code == 200, done.text
    report = done.json()
    assert (report["streams_examined"], report["events_removed"]) == (2, 5)
    assert report["size_before"] > 0
    log = (await api.client.get("/events")).json()["events"]
    assert sorted((e["stream_id"], e["version"]) for e in log) == sorted(
        [(kept, 1), (kept, 2), (kept, 3), (kept, 4), (trimmed, 3), (gone, 4)]
    )
    assert (await api.client.get("/scavenge")).json()["last"] == report
    again = (await api.client.post("/scavenge")).json()
    assert again["events_removed"] == 0

    bad = await api.client.post("/scavenge", params={"batch_size": "0"})
    assert (bad.status_code, bad.json()["error"]["problems"][0]["path"]) == (422, "batch_size")


async def test_one_scavenge_at_a_time() -> None:
    job = ScavengeJob()
    release = trio.Event()
    report = ScavengeReport(1, 2, 0, 10, 100, 90, 10, 0.1)

    async def slow(progress):  # type: ignore[no-untyped-def]
        progress(ScavengeProgress(1, 3, 2))
        await release.wait()
        return report

    async with trio.open_nursery() as nursery:
        nursery.start_soon(job.run, slow)
        await trio.testing.wait_all_tasks_blocked()
        running = job.status()
        assert (running.running, running.progress) == (True, ScavengeProgress(1, 3, 2))
        with pytest.raises(Refusal) as refused:
            await job.run(slow)
        assert (refused.value.status, refused.value.code) == (409, "scavenge_running")
        release.set()
    assert job.status() == (ScavengeJob().status().__class__)(False, None, report)


async def test_the_live_views_read_your_writes_and_drop_a_deleted_stream(
    server_config: Config,
) -> None:
    # Gathering for a minute: only read-your-writes can make these reads current.
    config = with_overrides(server_config, projections={"gather_ms": 60_000.0})
    async with open_api(config, live_projections=True) as live:
        missions = [generate_mission_id() for _ in range(3)]
        for n, mission in enumerate(missions):
            await append(live, mission, created(f"m{n}"))
            with trio.fail_after(5):
                view = await live.client.get(f"/missions/{mission}")
            assert (view.status_code, view.json()["title"]) == (200, f"m{n}")
        await live.client.delete(f"/streams/{missions[0]}", params={"hard": "true"})
        gone = await live.client.get(f"/missions/{missions[0]}")
        assert gone.status_code == 404
        listed = (await live.client.get("/missions")).json()["missions"]
        assert sorted(m["mission_id"] for m in listed) == sorted(missions[1:])
