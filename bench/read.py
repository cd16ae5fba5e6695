"""Read-side figures: one stream, the global log, and aggregate loading.

``python -m bench read [--log-events N]``

* read a 1,000-event stream and decode it (best of several reads);
* page through the whole global log with ``read_all`` (the catch-up path),
  next to a raw ``sqlite3`` SELECT of the same rows without decoding;
* load a 10,000-event aggregate with and without a snapshot.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from bench.report import print_table, write_json


def _config(directory: str, **store: Any) -> Any:
    from fleet.config import Config, for_serving, with_overrides

    path = Path(directory) / "fleet.db"
    return for_serving(
        with_overrides(
            Config(project_dir=directory), database={"url": f"sqlite:///{path}"}, store=store
        )
    )


async def _fill(config: Any, streams: int, per_stream: int) -> list[str]:
    from fleet.store import open_store
    from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id

    ids = [generate_mission_id() for _ in range(streams)]
    async with open_store(config) as store:

        async def one(stream: str) -> None:
            await store.append(stream, [MissionCreated(title="Survey the ridge")])
            for start in range(1, per_stream, 500):
                count = min(500, per_stream - start)
                await store.append(
                    stream, [MissionUpdated(description=f"step {start + i}") for i in range(count)]
                )

        async with trio.open_nursery() as nursery:
            for stream in ids:
                nursery.start_soon(one, stream)
    return ids


async def _measure(args: argparse.Namespace, directory: str) -> list[dict[str, Any]]:
    from fleet.store import open_store

    rows: list[dict[str, Any]] = []
    config = _config(directory, snapshot_every=0, snapshot_on_stop=False)
    (stream,) = await _fill(config, 1, 1000)
    others = await _fill(config, 50, args.log_events // 50)
    long_plain = await _fill(config, 1, 10_000)
    async with open_store(config) as store:
        best = float("inf")
        for _ in range(20):
            start = time.perf_counter()
            page = await store.read_stream(stream, limit=1000)
            best = min(best, time.perf_counter() - start)
        assert len(page.events) == 1000
        rows.append(
            {"measure": "read+decode 1,000-event stream", "value": best * 1000, "unit": "ms"}
        )

        total = 0
        position = 0
        start = time.perf_counter()
        while True:
            log = await store.read_all(from_position=position)
            total += len(log.events)
            position = log.next_position
            if log.end:
                break
        elapsed = time.perf_counter() - start
        rows.append(
            {"measure": "read_all catch-up (decoded)", "value": total / elapsed, "unit": "events/s"}
        )

        start = time.perf_counter()
        state = await store.aggregate_state(long_plain[0])
        rows.append(
            {
                "measure": "load 10,000-event aggregate, no snapshot",
                "value": (time.perf_counter() - start) * 1000,
                "unit": "ms",
            }
        )
        assert state.version == 10_000
    raw = sqlite3.connect(Path(directory) / "fleet.db")
    start = time.perf_counter()
    count = sum(1 for _ in raw.execute("SELECT * FROM events ORDER BY position"))
    raw_elapsed = time.perf_counter() - start
    raw.close()
    rows.append(
        {
            "measure": "raw sqlite3 SELECT of the log (no decoding)",
            "value": count / raw_elapsed,
            "unit": "rows/s",
        }
    )

    snap_config = _config(directory, snapshot_every=1000, snapshot_on_stop=True)
    long_snap = await _fill(snap_config, 1, 10_000)
    async with open_store(snap_config) as store:
        start = time.perf_counter()
        state = await store.aggregate_state(long_snap[0])
        rows.append(
            {
                "measure": "load 10,000-event aggregate, with snapshot",
                "value": (time.perf_counter() - start) * 1000,
                "unit": "ms",
            }
        )
        assert state.version == 10_000
    del others
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench read", description=__doc__)
    parser.add_argument("--log-events", type=int, default=200_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        rows = trio.run(_measure, args, directory)
    print_table("read side (one run, SQLite file)", rows)
    path = write_json("read", {"results": rows})
    print(f"\nresults written to {path}")
    return 0
