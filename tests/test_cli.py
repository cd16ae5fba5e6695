"""The ``fleet`` command, run as a real subprocess and in-process.

Each scenario runs both ways: the subprocess proves the installed entry point
works end to end; the in-process run lets coverage see the same code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from fleet.cli import main

HEAD = "0004"


class Result(NamedTuple):
    code: int
    out: str
    err: str


Fleet = Callable[..., Result]


@pytest.fixture(params=["subprocess", "in-process"])
def fleet(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Fleet:
    """Run ``fleet ARGS...`` in ``tmp_path`` (with no FLEET_* variables set)."""
    for name in list(os.environ):
        if name.startswith("FLEET_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run_subprocess(*args: str) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "fleet.cli", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            timeout=120,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def run_in_process(*args: str) -> Result:
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run_subprocess if request.param == "subprocess" else run_in_process


def assert_one_line_error(result: Result, *needles: str) -> None:
    assert result.code == 1
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("fleet: error: ")
    for needle in needles:
        assert needle in lines[0]


def test_migration_cycle(fleet: Fleet, database_url: str) -> None:
    url = ("--database-url", database_url)
    if database_url.startswith("sqlite"):
        missing = fleet("db", "status", *url)
        assert_one_line_error(missing, "there is no database at", "`fleet db upgrade` creates it")
        Path(database_url.removeprefix("sqlite:///")).touch()
    status = fleet("db", "status", *url)
    assert status.code == 0
    assert "state: empty" in status.out
    assert f"pending: 0001, 0002, 0003, {HEAD}" in status.out

    upgraded = fleet("db", "upgrade", *url)
    assert (upgraded.code, upgraded.err) == (0, "")
    assert f"migrated: none -> {HEAD}" in upgraded.out
    again = fleet("db", "upgrade", *url)
    assert f"nothing to do: the database is at revision {HEAD}" in again.out

    history = fleet("db", "history", *url)
    assert history.out.startswith(f"{HEAD} (head, current)  Stream lifecycle")

    downgraded = fleet("db", "downgrade", "base", *url)
    assert downgraded.code == 0
    assert f"migrated: {HEAD} -> none" in downgraded.out
    assert "state: empty" in fleet("db", "status", *url).out


def test_health_human_and_json(fleet: Fleet, database_url: str) -> None:
    url = ("--database-url", database_url)
    assert fleet("db", "upgrade", *url).code == 0
    human = fleet("db", "health", *url)
    assert human.code == 0
    assert human.out.startswith("status: ok\n")
    assert f"schema: {HEAD} (head: {HEAD}, current)" in human.out
    report = json.loads(fleet("db", "health", "--json", *url).out)
    assert report["ok"] is True
    assert report["revision"] == HEAD
    assert report["pool"]["size"] == 4


def test_health_of_an_unmigrated_database_fails(fleet: Fleet, sqlite_url: str) -> None:
    Path(sqlite_url.removeprefix("sqlite:///")).touch()
    result = fleet("db", "health", "--database-url", sqlite_url)
    assert result.code == 1
    assert "status: UNHEALTHY" in result.out
    assert "problem: schema is empty" in result.out


def test_unknown_scheme_is_one_line(fleet: Fleet) -> None:
    result = fleet("db", "status", "--database-url", "mysql://user@localhost/fleet")
    assert_one_line_error(result, "'mysql'")


def test_unreachable_server_is_one_line(fleet: Fleet) -> None:
    result = fleet("--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/x", "db", "status")
    assert_one_line_error(result, "unavailable")


def test_newer_database_is_refused(fleet: Fleet, sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('9999')")
    engine.dispose()
    assert_one_line_error(fleet("db", "upgrade", "--database-url", sqlite_url), "upgrade fleet")
    assert "state: ahead" in fleet("db", "status", "--database-url", sqlite_url).out


def test_unknown_revision_is_one_line(fleet: Fleet, sqlite_url: str) -> None:
    result = fleet("db", "upgrade", "nope", "--database-url", sqlite_url)
    assert_one_line_error(result, "'nope'")


def test_config_file_supplies_the_url(fleet: Fleet, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[database]\nurl = "sqlite:///data/events.db"\n', encoding="utf-8")
    result = fleet("--config", str(config), "db", "upgrade")
    assert result.code == 0
    assert (tmp_path / "data" / "events.db").is_file()


def test_default_location_is_under_the_working_directory(fleet: Fleet, tmp_path: Path) -> None:
    assert fleet("db", "upgrade").code == 0
    assert (tmp_path / ".fleet" / "fleet.db").is_file()


def test_missing_config_file_is_one_line(fleet: Fleet) -> None:
    assert_one_line_error(fleet("--config", "missing.toml", "db", "status"), "missing.toml")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("db", "downgrade"), "required: REV"),
        (("db", "explode"), "invalid choice"),
        (("--bogus",), "unrecognized arguments"),
    ],
)
def test_usage_mistakes_are_one_line(fleet: Fleet, args: tuple[str, ...], needle: str) -> None:
    result = fleet(*args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]


@pytest.mark.parametrize(("args", "usage"), [((), "usage: fleet "), (("db",), "usage: fleet db ")])
def test_a_group_without_a_command_prints_its_help(
    fleet: Fleet, args: tuple[str, ...], usage: str
) -> None:
    result = fleet(*args)
    assert result.code == 2
    assert result.out.startswith(usage)


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "fleet"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "db" in done.stdout


def test_help_imports_no_database_code() -> None:
    script = (
        "import sys\n"
        "from fleet.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'trio') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
