"""Daemon fixtures: the app in-process (httpx over ASGI) and ``fleet serve`` as a subprocess."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import httpx
import pytest
import structlog
import trio
from prometheus_client.parser import text_string_to_metric_families

from fleet.config import Config, with_overrides
from fleet.core.ids import generate_event_id
from fleet.projections import open_projections
from fleet.read_models.http import BUILTIN_API
from fleet.server import ReadModelApi, Service, create_app, open_service
from fleet.store import EventStore, open_store


@pytest.fixture(autouse=True)
def plain_logging() -> Iterator[None]:
    """Plain key=value logs (tracebacks as text) during each test, structlog's defaults after.

    ``fleet serve`` in-process configures logging for the whole process; this
    keeps that from leaking into later tests.
    """
    structlog.configure(
        processors=[structlog.processors.format_exc_info, structlog.processors.KeyValueRenderer()]
    )
    yield
    structlog.reset_defaults()


def created(title: str = "Survey the ridge", **envelope: Any) -> dict[str, Any]:
    """A ``MissionCreated`` event as a client sends it."""
    return {"type": "MissionCreated", "data": {"title": title}, **envelope}


def updated(description: str, **envelope: Any) -> dict[str, Any]:
    """A ``MissionUpdated`` event as a client sends it."""
    return {"type": "MissionUpdated", "data": {"description": description}, **envelope}


def with_ids(*events: dict[str, Any]) -> list[dict[str, Any]]:
    """The events with client-chosen ids (what makes a retry idempotent)."""
    return [{**event, "event_id": generate_event_id()} for event in events]


@dataclass
class Api:
    """The application in-process: an httpx client over ASGI, and what it serves."""

    client: httpx.AsyncClient
    service: Service
    store: EventStore


@asynccontextmanager
async def open_api(
    config: Config,
    *,
    live_projections: bool = False,
    read_models: ReadModelApi | None = BUILTIN_API,
    **service_options: Any,
) -> AsyncIterator[Api]:
    """Open the store, the service and a client of the app (no network).

    The app serves ``read_models`` (the built-in ones by default), their tables
    prepared; with ``live_projections`` they are kept live as ``fleet serve`` does.
    """
    read_models = read_models or ReadModelApi()
    async with open_store(config) as store, AsyncExitStack() as stack:
        for prepare in read_models.prepare:
            await trio.to_thread.run_sync(prepare, store.database)
        runner = None
        if live_projections:
            runner = await stack.enter_async_context(
                open_projections(store, read_models.projections)
            )
        service = await stack.enter_async_context(
            open_service(store, config.server, projections=runner, **service_options)
        )
        transport = httpx.ASGITransport(app=create_app(service, read_models))
        async with httpx.AsyncClient(transport=transport, base_url="http://fleet") as client:
            yield Api(client, service, store)


@pytest.fixture
def server_config(sqlite_url: str, tmp_path: Path) -> Config:
    """A SQLite configuration for the in-process app."""
    return with_overrides(Config(project_dir=str(tmp_path)), database={"url": sqlite_url})


@pytest.fixture
async def api(server_config: Config) -> AsyncIterator[Api]:
    """The app over a fresh SQLite database, without a token."""
    async with open_api(server_config) as opened:
        yield opened


@dataclass
class Exchange:
    """What an application sent for one request driven by :func:`drive`."""

    status: int
    headers: dict[str, str]
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def drive(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: list[bytes] | None = None,
    until: Callable[[Exchange], bool] | None = None,
    query: str = "",
    then: Literal["end", "stall", "leave"] = "end",
) -> Exchange:
    """Call an ASGI app directly, as a server would.

    The request body is sent in the chunks given (no Content-Length unless in
    ``headers``); ``then`` says what follows the last chunk: the body's end,
    nothing ever (a stalled body) or a disconnect. When ``until`` is given, the
    client disconnects as soon as ``until(exchange)`` is true after a body
    chunk (for endless responses).
    """
    chunks = list(body or [b""])
    disconnect = trio.Event()
    exchange = Exchange(0, {}, [])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    if then == "leave":
        disconnect.set()

    async def receive() -> dict[str, Any]:
        if chunks:
            chunk = chunks.pop(0)
            more = bool(chunks) or then != "end"
            return {"type": "http.request", "body": chunk, "more_body": more}
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            exchange.chunks.append(message.get("body", b""))
            if until is not None and until(exchange):
                disconnect.set()

    await app(scope, receive, send)
    return exchange


# ----------------------------------------------------------------------------- subprocess


async def until_shutting_down(url: str) -> None:
    """Return once the daemon at ``url`` has begun to shut down: its readiness fails
    (503) or it no longer takes connections. Fails after 10 s."""
    with trio.fail_after(10):
        while True:
            try:
                async with httpx.AsyncClient(base_url=url, timeout=5) as probe:
                    if (await probe.get("/health/ready")).status_code == 503:
                        return
            except httpx.TransportError:
                return
            await trio.sleep(0.01)


def clean_environment() -> dict[str, str]:
    """The test environment without any FLEET_* setting."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}


@dataclass
class Daemon:
    """A running ``fleet serve`` subprocess.

    Its log is read as it is written (by a thread): a daemon whose stderr pipe
    filled up would block in its own logging call and stop answering.
    """

    process: subprocess.Popen[str]
    url: str
    first_line: str
    log: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` and return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def stderr(self) -> str:
        """Everything the daemon logged (call after it exited)."""
        self.finish()
        return "".join(self.log)

    def finish(self) -> None:
        """Wait for the exited daemon's log to be read and close its pipes."""
        self.process.wait(timeout=30)
        if self.reader is not None:
            self.reader.join(timeout=30)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def _read_log(pipe: IO[str], log: list[str]) -> None:
    for line in pipe:
        log.append(line)


def start_daemon(
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Daemon:
    """Start ``fleet serve --port 0 ARGS...`` in ``cwd`` and wait for its URL line."""
    command = [sys.executable, "-m", "fleet.cli", "serve", "--port", "0", *args]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=clean_environment() | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    log: list[str] = []
    reader = threading.Thread(target=_read_log, args=(process.stderr, log), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            prefix = "fleet: listening on "
            if line.startswith(prefix):
                return Daemon(process, line[len(prefix) :].strip(), line, log, reader)
        if process.poll() is not None:
            break
    process.kill()
    failed = Daemon(process, "", "", log, reader)
    raise AssertionError(f"fleet serve did not start: {failed.stderr()}")


DaemonFactory = Callable[..., Daemon]


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[DaemonFactory]:
    """Start daemons in ``tmp_path``; each is stopped (killed if need be) afterwards."""
    started: list[Daemon] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Daemon:
        daemon = start_daemon(tmp_path, *args, env=env)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
        daemon.finish()


@pytest.fixture(scope="module")
def shared_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon on a SQLite file for a whole module (tests use their own streams)."""
    directory = tmp_path_factory.mktemp("daemon")
    daemon = start_daemon(directory, "--database-url", f"sqlite:///{directory / 'fleet.db'}")
    yield daemon
    code = daemon.stop()
    daemon.finish()
    assert code == 0


def metric_samples(page: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a metrics page, parsed by prometheus_client's own parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }
