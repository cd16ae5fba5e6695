"""The compiled append path: which modules run compiled, staleness, and cleaning up."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
from pathlib import Path

import pytest

from fleet import compiled
from tests.conftest import COMPILED_RUN

SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def test_the_status_says_which_modules_this_python_runs_compiled() -> None:
    reported = set(compiled.compiled_modules())
    for name in compiled.MODULES:
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert module.__file__.endswith(".py") == (name not in reported), name
    if COMPILED_RUN:
        assert reported == set(compiled.MODULES)
        from fleet.store.stream_actor import StreamActor

        assert type(StreamActor.receive_now).__name__ != "function"  # native code


def test_every_module_named_for_compilation_exists_and_is_imported_by_an_append() -> None:
    import sys

    import fleet.store  # noqa: F401  (imports the append path)

    for name in compiled.MODULES:
        assert compiled._source(name).is_file(), name
        assert name in sys.modules, name


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project tree of two modules, one of them built."""
    for package in ("fleet", "actors"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "fleet" / "hot.py").write_text("X = 1\n")
    (tmp_path / "actors" / "cold.py").write_text("Y = 2\n")
    (tmp_path / "fleet" / f"hot{SUFFIX}").write_bytes(b"\x7fELF")
    (tmp_path / f"{compiled.GROUP}__mypyc{SUFFIX}").write_bytes(b"\x7fELF")
    monkeypatch.setattr(compiled, "ROOT", tmp_path)
    return tmp_path


def _age(path: Path, seconds: float) -> None:
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


def test_a_built_module_is_reported_and_is_stale_once_its_source_is_newer(tree: Path) -> None:
    assert compiled.compiled_modules() == ["fleet.hot"]
    assert compiled.stale_modules() == []
    _age(tree / "fleet" / f"hot{SUFFIX}", 60)
    assert compiled.stale_modules() == ["fleet.hot"]


def test_clean_removes_every_extension_module_and_the_shared_library(tree: Path) -> None:
    (tree / "actors" / "cold.cpython-39-x86_64-linux-gnu.so").write_bytes(b"old build")
    removed = compiled.clean()
    assert sorted(path.name for path in removed) == sorted(
        ["cold.cpython-39-x86_64-linux-gnu.so", f"hot{SUFFIX}", f"{compiled.GROUP}__mypyc{SUFFIX}"]
    )
    assert compiled.compiled_modules() == []
    assert (tree / "fleet" / "hot.py").read_text() == "X = 1\n"  # sources stay
    assert compiled.clean() == []


def test_the_command_reports_status_fails_check_on_a_stale_module_and_cleans(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compiled.main(["status"]) == 0
    assert "compiled: fleet.hot" in capsys.readouterr().out
    _age(tree / "fleet" / f"hot{SUFFIX}", 60)
    assert compiled.main(["check"]) == 1
    err = capsys.readouterr().err
    assert "stale (older than their source): fleet.hot" in err
    assert "make compile" in err
    assert compiled.main(["status"]) == 0  # status only reports
    assert compiled.main(["clean"]) == 0
    assert "removed 2 compiled files" in capsys.readouterr().out
    assert compiled.main(["check"]) == 0
    assert "none (pure Python)" in capsys.readouterr().out
    assert compiled.main(["frobnicate"]) == 2
    assert compiled.main([]) == 2
    assert "usage:" in capsys.readouterr().err
