"""Scavenging: exactly what retention and deletion released goes, in batches, on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
import pytest
import trio

from fleet.config import Config
from fleet.core import now_ms
from fleet.core.ids import generate_event_id
from fleet.db import (
    Database,
    EventRow,
    ScavengeProgress,
    SnapshotRow,
    StreamSettingsRow,
    save_stream_settings,
    scavenge,
    scavenging,
)
from fleet.db.scavenging import Release, released
from fleet.errors import StoreReadOnly, ValidationError
from fleet.events import DELETION_TYPE, StreamDeletion
from fleet.store import StreamAppend, open_store
from fleet.vocabulary import MissionCreated, MissionId, MissionUpdated, generate_mission_id

Key = tuple[str, int]


# -- the decider -------------------------------------------------------------


def settings(stream_id: str = "msn-x", **fields: Any) -> StreamSettingsRow:
    base = StreamSettingsRow(stream_id, None, None, None, 1, 1)
    return base._replace(**fields)


def deleted_at_5(**fields: Any) -> StreamSettingsRow:
    """The settings of a stream soft-deleted by its record at version 5."""
    return settings(deleted_version=5, **fields)


NOW = 1_700_000_100_000


@pytest.mark.parametrize(
    ("row", "head", "expected"),
    [
        (settings(), 5, Release(5, 1, None, 1, 5)),
        (settings(max_count=2), 5, Release(5, 4, None, 1, 5)),
        (settings(max_count=10), 5, Release(5, 1, None, 1, 5)),
        (settings(truncate_before=3), 5, Release(5, 3, None, 1, 5)),
        (settings(truncate_before=9), 5, Release(5, 5, None, 1, 5)),
        (settings(max_count=2, truncate_before=2), 5, Release(5, 4, None, 1, 5)),
        (settings(max_age_s=60), 5, Release(5, 1, NOW - 60_000, 1, 5)),
        # Deleted (the head is the deletion record): every event but the head, every snapshot.
        (deleted_at_5(), 5, Release(5, 5, None, None, 5)),
        (settings(hard_deleted=True, deleted_version=5), 5, Release(5, 5, None, None, 5)),
        (deleted_at_5(truncate_before=2), 5, Release(5, 5, None, None, 5)),
        (settings(hard_deleted=True, deleted_version=3), 5, Release(5, 5, None, None, 5)),
        # Started again after the record at 5: what precedes it goes, snapshots included.
        (deleted_at_5(), 7, Release(7, 6, None, 6, 7)),
        (deleted_at_5(max_count=1), 7, Release(7, 7, None, 6, 7)),
        (deleted_at_5(truncate_before=2), 7, Release(7, 6, None, 6, 7)),
        (deleted_at_5(truncate_before=9), 7, Release(7, 7, None, 6, 7)),
        (deleted_at_5(max_age_s=60), 7, Release(7, 6, NOW - 60_000, 6, 7)),
    ],
)
def test_what_a_stream_releases(row: StreamSettingsRow, head: int, expected: Release) -> None:
    assert released(row, head, NOW) == expected


@pytest.mark.parametrize(
    ("row", "head", "kept_after", "expected"),
    [
        # No snapshot and never deleted: the whole stream stays.
        (settings(max_count=1), 5, 0, Release(5, 1, None, 1, 1)),
        (settings(truncate_before=9), 5, 0, Release(5, 1, None, 1, 1)),
        (settings(max_age_s=60), 5, 0, Release(5, 1, NOW - 60_000, 1, 1)),
        # Only the events after the newest snapshot stay.
        (settings(max_count=1), 5, 3, Release(5, 4, None, 1, 4)),
        (settings(max_count=1), 5, 5, Release(5, 5, None, 1, 5)),
        (settings(max_count=3), 5, 4, Release(5, 3, None, 1, 5)),
        (settings(max_age_s=60), 5, 2, Release(5, 1, NOW - 60_000, 1, 3)),
        (settings(max_age_s=60, max_count=1), 5, 2, Release(5, 3, NOW - 60_000, 1, 3)),
        # Started again after the record at 5, with no snapshot since, or one at 6.
        (deleted_at_5(max_count=1), 8, 5, Release(8, 6, None, 6, 6)),
        (deleted_at_5(max_count=1), 8, 6, Release(8, 7, None, 6, 7)),
        # Deleted: state or not, everything but the head goes.
        (deleted_at_5(), 5, 5, Release(5, 5, None, None, 5)),
        (settings(hard_deleted=True, deleted_version=5), 5, 2, Release(5, 5, None, None, 5)),
    ],
)
def test_what_a_stateful_stream_releases(
    row: StreamSettingsRow, head: int, kept_after: int, expected: Release
) -> None:
    assert released(row, head, NOW, kept_after) == expected


# -- helpers -----------------------------------------------------------------


def record(config: Config, counts: Mapping[str, int]) -> None:
    """Append ``counts[stream]`` mission events to each stream through an opened store."""

    async def run() -> None:
        async with open_store(config) as store:
            await store.append_many(
                [
                    StreamAppend(
                        MissionId(stream),
                        [MissionCreated(title="t")]
                        + [MissionUpdated(description=f"d{i}") for i in range(count - 1)],
                    )
                    for stream, count in counts.items()
                ]
            )

    trio.run(run)


def record_more(config: Config, stream: str, count: int) -> None:
    async def run() -> None:
        async with open_store(config) as store:
            await store.append(
                MissionId(stream), [MissionUpdated(description=f"m{i}") for i in range(count)]
            )

    trio.run(run)


def save(db: Database, *rows: StreamSettingsRow) -> None:
    with db.write_transaction() as txn:
        for row in rows:
            save_stream_settings(txn.connection, row)


def stored(db: Database) -> set[Key]:
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT stream_id, version FROM events").all()
    return {(stream, int(version)) for stream, version in rows}


def stored_snapshots(db: Database) -> set[Key]:
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT stream_id, version FROM snapshots").all()
    return {(stream, int(version)) for stream, version in rows}


def keys(stream: str, versions: Iterator[int] | range | list[int]) -> set[Key]:
    return {(stream, version) for version in versions}


def add_snapshots(db: Database, stream: str, versions: list[int]) -> None:
    with db.write_transaction() as txn:
        txn.save_snapshots([SnapshotRow(stream, v, 1, b"{}", now_ms()) for v in versions])


def insert(db: Database, stream: str, versions: list[int]) -> None:
    """Store events of ``stream`` at ``versions`` after the log's head, in that order."""
    now = now_ms()
    with db.write_transaction() as txn:
        txn.insert_events(
            [
                EventRow(
                    position=txn.head_position + i,
                    event_id=generate_event_id(),
                    stream_id=stream,
                    version=version,
                    type="MissionUpdated",
                    schema_version=1,
                    payload=b'{"description":"x"}',
                    correlation_id=None,
                    causation_id=None,
                    actor=None,
                    occurred_at=now,
                    recorded_at=now,
                )
                for i, version in enumerate(versions, 1)
            ]
        )


