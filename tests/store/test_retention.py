"""Retention settings (``max_count``, ``max_age_s``, ``truncate_before``) hold for every read
of a stream at once, never change its version, and leave the global log whole.

Every test runs on SQLite and PostgreSQL (under trio only; see test_lifecycle.py).
"""

from __future__ import annotations

import msgspec
import pytest
import sqlalchemy as sa

from fleet.config import Config, with_overrides
from fleet.core import now_ms
from fleet.db.engine import resolve_url
from fleet.errors import InvalidTransition, StreamDeleted
from fleet.store import NO_STREAM, EventStore, StreamPage, StreamSummary, open_store
from fleet.vocabulary import (
    MISSION,
    MissionActivated,
    MissionCompleted,
    MissionCreated,
    MissionPriorityChanged,
    MissionUpdated,
    generate_mission_id,
)
from tests.store.test_append import stored_rows

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


async def _mission(store: EventStore, events: int) -> str:
    """A mission of ``events`` events: created, then updated with descriptions d2, d3, ..."""
    mission = generate_mission_id()
    await store.append(
        mission,
        [MissionCreated(title="t")]
        + [MissionUpdated(description=f"d{n}") for n in range(2, events + 1)],
        expected_version=NO_STREAM,
    )
    return mission


async def _pages(
    store: EventStore, stream_id: str, direction: str = "forwards", limit: int = 2
) -> list[list[int]]:
    """Every page of a stream read with ``limit``, following ``next_version``."""
    pages: list[list[int]] = []
    page: StreamPage = await store.read_stream(stream_id, direction=direction, limit=limit)  # type: ignore[arg-type]
    pages.append([event.version for event in page.events])
    while page.next_version is not None:
        page = await store.read_stream(
            stream_id,
            from_version=page.next_version,
            direction=direction,  # type: ignore[arg-type]
            limit=limit,
        )
        pages.append([event.version for event in page.events])
        assert len(pages) < 20
    return pages


def _execute(config: Config, sql: str, **values: object) -> None:
    engine = sa.create_engine(resolve_url(config))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), values)
    finally:
        engine.dispose()


async def test_max_count_and_truncate_before_hold_for_reads_at_once(store_config: Config) -> None:
    async with open_store(store_config) as store:
        mission = await _mission(store, 6)
        meta = await store.set_stream_metadata(mission, max_count=3)
        assert (meta.version, meta.max_count) == (6, 3)
        assert await _pages(store, mission) == [[4, 5], [6]]
        assert await _pages(store, mission, "backwards") == [[6, 5], [4]]
        assert await _pages(store, mission, limit=3) == [[4, 5, 6]]
        assert await _pages(store, mission, "backwards", limit=3) == [[6, 5, 4]]
        early = await store.read_stream(mission, from_version=1, limit=2)
        assert ([e.version for e in early.events], early.next_version) == ([4, 5], 6)
        low = await store.read_stream(mission, from_version=3, direction="backwards")
        assert (low.events, low.next_version) == ([], None)
        page = await store.read_stream(mission)
        assert [e.payload for e in page.events] == [
            MissionUpdated(description="d4"),
            MissionUpdated(description="d5"),
            MissionUpdated(description="d6"),
        ]

        # The stricter of truncate_before and max_count wins.
        await store.set_stream_metadata(mission, truncate_before=5)
        assert await _pages(store, mission) == [[5, 6]]
        await store.set_stream_metadata(mission, truncate_before=2)
        assert await _pages(store, mission) == [[4, 5], [6]]
        await store.set_stream_metadata(mission, max_count=None)
        assert await _pages(store, mission, limit=5) == [[2, 3, 4, 5, 6]]
        assert await _pages(store, mission, "backwards", limit=4) == [[6, 5, 4, 3], [2]]

        # The version never changes, and appends go on after it.
        assert await store.stream_version(mission) == 6
        assert (await store.stream_metadata(mission)).version == 6
        done = await store.append(mission, [MissionUpdated(description="d7")], expected_version=6)
        assert (done.first_version, done.last_version) == (7, 7)
        await store.set_stream_metadata(mission, max_count=1)
        assert await _pages(store, mission) == [[7]]

        # The global log keeps every event.
        log = (await store.read_all()).events
        assert [(e.version, e.position) for e in log] == [(n, n) for n in range(1, 8)]
        assert await store.count() == 7
    async with open_store(store_config) as store:
        assert await _pages(store, mission) == [[7]]
        assert (await store.list_streams()).streams[0].version == 7


