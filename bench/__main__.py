"""Run one benchmark scenario: ``python -m bench <scenario> [options]``.

Each scenario is a module ``bench/<scenario>.py`` with ``main(argv) -> int``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

NOT_SCENARIOS = {"report", "charts"}


def scenarios() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(here)])
        if not m.name.startswith("_") and m.name not in NOT_SCENARIOS
    )


def main(argv: list[str]) -> int:
    names = scenarios()
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: python -m bench <scenario> [options]\n\nscenarios: " + ", ".join(names))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in names:
        print(f"unknown scenario {name!r}; choose from: {', '.join(names)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}")
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
