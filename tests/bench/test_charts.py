"""``bench.charts``: what is drawn when there is nothing to draw."""

from __future__ import annotations

from pathlib import Path

from bench.charts import write_latency_chart


def test_no_latency_chart_without_a_scenario_that_measured_latencies(tmp_path: Path) -> None:
    path = tmp_path / "latency.svg"
    raw_only = {"raw-sqlite": {"events": 10, "seconds": 0.1}}
    assert write_latency_chart(raw_only, path) is False
    assert not path.exists()
