"""``fleet db backup``: a consistent, verified copy of a SQLite database that is being written."""

from __future__ import annotations

import io
import sqlite3
import threading
from pathlib import Path

import pytest
import trio
from rich.console import Console

from fleet.config import Config, with_overrides
from fleet.store import open_store
from fleet.vocabulary import MissionCreated, generate_mission_id
from tests.cli.conftest import Fleet, assert_one_line_error, seed_bulk


def keep_appending(config: Config, stop: threading.Event, started: threading.Event) -> None:
    async def run() -> None:
        async with open_store(config) as store:
            while not stop.is_set():
                await store.append(generate_mission_id(), [MissionCreated(title="live")])
                started.set()

    trio.run(run)


def positions(path: Path) -> list[int]:
    with sqlite3.connect(path) as copy:
        return [row[0] for row in copy.execute("SELECT position FROM events ORDER BY position")]


def test_a_copy_taken_while_another_process_writes_is_one_committed_state(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, tmp_path: Path
) -> None:
    before = seed_bulk(sqlite_config, missions=2_000)
    stop, started = threading.Event(), threading.Event()
    writer = threading.Thread(target=keep_appending, args=(sqlite_config, stop, started))
    writer.start()
    try:
        assert started.wait(30)
        result = fleet("db", "backup", str(tmp_path / "copy.db"), "--database-url", sqlite_url)
    finally:
        stop.set()
        writer.join()
    assert result.code == 0, result.err
    assert result.out.startswith("backed up ")
    assert result.out.rstrip().endswith("the copy verifies")
    copied = positions(tmp_path / "copy.db")
    assert copied == list(range(1, len(copied) + 1))
    assert len(copied) > before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("copy", ".copy"))) == [
        "copy.db"
    ]
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    read = fleet("read", "--from", str(len(copied) - 1), "--json", "--database-url", copy_url)
    assert read.code == 0, read.err
    assert len(read.out.splitlines()) == 1


def test_the_copy_opens_and_takes_appends(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, tmp_path: Path
) -> None:
    count = seed_bulk(sqlite_config, missions=3)
    assert fleet("db", "backup", "copy.db", "--quiet", "--database-url", sqlite_url).code == 0
    copy_config = with_overrides(
        sqlite_config, database={"url": f"sqlite:///{tmp_path / 'copy.db'}"}
    )

    async def append() -> int:
        async with open_store(copy_config) as store:
            result = await store.append(generate_mission_id(), [MissionCreated(title="t")])
            return result.last_position

    assert trio.run(append) == count + 1


def test_progress_is_drawn_on_a_terminal(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fleet.cli.transfer as transfer

    seed_bulk(sqlite_config, missions=10)
    screen = io.StringIO()
    monkeypatch.setattr(
        transfer, "progress_console", lambda: Console(file=screen, force_terminal=True, width=100)
    )
    assert fleet("db", "backup", "copy.db", "--database-url", sqlite_url).code == 0
    assert "backing up" in screen.getvalue()


def test_what_cannot_be_backed_up_is_one_line(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, tmp_path: Path
) -> None:
    missing = fleet("db", "backup", "copy.db", "--database-url", sqlite_url)
    assert_one_line_error(missing, "there is no database")
    seed_bulk(sqlite_config, missions=1)
    (tmp_path / "taken.db").write_bytes(b"mine")
    taken = fleet("db", "backup", "taken.db", "--database-url", sqlite_url)
    assert_one_line_error(taken, "already exists")
    assert (tmp_path / "taken.db").read_bytes() == b"mine"
    memory = fleet("db", "backup", "m.db", "--database-url", "sqlite:///:memory:")
    assert_one_line_error(memory, "in-memory database")
    postgres = fleet(
        "db", "backup", "p.db", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/x"
    )
    assert_one_line_error(postgres, "pg_dump")
    nowhere = fleet(
        "db", "backup", str(tmp_path / "no" / "dir" / "c.db"), "--database-url", sqlite_url
    )
    assert_one_line_error(nowhere, "cannot write")
    assert not (tmp_path / "m.db").exists()
    assert not (tmp_path / "p.db").exists()


def test_a_file_that_is_not_a_fleet_database_is_not_copied(fleet: Fleet, tmp_path: Path) -> None:
    foreign = tmp_path / "theirs.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    result = fleet("db", "backup", "copy.db", "--database-url", f"sqlite:///{foreign}")
    assert_one_line_error(result, "not a Fleet database")
    assert not any(p.name.startswith(("copy", ".copy")) for p in tmp_path.iterdir())
