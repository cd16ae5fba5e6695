"""Every code block of the README runs as written.

Python blocks run as programs in a fresh directory (each makes its own
``.fleet/fleet.db``). The ``curl`` block runs twice, from the clone, against a
real ``fleet serve``. Blocks that call ``make`` run with ``make -n``: the
targets and variables they name must exist, without building or serving
anything; the cart example's settings are served for real, beside the Quick
start's database.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from fleet.core import EXAMPLE_BODY
from tests.server.conftest import clean_environment, start_daemon

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
BLOCKS = [(kind, body) for kind, body in FENCE.findall(README)]
PYTHON = [body for kind, body in BLOCKS if kind == "python"]
SHELL = [body for kind, body in BLOCKS if kind == "sh"]
CURL = [body for body in SHELL if "curl" in body]
MAKE = [body for body in SHELL if body not in CURL]


def test_the_readme_has_the_blocks_these_tests_run() -> None:
    assert len(PYTHON) == 3
    assert len(CURL) == 1
    assert len(MAKE) == 5
    assert {kind for kind, _ in BLOCKS} <= {"python", "sh", ""}


def _run_program(body: str, directory: Path) -> subprocess.CompletedProcess[str]:
    program = directory / "block.py"
    program.write_text(body, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(program)],
        cwd=directory,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("body", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_each_python_block_is_a_complete_program(body: str, tmp_path: Path) -> None:
    done = _run_program(body, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the program printed nothing"
    assert (tmp_path / ".fleet" / "fleet.db").exists()


def test_the_first_python_block_prints_the_stream_it_wrote(tmp_path: Path) -> None:
    out = _run_program(PYTHON[0], tmp_path).stdout.splitlines()
    assert out[:2] == ["1 1 MissionCreated", "2 2 MissionActivated"]
    assert out[2:] == ["seen 1 MissionCreated", "seen 2 MissionActivated"]


def test_the_own_domain_block_stores_typed_and_untyped_events(tmp_path: Path) -> None:
    out = _run_program(PYTHON[1], tmp_path).stdout.splitlines()
    assert out == [
        "account-1001 1 AccountOpened",
        "account-1001 2 MoneyDeposited",
        "audit-web 1 SignedIn",
    ]


def test_the_projections_block_reads_its_mission_back(tmp_path: Path) -> None:
    out = _run_program(PYTHON[2], tmp_path).stdout.splitlines()
    assert out[0] == "Survey the ridge pending"
    assert out[1] == "1 pending; next page after None"
    assert out[-1] == "1 of 1"


def test_the_curl_block_runs_against_a_real_daemon_again_and_again(tmp_path: Path) -> None:
    (block,) = CURL
    assert shutil.which("curl") is not None, "the README's HTTP examples need curl"
    daemon = start_daemon(tmp_path)
    runs = []
    try:
        port = daemon.url.rsplit(":", 1)[1]
        # The block as written, from the clone (it runs .venv/bin/fleet), with the
        # daemon's port and a time limit for the one request that follows the log
        # forever.
        shim = f'curl() {{ command curl --max-time 3 "${{@//8420/{port}}}"; }}\n'
        for _ in range(2):
            done = subprocess.run(
                ["bash", "-c", shim + block],
                cwd=ROOT,
                env=clean_environment(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            runs.append(done.stdout)
    finally:
        assert daemon.stop() == 0
        daemon.finish()
    # The second run reads the first one's mission too, in the log it follows.
    first, second = (re.findall(r'"stream_id":"(msn-[0-9a-z]{26})"', out) for out in runs)
    assert len(set(first)) == 1, runs[0]
    assert len(set(second)) == 2, runs[1]
    assert first[0] in second
    for out in runs:
        assert '"last_version":1' in out, out
        assert '"type":"MissionCreated"' in out
        assert '"title":"Survey the ridge"' in out
        assert "event: caught-up" in out
        assert "error" not in out, out


def test_the_cart_example_has_a_database_of_its_own(tmp_path: Path) -> None:
    """The Quick start's database holds msn- streams, which the cart's catalog lacks:
    the README's cart command serves on a database of its own, where the log reads."""
    (line,) = [line for body in MAKE for line in body.splitlines() if "examples.cart" in line]
    settings = dict(word.split("=", 1) for word in line.split() if re.match(r"[A-Z_]+=", word))
    assert settings.pop("PYTHONPATH") == "."
    settings["PYTHONPATH"] = str(ROOT)  # the daemon runs in tmp_path, not the repository
    assert _run_program(PYTHON[0], tmp_path).returncode == 0  # the Quick start's missions
    shared = {"FLEET_STORE_CATALOG": settings["FLEET_STORE_CATALOG"], "PYTHONPATH": str(ROOT)}
    for env, status in [(shared, 422), (settings, 200)]:
        daemon = start_daemon(tmp_path, env=env)
        try:
            with httpx.Client(base_url=daemon.url, timeout=10) as client:
                log = client.get("/events")
                if status == 422:
                    assert "no stream category 'msn'" in log.text
                else:
                    opened = client.post(
                        f"/streams/cart-{EXAMPLE_BODY}/events",
                        json={"events": [{"type": "CartOpened", "data": {"customer": "ada"}}]},
                    )
                    assert opened.status_code == 200, opened.text
                    log = client.get("/events")
                    assert [e["type"] for e in log.json()["events"]] == ["CartOpened"]
        finally:
            assert daemon.stop() == 0
            daemon.finish()
        assert log.status_code == status, log.text
    assert (tmp_path / ".fleet" / "cart.db").exists()


@pytest.mark.parametrize("body", MAKE, ids=[f"make-{i}" for i in range(len(MAKE))])
def test_each_make_block_names_real_targets(body: str) -> None:
    shim = 'make() { command make --dry-run "$@" >/dev/null; }\n'
    env = clean_environment() | {"PATH": os.environ["PATH"]}
    commands = [line for line in body.splitlines() if line.strip()]
    for line in commands:
        done = subprocess.run(
            ["bash", "-c", shim + line],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"{line}: {done.stderr}"
