"""A projection of its own: every event, its own table, kept live and rebuilt."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import anyio.to_thread
import pytest
import sqlalchemy as sa

from fleet.errors import ProjectionNotFound
from fleet.events import Event
from fleet.projections import EventFailure, Projection, open_projections, projection_status, rebuild
from fleet.projections.projection import find_projection
from fleet.store import EventStore, open_store
from fleet.vocabulary import (
    MissionCreated,
    WorkOrderCreated,
    generate_mission_id,
    generate_work_order_id,
)

pytestmark = pytest.mark.anyio

tally = sa.Table(
    "event_tally",
    sa.MetaData(),
    sa.Column("event_type", sa.String(128), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)


class Tally:
    """Counts events per type; refuses nothing."""

    name = "tally"
    event_types = None

    def handle(self, conn: sa.Connection, events: Sequence[Event]) -> Sequence[EventFailure]:
        for event in events:
            updated = conn.execute(
                sa.update(tally)
                .where(tally.c.event_type == event.type)
                .values(count=tally.c.count + 1)
            )
            if updated.rowcount == 0:
                conn.execute(sa.insert(tally).values(event_type=event.type, count=1))
        return []

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(sa.delete(tally))


async def counts(store: EventStore) -> dict[str, int]:
    def read() -> dict[str, int]:
        with store.database.read() as conn:
            return dict(conn.execute(sa.select(tally.c.event_type, tally.c.count)).all())

    return await anyio.to_thread.run_sync(read)


async def test_an_every_event_projection_runs_live_and_rebuilds(store_config):
    projection: Projection = Tally()
    async with open_store(store_config) as store:

        def create() -> None:
            with store.database.write_transaction() as tx:
                tally.create(tx.connection)

        await anyio.to_thread.run_sync(create)
        mission = generate_mission_id()
        await store.append(mission, [MissionCreated(title="m")])
        (status,) = await projection_status(store, [projection])
        assert (status.name, status.lag) == ("tally", 1)
        async with open_projections(store, [projection]) as runner:
            for _ in range(3):
                await store.append(
                    generate_work_order_id(), [WorkOrderCreated(mission_id=mission, title="w")]
                )
            with anyio.fail_after(30):
                await runner.wait_for_position(4)
            assert await counts(store) == {"MissionCreated": 1, "WorkOrderCreated": 3}
            (status,) = await runner.status()
            assert (status.position, status.lag, status.state) == (4, 0, "live")
        report = await rebuild(store, "tally", projections=[projection])
        assert (report.events, report.position) == (4, 4)
        assert await counts(store) == {"MissionCreated": 1, "WorkOrderCreated": 3}
        assert find_projection([projection], "tally") is projection
        with pytest.raises(ProjectionNotFound):
            find_projection([projection], "missions")
