"""Several processes on one database: throughput next to one process, and live lag.

``python -m bench processes [--seconds S] [--rate R]``

Every measurement runs in child processes (fresh interpreters), all in one
invocation, next to raw ``psycopg`` ``executemany`` of the same rows:

=====================  ======================================================================
raw-postgres           psycopg ``executemany`` of fleet's rows, 1,000-row transactions
pg 1 process           fleet on PostgreSQL: 1,000 streams, one task each appending single
                       events in a closed loop for S seconds
pg 2, disjoint         two processes at once, each with 1,000 streams of its own
pg 2, overlapping      two processes at once on the same 1,000 streams (``ANY`` appends;
                       the database settles every race)
lag sqlite / pg        one process appends R single events per second (open loop); another
                       process's subscription receives them: seconds from just before the
                       append to delivery
=====================  ======================================================================
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.append import STREAMS, fresh_postgres, migrate, raw_postgres, typical_payloads
from bench.report import percentile, print_table, write_json

ROOT = Path(__file__).resolve().parents[1]


def _config(url: str) -> Any:
    from fleet.config import Config, for_serving, with_overrides

    return for_serving(with_overrides(Config(project_dir=str(ROOT)), database={"url": url}))


# ----------------------------------------------------------------------------- children


async def _append_loop(url: str, streams: list[str], seconds: float, start_at: float) -> None:
    import trio

    from fleet.store import open_store

    _, updated = typical_payloads()
    count = 0
    async with open_store(_config(url)) as store:
        await trio.sleep(max(0.0, start_at - time.time()))
        deadline = time.monotonic() + seconds

        async def appender(stream: str) -> None:
            nonlocal count
            while time.monotonic() < deadline:
                await store.append(stream, [updated])
                count += 1

        started = time.monotonic()
        async with trio.open_nursery() as nursery:
            for stream in streams:
                nursery.start_soon(appender, stream)
        elapsed = time.monotonic() - started
    print(json.dumps({"events": count, "seconds": elapsed}))


async def _produce(url: str, rate: float, seconds: float) -> None:
    import trio

    from fleet.store import open_store
    from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id

    stream = generate_mission_id()
    async with open_store(_config(url)) as store:
        await store.append(stream, [MissionCreated(title="lag")])
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.readline()
        interval, sent = 1.0 / rate, 0
        started = time.monotonic()
        async with trio.open_nursery() as nursery:
            while time.monotonic() - started < seconds:
                due = started + sent * interval
                await trio.sleep(max(0.0, due - time.monotonic()))
                payload = MissionUpdated(description=repr(time.time()))
                nursery.start_soon(store.append, stream, [payload])
                sent += 1
    print(json.dumps({"sent": sent}))


async def _consume(url: str, expected: int) -> None:
    from fleet.store import CaughtUp, open_store

    lags: list[float] = []
    async with open_store(_config(url)) as store:
        head = await store.head_position()
        async with store.subscribe(from_position=head) as subscription:
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            async for item in subscription:
                if isinstance(item, CaughtUp):
                    continue
                if item.type == "MissionUpdated":
                    lags.append(time.time() - float(item.payload.description))
                    if len(lags) >= expected:
                        break
    print(json.dumps({"lags": lags}))


def child(argv: list[str]) -> int:
    import trio

    role, url, *rest = argv
    if role == "append":
        seconds, start_at, streams_file = float(rest[0]), float(rest[1]), rest[2]
        streams = json.loads(Path(streams_file).read_text())
        trio.run(_append_loop, url, streams, seconds, start_at)
    elif role == "produce":
        trio.run(_produce, url, float(rest[0]), float(rest[1]))
    else:
        trio.run(_consume, url, int(rest[0]))
    return 0


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.processes", "--child", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


# ----------------------------------------------------------------------------- scenarios


def _streams(count: int) -> list[str]:
    from fleet.vocabulary import generate_mission_id

    return [generate_mission_id() for _ in range(count)]


async def _create(url: str, streams: list[str]) -> None:
    import trio

    from fleet.store import open_store

    created, _ = typical_payloads()
    async with open_store(_config(url)) as store, trio.open_nursery() as nursery:
        for stream in streams:
            nursery.start_soon(store.append, stream, [created])


def _throughput(url: str, groups: list[list[str]], seconds: float) -> dict[str, Any]:
    """Run one appending process per stream group at once; total events per second."""
    import trio

    trio.run(_create, url, sorted({stream for group in groups for stream in group}))
    files = []
    start_at = time.time() + 3.0
    children = []
    with tempfile.TemporaryDirectory() as directory:
        for index, streams in enumerate(groups):
            path = Path(directory) / f"streams-{index}.json"
            path.write_text(json.dumps(streams))
            files.append(path)
            children.append(_spawn("append", url, str(seconds), str(start_at), str(path)))
        results = [json.loads(c.communicate(timeout=seconds + 120)[0]) for c in children]
    events = sum(r["events"] for r in results)
    elapsed = max(r["seconds"] for r in results)
    return {"events": events, "seconds": elapsed}


def _lag(url: str, rate: float, seconds: float) -> dict[str, Any]:
    expected = int(rate * seconds)
    consumer = _spawn("consume", url, str(expected))
    producer = _spawn("produce", url, str(rate), str(seconds))
    assert consumer.stdout is not None
    assert producer.stdout is not None
    assert producer.stdin is not None
    consumer.stdout.readline()
    producer.stdout.readline()
    producer.stdin.write("go\n")
    producer.stdin.flush()
    sent = json.loads(producer.communicate(timeout=seconds + 120)[0])["sent"]
    lags = sorted(json.loads(consumer.communicate(timeout=120)[0])["lags"])
    return {
        "events": len(lags),
        "sent": sent,
        "p50_ms": percentile(lags, 0.50) * 1000,
        "p99_ms": percentile(lags, 0.99) * 1000,
        "max_ms": (lags[-1] if lags else 0.0) * 1000,
    }


def _prepared_postgres() -> tuple[str, Any]:
    url, config, drop = fresh_postgres()
    migrate(config)
    return url, drop


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--child":
        return child(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench processes")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s for the lag phase")
    args = parser.parse_args(argv)

    raw = raw_postgres(20_000)
    raw_rate = raw["events"] / raw["seconds"]
    rows: list[dict[str, Any]] = [
        {"scenario": "raw-postgres", "events/s": raw_rate, "x raw": 1.0, "x 1 process": None}
    ]
    phases = {
        "pg 1 process": lambda: [_streams(STREAMS)],
        "pg 2, disjoint": lambda: [_streams(STREAMS), _streams(STREAMS)],
        "pg 2, overlapping": lambda: [shared := _streams(STREAMS), shared],
    }
    results: dict[str, Any] = {"raw-postgres": raw}
    single = None
    for name, groups in phases.items():
        url, drop = _prepared_postgres()
        try:
            measured = _throughput(url, groups(), args.seconds)
        finally:
            drop()
        rate = measured["events"] / measured["seconds"]
        single = single or rate
        results[name] = measured
        rows.append(
            {
                "scenario": name,
                "events/s": rate,
                "x raw": rate / raw_rate,
                "x 1 process": rate / single,
            }
        )
    print_table("several processes on one PostgreSQL database", rows)

    lag_rows = []
    with tempfile.TemporaryDirectory() as directory:
        sqlite_url = f"sqlite:///{Path(directory) / 'lag.db'}"
        migrate(_config(sqlite_url))
        results["lag sqlite"] = _lag(sqlite_url, args.rate, args.seconds)
    url, drop = _prepared_postgres()
    try:
        results["lag pg"] = _lag(url, args.rate, args.seconds)
    finally:
        drop()
    for name in ("lag sqlite", "lag pg"):
        lag_rows.append({"scenario": name, **results[name]})
    print_table(f"cross-process live lag at {args.rate:.0f} events/s", lag_rows)
    print(f"\nresults: {write_json('processes', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
