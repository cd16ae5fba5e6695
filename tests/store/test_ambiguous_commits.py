"""A commit whose answer never arrives: the writer learns the outcome instead of guessing.

The store talks to the real PostgreSQL server through a loopback proxy that
breaks the writer's connection at ``COMMIT``. A deferred constraint trigger that
sleeps makes a ``COMMIT`` slow, so the server is still running it when the
connection breaks.
"""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa

from fleet.config import Config, with_overrides
from fleet.db import Database
from fleet.errors import CommitUnknown, ConcurrencyError, StoreUnavailable
from fleet.events import NewEvent
from fleet.store import NO_STREAM, open_store, writer
from fleet.store.writer import Writer, next_epoch
from fleet.vocabulary import MissionCreated, generate_mission_id
from tests.proxy import commit_cutter
from tests.store.test_writer import Owner, Recorder

pytestmark = pytest.mark.anyio


def _config(url: str, tmp_path) -> Config:
    return with_overrides(
        Config(project_dir=str(tmp_path)), database={"url": url, "connect_timeout_s": 2.0}
    )


def _stored(database_url: str, stream_id: str) -> list[tuple[int, int, str]]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT version, position, event_id FROM events WHERE stream_id = %s "
                "ORDER BY version",
                (stream_id,),
            ).all()
    finally:
        engine.dispose()
    return [tuple(row) for row in rows]


