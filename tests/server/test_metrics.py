"""The Prometheus text exposition: instruments, escaping and rendering are exact."""

from __future__ import annotations

import math

import pytest

from fleet.server._metrics import (
    Counter,
    Family,
    Gauge,
    Histogram,
    Registry,
    Sample,
    render_families,
)


def test_counter_renders_sorted_labelled_samples() -> None:
    counter = Counter("requests_total", "Requests.", ("method", "status"))
    counter.inc("POST", "200")
    counter.inc("GET", "404", amount=2)
    counter.inc("POST", "200")
    assert counter.value("POST", "200") == 2
    assert counter.value("PUT", "200") == 0
    assert render_families([counter.family()]) == (
        "# HELP requests_total Requests.\n"
        "# TYPE requests_total counter\n"
        'requests_total{method="GET",status="404"} 2\n'
        'requests_total{method="POST",status="200"} 2\n'
    )


def test_counter_only_goes_up_and_checks_its_labels() -> None:
    counter = Counter("c_total", "C.", ("a",))
    with pytest.raises(ValueError, match="only goes up"):
        counter.inc("x", amount=-1)
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc()


def test_gauge_set_and_add() -> None:
    gauge = Gauge("in_flight", "Now.")
    gauge.add(2)
    gauge.add(-1)
    assert gauge.value() == 1
    gauge.set(0.25)
    assert render_families([gauge.family()]).splitlines()[-1] == "in_flight 0.25"


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    histogram = Histogram("latency_seconds", "Latency.", [0.1, 0.01, 1.0], ("route",))
    for value in (0.005, 0.05, 0.05, 5.0):
        histogram.observe(value, "/a")
    assert histogram.buckets == (0.01, 0.1, 1.0)
    assert histogram.count("/a") == 4
    assert histogram.count("/b") == 0
    lines = render_families([histogram.family()]).splitlines()
    assert lines[2:] == [
        'latency_seconds_bucket{route="/a",le="0.01"} 1',
        'latency_seconds_bucket{route="/a",le="0.1"} 3',
        'latency_seconds_bucket{route="/a",le="1"} 3',
        'latency_seconds_bucket{route="/a",le="+Inf"} 4',
        'latency_seconds_sum{route="/a"} 5.105',
        'latency_seconds_count{route="/a"} 4',
    ]


@pytest.mark.parametrize("buckets", [[], [math.inf], [math.nan]])
def test_histogram_needs_finite_buckets(buckets: list[float]) -> None:
    with pytest.raises(ValueError, match="finite"):
        Histogram("h", "H.", buckets)


def test_labels_and_help_are_escaped() -> None:
    family = Family(
        "odd",
        "gauge",
        "back\\slash\nnewline",
        (Sample("", (("path", 'a"b\\c\nd'),), -math.inf), Sample("", (), math.nan)),
    )
    assert render_families([family]) == (
        "# HELP odd back\\\\slash\\nnewline\n"
        "# TYPE odd gauge\n"
        'odd{path="a\\"b\\\\c\\nd"} -Inf\n'
        "odd NaN\n"
    )


def test_registry_renders_instruments_then_collectors() -> None:
    registry = Registry()
    registry.counter("a_total", "A.").inc()
    registry.gauge("b", "B.")
    registry.histogram("c", "C.", [1.0])
    registry.collect(lambda: [Family("d", "gauge", "D.", (Sample("", (), 7),))])
    text = registry.render()
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert names == ["a_total", "b", "c", "d"]
    assert text.endswith("d 7\n")
    with pytest.raises(ValueError, match="already registered"):
        registry.counter("a_total", "again")
    assert render_families([]) == ""