def delete_stream(db: Database, stream: str, *, hard: bool) -> int:
    """Delete ``stream`` as a deletion does: a ``$deleted`` head row and its settings."""
    with db.write_transaction() as txn:
        conn = txn.connection
        head = int(
            conn.exec_driver_sql(
                f"SELECT max(version) FROM events WHERE stream_id = '{stream}'"
            ).scalar_one()
        )
        now = now_ms()
        marker = head + 1
        txn.insert_events(
            [
                (
                    txn.head_position + 1,
                    generate_event_id(),
                    stream,
                    marker,
                    DELETION_TYPE,
                    1,
                    msgspec.json.encode(StreamDeletion(hard=hard)),
                    None,
                    None,
                    None,
                    now,
                    now,
                )
            ]
        )
        row = settings(stream, hard_deleted=hard, deleted_version=marker)._replace(
            created_at=now, updated_at=now
        )
        save_stream_settings(conn, row)
    return marker


def payload_bytes(db: Database, gone: set[Key]) -> int:
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT stream_id, version, payload FROM events").all()
    return sum(
        len(bytes(payload)) for stream, version, payload in rows if (stream, version) in gone
    )


# -- the rules ---------------------------------------------------------------


def test_max_count_keeps_the_newest_events_and_every_snapshot(db: Database, config: Config) -> None:
    """Snapshots below the window stay: a live stream's state may still be folded from them."""
    kept, untouched = generate_mission_id(), generate_mission_id()
    record(config, {kept: 6, untouched: 3})
    save(db, settings(kept, max_count=2))
    add_snapshots(db, kept, [2, 3, 4, 5])
    add_snapshots(db, untouched, [1, 2])
    before = stored(db)
    gone = keys(kept, range(1, 5))
    expected_bytes = payload_bytes(db, gone)

    report = scavenge(db)

    assert stored(db) == before - gone
    assert stored_snapshots(db) == keys(kept, [2, 3, 4, 5]) | keys(untouched, [1, 2])
    assert (report.streams_examined, report.events_removed, report.snapshots_removed) == (1, 4, 0)
    assert report.payload_bytes_removed == expected_bytes > 0


