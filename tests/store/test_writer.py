"""The group-commit writer, driven directly with bundles on a real SQLite file."""

from __future__ import annotations

import gc
import sqlite3
import sys

import anyio
import pytest
import sqlalchemy as sa

from fleet.config import with_overrides
from fleet.core.ids import generate_event_id
from fleet.db import Database, SnapshotRow
from fleet.errors import ConcurrencyError, StoreClosed, Superseded
from fleet.store.interpreter import ProcessSetting
from fleet.store.writer import CommitNotice, Writer, next_epoch
from fleet.vocabulary import generate_mission_id

pytestmark = pytest.mark.anyio


class Owner:
    """Stands in for a stream actor: only its identity matters to the writer."""


class Recorder:
    """A bundle that records its outcome."""

    def __init__(self, stream: str, count: int, owner: object, epoch: int, first_version: int = 1):
        self.rows = [
            (
                generate_event_id(),
                stream,
                first_version + i,
                "MissionUpdated",
                1,
                b"{}",
                None,
                None,
                None,
                0,
                0,
            )
            for i in range(count)
        ]
        self.snapshots: list[SnapshotRow] = []
        self.owners = ((owner, epoch),)
        self.outcome: int | BaseException | None = None
        self.done = anyio.Event()

    def committed(self, first_position: int) -> None:
        self.outcome = first_position
        self.done.set()

    def failed(self, error: BaseException) -> None:
        self.outcome = error
        self.done.set()


@pytest.fixture
def db(sqlite_config):
    database = Database.open(sqlite_config)
    yield database
    database.close()


async def run_writer(writer: Writer, bundles: list[Recorder]) -> None:
    async with anyio.create_task_group() as group:
        for bundle in bundles:
            await writer.submit(bundle)
        group.start_soon(writer.run)
        for bundle in bundles:
            await bundle.done.wait()
        writer.close()


async def test_queued_bundles_commit_together_with_consecutive_positions(db):
    notices: list[CommitNotice] = []
    writer = Writer(db, max_batch_events=1000, listeners=[notices.append])
    bundles = [Recorder(generate_mission_id(), n, Owner(), next_epoch()) for n in (1, 3, 2)]
    await run_writer(writer, bundles)
    assert [b.outcome for b in bundles] == [1, 2, 5]
    stats = writer.statistics()
    assert (stats.batches, stats.bundles, stats.events) == (1, 3, 6)
    assert (stats.transactions, stats.fallbacks) == (1, 0)
    assert stats.mean_batch_events == 6
    assert [(n.first_position, n.last_position) for n in notices] == [(1, 1), (2, 4), (5, 6)]


async def test_batches_respect_the_maximum(db):
    writer = Writer(db, max_batch_events=2)
    bundles = [Recorder(generate_mission_id(), 1, Owner(), next_epoch()) for _ in range(5)]
    await run_writer(writer, bundles)
    assert [b.outcome for b in bundles] == [1, 2, 3, 4, 5]
    stats = writer.statistics()
    assert (stats.batches, stats.transactions, stats.fallbacks) == (3, 3, 0)


async def test_a_failed_bundle_supersedes_later_bundles_of_its_owner(db, sqlite_config):
    owner, other = Owner(), Owner()
    epoch = next_epoch()
    bad_stream = generate_mission_id()
    path = sqlite_config.database.url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    conn.execute(
        f"CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.stream_id = '{bad_stream}' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
    )
    conn.commit()
    conn.close()
    writer = Writer(db, max_batch_events=1000)
    first = Recorder(bad_stream, 1, owner, epoch)
    follower = Recorder(bad_stream, 1, owner, epoch, first_version=2)
    neighbour = Recorder(generate_mission_id(), 2, other, next_epoch())
    neighbour.snapshots = [SnapshotRow(neighbour.rows[0][1], 2, 1, b'{"n": 2}', 0)]
    late_follower = Recorder(bad_stream, 1, owner, epoch, first_version=3)
    reloaded = Recorder(generate_mission_id(), 1, owner, next_epoch())
    async with anyio.create_task_group() as group:
        for bundle in (first, follower, neighbour):
            await writer.submit(bundle)
        group.start_soon(writer.run)
        for bundle in (first, follower, neighbour):
            await bundle.done.wait()
        await writer.submit(late_follower)
        await writer.submit(reloaded)
        await late_follower.done.wait()
        await reloaded.done.wait()
        writer.close()
    assert "poisoned" in str(first.outcome)
    assert isinstance(follower.outcome, Superseded)
    assert neighbour.outcome == 1
    assert isinstance(late_follower.outcome, Superseded)
    assert reloaded.outcome == 3
    assert writer.statistics().failed_bundles == 3
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT stream_id, version, state FROM snapshots").all()
    assert [tuple(r) for r in rows] == [(neighbour.rows[0][1], 2, b'{"n": 2}')]


