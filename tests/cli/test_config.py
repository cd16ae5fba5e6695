"""``fleet config show``: file, then environment, then flags; secrets hidden."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import msgspec
import pytest

from fleet.cli.config import HIDDEN, shown_config, to_toml
from fleet.config import Config, load_config
from tests.cli.conftest import Fleet, assert_one_line_error


def test_defaults_print_as_a_valid_config_file(fleet: Fleet, tmp_path: Path) -> None:
    result = fleet("config", "show")
    assert result.code == 0
    assert result.out.startswith("# sources, later ones win: defaults\n")
    written = tmp_path / "copy.toml"
    written.write_text(result.out, encoding="utf-8")
    assert load_config(written, environ={}) == Config(project_dir=".")


def test_file_then_environment_then_flags(
    fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text(
        '[store]\nmax_batch_events = 500\n[server]\nport = 9000\ntoken = "from-file"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("FLEET_SERVER_PORT", "9100")
    monkeypatch.setenv("FLEET_SERVER_TOKEN", "s3cret")
    monkeypatch.setenv("FLEET_UNRELATED", "x")
    result = fleet(
        "config", "show", "--json", "--database-url", "postgresql+psycopg://app:pw@db:5432/fleet"
    )
    assert result.code == 0
    shown = json.loads(result.out)
    assert shown["store"]["max_batch_events"] == 500
    assert shown["server"]["port"] == 9100
    assert shown["server"]["token"] == HIDDEN
    assert shown["database"]["url"] == "postgresql+psycopg://app:***@db:5432/fleet"
    assert "s3cret" not in result.out
    assert "pw@" not in result.out

    human = fleet("config", "show", "--database-url", "sqlite:///x.db")
    assert human.out.splitlines()[0] == (
        "# sources, later ones win: defaults, then config.toml, then environment "
        "(FLEET_SERVER_PORT, FLEET_SERVER_TOKEN), then flags (--database-url)"
    )
    parsed = tomllib.loads(human.out)
    assert parsed["server"] == {**parsed["server"], "port": 9100, "token": HIDDEN}
    assert parsed["database"]["url"] == "sqlite:///x.db"


def test_an_explicit_file_is_named(fleet: Fleet, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text('[log]\nlevel = "debug"\n', encoding="utf-8")
    result = fleet("--config", str(other), "config", "show")
    assert f"defaults, then {other}\n" in result.out
    assert 'level = "debug"' in result.out


def test_a_bad_setting_is_one_line(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_SERVER_PORT", "not-a-port")
    assert_one_line_error(fleet("config", "show"), "invalid configuration")


def test_config_without_a_subcommand_prints_its_help(fleet: Fleet) -> None:
    result = fleet("config")
    assert result.code == 2
    assert result.out.startswith("usage: fleet config ")


def test_shown_config_leaves_an_empty_token_and_odd_urls_alone() -> None:
    tree = shown_config(Config())
    assert tree["server"]["token"] == ""
    odd = msgspec.structs.replace(
        Config(), database=msgspec.structs.replace(Config().database, url="::")
    )
    assert shown_config(odd)["database"]["url"] == "::"
    assert to_toml({"a": 1, "s": {"b": True, "c": 1.5, "d": 'q"'}}) == (
        'a = 1\n\n[s]\nb = true\nc = 1.5\nd = "q\\""\n'
    )


def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "fleet.cli", "config", "show", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    ) as shown:
        assert shown.stdout is not None
        assert shown.stderr is not None
        shown.stdout.close()
        err = shown.stderr.read()
        assert shown.wait(timeout=60) == 0, err
    assert err == b""
