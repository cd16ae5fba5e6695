"""Background WAL checkpoints (:mod:`fleet.db.wal`) on real SQLite files."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from fleet.db import Database
from fleet.db.wal import Checkpointer, CheckpointStatistics
from tests.db.conftest import MakeConfig, count_events, event_rows

THREAD_NAME = "fleet-wal-checkpoint"


@pytest.fixture
def open_db(make_config: MakeConfig, tmp_path: Path) -> Iterator[Callable[..., Database]]:
    """Open databases on ``tmp_path/data/fleet.db`` with overrides; close them all."""
    opened: list[Database] = []

    def open_(**database: object) -> Database:
        url = f"sqlite:///{tmp_path / 'data' / 'fleet.db'}"
        db = Database.open(make_config(url, **database))
        opened.append(db)
        return db

    yield open_
    for db in opened:
        db.close()


def append(db: Database, count: int, stream_id: str = "msn-wal") -> None:
    with db.write_transaction() as tx:
        version = 1 + tx.head_position
        tx.insert_events(
            event_rows(tx.head_position, count, stream_id=stream_id, first_version=version)
        )


def wait_for(
    db: Database, check: Callable[[CheckpointStatistics], bool], timeout: float = 10.0
) -> CheckpointStatistics:
    deadline = time.monotonic() + timeout
    while True:
        stats = db.checkpoint_statistics()
        assert stats is not None
        if check(stats):
            return stats
        assert time.monotonic() < deadline, f"checkpoint statistics stayed at {stats}"
        time.sleep(0.005)


def writer_autocheckpoint(db: Database) -> int:
    with db.write_transaction() as tx:
        return int(tx.connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def checkpoint_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]


def test_committed_pages_reach_the_database_file_without_the_writer(
    open_db: Callable[..., Database], tmp_path: Path
) -> None:
    db = open_db(checkpoint_interval_ms=10)
    assert writer_autocheckpoint(db) == 0
    for _ in range(20):
        append(db, 25)
    stats = wait_for(db, lambda s: s.runs > 0 and s.wal_frames > 0)
    wait_for(db, lambda s: s.copied_frames == s.wal_frames and s.runs > stats.runs)
    assert stats.failures == 0

    # The database file alone, without its WAL, holds every committed event.
    alone = tmp_path / "alone.db"
    shutil.copyfile(tmp_path / "data" / "fleet.db", alone)
    with sqlite3.connect(alone) as copy:
        assert copy.execute("SELECT count(*) FROM events").fetchone() == (500,)
    copy.close()
    assert count_events(db) == 500


def test_reading_alone_starts_no_thread(open_db: Callable[..., Database]) -> None:
    db = open_db(checkpoint_interval_ms=10)
    count_events(db)
    assert checkpoint_threads() == []
    assert db.checkpoint_statistics() == CheckpointStatistics(0, 0, 0, 0, 0)


def test_close_stops_the_thread(open_db: Callable[..., Database]) -> None:
    db = open_db(checkpoint_interval_ms=10)
    append(db, 3)
    assert checkpoint_threads()
    db.close()
    assert checkpoint_threads() == []


def test_interval_zero_leaves_checkpoints_to_sqlite(open_db: Callable[..., Database]) -> None:
    db = open_db(checkpoint_interval_ms=0)
    assert writer_autocheckpoint(db) == 1000
    append(db, 3)
    assert db.checkpoint_statistics() is None
    assert checkpoint_threads() == []


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "postgres"])
def test_no_background_checkpoints_without_a_wal_file(
    url: str, make_config: MakeConfig, request: pytest.FixtureRequest
) -> None:
    if url == "postgres":
        url = request.getfixturevalue("postgres_url")
    db = Database.open(make_config(url))
    try:
        append(db, 3)
        assert db.checkpoint_statistics() is None
        assert checkpoint_threads() == []
    finally:
        db.close()


def test_a_long_wal_is_started_over_by_the_writer(
    open_db: Callable[..., Database], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("fleet.db.database.RESTART_FRAMES", 20)
    db = open_db(checkpoint_interval_ms=1)
    wal = tmp_path / "data" / "fleet.db-wal"
    commits = 150
    before = wal.stat().st_size
    for index in range(commits):
        append(db, 10, stream_id=f"msn-{index}")
        time.sleep(0.001)
    stats = db.checkpoint_statistics()
    assert stats is not None
    assert stats.writer_checkpoints > 0
    # Every commit adds at least one 4 KiB page to the WAL; started over, it
    # stays far shorter than that.
    assert wal.stat().st_size - before < commits * 4096 // 4
    assert count_events(db) == 10 * commits


def test_a_failing_checkpoint_is_logged_and_commits_go_on(
    open_db: Callable[..., Database], tmp_path: Path
) -> None:
    db = open_db(checkpoint_interval_ms=1)
    # The writer keeps its open files; a new connection finds no database there.
    (tmp_path / "data").rename(tmp_path / "moved")
    with capture_logs() as logs:
        append(db, 5)
        stats = wait_for(db, lambda s: s.failures > 0)
    assert stats.runs >= stats.failures
    assert any(
        entry["event"] == "wal_checkpoint_failed" and "unable to open" in entry["error"]
        for entry in logs
    )
    append(db, 5)
    with db.write_transaction() as tx:
        stored = tx.connection.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
    assert stored == 10
    assert not (tmp_path / "data").exists()


def test_a_closed_checkpointer_starts_no_thread(open_db: Callable[..., Database]) -> None:
    db = open_db(checkpoint_interval_ms=10)
    path = db.config.database.url.removeprefix("sqlite:///")
    checkpointer = Checkpointer(Path(path), interval_s=0.01, busy_timeout_s=1.0)
    checkpointer.close()
    checkpointer.committed()
    assert checkpoint_threads() == []
    assert checkpointer.statistics().runs == 0
