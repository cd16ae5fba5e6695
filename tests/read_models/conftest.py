"""Read-model fixtures: every test on SQLite and PostgreSQL, under trio by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.config import Config, with_overrides


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


@pytest.fixture
def store_config(database_url: str, tmp_path: Path) -> Config:
    """A configuration for a fresh database of each backend in turn."""
    return with_overrides(
        Config(project_dir=str(tmp_path)),
        database={"url": database_url, "busy_timeout_ms": 10_000},
        store={"freeze_gc_on_open": False, "subscription_poll_s": 0.05},
        projections={"retry_delay_s": 0.05},
    )
