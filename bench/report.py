"""Shared output for benchmark scenarios: an aligned table on stdout, a JSON file and
(``bench.charts``) SVG charts beside it; and the run of one measurement in a child process."""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR") or Path(__file__).parent / "results")
"""Where results go: ``bench/results/``, or the directory ``BENCH_RESULTS_DIR`` names."""


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def log_histogram(values: Sequence[float], bins_per_decade: int = 10) -> dict[str, Any]:
    """Counts of durations (in seconds) in logarithmic bins, small enough for the JSON file.

    Bin ``k`` holds the values from ``10 ** (k / bins_per_decade)`` milliseconds up to
    the next bin's edge; only bins with a count are listed, as ``[k, count]`` pairs in
    ascending order. Values under a nanosecond count as a nanosecond.
    """
    counts: dict[int, int] = {}
    for value in values:
        k = math.floor(math.log10(max(value * 1000, 1e-6)) * bins_per_decade)
        counts[k] = counts.get(k, 0) + 1
    return {"bins_per_decade": bins_per_decade, "bins": sorted(counts.items())}


def run_child(argv: Sequence[str]) -> dict[str, Any]:
    """Run ``python -m bench <argv>`` in a fresh interpreter; the JSON object on the last
    line of its output, or ``{"error": <its last line of stderr>}`` if it failed."""
    command = [sys.executable, "-m", "bench", *argv]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child_output(result: dict[str, Any]) -> int:
    """Print a child's result, with its peak memory, as the line ``run_child`` reads."""
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
    return 0


def print_table(title: str, rows: Sequence[dict[str, Any]]) -> None:
    """Print rows (dicts with the same keys) as an aligned text table."""
    if not rows:
        print(f"{title}: no rows")
        return
    headers = list(rows[0])
    cells = [[_fmt(row.get(h)) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths, strict=True)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def write_json(name: str, data: dict[str, Any]) -> Path:
    """Write a scenario's results to ``RESULTS_DIR/<name>-<timestamp>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    payload = {"scenario": name, "when": stamp, "python": platform.python_version(), **data}
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path
