"""Commands that only read never create, migrate or change a database."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from fleet.config import Config
from tests.cli.conftest import Fleet, assert_one_line_error, seed

READERS = [
    ("read",),
    ("read", "msn-01jd8x7k2m3n4p5q6r7s8t9v0w"),
    ("export",),
    ("projections", "list"),
    ("db", "status"),
    ("db", "history"),
    ("db", "health"),
]


def _listing(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_in_an_empty_directory_nothing_is_created(
    fleet: Fleet, tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = fleet(*args)
    assert_one_line_error(result, "there is no database at", "fleet db upgrade")
    assert _listing(tmp_path) == []


def test_tail_in_an_empty_directory_creates_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fleet.cli", "tail"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "there is no database at" in done.stderr
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_an_empty_file_is_left_empty(fleet: Fleet, tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "empty.db").touch()
    result = fleet(*args, "--database-url", "sqlite:///empty.db")
    if args == ("db", "status"):
        assert result.code == 0
        assert "state: empty" in result.out
    elif args == ("db", "history"):
        assert result.code == 0
    elif args == ("db", "health"):
        assert result.code == 1
        assert "UNHEALTHY" in result.out
    else:
        assert_one_line_error(result, "fleet db upgrade")
    assert (tmp_path / "empty.db").stat().st_size == 0


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_a_database_is_left_byte_for_byte_unchanged(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, tmp_path: Path, args: tuple[str, ...]
) -> None:
    seed(sqlite_config)
    database = tmp_path / "fleet.db"
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    result = fleet(*args, "--database-url", sqlite_url)
    assert result.code == 0 or (args[0] == "read" and len(args) == 2), result
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before
