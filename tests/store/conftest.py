"""Store contract fixtures: every test runs on SQLite and PostgreSQL, under trio and asyncio."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fleet.config import Config, with_overrides
from fleet.db.engine import resolve_url


@pytest.fixture(params=["trio", "asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def store_config(database_url: str, tmp_path) -> Config:
    """A configuration for a fresh database of each backend in turn."""
    return with_overrides(Config(project_dir=str(tmp_path)), database={"url": database_url})


@pytest.fixture
def sqlite_config(sqlite_url: str, tmp_path) -> Config:
    """A configuration for a fresh SQLite file (for SQLite-specific behaviour)."""
    return with_overrides(Config(project_dir=str(tmp_path)), database={"url": sqlite_url})


def stored_rows(config: Config) -> int:
    """Events and saved stream settings in ``config``'s database."""
    engine = sa.create_engine(resolve_url(config))
    try:
        with engine.connect() as conn:
            events = conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
            settings = conn.exec_driver_sql("SELECT count(*) FROM streams").scalar_one()
    finally:
        engine.dispose()
    return int(events) + int(settings)