async def test_max_age_hides_events_recorded_too_long_ago(store_config: Config) -> None:
    async with open_store(store_config) as store:
        mission = await _mission(store, 5)
        _execute(
            store_config,
            "UPDATE events SET recorded_at = :old WHERE stream_id = :stream AND version <= 2",
            old=now_ms() - 3_600_000,
            stream=mission,
        )
        assert await _pages(store, mission, limit=10) == [[1, 2, 3, 4, 5]]
        await store.set_stream_metadata(mission, max_age_s=600)
        assert await _pages(store, mission, limit=10) == [[3, 4, 5]]
        assert await _pages(store, mission, limit=3) == [[3, 4, 5]]
        forwards = await store.read_stream(mission, from_version=1, limit=2)
        assert [e.version for e in forwards.events] == [3, 4]
        backwards = await _pages(store, mission, "backwards", limit=1)
        assert [version for page in backwards for version in page] == [5, 4, 3]
        assert backwards[:3] == [[5], [4], [3]]
        await store.set_stream_metadata(mission, max_age_s=7200)
        assert await _pages(store, mission, limit=10) == [[1, 2, 3, 4, 5]]
        assert await store.stream_version(mission) == 5
        assert await store.count() == 5


async def test_backwards_paging_under_max_age_ends_at_the_oldest_visible_event(
    store_config: Config,
) -> None:
    async with open_store(store_config) as store:
        mission = await _mission(store, 5)
        _execute(
            store_config,
            "UPDATE events SET recorded_at = :old WHERE stream_id = :stream AND version <= 2",
            old=now_ms() - 3_600_000,
            stream=mission,
        )
        await store.set_stream_metadata(mission, max_age_s=600)
        assert await _pages(store, mission, "backwards", limit=1) == [[5], [4], [3]]


def _age(config: Config, stream_id: str) -> None:
    """Make every stored event of ``stream_id`` an hour old."""
    _execute(
        config,
        "UPDATE events SET recorded_at = :old WHERE stream_id = :stream",
        old=now_ms() - 3_600_000,
        stream=stream_id,
    )


@pytest.mark.parametrize(
    ("settings", "visible"),
    [({"max_count": 1}, [[5]]), ({"truncate_before": 5}, [[5]]), ({"max_age_s": 60}, [[]])],
    ids=["max-count", "truncated", "aged"],
)
async def test_a_hidden_start_still_counts_for_the_state_after_a_restart(
    store_config: Config, settings: dict[str, int], visible: list[list[int]]
) -> None:
    """Without a snapshot, the state is folded from every stored event, hidden or not."""
    config = with_overrides(store_config, store={"snapshot_every": 0, "snapshot_on_stop": False})
    async with open_store(config) as store:
        mission = await _mission(store, 3)
        await store.append(mission, [MissionActivated(), MissionPriorityChanged(priority="high")])
        await store.set_stream_metadata(mission, **settings)
    _age(config, mission)
    async with open_store(config) as store:
        assert await _pages(store, mission) == visible
        state = await store.aggregate_state(mission)
        assert (state.version, state.title, state.description) == (5, "t", "d3")
        assert (state.status, state.priority) == ("active", "high")
        with pytest.raises(InvalidTransition):
            await store.append(mission, [MissionCreated(title="again")])
        done = await store.append(mission, [MissionCompleted(summary="s")], expected_version=5)
        assert (done.first_version, done.last_version) == (6, 6)
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
        assert (state.version, state.title, state.status) == (6, "t", "completed")
        assert state.summary == "s"


