"""Running the benchmark harness for real, with tiny sizes, and reading its charts."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def run_bench(results: Path, *args: str) -> str:
    """Run ``python -m bench ARGS`` with its results going to ``results``; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        env=os.environ | {"BENCH_RESULTS_DIR": str(results)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def chart_series(path: Path) -> dict[str, int]:
    """A chart's series, by their legend, with the number of points on each line.

    Raises ``xml.etree.ElementTree.ParseError`` if the file is not well-formed XML.
    """
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    legends = [
        "".join(text.itertext())
        for legend in root.iter(f"{SVG}g")
        if "legend" in legend.get("class", "").split()
        for text in legend.iter(f"{SVG}text")
    ]
    (plot,) = (g for g in root.iter(f"{SVG}g") if g.get("class") == "plot")
    lines = [
        line.get("d", "")
        for series in plot.iter(f"{SVG}g")
        if "series" in series.get("class", "").split()
        for line in series.iter(f"{SVG}path")
    ]
    assert len(lines) == len(legends), (legends, lines)
    points = [sum(1 for part in d.replace("M", " ").replace("L", " ").split()) // 2 for d in lines]
    return dict(zip(legends, points, strict=True))
