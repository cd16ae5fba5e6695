"""Fixtures for the command line: run ``fleet`` in-process (most tests) or as a subprocess.

In-process runs let coverage see the code and cost nothing to start; the few
subprocess runs prove the real entry point, pipes and signals work end to end.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
import trio

from fleet.cli import main
from fleet.config import Config, with_overrides
from fleet.events import EventMetadata
from fleet.store import StreamAppend, open_store
from fleet.vocabulary import (
    MissionActivated,
    MissionAssigned,
    MissionCreated,
    MissionId,
    WorkOrderCreated,
    WorkOrderId,
    generate_mission_id,
    generate_work_order_id,
)


class Result(NamedTuple):
    code: int
    out: str
    err: str


Fleet = Callable[..., Result]


@pytest.fixture(autouse=True)
def _clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own directory with no FLEET_* variables set."""
    for name in list(os.environ):
        if name.startswith("FLEET_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fleet(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Fleet:
    """Run ``fleet ARGS...`` in-process; ``stdin=`` gives bytes to read from standard input."""

    def run(*args: str, stdin: bytes | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def fleet_process(tmp_path: Path) -> Fleet:
    """Run ``fleet ARGS...`` as a real subprocess (``python -m fleet.cli``)."""

    def run(*args: str, stdin: bytes | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "fleet.cli", *args],
            input=stdin,
            capture_output=True,
            check=False,
            cwd=tmp_path,
            timeout=120,
        )
        return Result(done.returncode, done.stdout.decode(), done.stderr.decode())

    return run


def assert_one_line_error(result: Result, *needles: str, code: int = 1) -> None:
    """The command failed with ``code``, printed nothing on stdout and one line on stderr."""
    assert result.code == code, result
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    if code == 1:
        assert lines[0].startswith("fleet: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


def config_for(url: str, directory: Path) -> Config:
    """A configuration for one database URL."""
    return with_overrides(Config(project_dir=str(directory)), database={"url": url})


class Seeded(NamedTuple):
    missions: list[MissionId]
    work_orders: list[WorkOrderId]
    events: int


def seed(config: Config, missions: int = 3, work_orders: int = 2) -> Seeded:
    """Record a small, varied log: each mission is created, assigned and activated
    (correlation id ``corr-<i>``), each work order created; appends interleave."""
    mission_ids = [generate_mission_id() for _ in range(missions)]
    order_ids = [generate_work_order_id() for _ in range(work_orders)]

    async def record() -> int:
        count = 0
        async with open_store(config) as store:
            for index, mission in enumerate(mission_ids):
                await store.append(
                    mission,
                    [MissionCreated(title=f"Mission {index}")],
                    metadata=EventMetadata(correlation_id=f"corr-{index}", actor="tester"),
                )
                count += 1
            for order in order_ids:
                await store.append(
                    order, [WorkOrderCreated(title="Dig", mission_id=mission_ids[0])]
                )
                count += 1
            await store.append_many(
                [
                    StreamAppend(
                        mission,
                        [MissionAssigned(assignee=f"agent-{index}"), MissionActivated()],
                    )
                    for index, mission in enumerate(mission_ids)
                ]
            )
            count += 2 * len(mission_ids)
        return count

    return Seeded(mission_ids, order_ids, trio.run(record))


def seed_bulk(config: Config, missions: int) -> int:
    """Record ``missions`` missions of three events each in one atomic append; return the count."""

    async def record() -> None:
        async with open_store(config) as store:
            await store.append_many(
                [
                    StreamAppend(
                        generate_mission_id(),
                        [
                            MissionCreated(title="Bulk"),
                            MissionAssigned(assignee="a"),
                            MissionActivated(),
                        ],
                    )
                    for _ in range(missions)
                ]
            )

    trio.run(record)
    return 3 * missions


@pytest.fixture
def sqlite_config(sqlite_url: str, tmp_path: Path) -> Config:
    return config_for(sqlite_url, tmp_path)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Read pages of 2 events, so paging is exercised on a small log."""
    import fleet.cli.read
    import fleet.transfer

    monkeypatch.setattr(fleet.transfer, "PAGE_SIZE", 2)
    monkeypatch.setattr(fleet.cli.read, "PAGE_SIZE", 2)
    return 2
