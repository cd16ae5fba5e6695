"""``fleet bench``: finds the harness of a source checkout and runs it as ``python -m bench``."""

from __future__ import annotations

from pathlib import Path

import pytest

import fleet.cli.bench as bench_command
from fleet.cli import main
from fleet.cli.bench import find_harness
from fleet.errors import ConfigError
from tests.cli.conftest import Fleet, assert_one_line_error

CHECKOUT = Path(__file__).resolve().parents[2]


def test_the_harness_is_found_in_the_working_directory_or_beside_fleet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_harness() == CHECKOUT
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "__main__.py").write_text("", encoding="utf-8")
    assert find_harness() == tmp_path
    with pytest.raises(ConfigError, match="not importable"):
        find_harness([tmp_path / "elsewhere"])


def test_without_a_checkout_the_error_is_one_line(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_command, "SOURCE_ROOT", tmp_path / "site")
    assert_one_line_error(fleet("bench", "append"), "benchmark harness", "source checkout")


def test_scenarios_are_listed_and_run_with_their_arguments(
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench"]) == 0
    assert "scenarios: " in capfd.readouterr().out

    assert main(["bench", "nosuch", "--quick"]) == 2
    assert "unknown scenario 'nosuch'" in capfd.readouterr().err

    assert main(["bench", "codec", "--help"]) == 0
    assert "usage: python -m bench codec" in capfd.readouterr().out
