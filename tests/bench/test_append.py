"""``bench append``: the latencies it measures are kept and drawn beside its JSON."""

from __future__ import annotations

import json
from pathlib import Path

from bench.charts import LATENCY_TITLES
from fleet.compiled import compiled_modules
from tests.bench.conftest import chart_series, run_bench


def test_the_latency_chart_draws_single_and_the_open_loop_from_their_histograms(
    tmp_path: Path,
) -> None:
    extra = tmp_path / "latency.svg"
    out = run_bench(
        tmp_path,
        "append",
        "--only",
        "single,latency",
        "--events",
        "1000",
        "--seconds",
        "0.5",
        "--chart",
        str(extra),
    )
    (data,) = tmp_path.glob("append-*.json")
    assert f"latency chart written to {data.with_suffix('.svg')}" in out
    results = json.loads(data.read_text(encoding="utf-8"))["results"]
    single = results["single"]["latency_histogram"]
    assert sum(count for _, count in single["bins"]) == 1000

    for chart in (data.with_suffix(".svg"), extra):
        series = chart_series(chart)
        assert [title.partition(" (")[0] for title in series] == list(LATENCY_TITLES.values())
        assert len(set(series.values())) == 1, "every line spans the same bins"
        assert "1,000 appends" in next(iter(series))


def test_the_defaults_scenarios_leave_the_interpreter_as_a_library_finds_it(
    tmp_path: Path,
) -> None:
    out = run_bench(tmp_path, "append", "--only", "single,single-defaults", "--events", "1000")
    (data,) = tmp_path.glob("append-*.json")
    report = json.loads(data.read_text(encoding="utf-8"))
    results = report["results"]
    assert results["single"]["switch_interval_ms"] == 0.5  # as fleet serve sets it
    assert results["single-defaults"]["switch_interval_ms"] == 5.0  # Python's own
    assert results["single-defaults"]["events"] == 1000
    assert report["compiled"] == compiled_modules()
    assert "compiled modules: " in out
