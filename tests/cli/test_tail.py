"""``fleet tail``: replay from a position, follow live events, stop cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trio

from fleet.config import Config
from fleet.store import open_store
from fleet.vocabulary import CATALOG, MissionCreated, generate_mission_id
from fleet.wire import decode_event
from tests.cli.conftest import Fleet, assert_one_line_error, seed


def append_after(config: Config, signal_: threading.Event, count: int = 1) -> threading.Thread:
    """Append ``count`` missions from another thread (its own store) once ``signal_`` is set."""

    async def record() -> None:
        assert await trio.to_thread.run_sync(signal_.wait, 60)
        async with open_store(config) as store:
            for _ in range(count):
                await store.append(generate_mission_id(), [MissionCreated(title="Live")])

    thread = threading.Thread(target=trio.run, args=(record,))
    thread.start()
    return thread


def when_following(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make standard error a terminal; the event is set once the tail says where it starts."""
    following = threading.Event()
    stderr = sys.stderr
    write = stderr.write

    def noting(text: str) -> int:
        if text.startswith("following the log"):
            following.set()
        return write(text)

    monkeypatch.setattr(stderr, "isatty", lambda: True)
    monkeypatch.setattr(stderr, "write", noting)
    return following


def test_replay_from_a_position_with_filters(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config
) -> None:
    seeded = seed(sqlite_config)
    url = ("--database-url", sqlite_url)
    replayed = fleet("tail", "--from", "0", "--limit", str(seeded.events), "--json", *url)
    assert replayed.code == 0, replayed.err
    events = [decode_event(line, CATALOG) for line in replayed.out.splitlines()]
    assert [e.position for e in events] == list(range(1, seeded.events + 1))

    typed = fleet("tail", "--from", "2", "--limit", "2", "--type", "MissionActivated", *url)
    rows = typed.out.splitlines()
    assert rows[0].split()[0] == "POSITION"
    assert [row.split()[3] for row in rows[1:]] == ["MissionActivated"] * 2
    only_work = fleet("tail", "--from", "0", "--limit", "1", "--prefix", "wo", "--json", *url)
    assert decode_event(only_work.out, CATALOG).stream_id.startswith("wo-")
    correlated = fleet("tail", "--from", "0", "--limit", "1", "--correlation-id", "corr-1", *url)
    assert seeded.missions[1] in correlated.out


def test_by_default_only_new_events_are_shown(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(sqlite_config, missions=2, work_orders=0)
    monkeypatch.setenv("FLEET_STORE_SUBSCRIPTION_POLL_S", "0.05")
    following = when_following(monkeypatch)
    writer = append_after(sqlite_config, following, count=2)
    try:
        result = fleet("tail", "--limit", "2", "--json", "--database-url", sqlite_url)
    finally:
        following.set()
        writer.join()
    assert result.code == 0, result.err
    assert result.err == "following the log after position 6 (Ctrl-C to stop)\n"
    assert [decode_event(line, CATALOG).position for line in result.out.splitlines()] == [7, 8]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--from", "-1"), "expected a whole number"),
        (("--limit", "0"), "expected a number >= 1"),
    ],
)
def test_bad_bounds_are_usage_errors(fleet: Fleet, args: tuple[str, ...], needle: str) -> None:
    assert_one_line_error(fleet("tail", *args), needle, code=2)


def test_a_bad_filter_is_one_line(fleet: Fleet, sqlite_url: str) -> None:
    assert fleet("db", "upgrade", "--database-url", sqlite_url).code == 0
    result = fleet("tail", "--type", "Nope", "--database-url", sqlite_url)
    assert_one_line_error(result, "Nope")


def test_ctrl_c_stops_a_live_tail_with_status_0(
    sqlite_url: str, sqlite_config: Config, tmp_path: Path
) -> None:
    seed(sqlite_config, missions=1, work_orders=0)
    environment = {**os.environ, "FLEET_STORE_SUBSCRIPTION_POLL_S": "0.05"}
    with subprocess.Popen(
        [sys.executable, "-m", "fleet.cli", "tail", "--json", "--database-url", sqlite_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=environment,
    ) as tail:
        assert tail.stdout is not None
        assert tail.stderr is not None
        stop = threading.Event()

        async def keep_appending() -> None:
            async with open_store(sqlite_config) as store:
                while not stop.is_set():
                    await store.append(generate_mission_id(), [MissionCreated(title="Live")])
                    await trio.sleep(0.3)

        writer = threading.Thread(target=trio.run, args=(keep_appending,))
        writer.start()
        try:
            line = tail.stdout.readline()
        finally:
            stop.set()
            writer.join()
        assert decode_event(line, CATALOG).position >= 4
        tail.send_signal(signal.SIGINT)
        assert tail.wait(timeout=30) == 0
        assert tail.stderr.read() == b""


def test_an_interrupt_stops_the_tail_in_process(
    fleet: Fleet, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fleet("db", "upgrade", "--database-url", sqlite_url).code == 0
    following = when_following(monkeypatch)

    def interrupt() -> None:
        if following.wait(60):
            os.kill(os.getpid(), signal.SIGINT)

    interrupter = threading.Thread(target=interrupt)
    interrupter.start()
    try:
        result = fleet("tail", "--database-url", sqlite_url)
    finally:
        interrupter.join()
    assert result.code == 0
    assert result.err == "following the log after position 0 (Ctrl-C to stop)\n"
    assert result.out.split() == ["POSITION", "STREAM", "VERSION", "TYPE", "RECORDED", "DATA"]
