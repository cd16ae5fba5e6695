"""Change feeds: each backend reports what other connections commit, and nothing else."""

from __future__ import annotations

import pytest

from fleet.config import Config
from fleet.db import Database
from fleet.db.changes import open_change_feed
from tests.db.conftest import MakeConfig, append, event_rows


def test_nothing_committed_means_nothing_reported(db: Database) -> None:
    feed = open_change_feed(db, 0.005)
    try:
        assert feed.wait(0.05) is None
    finally:
        feed.close()


def test_commits_through_another_connection_are_reported_with_the_newest_position(
    db: Database, config: Config
) -> None:
    feed = open_change_feed(db, 0.005)
    try:
        with Database.open(config) as other:
            append(other, 3, stream_id="msn-a")
            assert feed.wait(10) == 3
            append(other, 2, stream_id="msn-b")
            append(other, 1, stream_id="msn-c")
            newest = feed.wait(10)
            assert newest is not None
            while newest < 6:
                later = feed.wait(10)
                assert later is not None
                newest = later
            assert newest == 6
            assert feed.wait(0.05) is None
    finally:
        feed.close()


def _insert_then_roll_back(db: Database) -> None:
    with db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 2))
        raise RuntimeError("roll back")


def test_a_rolled_back_insert_is_not_reported(db: Database) -> None:
    feed = open_change_feed(db, 0.005)
    try:
        with pytest.raises(RuntimeError):
            _insert_then_roll_back(db)
        assert feed.wait(0.1) is None
    finally:
        feed.close()


def test_a_private_memory_database_reports_nothing(make_config: MakeConfig) -> None:
    with Database.open(make_config("sqlite:///:memory:")) as db:
        feed = open_change_feed(db, 0.005)
        append(db, 1, stream_id="msn-a")
        assert feed.wait(0.02) is None
        feed.close()
