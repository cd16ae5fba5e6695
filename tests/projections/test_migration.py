"""Revision 0002 adds the projection errors table and takes it away again."""

from __future__ import annotations

import sqlalchemy as sa

from fleet.db import migrations
from fleet.db.engine import admin_connection
from fleet.db.schema import checkpoints, projection_errors
from fleet.projections import checkpoint_name


def tables(conn: sa.Connection) -> set[str]:
    with conn.begin():
        return set(sa.inspect(conn).get_table_names())


def test_0002_upgrade_downgrade_round_trip(store_config):
    with admin_connection(store_config) as conn:
        assert migrations.upgrade(conn, "0001").current == "0001"
        assert "projection_errors" not in tables(conn)
        assert migrations.upgrade(conn, "0002").current == "0002"
        assert "projection_errors" in tables(conn)
        with conn.begin():
            conn.execute(
                sa.insert(checkpoints),
                [
                    {"name": checkpoint_name("tally"), "position": 7, "updated_at": 1},
                    {"name": "audit-feed", "position": 5, "updated_at": 1},
                ],
            )
        down = migrations.downgrade(conn, "0001")
        assert (down.current, down.state) == ("0001", "behind")
        assert "projection_errors" not in tables(conn)
        with conn.begin():
            names = conn.execute(sa.select(checkpoints.c.name)).scalars().all()
        assert names == ["audit-feed"]
        assert migrations.upgrade(conn).state == "current"
        with conn.begin():
            count = sa.select(sa.func.count()).select_from(projection_errors)
            assert conn.execute(count).scalar() == 0
        assert not tables(conn) & {"mission_view", "work_order_view", "checkpoint_view"}
