"""Real faults: corrupt data, a failing row mid-batch, a locked database.

No fault here is simulated in Python: each is a real database condition.
"""

from __future__ import annotations

import sqlite3

import anyio
import pytest
import sqlalchemy as sa

from fleet.config import with_overrides
from fleet.core.ids import generate_event_id
from fleet.errors import FleetError, StoreUnavailable, StreamCorrupt
from fleet.store import open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id

from .test_append import stored_rows

pytestmark = pytest.mark.anyio

CREATED = MissionCreated(title="Survey the ridge")


def execute_sql(config, *statements: str, params=()) -> None:
    engine = sa.create_engine(config.database.url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement, params) if params else conn.exec_driver_sql(
                    statement
                )
    finally:
        engine.dispose()


def store_raw_event(
    config, stream_id: str, version: int, payload: bytes, schema_version: int
) -> None:
    """Write an events row behind the store's back, at position 100."""
    marker = "%s" if config.database.url.startswith("postgresql") else "?"
    row = (100, generate_event_id(), stream_id, version, "MissionCreated", schema_version,
           payload, None, None, None, 0, 0)  # fmt: skip
    execute_sql(config, f"INSERT INTO events VALUES ({', '.join([marker] * len(row))})", params=row)


def raise_action(how: str) -> str:
    return "RAISE(IGNORE)" if how == "IGNORE" else f"RAISE({how}, 'poisoned stream')"


def poison(config, stream_id: str, how: str = "ABORT") -> None:
    """Make every insert of ``stream_id`` fail; on SQLite ``how`` is the RAISE action
    (``FAIL`` keeps the rows the statement inserted before the refused one,
    ``IGNORE`` drops the row without an error)."""
    if config.database.url.startswith("sqlite"):
        execute_sql(
            config,
            f"CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.stream_id = '{stream_id}' "
            f"BEGIN SELECT {raise_action(how)}; END",
        )
    else:
        execute_sql(
            config,
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
            f"IF NEW.stream_id = '{stream_id}' THEN RAISE EXCEPTION 'poisoned stream'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison()",
        )


def cure(config) -> None:
    if config.database.url.startswith("sqlite"):
        execute_sql(config, "DROP TRIGGER poison")
    else:
        execute_sql(config, "DROP TRIGGER poison ON events", "DROP FUNCTION poison()")


def chain(exc: BaseException) -> str:
    parts = []
    current: BaseException | None = exc
    while current is not None and str(current) not in parts:
        parts.append(str(current))
        current = current.__cause__
    return " | ".join(parts)


async def test_failing_row_mid_batch_fails_only_its_append(store_config):
    await fail_one_of_forty(store_config, "ABORT")


async def test_a_trigger_that_keeps_earlier_rows_still_fails_only_its_append(sqlite_config):
    await fail_one_of_forty(sqlite_config, "FAIL")


async def test_a_trigger_that_drops_rows_fails_their_append_and_leaves_no_gap(sqlite_config):
    await fail_one_of_forty(sqlite_config, "IGNORE", because="not stored")


async def fail_one_of_forty(store_config, how: str, because: str = "poisoned") -> None:
    streams = [generate_mission_id() for _ in range(40)]
    bad = streams[17]
    outcomes: dict[str, object] = {}
    async with open_store(store_config) as store:
        await store.append(generate_mission_id(), [CREATED])
        poison(store_config, bad, how)

        async def append(stream: str) -> None:
            try:
                outcomes[stream] = await store.append(stream, [CREATED, MissionUpdated(title="t")])
            except FleetError as exc:
                outcomes[stream] = exc

        async with anyio.create_task_group() as group:
            for stream in streams:
                group.start_soon(append, stream)
        assert isinstance(outcomes[bad], FleetError)
        assert because in chain(outcomes[bad])
        assert all(not isinstance(outcomes[s], BaseException) for s in streams if s != bad)
        cure(store_config)
        result = await store.append(bad, [CREATED], expected_version=0)
        assert result.last_version == 1
    rows = stored_rows(store_config)
    assert len(rows) == 1 + 39 * 2 + 1
    assert [r[2] for r in rows] == list(range(1, len(rows) + 1))


async def test_corrupt_stored_event_crashes_only_its_stream(store_config):
    broken = generate_mission_id()
    healthy = generate_mission_id()
    async with open_store(store_config) as store:
        await store.append(healthy, [CREATED])
    store_raw_event(store_config, broken, 1, b"{not json", schema_version=2)
    async with open_store(store_config) as store:
        with pytest.raises(StreamCorrupt, match="MissionCreated") as info:
            await store.append(broken, [MissionUpdated(title="x")])
        assert info.value.stream_id == broken
        assert (await store.append(healthy, [MissionUpdated(title="still fine")])).last_version == 2
        with pytest.raises(FleetError):
            await store.append(broken, [MissionUpdated(title="x")])
        assert (await store.append(healthy, [MissionUpdated(title="again")])).last_version == 3


async def test_locked_database_is_unavailable_and_stores_nothing(sqlite_config):
    config = with_overrides(sqlite_config, database={"busy_timeout_ms": 50})
    mission = generate_mission_id()
    async with open_store(config) as store:
        await store.append(mission, [CREATED])
        path = config.database.url.removeprefix("sqlite:///")
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreUnavailable):
                await store.append(mission, [MissionUpdated(title="blocked")])
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        result = await store.append(mission, [MissionUpdated(title="free")], expected_version=1)
        assert result.last_version == 2
    assert len(stored_rows(config)) == 2


async def test_a_stream_corrupted_behind_a_live_actor_fails_only_its_append(store_config):
    broken = generate_mission_id()
    healthy = generate_mission_id()
    async with open_store(store_config) as store:
        await store.append(broken, [CREATED])
        await store.append(healthy, [CREATED])
        again = b'{"type":"MissionCreated","title":"again"}'
        store_raw_event(store_config, broken, 2, again, MissionCreated.schema_version)
        with pytest.raises(StreamCorrupt):
            await store.append(broken, [MissionUpdated(title="x")])
        assert (await store.append(healthy, [MissionUpdated(title="fine")])).last_version == 2
