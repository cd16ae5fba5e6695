"""``bench scaling``: a real sweep with tiny sizes writes its JSON and its chart."""

from __future__ import annotations

import json
from pathlib import Path

from bench.charts import SYSTEM_TITLES
from tests.bench.conftest import chart_series, run_bench


def test_the_sweep_measures_every_system_at_every_count_and_charts_one_line_each(
    tmp_path: Path,
) -> None:
    results = tmp_path / "results"
    extra = tmp_path / "docs" / "scaling.svg"
    out = run_bench(
        results,
        "scaling",
        "--streams",
        "1,10",
        "--events",
        "200",
        "--peer-events",
        "40",
        "--seconds",
        "0.5",
        "--chart",
        str(extra),
    )
    (data,) = results.glob("scaling-*.json")
    beside = data.with_suffix(".svg")
    assert f"chart written to {beside}" in out
    assert f"chart written to {extra}" in out

    points = json.loads(data.read_text(encoding="utf-8"))["points"]
    assert list(points) == ["fleet", "raw-sqlite", "eventsourcing"]
    for measured in points.values():
        assert [p["streams"] for p in measured] == [1, 10]
        assert all(p["events_per_s"] > 0 for p in measured), measured
    assert all(p["vs_raw"] == 1.0 for p in points["raw-sqlite"])
    assert [p["events"] for p in points["raw-sqlite"]] == [200, 200]

    for chart in (beside, extra):
        assert chart_series(chart) == dict.fromkeys(SYSTEM_TITLES.values(), 2)
    assert beside.read_text(encoding="utf-8") == extra.read_text(encoding="utf-8")


def test_a_system_can_be_left_out(tmp_path: Path) -> None:
    run_bench(tmp_path, "scaling", "--streams", "2,3", "--events", "30", "--systems", "raw-sqlite")
    (chart,) = tmp_path.glob("scaling-*.svg")
    assert chart_series(chart) == {SYSTEM_TITLES["raw-sqlite"]: 2}
