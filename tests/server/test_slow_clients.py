"""Clients that subscribe and never read cost the daemon bounded memory, and are let go."""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import trio

from fleet.config import Config, with_overrides
from fleet.store import StreamAppend, open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id
from tests.server.conftest import Daemon, DaemonFactory

MB = 1024 * 1024
EVENTS = 9_000
EVENT_TEXT = 9_000


def seed(url: str, tmp_path: Path) -> None:
    """A log of about 9,000 events of about 9 KB each."""
    config = with_overrides(Config(project_dir=str(tmp_path)), database={"url": url})

    async def record() -> None:
        async with open_store(config) as store:
            for _ in range(EVENTS // 100):
                await store.append_many(
                    [
                        StreamAppend(
                            generate_mission_id(),
                            [
                                MissionCreated(title="heavy", description="d" * EVENT_TEXT),
                                MissionUpdated(description="u" * EVENT_TEXT),
                            ],
                        )
                        for _ in range(50)
                    ]
                )

    trio.run(record)


def rss(daemon: Daemon) -> int:
    status = Path(f"/proc/{daemon.process.pid}/status").read_text()
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert found is not None
    return int(found.group(1)) * 1024


def open_streams(daemon: Daemon) -> int:
    metrics = httpx.get(f"{daemon.url}/metrics", timeout=10).text
    found = re.search(r"^fleet_sse_streams (\d+)", metrics, re.MULTILINE)
    assert found is not None
    return int(found.group(1))


def wait_for_streams(daemon: Daemon, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while open_streams(daemon) != count:
        assert time.monotonic() < deadline, f"expected {count} open streams"
        time.sleep(0.05)


def settled(daemon: Daemon, timeout: float = 60.0) -> None:
    """Wait until the read models have caught up with the log (their memory is not ours)."""
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.get(f"{daemon.url}/projections", timeout=10).json()
        if all(row["lag"] == 0 for row in body["projections"]):
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    httpx.get(f"{daemon.url}/events", params={"limit": 1000}, timeout=10)


@contextmanager
def silent_subscribers(daemon: Daemon, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that ask for the whole log and never read a byte."""
    address = urlsplit(daemon.url)
    assert address.hostname is not None
    clients: list[socket.socket] = []
    try:
        for _ in range(count):
            client = socket.create_connection((address.hostname, address.port))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            request = f"GET /subscribe?from_position=0 HTTP/1.1\r\nHost: {address.netloc}\r\n\r\n"
            client.sendall(request.encode())
            clients.append(client)
        yield clients
    finally:
        for client in clients:
            client.close()


@contextmanager
def appending(daemon: Daemon) -> Iterator[None]:
    """Keep appending small events through the daemon until the block ends."""
    stop = threading.Event()

    def run() -> None:
        with httpx.Client(base_url=daemon.url, timeout=10) as client:
            while not stop.is_set():
                body = {"events": [{"type": "MissionCreated", "data": {"title": "live"}}]}
                response = client.post(f"/streams/{generate_mission_id()}/events", json=body)
                assert response.status_code == 200, response.text
                stop.wait(0.02)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def heavy_log(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'heavy.db'}"
    seed(url, tmp_path)
    return url


def test_twenty_clients_that_never_read_cost_bounded_memory(
    daemon_factory: DaemonFactory, heavy_log: str
) -> None:
    daemon = daemon_factory("--database-url", heavy_log, env={"FLEET_SERVER_MEMORY_TRIM_S": "0.2"})
    settled(daemon)
    time.sleep(0.5)  # a trim has run since the read models caught up
    baseline = rss(daemon)
    peak = baseline
    with appending(daemon), silent_subscribers(daemon, 20):
        wait_for_streams(daemon, 20)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            peak = max(peak, rss(daemon))
            time.sleep(0.1)
    wait_for_streams(daemon, 0)
    time.sleep(0.5)
    after = rss(daemon)
    print(
        f"\ndaemon RSS: baseline {baseline / MB:.0f} MB, peak with 20 silent subscribers "
        f"{peak / MB:.0f} MB, after they left {after / MB:.0f} MB",
        file=sys.stderr,
    )
    assert peak < 200 * MB
    assert after < baseline + 40 * MB


def test_a_stream_its_client_does_not_read_ends_after_the_send_timeout(
    daemon_factory: DaemonFactory, heavy_log: str
) -> None:
    daemon = daemon_factory(
        "--database-url", heavy_log, env={"FLEET_SERVER_STREAM_SEND_TIMEOUT_S": "0.5"}
    )
    with silent_subscribers(daemon, 1) as (client,):
        wait_for_streams(daemon, 1)
        wait_for_streams(daemon, 0)
        client.settimeout(10)
        assert client.recv(100).startswith(b"HTTP/1.1 200")
    assert daemon.stop() == 0
    log = daemon.stderr()
    assert "subscription stream ended" in log
    assert "stream_send_timeout_s" in log
    assert "Traceback" not in log


def test_a_body_that_stalls_or_is_abandoned_costs_no_500_and_no_traceback(
    daemon_factory: DaemonFactory, tmp_path: Path
) -> None:
    daemon = daemon_factory(
        "--database-url",
        f"sqlite:///{tmp_path / 'fleet.db'}",
        env={"FLEET_SERVER_BODY_TIMEOUT_S": "0.5"},
    )
    address = urlsplit(daemon.url)
    assert address.hostname is not None
    request = (
        f"POST /streams/{generate_mission_id()}/events HTTP/1.1\r\n"
        f"Host: {address.netloc}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n" + '{"events": [' + " " * 8
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as stalled:
        stalled.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = stalled.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b'"code":"body_timeout"' in body
    with socket.create_connection((address.hostname, address.port), timeout=10) as abandoned:
        abandoned.sendall(request)
    deadline = time.monotonic() + 10
    metrics = ""
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{daemon.url}/metrics", timeout=10).text
        if metrics.count('route="/streams/{stream_id}/events"') >= 2:
            break
        time.sleep(0.05)
    assert 'status="500"' not in metrics
    assert httpx.get(f"{daemon.url}/events", timeout=10).json()["events"] == []
    assert daemon.stop() == 0
    log = daemon.stderr()
    assert "Traceback" not in log
    assert "ClientDisconnect" not in log
