"""``fleet db downgrade`` reverts fleet's schema and nothing else.

It never creates the database it was asked to downgrade, refuses one of
someone else's tables as every other command does (untouched), and leaves a
database without tables as it is.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleet.db import migrations
from tests.cli.conftest import Fleet, assert_one_line_error

REVISIONS = ["base", "0001"]


def _listing(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _theirs(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.close()


@pytest.mark.parametrize("rev", REVISIONS)
def test_in_an_empty_directory_nothing_is_created(fleet: Fleet, tmp_path: Path, rev: str) -> None:
    result = fleet("db", "downgrade", rev)
    assert_one_line_error(result, "there is no database at", "fleet db upgrade")
    elsewhere = fleet("db", "downgrade", rev, "--database-url", "sqlite:///data/fleet.db")
    assert_one_line_error(elsewhere, "there is no database at")
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("rev", REVISIONS)
def test_a_foreign_sqlite_file_is_refused_untouched(fleet: Fleet, tmp_path: Path, rev: str) -> None:
    theirs = tmp_path / "theirs.db"
    _theirs(theirs)
    before = _digest(theirs)
    result = fleet("db", "downgrade", rev, "--database-url", "sqlite:///theirs.db")
    assert_one_line_error(result, migrations.FOREIGN_REFUSAL)
    assert _digest(theirs) == before
    assert _listing(tmp_path) == ["theirs.db"]
    # The refusal of every command that opens the store.
    read = fleet("read", "--database-url", "sqlite:///theirs.db")
    assert_one_line_error(read, migrations.FOREIGN_REFUSAL)
    assert read.err == result.err


def test_a_database_without_tables_is_left_as_it_is(fleet: Fleet, tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    result = fleet("db", "downgrade", "base", "--database-url", "sqlite:///empty.db")
    assert result.code == 0, result
    assert "nothing to do: the database is at revision none" in result.out
    assert "state: empty" in result.out
    above = fleet("db", "downgrade", "0001", "--database-url", "sqlite:///empty.db")
    assert_one_line_error(above, "cannot migrate to revision '0001'", "no fleet schema")
    assert (tmp_path / "empty.db").stat().st_size == 0
    assert _listing(tmp_path) == ["empty.db"]


def test_a_downgraded_database_downgrades_again_to_nothing(fleet: Fleet, tmp_path: Path) -> None:
    url = "sqlite:///fleet.db"
    assert fleet("db", "upgrade", "--database-url", url).code == 0
    assert "-> none" in fleet("db", "downgrade", "base", "--database-url", url).out
    before = _digest(tmp_path / "fleet.db")
    again = fleet("db", "downgrade", "base", "--database-url", url)
    assert again.code == 0, again
    assert "nothing to do" in again.out
    assert _digest(tmp_path / "fleet.db") == before


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("rev", REVISIONS)
def test_a_foreign_postgres_database_is_refused_untouched(
    fleet: Fleet, postgres_url: str, rev: str
) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT)")
    finally:
        engine.dispose()
    result = fleet("db", "downgrade", rev, "--database-url", postgres_url)
    assert_one_line_error(result, migrations.FOREIGN_REFUSAL)
    assert _tables(postgres_url) == ["customers"]


def test_an_empty_postgres_database_is_left_empty(fleet: Fleet, postgres_url: str) -> None:
    result = fleet("db", "downgrade", "base", "--database-url", postgres_url)
    assert result.code == 0, result
    assert "nothing to do" in result.out
    assert _tables(postgres_url) == []
