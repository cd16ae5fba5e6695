"""Subscription figures: catch-up speed, live lag, and what a slow subscriber costs.

``python -m bench subscribe [--events N] [--seconds S]``

* catch up over N stored events (default 1,000,000) event by event and in
  batches, next to a raw ``sqlite3`` SELECT of the same rows (no decoding);
* live lag: single-event appends from 1,000 streams at half the measured
  maximum rate while one subscriber follows; lag = subscriber receipt minus the
  append's acknowledgement (0 when the subscriber was first);
* append throughput and the event loop's CPU time per append with a
  subscriber that sleeps 10 ms per event (it overflows its buffer and falls
  back to paging), in phases alternating with phases without it.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

from bench.append import STREAMS, typical_payloads
from bench.db import chunks, fleet_insert, make_rows, pending
from bench.report import percentile, print_table, write_json


def _config(path: Path, **store: Any) -> Any:
    from fleet.config import Config, for_serving, with_overrides

    return for_serving(
        with_overrides(
            Config(project_dir=str(path.parent)), database={"url": f"sqlite:///{path}"}, store=store
        )
    )


def _fill(config: Any, events: int) -> None:
    from fleet.db import Database

    with Database.open(config) as db:
        fleet_insert(db, pending(chunks(make_rows(events, streams=1000), 10_000)))


async def _catch_up(config: Any, batched: bool, total: int) -> tuple[int, float]:
    from fleet.store import CaughtUp, open_store

    async with open_store(config) as store, store.subscribe() as subscription:
        count = 0
        start = time.perf_counter()
        if batched:
            async for batch in subscription.batches(1000):
                count += len(batch)
                if count >= total:
                    break
        else:
            async for item in subscription:
                if isinstance(item, CaughtUp):
                    break
                count += 1
        return count, time.perf_counter() - start


def _raw_select(path: Path) -> tuple[int, float]:
    raw = sqlite3.connect(path)
    start = time.perf_counter()
    count = sum(1 for _ in raw.execute("SELECT * FROM events ORDER BY position"))
    elapsed = time.perf_counter() - start
    raw.close()
    return count, elapsed


async def _appends(store: Any, ids: list[str], seconds: float) -> int:
    """Closed loop: each of 1,000 streams appends one event after another for ``seconds``."""
    _, updated = typical_payloads()
    done = 0
    deadline = time.perf_counter() + seconds

    async def one(stream: str) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await store.append(stream, [updated])
            done += 1

    async with trio.open_nursery() as nursery:
        for stream in ids:
            nursery.start_soon(one, stream)
    return done


async def _create(store: Any, ids: list[str]) -> None:
    created, _ = typical_payloads()
    async with trio.open_nursery() as nursery:
        for stream in ids:
            nursery.start_soon(store.append, stream, [created])


async def _live_lag(config: Any, seconds: float) -> dict[str, Any]:
    from fleet.store import CaughtUp, open_store
    from fleet.vocabulary import generate_mission_id

    ids = [generate_mission_id() for _ in range(STREAMS)]
    _, updated = typical_payloads()
    async with open_store(config) as store:
        await _create(store, ids)
        start = time.perf_counter()
        maximum = await _appends(store, ids, seconds / 2) / (time.perf_counter() - start)
        rate = maximum / 2
        acked: dict[int, float] = {}
        received: dict[int, float] = {}
        async with store.subscribe(from_position=await store.head_position()) as subscription:

            async def follow() -> None:
                async for item in subscription:
                    if not isinstance(item, CaughtUp):
                        received[item.position] = time.perf_counter()

            async def one(stream: str) -> None:
                result = await store.append(stream, [updated])
                acked[result.first_position] = time.perf_counter()

            async with trio.open_nursery() as outer:
                outer.start_soon(follow)
                tick, owed, sent = 0.002, 0.0, 0
                begin = time.perf_counter()
                async with trio.open_nursery() as nursery:
                    next_tick = begin
                    while next_tick - begin < seconds:
                        owed += rate * tick
                        while owed >= 1:
                            owed -= 1
                            nursery.start_soon(one, ids[sent % STREAMS])
                            sent += 1
                        next_tick += tick
                        await trio.sleep(max(0.0, next_tick - time.perf_counter()))
                with trio.fail_after(10):
                    while len(received) < len(acked):
                        await trio.sleep(0.01)
                outer.cancel_scope.cancel()
    lags = sorted(max(0.0, received[p] - acked[p]) for p in acked)
    return {
        "max_rate": maximum,
        "offered": rate,
        "events": len(lags),
        "p50_ms": percentile(lags, 0.5) * 1000,
        "p99_ms": percentile(lags, 0.99) * 1000,
        "max_ms": lags[-1] * 1000,
    }


async def _timed_appends(store: Any, ids: list[str], seconds: float) -> tuple[float, float]:
    """Appends per second, and event-loop CPU microseconds per append, over ``seconds``."""
    start, cpu = time.perf_counter(), time.thread_time()
    done = await _appends(store, ids, seconds)
    cpu_us = (time.thread_time() - cpu) / done * 1e6 if done else 0.0
    return done / (time.perf_counter() - start), cpu_us


async def _slow_subscriber(config: Any, seconds: float) -> dict[str, Any]:
    """Phases without and with a sleeping subscriber, alternating (three without, two with).

    Throughput drifts down as the log grows and the disk's state changes, so
    the event loop's CPU time per append is reported as well: the event loop's
    share of what the subscriber costs the appends, whatever the disk does (its
    paging reads run in worker threads and are not in that figure).
    """
    from fleet.store import open_store
    from fleet.vocabulary import generate_mission_id

    ids = [generate_mission_id() for _ in range(STREAMS)]
    alone: list[tuple[float, float]] = []
    watched: list[tuple[float, float]] = []
    delivered = buffered = 0
    async with open_store(config) as store:
        await _create(store, ids)
        alone.append(await _timed_appends(store, ids, seconds))
        for _ in range(2):
            async with store.subscribe() as subscription:

                async def crawl() -> None:
                    nonlocal delivered
                    async for _ in subscription:
                        delivered += 1
                        await trio.sleep(0.01)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(crawl)
                    watched.append(await _timed_appends(store, ids, seconds))
                    buffered = max(buffered, store.statistics()["subscriptions"]["buffered_events"])
                    nursery.cancel_scope.cancel()
            alone.append(await _timed_appends(store, ids, seconds))

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    return {
        "alone": mean([rate for rate, _ in alone]),
        "watched": mean([rate for rate, _ in watched]),
        "alone_cpu_us": mean([cpu for _, cpu in alone]),
        "watched_cpu_us": mean([cpu for _, cpu in watched]),
        "buffered": buffered,
        "delivered": delivered,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench subscribe", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        log = Path(directory) / "log.db"
        config = _config(log)
        _fill(config, args.events)
        count, elapsed = _raw_select(log)
        raw_rate = count / elapsed
        rows.append({"measure": "raw sqlite3 SELECT (no decoding)", "value": raw_rate})
        for batched, label in ((False, "event by event"), (True, "batches of 1,000")):
            count, elapsed = trio.run(_catch_up, config, batched, args.events)
            assert count == args.events, (count, args.events)
            rate = count / elapsed
            rows.append(
                {
                    "measure": f"catch-up, {label} (events/s)",
                    "value": rate,
                    "vs raw": rate / raw_rate,
                }
            )
        lag = trio.run(_live_lag, _config(Path(directory) / "lag.db"), args.seconds)
        rows.append({"measure": "append max (events/s)", "value": lag["max_rate"]})
        rows.append({"measure": "offered for lag (events/s)", "value": lag["offered"]})
        for key in ("p50_ms", "p99_ms", "max_ms"):
            rows.append({"measure": f"live lag {key}", "value": lag[key]})
        slow = trio.run(_slow_subscriber, _config(Path(directory) / "slow.db"), args.seconds)
        rows.append({"measure": "appends/s, no subscriber (3 phases)", "value": slow["alone"]})
        rows.append(
            {
                "measure": "appends/s, sleeping subscriber (2 phases between)",
                "value": slow["watched"],
                "vs raw": slow["watched"] / slow["alone"],
            }
        )
        rows.append({"measure": "loop CPU us/append, no subscriber", "value": slow["alone_cpu_us"]})
        rows.append(
            {
                "measure": "loop CPU us/append, sleeping subscriber",
                "value": slow["watched_cpu_us"],
            }
        )
        rows.append({"measure": "sleeping subscriber's buffer", "value": slow["buffered"]})
    print_table(f"subscriptions (SQLite file, {args.events:,} events)", rows)
    path = write_json("subscribe", {"results": rows, "lag": lag, "slow": slow})
    print(f"\nresults written to {path}")
    return 0