def _tamper_snapshot(config: Config, stream_id: str, version: int, title: str) -> None:
    """Rewrite one snapshot's state to carry ``title``: a fold that used it shows it."""
    engine = sa.create_engine(resolve_url(config))
    try:
        with engine.begin() as conn:
            state = conn.execute(
                sa.text("SELECT state FROM snapshots WHERE stream_id = :s AND version = :v"),
                {"s": stream_id, "v": version},
            ).scalar_one()
            decoded = MISSION.decode_state(bytes(state))
            changed = MISSION.encode_state(msgspec.structs.replace(decoded, title=title))
            conn.execute(
                sa.text("UPDATE snapshots SET state = :new WHERE stream_id = :s AND version = :v"),
                {"new": changed, "s": stream_id, "v": version},
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "settings",
    [
        {"truncate_before": 4},
        {"max_count": 2},
        {"max_count": 5},
        {"truncate_before": 6},
        {"max_age_s": 60},
    ],
    ids=["truncated-after-snapshot", "max-count", "nothing-hidden", "all-hidden", "aged"],
)
async def test_loading_after_a_restart_folds_from_the_newest_snapshot_whatever_is_hidden(
    store_config: Config, settings: dict[str, int]
) -> None:
    """A snapshot at 3 (of 5 events) stands for the events up to it, and the events after
    it are folded in, however many of them readers see."""
    config = with_overrides(store_config, store={"snapshot_every": 3, "snapshot_on_stop": False})
    async with open_store(config) as store:
        mission = await _mission(store, 3)
        await store.append(mission, [MissionUpdated(description="d4")])
        await store.append(mission, [MissionUpdated(description="d5")])
        await store.set_stream_metadata(mission, **settings)
    _age(config, mission)
    _tamper_snapshot(config, mission, 3, "from-snapshot")
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
        assert (state.version, state.title, state.description) == (5, "from-snapshot", "d5")
        done = await store.append(mission, [MissionUpdated(description="d6")], expected_version=5)
        assert (done.first_version, done.last_version) == (6, 6)
        assert await store.stream_version(mission) == 6
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
        assert (state.version, state.title, state.description) == (6, "from-snapshot", "d6")


async def test_a_snapshot_from_before_a_soft_deletion_is_not_used(store_config: Config) -> None:
    config = with_overrides(store_config, store={"snapshot_every": 2, "snapshot_on_stop": False})
    async with open_store(config) as store:
        mission = await _mission(store, 4)
        assert (await store.delete_stream(mission)).version == 5
        await store.append(mission, [MissionCreated(title="new")], expected_version=NO_STREAM)
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
        assert (state.version, state.title, state.description) == (6, "new", "")
        await store.append(mission, [MissionUpdated(description="after")], expected_version=6)
        page = await store.read_stream(mission)
        assert [(e.version, e.type) for e in page.events] == [
            (6, "MissionCreated"),
            (7, "MissionUpdated"),
        ]
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
        assert (state.version, state.title, state.description) == (7, "new", "after")


async def test_retention_settings_cannot_bring_back_what_a_deletion_hid(
    store_config: Config,
) -> None:
    async with open_store(store_config) as store:
        deleted = await _mission(store, 1)
        await store.delete_stream(deleted)
        restarted = await _mission(store, 1)
        await store.delete_stream(restarted)
        await store.append(restarted, [MissionCreated(title="again")])
        for stream, still_deleted in ((deleted, True), (restarted, False)):
            meta = await store.set_stream_metadata(
                stream, truncate_before=1, max_count=10, max_age_s=3_600
            )
            assert (meta.truncate_before, meta.max_count, meta.max_age_s) == (1, 10, 3_600)
            assert (meta.deleted, meta.deleted_version) == (still_deleted, 2)
        await _the_deletions_hold(store, deleted, restarted)
        cleared = await store.set_stream_metadata(
            deleted, truncate_before=None, max_count=None, max_age_s=None
        )
        assert (cleared.truncate_before, cleared.deleted) == (None, True)
        assert cleared.deleted_version == 2
        await _the_deletions_hold(store, deleted, restarted)
    async with open_store(store_config) as store:
        await _the_deletions_hold(store, deleted, restarted)
        assert (await store.aggregate_state(restarted)).title == "again"


