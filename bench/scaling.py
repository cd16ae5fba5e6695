"""Append throughput against the number of concurrent streams, fleet next to its peers.

``python -m bench scaling [--streams 1,10,100,1000,10000] [--events N] [--seconds S]
[--repeat R]``

For each number of streams N, three measurements, each in its own child process
(fresh interpreter, fresh database file), all in one invocation so that fleet is
measured next to raw ``sqlite3`` on the same machine state:

=============  ======================================================================
fleet          N streams, one task each appending single events in a closed loop
               (N appends in flight), until ``--events`` are appended or
               ``--seconds`` pass: ``bench append``'s ``single`` with N streams
raw-sqlite     ``sqlite3.executemany`` of ``--events`` of fleet's rows spread over
               N streams, same schema and pragmas, 1,000-row transactions: the
               ceiling (``bench append``'s ``raw-sqlite``)
eventsourcing  the ``eventsourcing`` library on SQLite, one event per save, taking
               turns over N aggregates (``--peer-events`` saves; it saves one at a
               time, so N does not make it concurrent)
=============  ======================================================================

With ``--repeat R`` every point is measured R times, the systems taking turns, and
the run with the median rate is kept (with every run's rate). The results go to
``bench/results/scaling-<time>.json`` and the chart of events/s against N (both
axes logarithmic, one line per system) beside it as ``.svg``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.append import eventsourcing_peer, fleet_streams, fresh_sqlite, raw_sqlite
from bench.charts import SYSTEM_TITLES, write_scaling_chart
from bench.report import child_output, print_table, run_child, write_json

SYSTEMS = list(SYSTEM_TITLES)


def measure(system: str, streams: int, args: argparse.Namespace) -> dict[str, Any]:
    """One point, in this (child) process."""
    import trio

    if system == "raw-sqlite":
        return raw_sqlite(args.events, streams)
    if system == "eventsourcing":
        return eventsourcing_peer(args.peer_events, streams)
    if system == "fleet":
        with tempfile.TemporaryDirectory() as directory:
            _, config = fresh_sqlite(directory)
            per_stream = max(1, args.events // streams)
            return trio.run(
                fleet_streams, config, streams, per_stream, 1, 1, "builtin", args.seconds
            )
    raise SystemExit(f"unknown system {system!r}")


def _spawn(system: str, streams: int, args: argparse.Namespace) -> dict[str, Any]:
    result = run_child(
        [
            "scaling",
            "--child",
            system,
            "--streams",
            str(streams),
            "--events",
            str(args.events),
            "--peer-events",
            str(args.peer_events),
            "--seconds",
            str(args.seconds),
        ]
    )
    seconds = result.get("seconds")
    result["streams"] = streams
    result["events_per_s"] = result["events"] / seconds if seconds else None
    return result


def _median(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate (the lower middle one of an even count), with every
    run's rate beside it; a failed run counts as the slowest."""
    ranked = sorted(results, key=lambda r: r["events_per_s"] or 0.0)
    median = dict(ranked[(len(ranked) - 1) // 2])
    if len(results) > 1:
        median["runs_events_per_s"] = [r["events_per_s"] for r in results]
    return median


def _counts(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench scaling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--streams", type=_counts, default=[1, 10, 100, 1_000, 10_000])
    parser.add_argument("--events", type=int, default=50_000, help="per point, at most")
    parser.add_argument("--peer-events", type=int, default=2_000, help="eventsourcing saves")
    parser.add_argument("--seconds", type=float, default=2.0, help="fleet's time per point")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each point, in turns; the median is kept"
    )
    parser.add_argument(
        "--chart",
        type=Path,
        help="also write the chart here (it is always written beside the JSON)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        (streams,) = args.streams
        return child_output(measure(args.child, streams, args))

    systems = [s for s in SYSTEMS if s in args.systems.split(",")]
    points: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
    rows = []
    for streams in args.streams:
        runs: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
        for turn in range(args.repeat):
            for system in systems:
                print(
                    f"running {system} with {streams:,} streams ({turn + 1}/{args.repeat}) ...",
                    file=sys.stderr,
                    flush=True,
                )
                runs[system].append(_spawn(system, streams, args))
        measured = {system: _median(results) for system, results in runs.items()}
        for system, result in measured.items():
            points[system].append(result)
        raw = measured.get("raw-sqlite", {}).get("events_per_s")
        for system, result in measured.items():
            rate = result["events_per_s"]
            result["vs_raw"] = rate / raw if rate and raw else None
            rows.append(
                {
                    "streams": streams,
                    "system": system,
                    "events/s": rate,
                    "x raw": result["vs_raw"],
                    "p50 ms": result.get("p50_ms"),
                    "p99 ms": result.get("p99_ms"),
                    "batch": result.get("batch"),
                    "rss MB": result.get("peak_rss_mb"),
                    "note": result.get("error") or result.get("skipped") or "",
                }
            )
    print_table("append throughput against concurrent streams (ratios to raw in this run)", rows)
    path = write_json("scaling", {"streams": args.streams, "points": points})
    print(f"\nresults written to {path}")
    how = "one run" if args.repeat == 1 else f"median of {args.repeat} runs"
    title = f"Appends per second against concurrent streams (SQLite, {how})"
    for chart in [path.with_suffix(".svg"), *([args.chart] if args.chart else [])]:
        write_scaling_chart(points, title, chart)
        print(f"chart written to {chart}")
    return 0