def _slow_commits(database_url: str, seconds: float) -> None:
    """Make every later commit that stored events take ``seconds`` longer on the server."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$"
            )
            conn.exec_driver_sql(
                "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON events "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()"
            )
    finally:
        engine.dispose()


async def test_a_commit_that_reached_the_server_is_acknowledged(postgres_url, tmp_path):
    mission = generate_mission_id()
    event = NewEvent(MissionCreated(title="t"))
    with commit_cutter(postgres_url) as proxy:
        async with open_store(_config(proxy.url(postgres_url), tmp_path)) as store:
            await store.append(generate_mission_id(), [MissionCreated(title="warm up")])
            proxy.cut_next_commit("after")
            result = await store.append(mission, [event], expected_version=NO_STREAM)
            assert proxy.cuts == 1
            assert (await store.read_stream(mission)).events[0].event_id == event.event_id
    assert _stored(postgres_url, mission) == [(1, result.first_position, event.event_id)]


async def test_a_commit_that_never_reached_the_server_fails_and_stores_nothing(
    postgres_url, tmp_path
):
    mission = generate_mission_id()
    event = NewEvent(MissionCreated(title="t"))
    with commit_cutter(postgres_url) as proxy:
        async with open_store(_config(proxy.url(postgres_url), tmp_path)) as store:
            await store.append(generate_mission_id(), [MissionCreated(title="warm up")])
            proxy.cut_next_commit("before")
            with pytest.raises(StoreUnavailable, match="nothing was stored"):
                await store.append(mission, [event], expected_version=NO_STREAM)
            assert _stored(postgres_url, mission) == []
            again = await store.append(mission, [event], expected_version=NO_STREAM)
    assert _stored(postgres_url, mission) == [(1, again.first_position, event.event_id)]


async def test_an_outcome_that_cannot_be_learned_says_a_retry_is_safe(postgres_url, tmp_path):
    mission = generate_mission_id()
    event = NewEvent(MissionCreated(title="t"))
    with commit_cutter(postgres_url) as proxy:
        async with open_store(_config(proxy.url(postgres_url), tmp_path)) as store:
            await store.append(generate_mission_id(), [MissionCreated(title="warm up")])
            proxy.cut_next_commit("after", then_refuse_s=6.0)
            with pytest.raises(CommitUnknown, match="same event ids"):
                await store.append(mission, [event], expected_version=NO_STREAM)
            stored = _stored(postgres_url, mission)
            assert [row[2] for row in stored] == [event.event_id]
            await anyio.sleep(proxy.refusing_for())
            retried = await store.append(mission, [event], expected_version=NO_STREAM)
    assert _stored(postgres_url, mission) == [(1, retried.first_position, event.event_id)]


async def test_a_slow_commit_is_looked_up_once_it_has_ended(postgres_url, tmp_path):
    mission = generate_mission_id()
    event = NewEvent(MissionCreated(title="t"))
    with commit_cutter(postgres_url) as proxy:
        async with open_store(_config(proxy.url(postgres_url), tmp_path)) as store:
            await store.append(generate_mission_id(), [MissionCreated(title="warm up")])
            _slow_commits(postgres_url, 1.5)
            proxy.cut_next_commit("after", pause_s=0.0)
            result = await store.append(mission, [event], expected_version=NO_STREAM)
            assert proxy.cuts == 1
            assert (await store.read_stream(mission)).events[0].event_id == event.event_id
    assert _stored(postgres_url, mission) == [(1, result.first_position, event.event_id)]


async def test_a_commit_still_running_when_the_wait_ends_says_a_retry_is_safe(
    postgres_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(writer, "_SETTLE_WAIT_S", 0.3)
    mission = generate_mission_id()
    event = NewEvent(MissionCreated(title="t"))
    with commit_cutter(postgres_url) as proxy:
        async with open_store(_config(proxy.url(postgres_url), tmp_path)) as store:
            await store.append(generate_mission_id(), [MissionCreated(title="warm up")])
            _slow_commits(postgres_url, 1.5)
            proxy.cut_next_commit("after", pause_s=0.0)
            with pytest.raises(CommitUnknown, match="same event ids"):
                await store.append(mission, [event], expected_version=NO_STREAM)
            retried = await store.append(mission, [event], expected_version=NO_STREAM)
    assert _stored(postgres_url, mission) == [(1, retried.first_position, event.event_id)]


@pytest.mark.parametrize("cut", ["after", "before"])
async def test_a_fallback_commit_of_unknown_outcome_resolves_each_bundle(
    postgres_url, tmp_path, cut
):
    """The commit of the fallback transaction reached the server (``after``: the
    fitting bundle is stored) or did not (``before``: nothing of it is)."""
    moved, fresh = generate_mission_id(), generate_mission_id()
    with (
        commit_cutter(postgres_url) as proxy,
        Database.open(_config(postgres_url, tmp_path)) as other,
        Database.open(_config(proxy.url(postgres_url), tmp_path)) as db,
    ):
        other.commit(Recorder(moved, 1, Owner(), next_epoch()).rows)
        behind = Recorder(moved, 1, Owner(), next_epoch())
        new = Recorder(fresh, 1, Owner(), next_epoch())
        batch_writer = Writer(db, max_batch_events=100)
        proxy.cut_next_commit(cut)
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                await batch_writer.submit(behind)
                await batch_writer.submit(new)
                group.start_soon(batch_writer.run)
                await behind.done.wait()
                await new.done.wait()
                batch_writer.close()
        assert proxy.cuts == 1
        stats = batch_writer.statistics()
        assert (stats.fallbacks, stats.transactions) == (1, 1 if cut == "after" else 0)
    assert isinstance(behind.outcome, ConcurrencyError)
    if cut == "after":
        assert new.outcome == 2
        assert _stored(postgres_url, fresh) == [(1, 2, new.rows[0][0])]
    else:
        assert isinstance(new.outcome, StoreUnavailable)
        assert "nothing was stored" in str(new.outcome)
        assert isinstance(new.outcome.__cause__, CommitUnknown)
        assert _stored(postgres_url, fresh) == []


async def test_a_deletion_or_settings_change_of_unknown_outcome_says_a_retry_is_safe(
    postgres_url, tmp_path
):
    mission = generate_mission_id()
    with commit_cutter(postgres_url) as proxy:
        async with open_store(_config(proxy.url(postgres_url), tmp_path)) as store:
            await store.append(mission, [MissionCreated(title="t")])
            proxy.cut_next_commit("after")
            with pytest.raises(CommitUnknown, match="a retry is safe"):
                await store.set_stream_metadata(mission, max_count=5)
            assert (await store.set_stream_metadata(mission, max_count=5)).max_count == 5
            proxy.cut_next_commit("after")
            with pytest.raises(CommitUnknown, match="a retry is safe"):
                await store.delete_stream(mission)
            assert (await store.delete_stream(mission)).version == 2
    assert [row[0] for row in _stored(postgres_url, mission)] == [1, 2]
