"""Clients that never read what they asked for cost the daemon bounded memory, are let go
after ``server.stream_send_timeout_s``, and do not hold up its shutdown."""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import pytest
import trio

from fleet.config import Config, with_overrides
from fleet.core.ids import generate_event_id
from fleet.events import JsonPayload
from fleet.projections import open_projections
from fleet.read_models.http import BUILTIN_API
from fleet.store import StreamAppend, open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id
from tests.server import large_events
from tests.server.conftest import Daemon, DaemonFactory

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
EVENTS = 9_000
EVENT_TEXT = 9_000
LARGE_EVENTS = 300
LARGE_EVENT_TEXT = 300_000
SUBSCRIBE = "/subscribe?from_position=0"
TCP_STATES = {"01": "ESTABLISHED", "04": "FIN_WAIT1", "08": "CLOSE_WAIT"}


def seed(url: str, directory: Path) -> None:
    """A log of about 9,000 events of about 9 KB each, which the built-in read models
    have applied (a daemon does not start by catching them up: what that costs is not
    what the tests measure)."""
    config = with_overrides(Config(project_dir=str(directory)), database={"url": url})

    async def record() -> None:
        async with (
            open_store(config) as store,
            open_projections(
                store, BUILTIN_API.projections, prepare=BUILTIN_API.prepare
            ) as read_models,
        ):
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
            with trio.fail_after(60):
                await read_models.wait_for_position(await store.head_position())

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


def wait_until(done: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.05)


@contextmanager
def silent_clients(daemon: Daemon, targets: list[str]) -> Iterator[list[socket.socket]]:
    """A connection for each target, that asks for it and never reads a byte."""
    address = urlsplit(daemon.url)
    assert address.hostname is not None
    clients: list[socket.socket] = []
    try:
        for target in targets:
            client = socket.create_connection((address.hostname, address.port))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            request = f"GET {target} HTTP/1.1\r\nHost: {address.netloc}\r\n\r\n"
            client.sendall(request.encode())
            clients.append(client)
        yield clients
    finally:
        for client in clients:
            client.close()


def daemon_end(daemon: Daemon, client: socket.socket | int) -> tuple[str, int] | None:
    """The TCP state of the daemon's end of the connection of ``client`` (or of the
    client's port) and the bytes it has sent that the client has not taken (``None``:
    the daemon's end is gone)."""
    port = urlsplit(daemon.url).port
    peer = client if isinstance(client, int) else client.getsockname()[1]
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = (int(address.rsplit(":", 1)[1], 16) for address in fields[1:3])
            if (local, remote) == (port, peer):
                unsent = int(fields[4].split(":")[0], 16)
                return TCP_STATES.get(fields[3], fields[3]), unsent
    return None


def stuck(daemon: Daemon, client: socket.socket) -> bool:
    """Whether the daemon is writing to ``client`` and waits for it to read."""
    end = daemon_end(daemon, client)
    return end is not None and end[0] == "ESTABLISHED" and end[1] > 0


def read_to_the_end(client: socket.socket) -> bytes:
    """Everything ``client`` still has to read, up to the end (or reset) of its connection."""
    client.settimeout(10)
    received = b""
    try:
        while chunk := client.recv(1 << 16):
            received += chunk
    except ConnectionResetError:
        pass
    return received


Live = tuple[Callable[[], str], dict[str, Any]]
"""How to make a new stream's id, and a small event to append to it."""
MISSIONS: Final[Live] = (generate_mission_id, {"type": "MissionCreated", "data": {"title": "l"}})
BLOBS: Final[Live] = (lambda: f"blob-{generate_event_id()[4:]}", {"type": "Small", "data": {}})


@contextmanager
def appending(daemon: Daemon, live: Live = MISSIONS) -> Iterator[None]:
    """Keep appending small events through the daemon until the block ends."""
    stop = threading.Event()
    new_stream, event = live

    def run() -> None:
        with httpx.Client(base_url=daemon.url, timeout=10) as client:
            while not stop.is_set():
                body = {"events": [event]}
                response = client.post(f"/streams/{new_stream()}/events", json=body)
                assert response.status_code == 200, response.text
                stop.wait(0.02)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@pytest.fixture(scope="module")
def heavy_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    """About 9,000 events of about 9 KB (the tests of this module only add small ones)."""
    directory = tmp_path_factory.mktemp("heavy")
    url = f"sqlite:///{directory / 'heavy.db'}"
    seed(url, directory)
    return url


