"""Fixtures for the persistence-layer tests: configurations, open databases, rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fleet.config import Config, DatabaseConfig
from fleet.core.ids import generate_event_id
from fleet.db import Database, EventRow

MakeConfig = Callable[..., Config]
MakeRows = Callable[..., list[EventRow]]


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """Build a configuration for a URL, with optional ``[database]`` overrides."""

    def make(url: str, **database: Any) -> Config:
        return Config(database=DatabaseConfig(url=url, **database), project_dir=str(tmp_path))

    return make


@pytest.fixture
def config(database_url: str, make_config: MakeConfig) -> Config:
    """Configuration for each backend in turn (a SQLite file, a fresh PostgreSQL database)."""
    return make_config(database_url, busy_timeout_ms=10_000)


@pytest.fixture
def db(config: Config) -> Iterator[Database]:
    """An open, migrated database on each backend in turn."""
    with Database.open(config) as database:
        yield database


def event_rows(
    head: int, count: int, *, stream_id: str = "msn-test", first_version: int = 1
) -> list[EventRow]:
    """``count`` rows continuing the log after ``head`` and the stream at ``first_version``."""
    return [
        EventRow(
            position=head + i + 1,
            event_id=generate_event_id(),
            stream_id=stream_id,
            version=first_version + i,
            type="MissionCreated",
            schema_version=1,
            payload=b'{"title":"test"}',
            correlation_id="cor-1",
            causation_id=None,
            actor="tester",
            occurred_at=1_700_000_000_000 + i,
            recorded_at=1_700_000_000_500 + i,
        )
        for i in range(count)
    ]


def count_events(db: Database) -> int:
    """Number of rows in ``events``, read through the read pool."""
    with db.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one())


def append(db: Database, count: int, *, stream_id: str, reuse_head: bool = True) -> int:
    """Append ``count`` events to a new stream in a transaction; return the first position."""
    with db.write_transaction(reuse_head=reuse_head) as tx:
        first = tx.head_position + 1
        tx.insert_events(event_rows(tx.head_position, count, stream_id=stream_id))
    return first
