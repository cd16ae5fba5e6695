"""One batch, one transaction: rows, error rows and checkpoint commit together or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import anyio.to_thread
import pytest
import sqlalchemy as sa

from fleet.db.schema import checkpoints, projection_errors
from fleet.errors import StoreUnavailable, ValidationError
from fleet.events import Event
from fleet.projections import EventFailure, apply_batch, checkpoint_name, reset_projection
from fleet.projections.batch import MAX_MESSAGE
from fleet.read_models import MISSIONS
from fleet.read_models.tables import mission_view
from fleet.store import EventStore
from fleet.vocabulary import (
    MissionActivated,
    MissionAssigned,
    MissionCreated,
    MissionUpdated,
    WorkOrderCreated,
    generate_mission_id,
    generate_work_order_id,
)
from tests.read_models.lives import open_prepared

pytestmark = pytest.mark.anyio


class Crash(BaseException):
    """The process dies in the middle of a transaction."""


class Wrapped:
    """The missions projection, with something going wrong after its rows are written."""

    name = MISSIONS.name
    event_types = MISSIONS.event_types

    def __init__(self, failure: BaseException, only_type: str | None = None) -> None:
        self.failure = failure
        self.only_type = only_type
        self.calls = 0

    def handle(self, conn: sa.Connection, events: Sequence[Event]) -> Sequence[EventFailure]:
        self.calls += 1
        failures = MISSIONS.handle(conn, events)
        if self.only_type is None or any(e.type == self.only_type for e in events):
            raise self.failure
        return failures

    def reset(self, conn: sa.Connection) -> None:
        MISSIONS.reset(conn)


def snapshot(store: EventStore) -> tuple[dict[str, int], int | None, int]:
    """Event counts per mission row, the missions checkpoint and the error count."""
    with store.database.read() as conn:
        query = sa.select(mission_view.c.mission_id, mission_view.c.event_count)
        counts = dict(conn.execute(query).all())
        position = conn.execute(
            sa.select(checkpoints.c.position).where(
                checkpoints.c.name == checkpoint_name("missions")
            )
        ).scalar_one_or_none()
        errors = conn.execute(
            sa.select(sa.func.count()).select_from(projection_errors)
        ).scalar_one()
    return counts, position, int(errors)


async def apply(store: EventStore, projection, events, after, through=None):
    call = partial(apply_batch, store.database, projection, events, after=after, through=through)
    return await anyio.to_thread.run_sync(call)


async def state(store: EventStore):
    return await anyio.to_thread.run_sync(snapshot, store)


async def two_missions(store: EventStore) -> tuple[list[Event], str, str]:
    first, second = generate_mission_id(), generate_mission_id()
    await store.append(first, [MissionCreated(title="a"), MissionAssigned(assignee="ann")])
    await store.append(second, [MissionCreated(title="b")])
    await store.append(first, [MissionActivated()])
    return (await store.read_all()).events, first, second


@pytest.mark.parametrize("failure", [Crash(), StoreUnavailable("database went away")])
async def test_a_failed_transaction_keeps_nothing_and_a_rerun_applies_once(store_config, failure):
    async with open_prepared(store_config) as store:
        events, first, second = await two_missions(store)
        with pytest.raises(type(failure)):
            await apply(store, Wrapped(failure), events, after=0)
        assert await state(store) == ({}, None, 0)

        outcome = await apply(store, MISSIONS, events, after=0)
        assert (outcome.checkpoint, outcome.applied, outcome.failed, outcome.moved) == (
            4,
            4,
            0,
            False,
        )
        assert await state(store) == ({first: 3, second: 1}, 4, 0)

        again = await apply(store, MISSIONS, events, after=0)
        assert (again.checkpoint, again.applied, again.moved) == (4, 0, False)
        await store.append(second, [MissionUpdated(description="more")])
        overlapping = (await store.read_all(2)).events
        outcome = await apply(store, MISSIONS, overlapping, after=2)
        assert (outcome.checkpoint, outcome.applied) == (5, 1)
        assert await state(store) == ({first: 3, second: 2}, 5, 0)


async def test_a_batch_that_starts_past_the_checkpoint_is_refused(store_config):
    async with open_prepared(store_config) as store:
        events, _, _ = await two_missions(store)
        outcome = await apply(store, MISSIONS, events[2:], after=2)
        assert (outcome.moved, outcome.checkpoint, outcome.applied, outcome.failed) == (
            True,
            0,
            0,
            0,
        )
        assert await state(store) == ({}, None, 0)


async def test_a_handler_that_raises_costs_only_the_events_that_raise(store_config):
    async with open_prepared(store_config) as store:
        events, first, second = await two_missions(store)
        picky = Wrapped(ValueError("no assignments\nplease"), only_type="MissionAssigned")
        outcome = await apply(store, picky, events, after=0)
        assert (outcome.checkpoint, outcome.applied, outcome.failed) == (4, 4, 1)
        assert outcome.one_by_one is True
        assert picky.calls == 1 + 4
        assert await state(store) == ({first: 2, second: 1}, 4, 1)
        with store.database.read() as conn:
            row = conn.execute(sa.select(projection_errors)).one()
        assert row.position == 2
        assert row.stream_id == first
        assert row.event_id == events[1].event_id
        assert row.message == "ValueError: no assignments please"


class Counting:
    """The missions projection, noting the size of every batch it is handed."""

    name = MISSIONS.name
    event_types = MISSIONS.event_types

    def __init__(self) -> None:
        self.batches: list[int] = []

    def handle(self, conn: sa.Connection, events: Sequence[Event]) -> Sequence[EventFailure]:
        self.batches.append(len(events))
        return MISSIONS.handle(conn, events)

    def reset(self, conn: sa.Connection) -> None:
        MISSIONS.reset(conn)


async def test_a_batch_the_projection_takes_is_handed_to_it_in_one_go(store_config):
    async with open_prepared(store_config) as store:
        events, first, second = await two_missions(store)
        counting = Counting()
        outcome = await apply(store, counting, events, after=0)
        assert (outcome.checkpoint, outcome.applied, outcome.failed) == (4, 4, 0)
        assert outcome.one_by_one is False
        assert counting.batches == [4]
        assert await state(store) == ({first: 3, second: 1}, 4, 0)


async def test_an_empty_batch_leaves_a_checkpoint_of_zero_where_it_is(store_config):
    async with open_prepared(store_config) as store:
        await two_missions(store)
        outcome = await apply(store, MISSIONS, [], after=0)
        assert (outcome.checkpoint, outcome.applied, outcome.moved) == (0, 0, False)
        assert await state(store) == ({}, None, 0)


async def test_a_batch_applied_one_by_one_still_covers_through(store_config):
    async with open_prepared(store_config) as store:
        events, first, second = await two_missions(store)
        picky = Wrapped(ValueError("no assignments"), only_type="MissionAssigned")
        outcome = await apply(store, picky, events, after=0, through=9)
        assert (outcome.checkpoint, outcome.applied, outcome.failed) == (9, 4, 1)
        assert outcome.one_by_one is True
        assert await state(store) == ({first: 2, second: 1}, 9, 1)


async def test_checkpoint_covers_skipped_positions_and_other_types(store_config):
    async with open_prepared(store_config) as store:
        mission = generate_mission_id()
        await store.append(mission, [MissionCreated(title="m")])
        await store.append(
            generate_work_order_id(), [WorkOrderCreated(mission_id=mission, title="w")]
        )
        events = (await store.read_all()).events
        outcome = await apply(store, MISSIONS, events, after=0)
        assert (outcome.checkpoint, outcome.applied) == (2, 1)
        outcome = await apply(store, MISSIONS, [], after=2, through=9)
        assert (outcome.checkpoint, outcome.applied) == (9, 0)
        outcome = await apply(store, MISSIONS, [], after=9)
        assert outcome.checkpoint == 9


async def test_reset_empties_rows_errors_and_checkpoint(store_config):
    async with open_prepared(store_config) as store:
        events, _, _ = await two_missions(store)
        long_message = Wrapped(ValueError("x" * (MAX_MESSAGE + 50)), only_type="MissionCreated")
        await apply(store, long_message, events, after=0)
        with store.database.read() as conn:
            message = conn.execute(sa.select(projection_errors.c.message)).scalars().first()
        assert message is not None
        assert len(message) == MAX_MESSAGE
        await anyio.to_thread.run_sync(reset_projection, store.database, MISSIONS)
        assert await state(store) == ({}, 0, 0)


async def test_an_error_without_a_message_is_recorded_by_its_type(store_config):
    async with open_prepared(store_config) as store:
        events, _, _ = await two_missions(store)
        await apply(store, Wrapped(ValueError(), only_type="MissionCreated"), events, after=0)
        with store.database.read() as conn:
            messages = set(conn.execute(sa.select(projection_errors.c.message)).scalars())
        assert "ValueError: ValueError" in messages


class Moody:
    """Raises on its whole first batch, then something else for single events."""

    name = MISSIONS.name
    event_types = MISSIONS.event_types

    def __init__(self, later: Exception) -> None:
        self.later = later
        self.calls = 0

    def handle(self, conn: sa.Connection, events: Sequence[Event]) -> Sequence[EventFailure]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("whole batch")
        raise self.later

    def reset(self, conn: sa.Connection) -> None:
        MISSIONS.reset(conn)


async def test_errors_met_one_event_at_a_time(store_config):
    async with open_prepared(store_config) as store:
        events, _, _ = await two_missions(store)
        with pytest.raises(StoreUnavailable):
            await apply(store, Moody(StoreUnavailable("gone")), events, after=0)
        assert await state(store) == ({}, None, 0)
        outcome = await apply(store, Moody(ValidationError("bad payload")), events, after=0)
        assert (outcome.applied, outcome.failed) == (4, 4)
        with store.database.read() as conn:
            messages = set(conn.execute(sa.select(projection_errors.c.message)).scalars())
        assert messages == {"bad payload"}


def _refuse_checkpoints(store: EventStore) -> None:
    """Make the database refuse every checkpoint write (the read-model rows still go in)."""
    with store.database.write_transaction() as tx:
        conn = tx.connection
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_checkpoint() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'checkpoint refused'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_checkpoint BEFORE INSERT OR UPDATE ON checkpoints "
                "FOR EACH ROW EXECUTE FUNCTION refuse_checkpoint()"
            )
        else:
            for action in ("INSERT", "UPDATE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER refuse_checkpoint_{action.lower()} BEFORE {action} "
                    "ON checkpoints BEGIN SELECT RAISE(ABORT, 'checkpoint refused'); END"
                )


async def test_rows_are_not_kept_when_their_checkpoint_cannot_be(store_config):
    async with open_prepared(store_config) as store:
        events, _, _ = await two_missions(store)
        await anyio.to_thread.run_sync(_refuse_checkpoints, store)
        with pytest.raises(Exception, match="checkpoint refused"):
            await apply(store, MISSIONS, events, after=0)
        assert await state(store) == ({}, None, 0)
