"""Fixtures for the persistence-layer tests: configurations, open databases, rows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fleet.config import Config, DatabaseConfig
from fleet.core.ids import generate_event_id
from fleet.db import Database, EventRow, PendingTuple

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


@pytest.fixture
def other(config: Config) -> Iterator[Database]:
    """A second database object on the database of ``db``: another process, in effect.

    Each object has its own write connection and only knows the head its own
    commits left.
    """
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


def pending_rows(
    count: int, *, stream_id: str = "msn-test", first_version: int = 1
) -> list[PendingTuple]:
    """``count`` rows of a stream from ``first_version`` on, without positions (for ``commit``)."""
    return [
        row[1:] for row in event_rows(0, count, stream_id=stream_id, first_version=first_version)
    ]


def replaced(row: PendingTuple, **fields: Any) -> PendingTuple:
    """``row`` with some fields changed, named as in :class:`EventRow`."""
    changed: PendingTuple = EventRow(0, *row)._replace(**fields)[1:]
    return changed


def commit_in_transaction(db: Database, rows: Sequence[PendingTuple]) -> int:
    """Commit ``rows`` the long way: after the head a write transaction read under the lock.

    Returns:
        The first position given, as :meth:`Database.commit` does.
    """
    with db.write_transaction() as tx:
        first = tx.head_position + 1
        tx.insert_events([(first + i, *row) for i, row in enumerate(rows)])
    return first


def append(db: Database, count: int, *, stream_id: str, first_version: int = 1) -> int:
    """Commit ``count`` events of a stream with ``Database.commit``; return the first position."""
    return db.commit(pending_rows(count, stream_id=stream_id, first_version=first_version))


def append_in_transaction(
    db: Database, count: int, *, stream_id: str, first_version: int = 1
) -> int:
    """Commit ``count`` events of a stream in a write transaction; return the first position."""
    rows = pending_rows(count, stream_id=stream_id, first_version=first_version)
    return commit_in_transaction(db, rows)


def count_events(db: Database) -> int:
    """Number of rows in ``events``, read through the read pool."""
    with db.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one())


def positions(db: Database) -> list[int]:
    """Every stored position, in order, read through the read pool."""
    with db.read() as conn:
        return list(conn.exec_driver_sql("SELECT position FROM events ORDER BY position").scalars())


def stored_rows(db: Database) -> list[tuple[Any, ...]]:
    """Every stored event as a plain tuple in :class:`EventRow` order, payloads as bytes."""
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM events ORDER BY position").all()
    return [(*row[:6], bytes(row[6]), *row[7:]) for row in rows]


@contextmanager
def lock_held_briefly(holder: Database, stream_id: str) -> Iterator[int]:
    """Another thread holds ``holder``'s write lock, with one row of ``stream_id``
    inserted, until 0.2 s into the block; then it commits.

    Yields:
        The position of the holder's row.
    """
    holding, release = threading.Event(), threading.Event()
    held: list[int] = []
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with holder.write_transaction() as tx:
                tx.insert_events(event_rows(tx.head_position, 1, stream_id=stream_id))
                held.append(tx.head_position + 1)
                holding.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
            holding.set()

    thread = threading.Thread(target=hold)
    thread.start()
    timer = threading.Timer(0.2, release.set)
    try:
        assert holding.wait(10)
        assert errors == []
        timer.start()
        yield held[0]
    finally:
        timer.cancel()
        release.set()
        thread.join(10)
    assert errors == []
