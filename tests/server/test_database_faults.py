"""``fleet serve`` on a database it cannot write: readiness says so, and fixing the cause
is enough -- the daemon does not need a restart.

The daemon runs as the unprivileged user ``nobody`` (root ignores file
permissions), on a SQLite file that user owns. SQLite makes the ``-wal`` and
``-shm`` files of a database read-only at open with the database file's mode:
readiness names them until they are writable too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fleet.vocabulary import generate_mission_id
from tests.server.conftest import clean_environment, created

NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _as_nobody(directory: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*AS_NOBODY, sys.executable, "-m", "fleet.cli", *args],
        cwd=directory,
        env=clean_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _files(directory: Path) -> list[Path]:
    return sorted((directory / ".fleet").glob("fleet.db*"))


@pytest.fixture
def nobodys_directory() -> Iterator[Path]:
    """A directory of nobody's (outside pytest's own, which only root may enter),
    holding a migrated, empty database."""
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.fail("this test needs root and setpriv to run the daemon as nobody")
    directory = Path(tempfile.mkdtemp(prefix="fleet-nobody-"))
    try:
        directory.chmod(0o755)
        os.chown(directory, NOBODY, NOBODY)
        upgrade = _as_nobody(directory, "db", "upgrade")
        _, err = upgrade.communicate(timeout=60)
        assert upgrade.returncode == 0, err
        yield directory
    finally:
        shutil.rmtree(directory)


def test_a_database_read_only_at_start_is_not_ready_until_it_is_writable(
    nobodys_directory: Path,
) -> None:
    for path in _files(nobodys_directory):
        path.chmod(0o444)
    daemon = _as_nobody(nobodys_directory, "serve", "--port", "0")
    try:
        assert daemon.stdout is not None
        line = daemon.stdout.readline()
        assert line.startswith("fleet: listening on "), daemon.communicate()
        url = line.removeprefix("fleet: listening on ").strip()
        with httpx.Client(base_url=url, timeout=30) as client:
            ready = client.get("/health/ready")
            assert ready.status_code == 503
            problems = ready.json()["database"]["problems"]
            assert any("cannot write" in problem and "read-only" in problem for problem in problems)
            assert ready.json()["database"]["writable"] is False
            path = f"/streams/{generate_mission_id()}/events"
            refused = client.post(path, json={"events": [created()]})
            assert refused.status_code == 503
            database, *companions = _files(nobodys_directory)
            assert [file.name for file in companions] == ["fleet.db-shm", "fleet.db-wal"]
            database.chmod(0o644)
            deadline = time.monotonic() + 30
            while not any(f"{file} cannot be written" in str(problems) for file in companions):
                assert time.monotonic() < deadline, problems
                time.sleep(0.2)
                ready = client.get("/health/ready")
                assert ready.status_code == 503
                problems = ready.json()["database"]["problems"]
            for file in companions:
                file.chmod(0o644)
            deadline = time.monotonic() + 30
            while (ready := client.get("/health/ready")).status_code != 200:
                assert time.monotonic() < deadline, ready.text
                time.sleep(0.2)
            assert ready.json()["database"]["writable"] is True
            accepted = client.post(path, json={"events": [created()]})
            assert accepted.status_code == 200, accepted.text
    finally:
        daemon.terminate()
        daemon.communicate(timeout=60)
