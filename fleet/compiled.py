"""The append path compiled with mypyc, beside the pure-Python modules it is made from.

Fleet is pure Python, and that is how it runs unless asked otherwise. ``make
compile`` (``python -m fleet.compiled build``) compiles the modules named in
:data:`MODULES` with mypyc into extension modules beside their sources;
Python imports an extension module in preference to its source, so from then
on those run compiled. ``make clean-compiled`` (``python -m fleet.compiled
clean``) removes them, and the pure-Python modules serve again. Behaviour is
the same either way (the test suite runs on both); only the cost differs.

Guarantees:

* An extension module older than its source is *stale*: it would run code the
  source no longer says. :func:`stale_modules` names them; ``python -m
  fleet.compiled check`` fails on any, and the test suite refuses to start
  while one exists.
* Building needs mypyc (part of mypy), setuptools and a C compiler, all of
  them test tools; running the result needs none of them.

The modules are the ones an append or a read passes through many times over
(preparation and expected versions, the stream actor, the writer, the decoding
of stored rows, the actor runtime's system, cells and envelopes) whose compiled
form behaves exactly as their source does.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

__all__ = [
    "MODULES",
    "build",
    "clean",
    "compiled_modules",
    "main",
    "stale_modules",
]

MODULES: Final = (
    "actors._cell",
    "actors._envelope",
    "actors._system",
    "fleet.store.decoding",
    "fleet.store.expected_version",
    "fleet.store.preparation",
    "fleet.store.stream_actor",
    "fleet.store.writer",
)
"""The modules ``build`` compiles, by import name."""

GROUP: Final = "fleet_compiled"
"""Name of the shared library that holds the compiled code (``GROUP__mypyc``)."""

ROOT: Final = Path(__file__).resolve().parent.parent
"""The directory holding the ``fleet`` and ``actors`` packages."""


def _source(module: str) -> Path:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def _extensions(source: Path) -> list[Path]:
    """The extension modules built from ``source`` that are present, for any Python."""
    stem = source.with_suffix("")
    return sorted(
        path for path in stem.parent.glob(f"{stem.name}.*") if path.suffix in (".so", ".pyd")
    )


def _this_python_extension(source: Path) -> Path | None:
    """The extension module this Python would import instead of ``source``, if any."""
    stem = source.with_suffix("")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = stem.parent / f"{stem.name}{suffix}"
        if path.exists():
            return path
    return None


def _sources() -> list[tuple[str, Path]]:
    """Every module of ``fleet`` and ``actors``, by import name, with its source."""
    found = []
    for package in ("fleet", "actors"):
        for source in sorted((ROOT / package).rglob("*.py")):
            parts = source.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((".".join(parts), source))
    return found


def compiled_modules() -> list[str]:
    """Return the modules of ``fleet`` and ``actors`` this Python imports compiled."""
    return [name for name, source in _sources() if _this_python_extension(source) is not None]


def stale_modules() -> list[str]:
    """Return the modules whose extension module is older than their source."""
    stale = []
    for name, source in _sources():
        built = _this_python_extension(source)
        if built is not None and built.stat().st_mtime < source.stat().st_mtime:
            stale.append(name)
    return stale


def clean() -> list[Path]:
    """Remove every extension module built from a source of ``fleet`` or ``actors``
    (of this build or an earlier one), and the shared library; return what was
    removed. Afterwards every module runs as Python."""
    removed = [path for _, source in _sources() for path in _extensions(source)]
    removed += sorted(ROOT.glob(f"{GROUP}__mypyc.*"))
    for path in removed:
        path.unlink()
    return removed


def build() -> list[str]:
    """Compile :data:`MODULES` in place; return the modules now compiled.

    Removes every earlier build first. Works in the project root (the working
    directory is changed while it runs, and restored).

    Raises:
        ImportError: mypyc or setuptools is not installed (they are test tools).
        SystemExit: mypyc refused a module or the C compiler failed.
    """
    from mypyc.build import mypycify
    from setuptools import Distribution

    clean()
    build_dir = ROOT / "build" / "mypyc"
    previous = Path.cwd()
    os.chdir(ROOT)  # mypyc names modules by their paths, relative to here
    try:
        paths = [str(_source(module).relative_to(ROOT)) for module in MODULES]
        extensions = mypycify(
            paths, opt_level="3", multi_file=True, group_name=GROUP, target_dir=str(build_dir)
        )
        distribution = Distribution({"name": GROUP, "ext_modules": extensions})
        command = distribution.get_command_obj("build_ext")
        command.inplace = True
        command.build_temp = str(build_dir / "temp")
        command.parallel = os.cpu_count() or 1
        distribution.run_command("build_ext")
    finally:
        os.chdir(previous)
    for module in MODULES:
        # The copy keeps the time of a build-tree file that was up to date (the
        # generated C did not change); the module is as new as its source.
        for path in _extensions(_source(module)):
            os.utime(path)
    return compiled_modules()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fleet.compiled build|clean|check|status``."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if len(args) == 1 else ""
    if command == "build":
        done = build()
        print(f"compiled {len(done)} of {len(MODULES)} modules: {', '.join(done)}")
        return 0 if set(done) == set(MODULES) else 1
    if command == "clean":
        removed = clean()
        print(f"removed {len(removed)} compiled files; every module runs as Python")
        return 0
    if command in ("check", "status"):
        stale = stale_modules()
        compiled = compiled_modules()
        print(f"compiled: {', '.join(compiled) if compiled else 'none (pure Python)'}")
        if stale:
            print(
                f"stale (older than their source): {', '.join(stale)}; "
                "run `make compile` again or `make clean-compiled`",
                file=sys.stderr,
            )
            return 1 if command == "check" else 0
        return 0
    print("usage: python -m fleet.compiled build|clean|check|status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
