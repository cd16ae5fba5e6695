"""``fleet bench SCENARIO [ARGS...]``: run the benchmark harness (``python -m bench``).

The harness is the ``bench`` package at the root of a fleet source checkout;
it is not installed with fleet. It is looked for in the working directory,
then next to the ``fleet`` package. It runs as ``python -m bench`` in a child
process with that directory on ``PYTHONPATH`` (its scenarios start children
of their own the same way), and its exit status is this command's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import fleet
from fleet.cli import Groups, common_options
from fleet.config import Config
from fleet.errors import ConfigError

__all__ = ["SOURCE_ROOT", "add_commands", "find_harness"]

SOURCE_ROOT = Path(fleet.__file__).resolve().parent.parent
"""The directory above the ``fleet`` package: a checkout's root when fleet runs from source."""


def add_commands(groups: Groups) -> None:
    """Register ``fleet bench``."""
    bench = groups.add_parser(
        "bench",
        help="run a benchmark scenario (python -m bench)",
        description=(
            "Run a scenario of the benchmark harness, which lives in the bench/ "
            "directory of a fleet source checkout. Without a scenario, list them. "
            "Arguments after the scenario go to it: fleet bench append --quick."
        ),
        parents=[common_options()],
    )
    bench.set_defaults(handler=_bench, help_parser=bench)
    bench.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO")
    bench.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")


def find_harness(candidates: list[Path] | None = None) -> Path:
    """Return the directory holding the ``bench`` package.

    Args:
        candidates: directories to look in (default: the working directory,
            then the directory above the ``fleet`` package).

    Raises:
        ConfigError: none of them holds ``bench/__main__.py``.
    """
    if candidates is None:
        candidates = [Path.cwd(), SOURCE_ROOT]
    for root in candidates:
        if (root / "bench" / "__main__.py").is_file():
            return root
    raise ConfigError(
        "the benchmark harness (package `bench`) is not importable: run `fleet bench` "
        "from a fleet source checkout, where bench/ sits beside fleet/"
    )


def _bench(args: argparse.Namespace, config: Config) -> int:
    root = find_harness()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(root), env.get("PYTHONPATH", "")) if part
    )
    argv = [args.scenario, *args.args] if args.scenario is not None else ["--help"]
    done = subprocess.run([sys.executable, "-m", "bench", *argv], env=env, check=False)
    return done.returncode
