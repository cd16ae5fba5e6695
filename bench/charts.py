"""SVG charts of benchmark results, written beside their JSON (and wherever asked).

Two charts, drawn with pygal (a pure-Python SVG library in the ``bench`` extra,
imported only here and only when a chart is drawn):

* ``scaling``: single-event append throughput against the number of concurrent
  streams, one line per system, both axes logarithmic (``bench scaling``);
* ``latency``: how append latencies spread, as the share of appends in each
  logarithmic latency bin, one line per scenario (``bench append``'s
  ``single`` and ``latency`` scenarios, from their ``latency_histogram``).

The SVG is pretty-printed, carries no script and no random ids, so a chart that
is committed diffs line by line and renders the same on GitHub as in a browser.
"""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SYSTEM_TITLES = {
    "fleet": "fleet (single-event appends, one task per stream)",
    "raw-sqlite": "raw sqlite3.executemany (same rows, 1,000-row transactions)",
    "eventsourcing": "eventsourcing (one event per save)",
}
"""The systems ``bench scaling`` measures, in the order they are drawn."""

LATENCY_TITLES = {
    "single": "single: 1,000 streams, closed loop",
    "latency": "latency: open loop at half of single's rate",
}
"""The ``bench append`` scenarios whose latencies are drawn, in that order."""

WIDTH, HEIGHT = 860, 480


def _pygal() -> Any:
    """The pygal module, without the import hook it adds for its map plugins.

    pygal appends a finder to ``sys.meta_path`` that has only the legacy
    ``find_module``; every import that no other finder resolves then warns
    (``ImportWarning``), which the test suite turns into errors. Maps are not used here.
    """
    import pygal

    sys.meta_path[:] = [f for f in sys.meta_path if type(f) is not pygal.PluginImportFixer]
    return pygal


def _config(**options: Any) -> Any:
    pygal = _pygal()
    from pygal.style import Style

    style = Style(
        background="white",
        plot_background="white",
        foreground="#333",
        foreground_strong="#111",
        foreground_subtle="#ccc",
        colors=("#1f6feb", "#8b949e", "#d4731f", "#2da44e"),
        font_family="Helvetica, Arial, sans-serif",
        title_font_size=16,
        legend_font_size=13,
        label_font_size=12,
        major_label_font_size=12,
    )
    config = pygal.Config(
        style=style,
        width=WIDTH,
        height=HEIGHT,
        explicit_size=True,
        js=[],
        legend_at_bottom=True,
        legend_at_bottom_columns=1,
        truncate_legend=-1,
        truncate_label=-1,
        **options,
    )
    return config


def _decade_steps(low: float, high: float) -> list[float]:
    """Axis labels 1, 2, 5 times the powers of ten that span ``low`` to ``high``."""
    steps: list[float] = []
    power = 10 ** math.floor(math.log10(low))
    while not steps or steps[-1] < high:
        steps.extend(step * power for step in (1, 2, 5))
        power *= 10
    return [step for step in steps if low / 5 <= step <= high * 5]


def _tidied(root: ET.Element) -> ET.Element:
    """Drop pygal's script (settings for its tooltips, which are not loaded) and put one
    element on a line, so that a committed chart diffs line by line (pygal's own pretty
    printing needs lxml)."""
    for parent in root.iter():
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rpartition("}")[2] == "script":
                parent.remove(child)
    ET.indent(root)
    return root


def _render(chart: Any, chart_id: str, path: Path) -> None:
    # pygal names each chart with a fresh uuid4; a fixed name keeps reruns diffable.
    chart.uuid = chart_id
    chart.add_xml_filter(_tidied)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(chart.render())


def write_scaling_chart(
    points: Mapping[str, Sequence[Mapping[str, Any]]], title: str, path: Path
) -> None:
    """Draw events/s against concurrent streams, one line per system, log-log.

    Args:
        points: per system (a key of ``SYSTEM_TITLES``), its measurements, each with
            ``streams`` and ``events_per_s`` (points without a rate are left out).
        title: the chart's title.
        path: the SVG file to write.
    """
    config = _config(
        title=title,
        logarithmic=True,
        x_title="concurrent streams",
        y_title="events/s",
        dots_size=4,
        stroke_style={"width": 2.5},
    )
    chart = _pygal().XY(config)
    streams = sorted({int(p["streams"]) for series in points.values() for p in series})
    rates = [float(p["events_per_s"]) for s in points.values() for p in s if p.get("events_per_s")]
    chart.x_labels = streams
    chart.y_labels = _decade_steps(min(rates, default=1.0), max(rates, default=10.0))
    chart.x_value_formatter = lambda x: f"{x:,.0f}"
    chart.value_formatter = lambda y: f"{y:,.0f}"
    for system, system_title in SYSTEM_TITLES.items():
        series = [
            (int(p["streams"]), float(p["events_per_s"]))
            for p in points.get(system, [])
            if p.get("events_per_s")
        ]
        if system in points:
            chart.add(system_title, sorted(series))
    _render(chart, "fleet-bench-scaling", path)


def write_latency_chart(results: Mapping[str, Mapping[str, Any]], path: Path) -> bool:
    """Draw the share of appends in each logarithmic latency bin, one line per scenario.

    Args:
        results: ``bench append``'s results by scenario; those named in
            ``LATENCY_TITLES`` that have a ``latency_histogram`` are drawn.
        path: the SVG file to write.

    Returns:
        Whether a chart was written (not when no such scenario ran).
    """
    drawn = {
        name: results[name]
        for name in LATENCY_TITLES
        if results.get(name, {}).get("latency_histogram", {}).get("bins")
    }
    if not drawn:
        return False
    per_decade = {int(r["latency_histogram"]["bins_per_decade"]) for r in drawn.values()}
    (bins_per_decade,) = per_decade
    counts = {
        name: {int(k): int(n) for k, n in r["latency_histogram"]["bins"]}
        for name, r in drawn.items()
    }
    low = min(min(c) for c in counts.values())
    high = max(max(c) for c in counts.values())
    low -= low % bins_per_decade
    high += bins_per_decade - high % bins_per_decade
    bins = range(low, high + 1)
    edges = [10 ** (k / bins_per_decade) for k in bins]
    labels = [f"{edge:g}" for edge in edges]
    config = _config(
        title="Append latency (bench append)",
        x_title=f"latency, ms ({bins_per_decade} bins a decade)",
        y_title="% of appends",
        x_labels_major=[
            label for k, label in zip(bins, labels, strict=True) if k % bins_per_decade == 0
        ],
        show_minor_x_labels=False,
        show_dots=False,
        fill=False,
        stroke_style={"width": 2.5},
    )
    chart = _pygal().Line(config)
    chart.x_labels = labels
    chart.value_formatter = lambda y: f"{y:.1f} %"
    for name, count in counts.items():
        total = sum(count.values())
        result = drawn[name]
        chart.add(
            f"{LATENCY_TITLES[name]} (p50 {result['p50_ms']:.3g} ms, "
            f"p99 {result['p99_ms']:.3g} ms, {total:,} appends)",
            [100 * count.get(k, 0) / total for k in bins],
        )
    _render(chart, "fleet-bench-latency", path)
    return True