def test_a_stateful_stream_keeps_the_events_after_its_newest_snapshot(
    db: Database, config: Config
) -> None:
    """``stateful`` names the categories whose streams' state is folded from their events."""
    snapshotted, unsnapshotted, restarted = (generate_mission_id() for _ in range(3))
    plain = "log-1"
    record(config, {snapshotted: 6, unsnapshotted: 4, restarted: 3})
    insert(db, plain, [1, 2, 3, 4])
    add_snapshots(db, snapshotted, [2, 4])
    add_snapshots(db, restarted, [3])
    marker = delete_stream(db, restarted, hard=False)
    insert(db, restarted, [marker + 1, marker + 2, marker + 3])
    save(
        db,
        settings(snapshotted, max_count=1),
        settings(unsnapshotted, max_count=1),
        settings(plain, max_count=1),
        settings(restarted, deleted_version=marker, max_count=1),
    )

    report = scavenge(db, stateful={"msn"})

    assert stored(db) == (
        keys(snapshotted, [5, 6])
        | keys(unsnapshotted, range(1, 5))
        | keys(restarted, [marker + 1, marker + 2, marker + 3])
        | keys(plain, [4])
    )
    # The snapshot from before the deletion record goes; the others stay.
    assert stored_snapshots(db) == keys(snapshotted, [2, 4])
    assert (report.streams_examined, report.events_removed, report.snapshots_removed) == (
        4,
        4 + 0 + marker + 3,
        1,
    )

    # Not stateful, the same streams release what retention hides.
    again = scavenge(db)
    assert stored(db) == (
        keys(snapshotted, [6])
        | keys(unsnapshotted, [4])
        | keys(restarted, [marker + 3])
        | keys(plain, [4])
    )
    assert (again.events_removed, again.snapshots_removed) == (1 + 3 + 2, 0)


def test_truncation_keeps_what_follows_it_and_always_the_head(db: Database, config: Config) -> None:
    truncated, beyond = generate_mission_id(), generate_mission_id()
    record(config, {truncated: 6, beyond: 4})
    save(db, settings(truncated, truncate_before=4), settings(beyond, truncate_before=50))
    scavenge(db)
    assert stored(db) == keys(truncated, [4, 5, 6]) | keys(beyond, [4])


def test_max_age_removes_what_was_recorded_before_the_limit(db: Database, config: Config) -> None:
    aged, all_old, counted = generate_mission_id(), generate_mission_id(), generate_mission_id()
    record(config, {aged: 3, all_old: 3, counted: 3})
    time.sleep(0.01)
    record_more(config, aged, 2)
    with db.read() as conn:
        cut = int(
            conn.exec_driver_sql(
                f"SELECT recorded_at FROM events WHERE stream_id = '{aged}' AND version = 4"
            ).scalar_one()
        )
    save(
        db,
        settings(aged, max_age_s=60),
        settings(all_old, max_age_s=60),
        settings(counted, max_age_s=3_600, max_count=1),
    )
    report = scavenge(db, now=cut + 60_000)
    assert stored(db) == keys(aged, [4, 5]) | keys(all_old, [3]) | keys(counted, [3])
    assert report.events_removed == 3 + 2 + 2


