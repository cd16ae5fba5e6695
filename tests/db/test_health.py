"""health_report on both backends, healthy and not."""

from __future__ import annotations

import msgspec

from fleet.config import Config
from fleet.db import Database, HealthReport, health_report
from fleet.db.engine import admin_connection
from fleet.db.migrations import downgrade, head_revision
from tests.db.conftest import MakeConfig, event_rows


def test_healthy_database(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 10))
    report = health_report(db)
    assert report.ok
    assert report.problems == ()
    assert report.connected
    assert report.latency_ms is not None
    assert report.latency_ms >= 0
    assert report.revision == head_revision() == report.head_revision
    assert report.schema_state == "current"
    assert report.database_size_bytes is not None
    assert report.database_size_bytes > 0
    assert report.pool.size == db.config.database.read_pool_size
    if db.dialect == "sqlite":
        assert report.integrity == "ok"
        assert report.wal_size_bytes is not None
    else:
        assert report.integrity is None
        assert report.wal_size_bytes is None
    decoded = msgspec.json.decode(msgspec.json.encode(report), type=HealthReport)
    assert decoded == report


def test_schema_behind_is_reported(config: Config) -> None:
    with Database.open(config, check_schema=False) as db:
        report = health_report(db)
    assert not report.ok
    assert report.schema_state == "empty"
    assert any("schema is empty" in problem for problem in report.problems)


def test_downgraded_database_is_reported(config: Config) -> None:
    Database.open(config).close()
    with admin_connection(config) as conn:
        downgrade(conn, "base")
    with Database.open(config, check_schema=False) as db:
        assert health_report(db).schema_state == "empty"


def test_closed_database_is_reported_not_raised(db: Database) -> None:
    db.close()
    report = health_report(db)
    assert not report.ok
    assert not report.connected
    assert report.problems == ("database: the database has been closed",)


def test_in_memory_database_has_no_wal_file(make_config: MakeConfig) -> None:
    with Database.open(make_config("sqlite:///:memory:")) as db:
        report = health_report(db)
    assert report.ok
    assert report.wal_size_bytes is None