async def test_a_batch_with_a_moved_stream_commits_the_bundles_that_fit_together(store_config):
    """Another writer stored the next version of one stream: the batch's first
    transaction fails, and one more commits every bundle that still fits, in one go."""
    database = Database.open(store_config)
    try:
        moved = generate_mission_id()
        other = Writer(database, max_batch_events=1000)
        await run_writer(other, [Recorder(moved, 1, Owner(), next_epoch())])

        owner = Owner()
        epoch = next_epoch()
        before = Recorder(generate_mission_id(), 1, Owner(), next_epoch())
        stale = Recorder(moved, 1, owner, epoch)
        after = Recorder(generate_mission_id(), 2, Owner(), next_epoch())
        after.snapshots = [SnapshotRow(after.rows[0][1], 2, 1, b'{"n": 2}', 0)]
        behind_stale = Recorder(moved, 1, owner, epoch, first_version=2)
        bundles = [before, stale, after, behind_stale]
        writer = Writer(database, max_batch_events=1000)
        for bundle in bundles:
            await writer.submit(bundle)
        assert writer.statistics().queued_bundles == 4
        savepoints: list[str] = []

        def count(conn: sa.Connection, name: str | None) -> None:
            savepoints.append(str(name))

        sa.event.listen(sa.Engine, "savepoint", count)
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(writer.run)
                for bundle in bundles:
                    with anyio.fail_after(30):
                        await bundle.done.wait()
                writer.close()
        finally:
            sa.event.remove(sa.Engine, "savepoint", count)
    finally:
        database.close()
    assert (before.outcome, after.outcome) == (2, 3)
    assert isinstance(stale.outcome, ConcurrencyError)
    assert isinstance(behind_stale.outcome, Superseded)
    stats = writer.statistics()
    assert (stats.transactions, stats.fallbacks) == (1, 1)
    assert (stats.bundles, stats.events, stats.failed_bundles, stats.queued_bundles) == (2, 3, 2, 0)
    assert len(savepoints) == 1, savepoints
    with Database.open(store_config) as database, database.read() as conn:
        stored = conn.exec_driver_sql("SELECT stream_id, version FROM snapshots").all()
    assert [tuple(r) for r in stored] == [(after.rows[0][1], 2)]


async def test_snapshot_only_commit(db):
    writer = Writer(db, max_batch_events=10)
    stream = generate_mission_id()
    async with anyio.create_task_group() as group:
        group.start_soon(writer.run)
        writer.queue_snapshot(SnapshotRow(stream, 3, 1, b"{}", 0))
        writer.close()
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT stream_id, version FROM snapshots").all()
    assert [tuple(r) for r in rows] == [(stream, 3)]
    assert writer.statistics().batches == 0


async def test_backpressure_waits_for_the_database(db, sqlite_config):
    path = sqlite_config.database.url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    writer = Writer(db, max_batch_events=1)
    bundles = [Recorder(generate_mission_id(), 1, Owner(), next_epoch()) for _ in range(6)]
    submitted = 0
    async with anyio.create_task_group() as group:
        group.start_soon(writer.run)

        async def submit_all() -> None:
            nonlocal submitted
            for bundle in bundles:
                await writer.submit(bundle)
                submitted += 1

        group.start_soon(submit_all)
        await anyio.wait_all_tasks_blocked()
        assert submitted == 4
        blocker.execute("ROLLBACK")
        blocker.close()
        for bundle in bundles:
            await bundle.done.wait()
        writer.close()
    assert [b.outcome for b in bundles] == [1, 2, 3, 4, 5, 6]


async def test_closed_writer_refuses_bundles(db):
    writer = Writer(db, max_batch_events=10)
    writer.close()
    with pytest.raises(StoreClosed):
        await writer.submit(Recorder(generate_mission_id(), 1, Owner(), next_epoch()))
    await writer.run()


async def test_a_removed_listener_hears_no_more_commits(db):
    writer = Writer(db, max_batch_events=10)
    removed: list[CommitNotice] = []
    kept: list[CommitNotice] = []
    writer.add_listener(removed.append)
    writer.add_listener(kept.append)
    first = Recorder(generate_mission_id(), 1, Owner(), next_epoch())
    second = Recorder(generate_mission_id(), 2, Owner(), next_epoch())
    async with anyio.create_task_group() as group:
        group.start_soon(writer.run)
        await writer.submit(first)
        await first.done.wait()
        writer.remove_listener(removed.append)
        writer.remove_listener(removed.append)  # removing twice is harmless
        await writer.submit(second)
        await second.done.wait()
        writer.close()
    assert [(n.first_position, n.last_position) for n in removed] == [(1, 1)]
    assert [(n.first_position, n.last_position) for n in kept] == [(1, 1), (2, 3)]


def _young_threshold_after(threshold: int, original: tuple[int, ...]) -> tuple[int, ...]:
    return (threshold, *original[1:]) if threshold else original


def _interval_after(milliseconds: float, original: float) -> float:
    return min(original, milliseconds / 1000) if milliseconds else original


@pytest.mark.parametrize(
    ("key", "value", "read", "expected_after"),
    [
        ("gc_threshold", 0, gc.get_threshold, _young_threshold_after),
        ("gc_threshold", 50_000, gc.get_threshold, _young_threshold_after),
        ("switch_interval_ms", 0, sys.getswitchinterval, _interval_after),
        ("switch_interval_ms", 1.0, sys.getswitchinterval, _interval_after),
    ],
)
async def test_interpreter_settings_apply_while_writers_run(
    sqlite_config, key, value, read, expected_after
):
    config = with_overrides(sqlite_config, store={key: value})
    original = read()
    seen = []
    with Database.open(config) as first_db, Database.open(config) as second_db:
        first, second = Writer(first_db, 10), Writer(second_db, 10)
        first_done = anyio.Event()

        async def run_first() -> None:
            await first.run()
            first_done.set()

        async with anyio.create_task_group() as group:
            group.start_soon(run_first)
            group.start_soon(second.run)
            await anyio.wait_all_tasks_blocked()
            seen.append(read())
            first.close()
            with anyio.fail_after(10):
                await first_done.wait()
            seen.append(read())
            second.close()
    expected = expected_after(value, original)
    assert seen == [expected, expected]
    assert read() == original


def test_a_setting_changed_by_someone_else_is_not_restored():
    values = [5]
    setting = ProcessSetting(lambda: values[-1], values.append)
    with setting.held(lambda current: current * 2):
        assert values == [5, 10]
        values.append(7)
    assert values == [5, 10, 7]
    with setting.held(None):
        assert values == [5, 10, 7]
