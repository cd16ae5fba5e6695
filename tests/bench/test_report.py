"""``bench.report``: the logarithmic latency histogram kept in the JSON file."""

from __future__ import annotations

import pytest

from bench.report import log_histogram


@pytest.mark.parametrize(
    ("seconds", "bins"),
    [
        ([], []),
        ([0.0012], [[0, 1]]),
        ([0.0011, 0.0012, 0.0021], [[0, 2], [3, 1]]),
        ([0.012, 0.00012], [[-10, 1], [10, 1]]),
        ([0.0], [[-60, 1]]),
    ],
)
def test_durations_fall_in_tenth_of_a_decade_bins_of_milliseconds(
    seconds: list[float], bins: list[list[int]]
) -> None:
    histogram = log_histogram(seconds)
    assert histogram["bins_per_decade"] == 10
    assert [list(pair) for pair in histogram["bins"]] == bins


def test_the_bin_width_can_be_chosen() -> None:
    assert log_histogram([0.0012, 0.0099, 0.012], bins_per_decade=1)["bins"] == [(0, 2), (1, 1)]
