"""Fixtures shared by every test: real SQLite files and the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get(
    "FLEET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

COMPILED_RUN = os.environ.get("FLEET_TEST_COMPILED") == "1"
"""Set by ``make pytest-compiled``: the modules mypyc compiles must run compiled."""


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to test code other than the sources: no stale compiled module, and in
    the compiled run, every module of ``fleet.compiled.MODULES`` compiled."""
    from fleet.compiled import MODULES, compiled_modules, stale_modules

    stale = stale_modules()
    if stale:
        pytest.exit(
            f"compiled modules older than their source: {', '.join(stale)}; "
            "run `make compile` again or `make clean-compiled`",
            returncode=4,
        )
    missing = sorted(set(MODULES) - set(compiled_modules()))
    if COMPILED_RUN and missing:
        pytest.exit(f"FLEET_TEST_COMPILED=1 but not compiled: {', '.join(missing)}", returncode=4)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the real PostgreSQL server; tests fail (not skip) when it is down."""
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the real PostgreSQL server, dropped afterwards."""
    import sqlalchemy as sa

    name = f"fleet_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(postgres_server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file (not yet created) in a fresh temporary directory."""
    return f"sqlite:///{tmp_path / 'fleet.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: a SQLite file, then a fresh PostgreSQL database."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url
