"""``fleet db scavenge``: the report, JSON, progress, refusals, and a kill -9 halfway through."""

from __future__ import annotations

import io
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest
import trio
from rich.console import Console

from fleet.config import Config
from fleet.db import Database, StreamSettingsRow, save_stream_settings
from fleet.store import StreamAppend, open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id
from tests.cli.conftest import Fleet, assert_one_line_error, config_for

Key = tuple[str, int]


def releasing(config: Config, streams: int, events: int) -> list[str]:
    """Record ``streams`` missions of ``events`` events each and keep only the newest of each."""
    ids = sorted(generate_mission_id() for _ in range(streams))

    async def record() -> None:
        async with open_store(config) as store:
            await store.append_many(
                [
                    StreamAppend(
                        stream,
                        [MissionCreated(title="t")]
                        + [MissionUpdated(description=str(n)) for n in range(events - 1)],
                    )
                    for stream in ids
                ]
            )

    trio.run(record)
    with Database.open(config) as db, db.write_transaction() as txn:
        for stream in ids:
            save_stream_settings(txn.connection, StreamSettingsRow(stream, 1, None, None, 1, 1))
    return ids


def stored(path: Path) -> dict[Key, tuple[object, ...]]:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT * FROM events").fetchall()
    return {(row[2], row[3]): tuple(row) for row in rows}


def snapshots(path: Path) -> set[Key]:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT stream_id, version FROM snapshots").fetchall()
    return {(stream, version) for stream, version in rows}


def loaded(config: Config, streams: list[str]) -> list[tuple[int, str, str, str]]:
    """Each mission's version, title, status and description, as a new store folds them."""

    async def load() -> list[tuple[int, str, str, str]]:
        async with open_store(config) as store:
            states = [await store.aggregate_state(stream) for stream in streams]
        return [(s.version, s.title, s.status, s.description) for s in states]

    return trio.run(load)


def test_the_report_says_what_went_and_a_second_run_finds_nothing(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, tmp_path: Path
) -> None:
    streams = releasing(sqlite_config, streams=3, events=4)
    result = fleet("db", "scavenge", "--quiet", "--database-url", sqlite_url)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("examined 3 streams with settings in ")
    assert lines[1].startswith("removed 9 events (")
    assert lines[1].endswith(" payload bytes) and 0 snapshots")
    assert lines[2].startswith("size: ")
    assert lines[2].endswith(" bytes free for reuse")
    assert set(stored(tmp_path / "fleet.db")) == {(stream, 4) for stream in streams}
    # The missions were snapshotted at their heads first: their state is whole.
    assert snapshots(tmp_path / "fleet.db") == {(stream, 4) for stream in streams}
    assert loaded(sqlite_config, streams) == [(4, "t", "pending", "2")] * 3

    again = fleet("db", "scavenge", "--json", "--quiet", "--database-url", sqlite_url)
    assert again.code == 0, again.err
    report = msgspec.json.decode(again.out)
    assert set(report) == {
        "streams_examined",
        "events_removed",
        "snapshots_removed",
        "payload_bytes_removed",
        "size_before",
        "size_after",
        "free_bytes_after",
        "duration_s",
    }
    assert (report["streams_examined"], report["events_removed"]) == (3, 0)
    assert report["payload_bytes_removed"] == report["snapshots_removed"] == 0
    assert report["size_after"] == report["size_before"] > 0
    assert report["free_bytes_after"] >= 0


def test_postgresql_has_no_free_space_figure(
    fleet: Fleet, postgres_url: str, tmp_path: Path
) -> None:
    streams = releasing(config_for(postgres_url, tmp_path), streams=2, events=3)
    text = fleet("db", "scavenge", "--quiet", "--database-url", postgres_url)
    assert text.code == 0, text.err
    assert "removed 4 events" in text.out
    assert "free" not in text.out
    again = fleet("db", "scavenge", "--json", "--database-url", postgres_url)
    report = msgspec.json.decode(again.out)
    assert (report["events_removed"], report["free_bytes_after"]) == (0, None)
    assert report["streams_examined"] == len(streams)


def test_progress_stays_off_output_that_is_not_a_terminal(
    fleet_process: Fleet, sqlite_url: str, sqlite_config: Config
) -> None:
    releasing(sqlite_config, streams=2, events=3)
    result = fleet_process("db", "scavenge", "--json", "--database-url", sqlite_url)
    assert result.code == 0, result.err
    assert result.err == ""
    assert msgspec.json.decode(result.out)["events_removed"] == 4


def test_progress_is_drawn_on_a_terminal(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fleet.cli.transfer as transfer

    releasing(sqlite_config, streams=2, events=3)
    screen = io.StringIO()
    monkeypatch.setattr(
        transfer, "progress_console", lambda: Console(file=screen, force_terminal=True, width=100)
    )
    result = fleet("db", "scavenge", "--database-url", sqlite_url)
    assert result.code == 0, result.err
    assert "scavenging streams" in screen.getvalue()
    assert "2/2" in screen.getvalue()
    assert result.out.startswith("examined 2 streams")


def test_a_missing_or_empty_database_is_refused_and_not_created(
    fleet: Fleet, tmp_path: Path
) -> None:
    missing = fleet("db", "scavenge")
    assert_one_line_error(missing, "there is no database at", "fleet db upgrade")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "empty.db").touch()
    empty = fleet("db", "scavenge", "--database-url", "sqlite:///empty.db")
    assert_one_line_error(empty, "fleet db upgrade")
    assert (tmp_path / "empty.db").stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_a_bad_batch_size_is_one_line(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, tmp_path: Path
) -> None:
    releasing(sqlite_config, streams=1, events=2)
    before = stored(tmp_path / "fleet.db")
    zero = fleet("db", "scavenge", "--batch-size", "0", "--database-url", sqlite_url)
    assert_one_line_error(zero, "batch size must be a whole number from 1")
    words = fleet("db", "scavenge", "--batch-size", "many", "--database-url", sqlite_url)
    assert_one_line_error(words, "--batch-size", code=2)
    assert stored(tmp_path / "fleet.db") == before


def test_a_scavenge_killed_halfway_leaves_an_intact_database_and_finishes_when_run_again(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, tmp_path: Path
) -> None:
    streams = releasing(sqlite_config, streams=4, events=1_000)
    path = tmp_path / "fleet.db"
    before = stored(path)
    kept = {(stream, 1_000) for stream in streams}
    command = ["db", "scavenge", "--batch-size", "1", "--database-url", sqlite_url]
    process = subprocess.Popen(
        [sys.executable, "-m", "fleet.cli", *command],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as watcher:
            while time.monotonic() < deadline:
                (count,) = watcher.execute("SELECT count(*) FROM events").fetchone()
                if count <= len(before) - 25:
                    break
                time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    assert process.returncode == -signal.SIGKILL

    halfway = stored(path)
    assert kept < set(halfway) < set(before)
    assert all(before[key] == row for key, row in halfway.items())
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    health = fleet("db", "health", "--database-url", sqlite_url)
    assert health.code == 0, health.out

    again = fleet("db", "scavenge", "--json", "--quiet", "--database-url", sqlite_url)
    assert again.code == 0, again.err
    assert msgspec.json.decode(again.out)["events_removed"] == len(halfway) - len(kept)
    assert stored(path) == {key: before[key] for key in kept}
    assert snapshots(path) == kept
    assert loaded(sqlite_config, streams) == [(1_000, "t", "pending", "998")] * 4