@pytest.mark.parametrize("stateful", [(), ("msn",)], ids=["stateless", "stateful"])
@pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
def test_a_deleted_stream_keeps_only_its_deletion_record(
    db: Database, config: Config, hard: bool, stateful: tuple[str, ...]
) -> None:
    deleted, alive = generate_mission_id(), generate_mission_id()
    record(config, {deleted: 4, alive: 2})
    add_snapshots(db, deleted, [2, 4])
    marker = delete_stream(db, deleted, hard=hard)
    record_more(config, alive, 1)
    report = scavenge(db, stateful=stateful)
    assert stored(db) == keys(deleted, [marker]) | keys(alive, [1, 2, 3])
    assert stored_snapshots(db) == set()
    assert (report.events_removed, report.snapshots_removed) == (4, 2)
    with db.read() as conn:
        assert conn.exec_driver_sql(
            f"SELECT type FROM events WHERE stream_id = '{deleted}'"
        ).scalar_one() == (DELETION_TYPE)


def test_a_soft_deleted_stream_appended_to_again_keeps_what_followed(
    db: Database, config: Config
) -> None:
    stream = generate_mission_id()
    record(config, {stream: 3})
    add_snapshots(db, stream, [3])
    marker = delete_stream(db, stream, hard=False)
    insert(db, stream, [marker + 1, marker + 2])
    add_snapshots(db, stream, [marker + 2])
    scavenge(db)
    assert stored(db) == keys(stream, [marker + 1, marker + 2])
    assert stored_snapshots(db) == keys(stream, [marker + 2])


def test_the_event_at_the_log_head_stays_though_released(db: Database, config: Config) -> None:
    stream = generate_mission_id()
    insert(db, stream, [2, 3, 1])
    save(db, settings(stream, max_count=1))
    report = scavenge(db)
    assert stored(db) == keys(stream, [1, 3])
    assert report.events_removed == 1


def test_streams_without_settings_and_settings_without_events_are_left_alone(
    db: Database, config: Config
) -> None:
    plain, empty = generate_mission_id(), generate_mission_id()
    record(config, {plain: 4})
    add_snapshots(db, plain, [1, 2])
    save(db, settings(empty, max_count=1, truncate_before=9))
    report = scavenge(db)
    assert stored(db) == keys(plain, range(1, 5))
    assert stored_snapshots(db) == keys(plain, [1, 2])
    assert (report.streams_examined, report.events_removed, report.snapshots_removed) == (1, 0, 0)


def test_small_batches_page_through_many_streams_and_a_second_run_removes_nothing(
    db: Database, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scavenging, "STREAMS_PER_PAGE", 2)
    streams = sorted(generate_mission_id() for _ in range(5))
    record(config, dict.fromkeys(streams, 5))
    save(db, *(settings(stream, max_count=1) for stream in streams[:4]))
    seen: list[ScavengeProgress] = []

    report = scavenge(db, batch_size=3, progress=seen.append)

    expected = {(s, 5) for s in streams[:4]} | keys(streams[4], range(1, 6))
    assert stored(db) == expected
    assert (report.streams_examined, report.events_removed) == (4, 16)
    assert seen == [
        ScavengeProgress(done, 4, removed)
        for done, removed in [(0, 3), (1, 4), (1, 7), (2, 8), (2, 11), (3, 12), (3, 15), (4, 16)]
    ]

    again = scavenge(db, batch_size=3)
    assert stored(db) == expected
    assert (again.streams_examined, again.events_removed, again.snapshots_removed) == (4, 0, 0)
    assert again.payload_bytes_removed == 0


