"""Appends over HTTP: ``fleet serve`` driven by several client processes on loopback.

``python -m bench http [--quick] [--clients 4] [--connections 32] [--requests 60]``

In one invocation, each in its own process:

==============  =========================================================================
raw-sqlite      ``sqlite3.executemany`` of the same rows (``bench.append``'s baseline)
in-process      fleet's ``store.append``: 1,000 streams, single-event appends
                (``bench.append``'s ``single`` scenario)
http-floor      hypercorn's trio worker answering every request with a constant JSON
                body: the most requests/s the HTTP layer itself allows on this machine
http            ``fleet serve`` with its defaults (request logs on, read models live)
                on a fresh SQLite file; every connection appends one event at a time to
                its own stream
http-quiet      the same with ``log.level = "warning"`` (no log line per request)
http-bare       quiet, and ``projections.enabled = false`` (no read models kept)
http-batch10    quiet, ten events per request
http-multiplex  quiet; one client process, ``--tasks`` concurrent tasks of one
                ``FleetClient`` each appending one event at a time to its own stream:
                the client carries the concurrent appends together (``POST /appends``)
==============  =========================================================================

The HTTP scenarios use ``--clients`` processes with ``--connections``
keep-alive connections each. Clients and daemon share the machine's cores.
The clients are minimal HTTP/1.1 senders (prepared request bytes, responses
read by ``Content-Length``): httpx costs about as much CPU per request as the
daemon, so with it the benchmark would mostly measure the clients. Latency is
measured by the clients, per request, from sending it to reading the whole answer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.append import spawn as spawn_append
from bench.append import typical_payloads
from bench.report import percentile, print_table, write_json

SCENARIOS = [
    "raw-sqlite",
    "in-process",
    "http-floor",
    "http",
    "http-quiet",
    "http-bare",
    "http-batch10",
    "http-multiplex",
]
QUIET = {"FLEET_LOG_LEVEL": "warning"}
DAEMONS: dict[str, tuple[dict[str, str], int]] = {
    "http-floor": (QUIET, 1),
    "http": ({}, 1),
    "http-quiet": (QUIET, 1),
    "http-bare": (QUIET | {"FLEET_PROJECTIONS_ENABLED": "false"}, 1),
    "http-batch10": (QUIET, 10),
    "http-multiplex": (QUIET, 1),
}
"""FLEET_* settings of the daemon and events per request, by scenario."""
LISTENING = "fleet: listening on "


# ----------------------------------------------------------------------------- client process


def _bodies(per_request: int) -> tuple[bytes, bytes]:
    """Request bodies: a stream's first event, and the events every timed request appends."""
    import msgspec

    from fleet.events import encode_payload

    created, updated = typical_payloads()

    def body(payloads: list[Any]) -> bytes:
        events = [{"type": p.event_type, "data": msgspec.Raw(encode_payload(p))} for p in payloads]
        return msgspec.json.encode({"events": events})

    return body([created]), body([updated] * per_request)