async def _the_deletions_hold(store: EventStore, deleted: str, restarted: str) -> None:
    """``deleted`` (record at 2) is deleted; ``restarted`` shows only its version 3."""
    with pytest.raises(StreamDeleted) as raised:
        await store.read_stream(deleted)
    assert (raised.value.stream_id, raised.value.hard) == (deleted, False)
    assert await store.aggregate_state(deleted) is None
    assert (await store.stream_metadata(deleted)).deleted is True
    assert (await store.list_streams()).streams == [StreamSummary(restarted, 3)]
    for direction in ("forwards", "backwards"):
        page = await store.read_stream(restarted, direction=direction)  # type: ignore[arg-type]
        assert [(e.version, e.type) for e in page.events] == [(3, "MissionCreated")]
        assert page.next_version is None
    state = await store.aggregate_state(restarted)
    assert (state.version, state.title) == (3, "again")


async def test_a_store_scavenge_snapshots_aggregates_first_so_their_state_stays_whole(
    store_config: Config,
) -> None:
    """A mission whose events no longer fold cannot be snapshotted: all its events stay."""
    config = with_overrides(store_config, store={"snapshot_every": 0, "snapshot_on_stop": False})
    async with open_store(config) as store:
        mission = await _mission(store, 4)
        await store.append(mission, [MissionActivated()])
        untouched = await _mission(store, 3)
        deleted = await _mission(store, 2)
        await store.delete_stream(deleted)
        corrupt = await _mission(store, 2)
        for stream in (mission, corrupt):
            await store.set_stream_metadata(stream, max_count=1)
        _execute(
            config,
            "UPDATE events SET type = 'MissionUpdated' WHERE stream_id = :stream AND version = 1",
            stream=corrupt,
        )
        report = await store.scavenge()
        assert (report.streams_examined, report.events_removed, report.snapshots_removed) == (
            3,
            4 + 2,
            0,
        )
        assert await _pages(store, mission) == [[5]]
    assert [row[:2] for row in stored_rows(config)] == [
        (mission, 5),
        (untouched, 1),
        (untouched, 2),
        (untouched, 3),
        (deleted, 3),
        (corrupt, 1),
        (corrupt, 2),
    ]
    assert _snapshots(config) == [(mission, 5)]
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
        assert (state.version, state.title, state.description, state.status) == (
            5,
            "t",
            "d4",
            "active",
        )
        with pytest.raises(InvalidTransition):
            await store.append(mission, [MissionActivated()])
        done = await store.append(mission, [MissionCompleted(summary="s")], expected_version=5)
        assert (done.first_version, done.last_version) == (6, 6)
        again = await store.scavenge()
        assert (again.events_removed, again.snapshots_removed) == (1, 0)
    assert [row[:2] for row in stored_rows(config, mission)] == [(mission, 6)]
    assert _snapshots(config) == [(mission, 5), (mission, 6)]
    async with open_store(config) as store:
        state = await store.aggregate_state(mission)
        assert (state.version, state.title, state.status) == (6, "t", "completed")
        assert state.summary == "s"
        assert (await store.scavenge()).events_removed == 0


def _snapshots(config: Config) -> list[tuple[str, int]]:
    engine = sa.create_engine(resolve_url(config))
    try:
        with engine.connect() as conn:
            query = "SELECT stream_id, version FROM snapshots ORDER BY stream_id, version"
            return [(stream, int(version)) for stream, version in conn.exec_driver_sql(query)]
    finally:
        engine.dispose()
