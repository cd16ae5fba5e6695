"""``fleet projections list|rebuild``: status table, rebuild with progress, one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from rich.console import Console

from fleet.config import Config
from fleet.db import admin_connection
from tests.cli.conftest import Fleet, assert_one_line_error, config_for, seed


def test_list_then_rebuild_then_list(fleet: Fleet, database_url: str, tmp_path: Path) -> None:
    seeded = seed(config_for(database_url, tmp_path))
    url = ("--database-url", database_url)
    before = fleet("projections", "list", *url)
    assert before.code == 0, before.err
    rows = [line.split() for line in before.out.splitlines()]
    assert rows[0] == ["NAME", "POSITION", "HEAD", "LAG", "ERRORS", "UPDATED"]
    missions = next(row for row in rows if row[0] == "missions")
    assert missions == [
        "missions",
        "0",
        str(seeded.events),
        str(3 * len(seeded.missions)),
        "0",
        "never",
    ]

    rebuilt = fleet("projections", "rebuild", "missions", *url)
    assert rebuilt.code == 0, rebuilt.err
    assert rebuilt.out.startswith(f"rebuilt missions: {3 * len(seeded.missions)} events replayed;")

    after = json.loads(fleet("projections", "list", "--json", *url).out)
    status = {row["name"]: row for row in after}
    assert status["missions"]["lag"] == 0
    assert status["missions"]["updated_at"] is not None
    assert status["work_orders"]["lag"] == len(seeded.work_orders)


def test_rebuild_draws_progress_on_a_terminal(
    fleet: Fleet, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fleet.cli.transfer as transfer

    seeded = seed(config_for(sqlite_url, tmp_path))
    screen = io.StringIO()
    monkeypatch.setattr(
        transfer, "progress_console", lambda: Console(file=screen, force_terminal=True, width=100)
    )
    report = fleet("projections", "rebuild", "work_orders", "--json", "--database-url", sqlite_url)
    assert report.code == 0, report.err
    assert json.loads(report.out) == {
        "name": "work_orders",
        "events": len(seeded.work_orders),
        "errors": 0,
        # the last work order is created right after the missions
        "position": len(seeded.missions) + len(seeded.work_orders),
    }
    assert "rebuilding work_orders" in screen.getvalue()
    assert f"{len(seeded.work_orders)}/{len(seeded.work_orders)}" in screen.getvalue()


def test_mistakes_are_one_line(fleet: Fleet, sqlite_url: str) -> None:
    unknown = fleet("projections", "rebuild", "nope", "--quiet", "--database-url", sqlite_url)
    assert_one_line_error(unknown, "projection 'nope' does not exist")
    missing = fleet("projections", "rebuild")
    assert_one_line_error(missing, "NAME", code=2)
    bare = fleet("projections")
    assert bare.code == 2
    assert bare.out.startswith("usage: fleet projections ")


def test_rebuild_creates_the_views_and_downgrading_to_base_removes_them(
    fleet: Fleet, database_url: str, tmp_path: Path
) -> None:
    config = config_for(database_url, tmp_path)
    seed(config)
    views = {"mission_view", "work_order_view", "checkpoint_view"}
    assert not table_names(config) & views
    assert fleet("projections", "rebuild", "missions", "--database-url", database_url).code == 0
    assert table_names(config) >= views
    downgraded = fleet("db", "downgrade", "base", "--database-url", database_url)
    assert downgraded.code == 0, downgraded.err
    assert "state: empty" in downgraded.out
    assert not {name for name in table_names(config) if not name.startswith("alembic_version")}


def table_names(config: Config) -> set[str]:
    with admin_connection(config, read_only=True) as conn, conn.begin():
        return set(sa.inspect(conn).get_table_names())
