"""The read models' own migration branch: applied when they are used, adopting old tables.

Every test runs on SQLite and PostgreSQL. "An old database" is one made by the
fleet before the read models had a branch of their own: fleet's chain at 0003
with the three view tables created by its revision 0002, filled by the
projections, and no revision of the ``read_models`` branch recorded.
"""

from __future__ import annotations

from functools import partial

import anyio.to_thread
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fleet.config import Config
from fleet.db import Database, admin_connection, health_report, migrations
from fleet.errors import SchemaTooNew, StoreReadOnly
from fleet.projections import apply_batch, projection_status
from fleet.read_models import (
    BUILTIN_PROJECTIONS,
    MIGRATIONS,
    get_mission,
    list_missions,
    open_read_models,
    tables,
    upgrade_read_models,
)
from fleet.store import EventStore, open_store
from fleet.vocabulary import MissionActivated, MissionCreated, generate_mission_id
from tests.read_models.lives import live_a_life

pytestmark = pytest.mark.anyio

VIEW_TABLES = {"mission_view", "work_order_view", "checkpoint_view"}


def names(config: Config) -> set[str]:
    with admin_connection(config, read_only=True) as conn, conn.begin():
        return set(sa.inspect(conn).get_table_names())


def branch(config: Config) -> migrations.MigrationStatus:
    with admin_connection(config) as conn:
        return migrations.branch_status(conn, MIGRATIONS)


def fleet_chain(config: Config) -> migrations.MigrationStatus:
    with admin_connection(config) as conn:
        return migrations.status(conn)


def make_old_database(config: Config) -> None:
    """Fleet's chain at its head and the view tables as its old revision 0002 made them."""
    with admin_connection(config) as conn:
        migrations.upgrade(conn)
        with conn.begin():
            tables.metadata.create_all(conn)


async def project_as_before(store: EventStore) -> None:
    """Fill the views the way the old runner did: batches straight into the old tables."""
    events = (await store.read_all(0, 1000)).events
    for projection in BUILTIN_PROJECTIONS:
        apply = partial(apply_batch, store.database, projection, events, after=0)
        await anyio.to_thread.run_sync(apply)


async def test_an_old_database_opens_and_its_read_models_carry_on(store_config: Config) -> None:
    make_old_database(store_config)
    async with open_store(store_config) as store:
        first = await live_a_life(store)
        await project_as_before(store)
        before = await list_missions(store)
    assert len(before.missions) == 2
    assert branch(store_config).current is None
    assert fleet_chain(store_config).state == "current"

    async with open_store(store_config) as store:
        assert await list_missions(store) == before
        with store.database.read() as conn:
            assert not sa.inspect(conn).has_table(MIGRATIONS.version_table)
        async with open_read_models(store) as runner:
            assert await list_missions(store) == before
            mission = generate_mission_id()
            await store.append(mission, [MissionCreated(title="after the move")])
            result = await store.append(mission, [MissionActivated()])
            await runner.wait_for_position(result.last_position)
            view = await get_mission(store, mission)
            assert (view.title, view.status, view.event_count) == ("after the move", "active", 2)
            assert (await get_mission(store, first.missions[0])).status == "completed"
            assert len((await list_missions(store)).missions) == 3
            status = await runner.status()
            assert [s.lag for s in status] == [0, 0, 0]
            assert [s.errors for s in status] == [0, 0, 0]
        report = await anyio.to_thread.run_sync(health_report, store.database)
        assert report.ok, report.problems
        assert report.revision == migrations.head_revision()

    after = branch(store_config)
    assert (after.current, after.state) == (MIGRATIONS.head, "current")
    assert fleet_chain(store_config).state == "current"


async def test_a_fresh_database_gets_the_views_only_when_the_read_models_are_used(
    store_config: Config,
) -> None:
    async with open_store(store_config) as store:
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
        statuses = await projection_status(store, BUILTIN_PROJECTIONS)
        assert [s.lag for s in statuses] == [1, 0, 0]
    assert not names(store_config) & VIEW_TABLES
    assert "projection_errors" in names(store_config)
    assert branch(store_config).state == "empty"

    async with open_store(store_config) as store, open_read_models(store) as runner:
        await runner.wait_for_position(1)
        assert len((await list_missions(store)).missions) == 1
    assert names(store_config) >= VIEW_TABLES | {MIGRATIONS.version_table}
    assert branch(store_config).state == "current"
    assert fleet_chain(store_config).state == "current"
    with Database.open(store_config) as db:
        assert health_report(db).ok


def of_the_views(name: str | None, kind: str, parents: dict[str, str | None]) -> bool:
    """Compare the view tables only (fleet's own are compared with fleet's metadata)."""
    if kind == "schema":
        return True
    return (name if kind == "table" else parents.get("table_name")) in VIEW_TABLES


def test_the_branch_creates_exactly_the_declared_tables(store_config: Config) -> None:
    with Database.open(store_config) as db:
        upgrade_read_models(db)
        upgrade_read_models(db)
    with admin_connection(store_config) as conn, conn.begin():
        context = MigrationContext.configure(conn, opts={"include_name": of_the_views})
        assert compare_metadata(context, tables.metadata) == []


def test_the_branch_round_trip_leaves_fleets_own_tables(store_config: Config) -> None:
    with Database.open(store_config) as db:
        upgrade_read_models(db)
    with admin_connection(store_config) as conn:
        down = migrations.downgrade_branch(conn, MIGRATIONS, "base")
        assert (down.current, down.state) == (None, "empty")
        assert migrations.status(conn).state == "current"
    assert not names(store_config) & VIEW_TABLES
    with admin_connection(store_config) as conn:
        up = migrations.upgrade_branch(conn, MIGRATIONS)
        assert (up.current, up.state, up.pending) == (MIGRATIONS.head, "current", ())
    assert names(store_config) >= VIEW_TABLES


def test_downgrading_an_old_database_to_base_removes_the_adopted_views(
    store_config: Config,
) -> None:
    make_old_database(store_config)
    with admin_connection(store_config) as conn:
        migrations.downgrade_branch(conn, MIGRATIONS, "base")
        migrations.downgrade(conn, "base")
        assert migrations.status(conn).state == "empty"
    assert names(store_config) <= {MIGRATIONS.version_table, "alembic_version"}


def test_a_branch_revision_from_a_newer_fleet_is_refused_and_fleet_stays_current(
    store_config: Config,
) -> None:
    with Database.open(store_config) as db:
        upgrade_read_models(db)
    with admin_connection(store_config) as conn, conn.begin():
        conn.exec_driver_sql(f"UPDATE {MIGRATIONS.version_table} SET version_num = 'rm9999'")
    with Database.open(store_config) as db:
        with pytest.raises(SchemaTooNew, match="rm9999"):
            upgrade_read_models(db)
        assert health_report(db).ok
    assert branch(store_config).state == "ahead"
    assert fleet_chain(store_config).state == "current"


def test_a_read_only_database_is_not_given_the_views(store_config: Config) -> None:
    with Database.open(store_config):
        pass
    with Database.open(store_config, read_only=True) as db, pytest.raises(StoreReadOnly):
        upgrade_read_models(db)
    assert not names(store_config) & VIEW_TABLES
    with Database.open(store_config) as db:
        upgrade_read_models(db)
    with Database.open(store_config, read_only=True) as db:
        upgrade_read_models(db)
