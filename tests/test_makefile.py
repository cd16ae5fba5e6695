"""`make run` installs what the daemon needs and leaves every other package alone.

The target runs as written, except that uv is a stand-in that runs the pinned
uv (``.tools/bin/uv``, which ``make test-env`` installs) with ``--dry-run``, and
the daemon only prints its help: what `make run` would install and remove is
read off uv's report without changing any environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.server.conftest import clean_environment

ROOT = Path(__file__).resolve().parents[1]
PINNED_UV = ROOT / ".tools" / "bin" / "uv"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _names(requirements: list[str]) -> set[str]:
    found = set()
    for requirement in requirements:
        match = REQUIREMENT_NAME.match(requirement)
        assert match is not None, requirement
        found.add(match.group(0).lower().replace("_", "-"))
    return found


def _make_run_dry(tmp_path: Path, *overrides: str) -> tuple[list[str], str]:
    """Run `make run` with uv reporting instead of acting; its uv arguments and report."""
    assert PINNED_UV.exists(), "run `make test-env` first: it installs the pinned uv"
    calls = tmp_path / "uv-calls"
    stand_in = tmp_path / "uv"
    stand_in.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        f"with open({str(calls)!r}, 'a') as calls:\n"
        "    calls.write(' '.join(sys.argv[1:]) + '\\n')\n"
        "args = [a for a in sys.argv[1:] if a != '--quiet'] + ['--dry-run']\n"
        f"os.execv({str(PINNED_UV)!r}, [{str(PINNED_UV)!r}, *args])\n",
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    done = subprocess.run(
        ["make", "run", f"UV={stand_in}", "SERVE_ARGS=--help", *overrides],
        cwd=ROOT,
        env=clean_environment() | {"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: fleet serve" in done.stdout, done.stdout
    (call,) = calls.read_text(encoding="utf-8").splitlines()
    return call.split(), done.stderr


def test_make_run_leaves_the_test_tools_in_place(tmp_path: Path) -> None:
    args, report = _make_run_dry(tmp_path)
    assert args[0] == "sync"
    assert "--locked" in args
    # The project itself may be reinstalled (its sources changed); nothing else goes.
    removed = _names([line[3:] for line in report.splitlines() if line.startswith(" - ")])
    assert removed <= {"fleet"}, report


def test_make_run_installs_only_what_the_daemon_needs(tmp_path: Path) -> None:
    empty = tmp_path / "venv"
    args, report = _make_run_dry(tmp_path, f"UV_PROJECT_ENVIRONMENT={empty}")
    assert args[0] == "sync"
    assert not empty.exists()
    # uv reports "name==version", or "name @ file:///…" for the project itself.
    installed = _names([line[3:] for line in report.splitlines() if line.startswith(" + ")])
    assert "fleet" in installed, report
    assert _names(PROJECT["project"]["dependencies"]) <= installed
    others = _names(PROJECT["project"]["optional-dependencies"]["bench"])
    for group in PROJECT["dependency-groups"].values():
        others |= _names(group)
    assert not installed & others, report