@pytest.fixture(scope="module")
def large_events_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    """300 events of about 300 KB, in streams of :mod:`tests.server.large_events`."""
    directory = tmp_path_factory.mktemp("large")
    url = f"sqlite:///{directory / 'large.db'}"
    config = with_overrides(
        Config(project_dir=str(directory)),
        database={"url": url},
        store={"catalog": large_events.SETTINGS},
    )

    async def record() -> None:
        async with open_store(config) as store:
            for _ in range(LARGE_EVENTS // 10):
                events = [JsonPayload("Large", {"text": "x" * LARGE_EVENT_TEXT})] * 10
                await store.append(f"blob-{generate_event_id()[4:]}", events)

    trio.run(record)
    return url


def silent_clients_memory(
    daemon: Daemon, targets: list[str], live: Live = MISSIONS
) -> tuple[int, int, int]:
    """The daemon's RSS before silent clients of ``targets`` come (the read models
    caught up and their memory trimmed), at its peak from their requests until 3 s
    after each has a write waiting for it (small events are appended meanwhile), and
    once they left; in bytes."""
    settled(daemon)
    time.sleep(0.5)  # a trim has run since the read models caught up
    baseline = rss(daemon)
    peak = baseline
    with appending(daemon, live), silent_clients(daemon, targets) as clients:
        ports = [client.getsockname()[1] for client in clients]
        give_up = time.monotonic() + 30
        until: float | None = None  # some time after every client's write is stuck
        while until is None or time.monotonic() < until:
            peak = max(peak, rss(daemon))
            if until is None and all(stuck(daemon, client) for client in clients):
                until = time.monotonic() + 3
            assert time.monotonic() < give_up, "the daemon's writes did not wait for the clients"
            time.sleep(0.1)
    wait_until(lambda: all(daemon_end(daemon, port) is None for port in ports), "closed ends")
    wait_for_streams(daemon, 0)
    time.sleep(0.5)  # a trim has run since they left
    return baseline, peak, rss(daemon)


def test_twenty_clients_that_never_read_cost_bounded_memory(
    daemon_factory: DaemonFactory, heavy_log: str
) -> None:
    daemon = daemon_factory("--database-url", heavy_log, env={"FLEET_SERVER_MEMORY_TRIM_S": "0.2"})
    baseline, peak, after = silent_clients_memory(daemon, [SUBSCRIBE] * 20)
    print(
        f"\ndaemon RSS: baseline {baseline / MB:.0f} MB, peak with 20 silent subscribers "
        f"{peak / MB:.0f} MB, after they left {after / MB:.0f} MB",
        file=sys.stderr,
    )
    assert peak < 200 * MB
    assert after < baseline + 40 * MB


def test_twenty_subscribers_to_large_events_that_never_read_cost_bounded_memory(
    daemon_factory: DaemonFactory, large_events_log: str
) -> None:
    daemon = daemon_factory(
        "--database-url",
        large_events_log,
        env={
            "FLEET_SERVER_MEMORY_TRIM_S": "0.2",
            "FLEET_STORE_CATALOG": large_events.SETTINGS,
            "PYTHONPATH": str(ROOT),
        },
    )
    baseline, peak, after = silent_clients_memory(daemon, [SUBSCRIBE] * 20, BLOBS)
    print(
        f"\ndaemon RSS: baseline {baseline / MB:.0f} MB, peak with 20 silent subscribers "
        f"to 300 KB events {peak / MB:.0f} MB, after they left {after / MB:.0f} MB",
        file=sys.stderr,
    )
    assert peak < baseline + 100 * MB
    assert after < baseline + 40 * MB


def test_ten_readers_of_large_pages_that_never_read_cost_bounded_memory(
    daemon_factory: DaemonFactory, heavy_log: str
) -> None:
    daemon = daemon_factory("--database-url", heavy_log, env={"FLEET_SERVER_MEMORY_TRIM_S": "0.2"})
    pages = [f"/events?from_position={index}&limit=10000" for index in range(10)]
    baseline, peak, after = silent_clients_memory(daemon, pages)
    print(
        f"\ndaemon RSS: baseline {baseline / MB:.0f} MB, peak with 10 silent readers of "
        f"GET /events pages {peak / MB:.0f} MB, after they left {after / MB:.0f} MB",
        file=sys.stderr,
    )
    assert peak < baseline + 150 * MB  # ten pages of 4 MiB being built, then written
    assert after < baseline + 40 * MB


@pytest.mark.parametrize("target", [SUBSCRIBE, "/events?limit=10000"])
def test_a_connection_whose_client_reads_nothing_is_aborted_after_the_send_timeout(
    daemon_factory: DaemonFactory, heavy_log: str, target: str
) -> None:
    daemon = daemon_factory(
        "--database-url", heavy_log, env={"FLEET_SERVER_STREAM_SEND_TIMEOUT_S": "0.5"}
    )
    with silent_clients(daemon, [target]) as (client,):
        wait_until(lambda: daemon_end(daemon, client) is None, "the daemon to drop the connection")
        wait_for_streams(daemon, 0)
        assert read_to_the_end(client).startswith(b"HTTP/1.1 200")
    assert daemon.stop() == 0
    log = daemon.stderr()
    assert "connection aborted" in log
    assert "server.stream_send_timeout_s" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("target", [SUBSCRIBE, "/events?limit=10000"])
def test_sigterm_stops_the_daemon_within_its_grace_period_while_a_client_reads_nothing(
    daemon_factory: DaemonFactory, heavy_log: str, target: str
) -> None:
    grace = 2.0
    daemon = daemon_factory(
        "--database-url", heavy_log, env={"FLEET_SERVER_SHUTDOWN_GRACE_S": str(grace)}
    )
    with silent_clients(daemon, [target]) as (client,):
        wait_until(lambda: stuck(daemon, client), "a write the client leaves unread")
        started = time.monotonic()
        code = daemon.stop(timeout=grace + 10)
        stopped_after = time.monotonic() - started
        assert daemon_end(daemon, client) is None
    assert code == 0
    assert stopped_after < grace + 3
    log = daemon.stderr()
    assert "connection aborted" in log
    assert "server.shutdown_grace_s" in log
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
