"""Migrations on both backends: status, upgrade, downgrade, history, refusals."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fleet.config import Config
from fleet.db import migrations
from fleet.db.engine import admin_connection
from fleet.db.schema import metadata
from fleet.errors import SchemaError, SchemaTooNew, ValidationError

CORE_TABLES = {"events", "snapshots", "checkpoints", "streams"}
PROJECTION_TABLES = {"projection_errors"}
FLEET_TABLES = CORE_TABLES | PROJECTION_TABLES


def tables(conn: sa.Connection) -> set[str]:
    with conn.begin():
        return set(sa.inspect(conn).get_table_names()) & FLEET_TABLES


def test_empty_database_status(config: Config) -> None:
    with admin_connection(config) as conn:
        found = migrations.status(conn)
    assert found == migrations.MigrationStatus(
        current=None,
        head=migrations.head_revision(),
        state="empty",
        pending=("0001", "0002", "0003", "0004"),
    )


def test_upgrade_creates_exactly_the_declared_schema(config: Config) -> None:
    with admin_connection(config) as conn:
        found = migrations.upgrade(conn)
        assert found.state == "current"
        assert found.pending == ()
        with conn.begin():
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
        assert differences == []
        assert tables(conn) == FLEET_TABLES


def test_events_indexes_are_only_the_declared_ones(config: Config) -> None:
    with admin_connection(config) as conn:
        migrations.upgrade(conn)
        conn.begin()
        inspector = sa.inspect(conn)
        indexes = {
            ix["name"]: ix["column_names"]
            for ix in inspector.get_indexes("events")
            if not ix.get("duplicates_constraint")
        }
        uniques = {u["name"] for u in inspector.get_unique_constraints("events")}
        primary = inspector.get_pk_constraint("events")["constrained_columns"]
    assert indexes == {
        "ix_events_type_position": ["type", "position"],
        "ix_events_correlation_id": ["correlation_id"],
    }
    assert uniques == {"uq_events_event_id", "uq_events_stream_id_version"}
    assert primary == ["position"]


def test_upgrade_twice_changes_nothing(config: Config) -> None:
    with admin_connection(config) as conn:
        first = migrations.upgrade(conn)
        second = migrations.upgrade(conn)
    assert first == second


def test_upgrade_downgrade_upgrade_round_trip(config: Config) -> None:
    with admin_connection(config) as conn:
        migrations.upgrade(conn, "head")
        down = migrations.downgrade(conn, "base")
        assert down.state == "empty"
        assert tables(conn) == set()
        assert migrations.downgrade(conn, "base") == down
        up = migrations.upgrade(conn, "0001")
        assert up.state == "behind"
        assert tables(conn) == CORE_TABLES
        up = migrations.upgrade(conn, "0002")
        assert up.state == "behind"
        assert tables(conn) == FLEET_TABLES
        up = migrations.upgrade(conn, "0003")
        assert up.state == "behind"
        assert tables(conn) == FLEET_TABLES
        up = migrations.upgrade(conn, "0004")
        assert up.state == "current"
        assert tables(conn) == FLEET_TABLES


def test_history_lists_revisions_and_marks_the_current_one(config: Config) -> None:
    assert [r.revision for r in migrations.history()] == ["0004", "0003", "0002", "0001"]
    with admin_connection(config) as conn:
        migrations.upgrade(conn)
        (lifecycle, notices, views, initial) = migrations.history(conn)
    assert lifecycle.is_head
    assert lifecycle.is_current
    assert lifecycle.down_revision == "0003"
    assert not notices.is_head
    assert notices.down_revision == "0002"
    assert "Commit notices" in notices.description
    assert not views.is_head
    assert "Projection errors" in views.description
    assert not initial.is_head
    assert not initial.is_current
    assert initial.down_revision is None
    assert "Initial schema" in initial.description


def stamp(conn: sa.Connection, revision: str) -> None:
    with conn.begin():
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{revision}')")


def test_unknown_revision_is_refused_and_left_alone(config: Config) -> None:
    with admin_connection(config) as conn:
        stamp(conn, "9999_from_the_future")
        assert migrations.status(conn).state == "ahead"
        with pytest.raises(SchemaTooNew, match="9999_from_the_future"):
            migrations.upgrade(conn)
        with pytest.raises(SchemaTooNew):
            migrations.downgrade(conn, "base")
        assert migrations.status(conn).current == "9999_from_the_future"
        assert tables(conn) == set()


def test_tables_without_a_revision_are_refused(config: Config) -> None:
    with admin_connection(config) as conn:
        with conn.begin():
            conn.exec_driver_sql("CREATE TABLE events (position INTEGER PRIMARY KEY)")
        assert migrations.status(conn).state == "unmanaged"
        with pytest.raises(SchemaError, match="no recorded schema revision"):
            migrations.upgrade(conn)


@pytest.mark.parametrize("rev", ["nonexistent", "-5"])
def test_an_unknown_target_is_a_validation_error(config: Config, rev: str) -> None:
    with admin_connection(config) as conn, pytest.raises(ValidationError, match=rev):
        migrations.upgrade(conn, rev)


def test_downgrade_above_the_current_revision_is_refused(config: Config) -> None:
    with admin_connection(config) as conn, pytest.raises(ValidationError):
        migrations.downgrade(conn, "0001")


def all_tables(conn: sa.Connection) -> set[str]:
    with conn.begin():
        return set(sa.inspect(conn).get_table_names())


def test_a_downgrade_of_a_database_without_tables_writes_nothing(config: Config) -> None:
    with admin_connection(config) as conn:
        found = migrations.downgrade(conn, "base")
        assert (found.current, found.state) == (None, "empty")
        assert all_tables(conn) == set()


def test_a_downgrade_refuses_someone_elses_tables_untouched(config: Config) -> None:
    with admin_connection(config) as conn:
        with conn.begin():
            conn.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        for rev in ("base", "0001"):
            with pytest.raises(SchemaError, match="not fleet's") as info:
                migrations.downgrade(conn, rev)
            assert str(info.value) == migrations.FOREIGN_REFUSAL
        assert all_tables(conn) == {"customers"}


def test_the_schema_names_the_newest_migration() -> None:
    from fleet.db.schema import SCHEMA_REVISION

    assert migrations.head_revision() == SCHEMA_REVISION


def test_an_embedded_store_loads_neither_alembic_nor_psycopg(tmp_path) -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from fleet.config import Config, with_overrides\n"
        "from fleet.db import Database\n"
        f"url = 'sqlite:///{tmp_path}/fleet.db'\n"
        "config = with_overrides(Config(), database={'url': url})\n"
        "Database.open(config).close()\n"
        "first = sorted(m for m in ('alembic', 'psycopg') if m in sys.modules)\n"
        "for name in [m for m in sys.modules if m.split('.')[0] in ('alembic', 'psycopg')]:\n"
        "    del sys.modules[name]\n"
        "Database.open(config).close()\n"
        "print(first, sorted(m for m in ('alembic', 'psycopg') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split("\n")[-2] == "['alembic'] []"


def test_streams_marked_deleted_before_become_soft_deleted_at_their_head(config: Config) -> None:
    def rows(conn: sa.Connection, columns: str) -> list[tuple[object, ...]]:
        with conn.begin():
            found = conn.exec_driver_sql(f"SELECT {columns} FROM streams ORDER BY stream_id")
            return [tuple(row) for row in found]

    with admin_connection(config) as conn:
        migrations.upgrade(conn, "0003")
        with conn.begin():
            conn.execute(
                sa.text(
                    "INSERT INTO events (position, event_id, stream_id, version, type, "
                    "schema_version, payload, occurred_at, recorded_at) VALUES "
                    "(:p, :e, :s, :v, 'Noted', 1, :d, 1, 1)"
                ),
                [
                    {"p": n, "e": f"evt-{n}", "s": s, "v": v, "d": b"{}"}
                    for n, (s, v) in enumerate(
                        [("msn-a", 1), ("msn-a", 2), ("msn-b", 1), ("msn-a", 3)], start=1
                    )
                ],
            )
            conn.execute(
                sa.text(
                    "INSERT INTO streams (stream_id, deleted, created_at, updated_at) "
                    "VALUES (:s, :d, 1, 1)"
                ),
                [{"s": "msn-a", "d": True}, {"s": "msn-b", "d": False}],
            )
        migrations.upgrade(conn)
        assert rows(conn, "stream_id, deleted_version, hard_deleted") == [
            ("msn-a", 3, False),
            ("msn-b", None, False),
        ]
        with conn.begin():
            columns = {c["name"] for c in sa.inspect(conn).get_columns("streams")}
        assert "deleted" not in columns
        migrations.downgrade(conn, "0003")
        assert rows(conn, "stream_id, deleted") == [("msn-a", True), ("msn-b", False)]