def test_the_report_measures_the_database(db: Database, config: Config) -> None:
    stream = generate_mission_id()
    record(config, {stream: 400})
    save(db, settings(stream, max_count=1))
    report = scavenge(db)
    assert report.events_removed == 399
    assert report.size_before > 0
    assert report.size_after > 0
    assert report.duration_s >= 0
    if db.dialect == "sqlite":
        assert report.size_after == report.size_before
        assert report.free_bytes_after is not None
        assert report.free_bytes_after > 0
    else:
        assert report.free_bytes_after is None


def test_a_bad_batch_size_is_refused_before_anything_goes(db: Database, config: Config) -> None:
    stream = generate_mission_id()
    record(config, {stream: 3})
    save(db, settings(stream, max_count=1))
    bad: list[Any] = [0, -1, True, 1.5, "10", 2**63]
    for batch_size in bad:
        with pytest.raises(ValidationError, match="batch size must be a whole number"):
            scavenge(db, batch_size=batch_size)
    assert stored(db) == keys(stream, [1, 2, 3])


def test_a_read_only_database_is_not_scavenged(db: Database, config: Config) -> None:
    stream = generate_mission_id()
    record(config, {stream: 3})
    save(db, settings(stream, max_count=1))
    with Database.open(config, read_only=True) as reader, pytest.raises(StoreReadOnly):
        scavenge(reader)
    assert stored(db) == keys(stream, [1, 2, 3])


def test_a_stream_appended_to_while_scavenged_keeps_its_window(
    db: Database, config: Config
) -> None:
    windowed, plain = generate_mission_id(), generate_mission_id()
    record(config, {windowed: 1, plain: 1})
    save(db, settings(windowed, max_count=3))
    appends = 40
    errors: list[BaseException] = []
    done = threading.Event()
    runs = [0]
    ran = threading.Condition()

    def wait_for_a_whole_run() -> None:
        with ran:
            seen = runs[0]
            assert ran.wait_for(lambda: runs[0] >= seen + 2, timeout=30)

    def append() -> None:
        async def run() -> None:
            async with open_store(config) as store:
                for i in range(appends):
                    await store.append_many(
                        [
                            StreamAppend(windowed, [MissionUpdated(description=str(i))]),
                            StreamAppend(plain, [MissionUpdated(description=str(i))]),
                        ]
                    )
                    if i % 10 == 9:
                        await trio.to_thread.run_sync(wait_for_a_whole_run)

        try:
            trio.run(run)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=append)
    writer.start()
    removed_meanwhile = 0
    try:
        while not done.is_set():
            removed_meanwhile += scavenge(db, batch_size=1).events_removed
            with ran:
                runs[0] += 1
                ran.notify_all()
    finally:
        writer.join(60)
    assert errors == []
    scavenge(db, batch_size=1)
    head = appends + 1
    assert stored(db) == keys(windowed, [head - 2, head - 1, head]) | keys(
        plain, range(1, head + 1)
    )
    assert removed_meanwhile > 0
    with db.read() as conn:
        positions = list(conn.exec_driver_sql("SELECT position FROM events").scalars())
    assert max(positions) == 2 * head


def test_only_a_snapshot_of_the_current_state_schema_stands_for_earlier_events(
    db: Database, config: Config
) -> None:
    stream = generate_mission_id()
    record(config, {stream: 6})
    with db.write_transaction() as txn:
        txn.save_snapshots(
            [
                SnapshotRow(stream, 2, 1, b"{}", now_ms()),
                SnapshotRow(stream, 4, 7, b"{}", now_ms()),
            ]
        )
    save(db, settings(stream, max_count=1))

    report = scavenge(db, stateful={"msn": 1})

    # The snapshot at 4 is of another state schema: only the one at 2 counts.
    assert stored(db) == keys(stream, range(3, 7))
    assert report.events_removed == 2
    assert scavenge(db, stateful={"msn": 7}).events_removed == 2
    assert stored(db) == keys(stream, range(5, 7))
