import subprocess
import sys
from pathlib import Path


def test_demo_records_and_reads_back_a_mission(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "fleet.cli", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    types = [line.split()[-1] for line in lines if line[:3].strip().isdigit()]
    assert types == [
        "MissionCreated",
        "MissionAssigned",
        "MissionActivated",
        "MissionUpdated",
        "MissionCompleted",
    ]
    assert "status=completed assignee=scout-7" in result.stdout
    assert (tmp_path / ".fleet" / "fleet.db").exists()
    again = subprocess.run(
        [sys.executable, "-m", "fleet.cli", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    positions = [
        int(line.split()[1]) for line in again.stdout.splitlines() if line[:3].strip().isdigit()
    ]
    assert positions == [6, 7, 8, 9, 10]


def test_demo_in_process(tmp_path: Path):
    import io

    from fleet.config import Config, with_overrides
    from fleet.demo import run_demo

    config = with_overrides(
        Config(project_dir=str(tmp_path)), database={"url": f"sqlite:///{tmp_path / 'd.db'}"}
    )
    out = io.StringIO()
    assert run_demo(config, out) == 0
    assert "status=completed" in out.getvalue()
    assert out.getvalue().count("Mission") >= 5


def test_demo_runs_in_process(tmp_path: Path, monkeypatch, capsys) -> None:
    from fleet.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    assert "status=completed assignee=scout-7" in capsys.readouterr().out
