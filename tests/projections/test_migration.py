"""Revision 0002 adds the read-model tables and takes them away again."""

from __future__ import annotations

import sqlalchemy as sa

from fleet.db import migrations
from fleet.db.engine import admin_connection
from fleet.db.schema import checkpoints, mission_view
from fleet.projections import checkpoint_name

VIEW_TABLES = {"mission_view", "work_order_view", "checkpoint_view", "projection_errors"}


def tables(conn: sa.Connection) -> set[str]:
    with conn.begin():
        return set(sa.inspect(conn).get_table_names())


def test_0002_upgrade_downgrade_round_trip(store_config):
    with admin_connection(store_config) as conn:
        assert migrations.upgrade(conn, "0001").current == "0001"
        assert not tables(conn) & VIEW_TABLES
        assert migrations.upgrade(conn, "0002").current == "0002"
        assert tables(conn) >= VIEW_TABLES
        with conn.begin():
            conn.execute(
                sa.insert(checkpoints),
                [
                    {"name": checkpoint_name("missions"), "position": 7, "updated_at": 1},
                    {"name": "audit-feed", "position": 5, "updated_at": 1},
                ],
            )
        down = migrations.downgrade(conn, "0001")
        assert (down.current, down.state) == ("0001", "behind")
        assert not tables(conn) & VIEW_TABLES
        with conn.begin():
            names = conn.execute(sa.select(checkpoints.c.name)).scalars().all()
        assert names == ["audit-feed"]
        assert migrations.upgrade(conn).state == "current"
        with conn.begin():
            assert conn.execute(sa.select(sa.func.count()).select_from(mission_view)).scalar() == 0
