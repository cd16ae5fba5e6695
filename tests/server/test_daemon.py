"""``serve()`` and ``fleet serve`` in-process: start, listen, drain and stop on a signal."""

from __future__ import annotations

import gc
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from fleet.cli import main
from fleet.compiled import compiled_modules
from fleet.config import Config, with_overrides
from fleet.server import hypercorn_config, serve
from fleet.store import open_store
from fleet.vocabulary import generate_mission_id
from tests.server.conftest import (
    DaemonFactory,
    clean_environment,
    created,
    until_shutting_down,
)


@pytest.mark.trio
async def test_serve_until_stop(server_config: Config) -> None:
    config = with_overrides(server_config, server={"port": 0})
    stop = trio.Event()
    urls: list[str] = []
    mission = generate_mission_id()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(serve, config, urls.append, stop=stop))
        with trio.fail_after(10):
            while not urls:
                await trio.sleep(0.01)
        assert urls[0].startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=urls[0]) as client:
            done = await client.post(f"/streams/{mission}/events", json={"events": [created()]})
            assert done.status_code == 200
        stop.set()
    async with trio.open_nursery() as nursery:
        urls.clear()
        stop = trio.Event()
        nursery.start_soon(partial(serve, config, urls.append, stop=stop))
        with trio.fail_after(10):
            while not urls:
                await trio.sleep(0.01)
        async with httpx.AsyncClient(base_url=urls[0]) as client:
            page = await client.get(f"/streams/{mission}")
            assert page.json()["events"][0]["stream_id"] == mission
        stop.set()


def in_flight(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("fleet_http_requests_in_flight "):
            return float(line.split()[1])
    return 0.0


@pytest.mark.trio
async def test_sigterm_drains_appends_in_flight(server_config: Config) -> None:
    config = with_overrides(server_config, server={"port": 0})
    urls: list[str] = []
    missions = [generate_mission_id() for _ in range(5)]
    answers: list[int] = []
    path = server_config.database.url.removeprefix("sqlite:///")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve, config, urls.append)
        with trio.fail_after(10):
            while not urls:
                await trio.sleep(0.01)
        async with httpx.AsyncClient(base_url=urls[0]) as client:

            async def append(mission: str) -> None:
                body = {"events": [created()]}
                answers.append(
                    (await client.post(f"/streams/{mission}/events", json=body)).status_code
                )

            lock = sqlite3.connect(path, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            try:
                async with trio.open_nursery() as appends:
                    for mission in missions:
                        appends.start_soon(append, mission)
                    with trio.fail_after(10):
                        while in_flight((await client.get("/metrics")).text) < len(missions) + 1:
                            await trio.sleep(0.01)
                    os.kill(os.getpid(), signal.SIGTERM)
                    await until_shutting_down(urls[0])
                    lock.execute("ROLLBACK")
            finally:
                lock.close()
    assert answers == [200] * len(missions)
    async with open_store(server_config) as store:
        for mission in missions:
            assert await store.stream_version(mission) == 1


def test_hypercorn_settings() -> None:
    config = with_overrides(Config(), server={"host": "::1", "port": 9, "shutdown_grace_s": 3})
    settings = hypercorn_config(config.server)
    assert settings.bind == ["[::1]:9"]
    assert settings.graceful_timeout == 3
    assert hypercorn_config(Config().server).bind == ["127.0.0.1:8420"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_fleet_serve_in_process_stops_on_sigterm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("FLEET_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    port = free_port()
    seen: list[int] = []

    def stop_when_up() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                seen.append(httpx.get(f"http://127.0.0.1:{port}/health/live").status_code)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    settings = (gc.get_threshold(), sys.getswitchinterval())
    thread = threading.Thread(target=stop_when_up)
    thread.start()
    code = main(["serve", "--port", str(port), "--host", "127.0.0.1", "--token", "t"])
    thread.join()
    assert code == 0
    assert seen == [200]
    captured = capsys.readouterr()
    assert captured.out == f"fleet: listening on http://127.0.0.1:{port}\n"
    assert f"compiled={','.join(compiled_modules()) or 'none'}" in captured.err
    assert (tmp_path / ".fleet" / "fleet.db").is_file()
    # once it returns, the process is as it was
    assert {number: signal.getsignal(number) for number in handlers} == handlers
    assert (gc.get_threshold(), sys.getswitchinterval()) == settings


@pytest.mark.parametrize(
    ("host", "reason"),
    [("127.0.0.1", "Address already in use"), ("192.0.2.1", "Cannot assign requested address")],
)
def test_fleet_serve_on_an_address_it_cannot_bind_says_so_in_one_line(
    tmp_path: Path, host: str, reason: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "fleet.cli",
                "serve",
                "--host",
                host,
                "--port",
                str(port),
                "--token",
                "t",
            ],
            cwd=tmp_path,
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"fleet: error: cannot listen on {host}:{port}: {reason}\n"


def test_an_address_beyond_loopback_needs_a_token_or_an_explicit_choice(
    tmp_path: Path, daemon_factory: DaemonFactory
) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "fleet.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        cwd=tmp_path,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith("fleet: error: refusing to serve on 0.0.0.0 without a token")
    assert refused.stderr.count("\n") == 1
    assert not (tmp_path / ".fleet").exists()
    with_token = daemon_factory("--host", "0.0.0.0", "--token", "t")
    assert with_token.url.startswith("http://0.0.0.0:")
    assert with_token.stop() == 0
    chosen = daemon_factory("--host", "0.0.0.0", env={"FLEET_SERVER_ALLOW_NO_TOKEN": "true"})
    assert chosen.url.startswith("http://0.0.0.0:")
    assert chosen.stop() == 0


def test_with_a_certificate_and_key_the_daemon_speaks_https_only(
    tmp_path: Path, daemon_factory: DaemonFactory
) -> None:
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    env = {"FLEET_SERVER_TLS_CERTIFICATE": str(certificate), "FLEET_SERVER_TLS_KEY": str(key)}
    daemon = daemon_factory(env=env)
    assert daemon.url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=str(certificate))
    assert httpx.get(f"{daemon.url}/health/live", verify=context).status_code == 200
    plain = daemon.url.replace("https://", "http://")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{plain}/health/live", timeout=5)
    assert daemon.stop() == 0
    half = {"FLEET_SERVER_TLS_CERTIFICATE": str(certificate)}
    refused = subprocess.run(
        [sys.executable, "-m", "fleet.cli", "serve", "--port", "0"],
        cwd=tmp_path,
        env=clean_environment() | half,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "needs both server.tls_certificate and server.tls_key" in refused.stderr
