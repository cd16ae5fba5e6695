"""The public surface of ``actors`` and the layering it promises."""

from __future__ import annotations

import subprocess
import sys

import actors


def test_all_names_are_exported_and_public() -> None:
    public = {name for name in dir(actors) if not name.startswith("_")}
    assert set(actors.__all__) <= public
    assert all(getattr(actors, name) is not None for name in actors.__all__)


def test_importing_actors_pulls_in_neither_fleet_nor_trio() -> None:
    code = (
        "import sys, actors\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'fleet', 'trio'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == ""