class _Connection:
    """One keep-alive HTTP/1.1 connection sending prepared requests one at a time.

    Responses are read by ``Content-Length`` (every answer of the daemon has one).
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._buffer = b""

    async def request(self, data: bytes) -> int:
        """Send one request and return the status of its response."""
        await self._stream.send_all(data)
        while b"\r\n\r\n" not in self._buffer:
            self._buffer += await self._receive()
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += await self._receive()
        self._buffer = rest[length:]
        return int(head[9:12])

    async def _receive(self) -> bytes:
        chunk: bytes = await self._stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk


def _request(host: str, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _client(url: str, connections: int, requests: int, per_request: int) -> dict[str, Any]:
    """Create one stream per connection, say ready, wait for ``go``, then time the appends."""
    from urllib.parse import urlsplit

    import trio

    from fleet.vocabulary import generate_mission_id

    first, later = _bodies(per_request)
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    latencies: list[float] = []
    failures = 0
    links: list[tuple[_Connection, bytes]] = []

    async def open_one() -> None:
        nonlocal failures
        path = f"/streams/{generate_mission_id()}/events"
        link = _Connection(await trio.open_tcp_stream(host, port))
        failures += await link.request(_request(host, path, first)) != 200
        links.append((link, _request(host, path, later)))

    async with trio.open_nursery() as nursery:
        for _ in range(connections):
            nursery.start_soon(open_one)
    print("ready", flush=True)
    await trio.to_thread.run_sync(sys.stdin.readline)

    async def worker(link: _Connection, data: bytes) -> None:
        nonlocal failures
        for _ in range(requests):
            started = time.perf_counter()
            status = await link.request(data)
            latencies.append(time.perf_counter() - started)
            failures += status != 200

    start = time.time()
    async with trio.open_nursery() as nursery:
        for link, data in links:
            nursery.start_soon(worker, link, data)
    end = time.time()
    return {"start": start, "end": end, "latencies": latencies, "failures": failures}


async def _multiplexed_client(url: str, tasks: int, appends: int) -> dict[str, Any]:
    """``tasks`` concurrent tasks of one :class:`~fleet.client.FleetClient`, each appending
    one event at a time to its own stream: the client carries them together."""
    import trio

    from fleet.client import FleetClient
    from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id

    latencies: list[float] = []
    failures = 0
    async with FleetClient(url, timeout=120) as client:
        streams = [generate_mission_id() for _ in range(tasks)]
        async with trio.open_nursery() as nursery:
            for stream in streams:
                nursery.start_soon(client.append, stream, [MissionCreated(title="bench")])
        print("ready", flush=True)
        await trio.to_thread.run_sync(sys.stdin.readline)

        async def worker(stream: str) -> None:
            nonlocal failures
            for n in range(appends):
                started = time.perf_counter()
                try:
                    await client.append(stream, [MissionUpdated(description=f"d{n}")])
                except Exception:
                    failures += 1
                latencies.append(time.perf_counter() - started)

        start = time.time()
        async with trio.open_nursery() as nursery:
            for stream in streams:
                nursery.start_soon(worker, stream)
        end = time.time()
    return {"start": start, "end": end, "latencies": latencies, "failures": failures}


# ----------------------------------------------------------------------------- servers


def _floor_server() -> None:
    """hypercorn's trio worker with a constant answer; prints its URL like ``fleet serve``."""
    from functools import partial

    import hypercorn.config
    import hypercorn.trio
    import trio

    body = b'{"stream_id":"msn-0","first_version":1}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    config = hypercorn.config.Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.backlog = 1024

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(partial(hypercorn.trio.serve, app, config))
            print(LISTENING + binds[0], flush=True)

    trio.run(main)


