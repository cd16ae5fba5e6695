"""``bench subscribe``: a tiny run reads its seeded log back and writes every measure."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench.conftest import run_bench


def test_a_tiny_subscribe_run_measures_catch_up_lag_and_append_cost(tmp_path: Path) -> None:
    run_bench(tmp_path, "subscribe", "--events", "3000", "--seconds", "0.3")
    (data,) = tmp_path.glob("subscribe-*.json")
    results = {row["measure"]: row for row in json.loads(data.read_text())["results"]}
    assert results["raw sqlite3 SELECT (no decoding)"]["value"] > 0
    for measure in (
        "catch-up, event by event (events/s)",
        "catch-up, batches of 1,000 (events/s)",
    ):
        assert results[measure]["value"] > 0
        assert results[measure]["vs raw"] > 0
    assert results["live lag p50_ms"]["value"] >= 0
