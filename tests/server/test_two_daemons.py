"""Two ``fleet serve`` processes on one PostgreSQL database -- how Fleet scales out.

Clients write overlapping streams through both daemons with ``any`` and exact
expected versions. No request may get a 5xx; every conflict is a 409 naming a
version the stream really passed; every acknowledged event is stored where the
daemon said; and a subscriber on one daemon receives every event written
through either, in order.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import sqlalchemy as sa

from fleet.vocabulary import generate_mission_id
from tests.server.conftest import DaemonFactory, created


def _subscribe(url: str, seen: list[int], stop: threading.Event) -> None:
    try:
        _follow(url, seen, stop)
    except httpx.HTTPError:
        if not stop.is_set():
            raise


def _follow(url: str, seen: list[int], stop: threading.Event) -> None:
    with (
        httpx.Client(base_url=url, timeout=httpx.Timeout(60, read=None)) as client,
        client.stream("GET", "/subscribe", params={"from_position": 0}) as response,
    ):
        assert response.status_code == 200
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind == "event":
                seen.append(httpx.Response(200, content=line[6:]).json()["position"])
            if not line:
                kind = None
            if stop.is_set():
                return


def _writer(url: str, streams: list[str], seconds: float, log: dict[str, list[Any]]) -> None:
    deadline = time.monotonic() + seconds
    turn = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.monotonic() < deadline:
            stream = streams[turn % len(streams)]
            turn += 1
            path = f"/streams/{stream}/events"
            any_reply = client.post(path, json={"events": [updated(turn)]})
            log["statuses"].append(any_reply.status_code)
            if any_reply.status_code == 200:
                log["acknowledged"].append(any_reply.json())
            version = client.get(f"/streams/{stream}/metadata").json()["version"]
            exact = client.post(path, json={"expected_version": version, "events": [updated(turn)]})
            log["statuses"].append(exact.status_code)
            if exact.status_code == 200:
                log["acknowledged"].append(exact.json())
            elif exact.status_code == 409:
                log["conflicts"].append((stream, exact.json()["error"]))


def updated(turn: int) -> dict[str, Any]:
    return {"type": "MissionUpdated", "data": {"description": f"turn {turn}"}}


def test_two_daemons_on_one_postgres_database(
    daemon_factory: DaemonFactory, postgres_url: str
) -> None:
    first = daemon_factory("--database-url", postgres_url)
    second = daemon_factory("--database-url", postgres_url)
    streams = [generate_mission_id() for _ in range(4)]
    with httpx.Client(base_url=first.url, timeout=30) as client:
        for stream in streams:
            made = client.post(
                f"/streams/{stream}/events",
                json={"expected_version": "no_stream", "events": [created()]},
            )
            assert made.status_code == 200, made.text
    seen: list[int] = []
    stop = threading.Event()
    subscriber = threading.Thread(target=_subscribe, args=(second.url, seen, stop), daemon=True)
    subscriber.start()
    logs = [{"statuses": [], "acknowledged": [], "conflicts": []} for _ in range(4)]
    writers = [
        threading.Thread(target=_writer, args=(daemon.url, streams, 3.0, log))
        for daemon, log in zip([first, second, first, second], logs, strict=True)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    statuses = [status for log in logs for status in log["statuses"]]
    assert statuses
    assert set(statuses) <= {200, 409}, sorted(set(statuses))
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT position, stream_id, version FROM events ORDER BY position"
            ).all()
    finally:
        engine.dispose()
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    stored = {(row[1], row[2]): row[0] for row in rows}
    final = {row[1]: row[2] for row in rows}
    for log in logs:
        for ack in log["acknowledged"]:
            assert stored[(ack["stream_id"], ack["first_version"])] == ack["first_position"]
        for stream, error in log["conflicts"]:
            assert error["code"] == "wrong_expected_version"
            assert error["expected"] < error["actual"] <= final[stream]

    deadline = time.monotonic() + 30
    while len(seen) < len(rows) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    assert seen[: len(rows)] == list(range(1, len(rows) + 1))