def _start_server(
    scenario: str, directory: str, settings: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")} | settings
    if scenario == "http-floor":
        command = [sys.executable, "-m", "bench", "http", "--floor-server"]
    else:
        database = f"sqlite:///{Path(directory) / 'fleet.db'}"
        command = [sys.executable, "-m", "fleet.cli", "serve", "--port", "0"]
        command += ["--database-url", database]
    server = subprocess.Popen(
        command,
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith(LISTENING):
        server.kill()
        raise SystemExit(f"{scenario}: the server did not start: {line!r}")
    return server, line.removeprefix(LISTENING).strip()


def _daemon_figures(url: str) -> dict[str, float]:
    import httpx

    response = httpx.get(f"{url}/metrics")
    figures: dict[str, float] = {}
    if response.headers.get("content-type", "").startswith("text/plain"):
        for line in response.text.splitlines():
            name, _, value = line.partition(" ")
            if name in {"fleet_store_mean_batch_events", "fleet_store_commits_total"}:
                figures[name] = float(value)
    return figures


def _server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_http(scenario: str, args: argparse.Namespace) -> dict[str, Any]:
    """Start the server, run the client processes together, stop the server."""
    settings, per_request = DAEMONS[scenario]
    with tempfile.TemporaryDirectory() as directory:
        server, url = _start_server(scenario, directory, settings)
        try:
            command = [sys.executable, "-m", "bench", "http", "--client", url]
            command += ["--connections", str(args.connections), "--requests", str(args.requests)]
            command += ["--per-request", str(per_request)]
            processes = args.clients
            if scenario == "http-multiplex":
                command += ["--multiplex", str(args.tasks)]
                processes = 1
            clients = [
                subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                for _ in range(processes)
            ]
            for client in clients:
                assert client.stdout is not None
                if client.stdout.readline().strip() != "ready":
                    raise SystemExit("a client process did not start")
            cpu_before = _server_cpu_s(server.pid)
            for client in clients:
                assert client.stdin is not None
                client.stdin.write("go\n")
                client.stdin.flush()
            outputs = [client.communicate()[0] for client in clients]
            cpu = _server_cpu_s(server.pid) - cpu_before
            results = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
            figures = _daemon_figures(url)
        finally:
            server.terminate()
            code = server.wait(timeout=30)
    latencies = sorted(x for r in results for x in r["latencies"])
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    return {
        "requests": len(latencies),
        "events": len(latencies) * per_request,
        "seconds": seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "failures": sum(r["failures"] for r in results),
        "batch": figures.get("fleet_store_mean_batch_events"),
        "server_cpu_ms_per_request": cpu * 1000 / len(latencies) if latencies else None,
        "server_exit": code,
        "concurrency": args.tasks
        if scenario == "http-multiplex"
        else args.clients * args.connections,
    }


# ----------------------------------------------------------------------------- parent


def _row(
    name: str, result: dict[str, Any], raw: float | None, local: float | None
) -> dict[str, Any]:
    seconds = result.get("seconds")
    events = result["events"] / seconds if seconds else None
    requests = result.get("requests", 0) / seconds if seconds and "requests" in result else None
    result["events_per_s"], result["requests_per_s"] = events, requests
    failures = result.get("failures")
    return {
        "scenario": name,
        "requests/s": requests,
        "events/s": events if name != "http-floor" else None,
        "x raw": events / raw if events and raw and name != "http-floor" else None,
        "x in-process": events / local if events and local and name != "http-floor" else None,
        "p50 ms": result.get("p50_ms"),
        "p99 ms": result.get("p99_ms"),
        "batch": result.get("batch"),
        "cpu ms/req": result.get("server_cpu_ms_per_request"),
        "conns": result.get("concurrency", 1000 if name == "in-process" else None),
        "note": result.get("error") or (f"{failures} failed" if failures else ""),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench http",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--connections", type=int, default=32, help="connections per client")
    parser.add_argument("--requests", type=int, default=60, help="requests per connection")
    parser.add_argument("--events", type=int, default=100_000, help="in-process and raw events")
    parser.add_argument("--only", default=",".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--per-request", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--floor-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--tasks", type=int, default=1000, help="http-multiplex: concurrent client tasks"
    )
    parser.add_argument("--multiplex", type=int, metavar="TASKS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.events = 10, 20_000
    if args.floor_server:
        _floor_server()
        return 0
    if args.client:
        import trio

        if args.multiplex:
            appends = max(1, args.clients * args.connections * args.requests // args.multiplex)
            result = trio.run(_multiplexed_client, args.client, args.multiplex, appends)
        else:
            result = trio.run(
                _client, args.client, args.connections, args.requests, args.per_request
            )
        print(json.dumps(result))
        return 0

    append_args = argparse.Namespace(
        events=args.events, peer_events=1, memory_streams=1, seconds=1.0
    )
    results: dict[str, dict[str, Any]] = {}
    for name in [n for n in SCENARIOS if n in args.only.split(",")]:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        if name == "raw-sqlite":
            results[name] = spawn_append("raw-sqlite", append_args)
        elif name == "in-process":
            results[name] = spawn_append("single", append_args)
        else:
            results[name] = run_http(name, args)
    raw = results.get("raw-sqlite", {})
    raw_rate = raw["events"] / raw["seconds"] if "seconds" in raw else None
    local = results.get("in-process", {})
    local_rate = local["events"] / local["seconds"] if "seconds" in local else None
    rows = [_row(name, result, raw_rate, local_rate) for name, result in results.items()]
    print_table(
        "HTTP append benchmark (one run; ratios are to raw executemany and to the "
        "in-process append in this run)",
        rows,
    )
    path = write_json("http", {"results": results, "settings": vars(args)})
    print(f"\nresults written to {path}")
    return 0
