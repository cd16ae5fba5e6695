"""Bad inputs: each gives one clear fleet error and changes nothing."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from fleet.db import Database, resolve_url
from fleet.db.engine import admin_connection
from fleet.errors import (
    ConfigError,
    SchemaError,
    SchemaOutOfDate,
    SchemaTooNew,
    StoreUnavailable,
)
from tests.db.conftest import MakeConfig, count_events, event_rows


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://user@localhost/fleet", "mysql"),
        ("postgresql+psycopg2://postgres@localhost/fleet", "postgresql+psycopg2"),
        ("sqlite+aiosqlite:///fleet.db", "sqlite+aiosqlite"),
        ("not a url", "not a url"),
    ],
)
def test_unsupported_url_is_a_config_error(make_config: MakeConfig, url: str, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        Database.open(make_config(url))


def test_postgres_scheme_aliases_select_psycopg(make_config: MakeConfig) -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db"):
        assert resolve_url(make_config(url)).drivername == "postgresql+psycopg"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_server_is_store_unavailable(make_config: MakeConfig) -> None:
    config = make_config(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test")
    with pytest.raises(StoreUnavailable, match="unavailable") as caught:
        Database.open(config)
    assert caught.value.__cause__ is not None


def test_missing_postgres_database_is_store_unavailable(
    make_config: MakeConfig, postgres_server_url: str
) -> None:
    url = sa.make_url(postgres_server_url).set(database="fleet_no_such_database")
    with pytest.raises(StoreUnavailable, match="fleet_no_such_database"):
        Database.open(make_config(url.render_as_string(hide_password=False)))


def test_corrupt_sqlite_file_is_store_unavailable(make_config: MakeConfig, tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    garbage = b"this is not a database, just some bytes " * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreUnavailable, match="corrupt or is not a SQLite database"):
        Database.open(make_config(f"sqlite:///{path}"))
    assert path.read_bytes() == garbage


def make_database_with_one_event(make_config: MakeConfig, path: Path) -> bytes:
    with Database.open(make_config(f"sqlite:///{path}")) as db, db.write_transaction() as tx:
        tx.insert_events(event_rows(0, 1))
    return path.read_bytes()


def test_read_only_sqlite_file_refuses_writes(make_config: MakeConfig, tmp_path: Path) -> None:
    path = tmp_path / "fleet.db"
    before = make_database_with_one_event(make_config, path)
    config = make_config(f"sqlite:///file:{path}?mode=ro&uri=true")
    with Database.open(config) as db:
        assert count_events(db) == 1
        with pytest.raises(StoreUnavailable, match="read-only"), db.write_transaction() as tx:
            tx.insert_events(event_rows(1, 1, first_version=2))
    assert path.read_bytes() == before


def test_missing_read_only_sqlite_file_is_store_unavailable(
    make_config: MakeConfig, tmp_path: Path
) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(StoreUnavailable, match="cannot be opened"):
        Database.open(make_config(f"sqlite:///file:{path}?mode=ro&uri=true"))
    assert not path.exists()


@pytest.fixture
def read_only_directory(tmp_path: Path) -> Iterator[Path]:
    """A directory nobody can write to: chmod, plus the immutable flag when running as root."""
    directory = tmp_path / "locked"
    directory.mkdir()
    immutable = os.geteuid() == 0
    if immutable and shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: permissions cannot make a directory read-only")
    yield directory
    if immutable:
        subprocess.run(["chattr", "-R", "-i", str(directory)], check=True)
    directory.chmod(0o755)


def lock_directory(directory: Path) -> None:
    for path in directory.iterdir():
        path.chmod(0o444)
    directory.chmod(0o555)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-R", "+i", str(directory)], check=True)


def test_read_only_directory_is_store_unavailable(
    make_config: MakeConfig, read_only_directory: Path
) -> None:
    path = read_only_directory / "fleet.db"
    before = make_database_with_one_event(make_config, path)
    lock_directory(read_only_directory)
    with pytest.raises(StoreUnavailable):
        Database.open(make_config(f"sqlite:///{path}"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in read_only_directory.iterdir()) == ["fleet.db"]


def test_empty_read_only_directory_is_store_unavailable(
    make_config: MakeConfig, read_only_directory: Path
) -> None:
    lock_directory(read_only_directory)
    with pytest.raises(StoreUnavailable):
        Database.open(make_config(f"sqlite:///{read_only_directory / 'fleet.db'}"))
    assert list(read_only_directory.iterdir()) == []


def test_uncreatable_directory_is_store_unavailable(
    make_config: MakeConfig, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable, match="cannot create the database directory"):
        Database.open(make_config(f"sqlite:///{blocker / 'sub' / 'fleet.db'}"))


def test_revision_ahead_of_the_code_is_schema_too_new(
    database_url: str, make_config: MakeConfig
) -> None:
    config = make_config(database_url)
    with admin_connection(config) as conn, conn.begin():
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('fffffffffff')")
    with pytest.raises(SchemaTooNew, match="upgrade fleet"):
        Database.open(config)
    with admin_connection(config) as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
        assert version == "fffffffffff"
        assert not sa.inspect(conn).has_table("events")


def test_empty_database_without_auto_migrate_is_out_of_date(
    database_url: str, make_config: MakeConfig
) -> None:
    config = make_config(database_url, auto_migrate=False)
    with pytest.raises(SchemaOutOfDate, match="run `fleet db upgrade`"):
        Database.open(config)
    with admin_connection(config) as conn:
        assert not sa.inspect(conn).has_table("events")


def test_unmanaged_tables_are_a_schema_error(database_url: str, make_config: MakeConfig) -> None:
    config = make_config(database_url)
    with admin_connection(config) as conn, conn.begin():
        conn.exec_driver_sql("CREATE TABLE events (position INTEGER PRIMARY KEY)")
    with pytest.raises(SchemaError, match="no recorded schema revision"):
        Database.open(config)
