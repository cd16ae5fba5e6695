"""Append throughput, latency and memory: fleet next to raw sqlite3 and a peer library.

``python -m bench append [--quick] [--only NAME,...]``

Every measurement runs in its own child process (fresh interpreter, fresh
database file, its own peak-RSS figure). All of them run in one invocation, so
ratios against raw ``sqlite3.executemany`` are taken on the same machine state:

======================  ===================================================================
raw-sqlite              ``sqlite3.executemany`` of fleet's exact rows into fleet's exact
                        schema, same pragmas (WAL, synchronous=FULL, checkpoint size),
                        1,000-row transactions
eventsourcing-1         the ``eventsourcing`` library on SQLite, one event per save (peer)
single                  fleet: 1,000 streams, concurrent single-event appends, durable
cart-single             ``single`` on a user's typed category with an aggregate
                        (``examples.cart``: items added to carts)
audit-single            ``single`` on a user's untyped category (JSON objects)
batch10                 fleet: 1,000 streams, 10-event appends
hot                     fleet: one stream, 100 concurrent appenders
single-defaults         ``single`` with the interpreter as a library leaves it: no
                        ``gc.freeze``, Python's GC threshold and switch interval (the
                        other fleet scenarios tune them as ``fleet serve`` does)
hot-defaults            ``hot``, likewise untuned
latency                 fleet: open-loop offered load at half of ``single``'s throughput
memory                  fleet: 100,000 distinct streams, one append each (passivation)
raw-postgres            psycopg ``executemany`` of the same rows, 1,000-row transactions
pg-single               fleet on PostgreSQL: the ``single`` scenario
======================  ===================================================================

Whether the append path runs compiled (``make compile``, :mod:`fleet.compiled`)
is printed with the table. For the closed-loop fleet scenarios, ``loop µs/ev``
is the event loop's CPU time per event appended (``time.thread_time`` of the
loop thread): where the disk is not the limit, it is.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.charts import write_latency_chart
from bench.report import (
    child_output,
    log_histogram,
    percentile,
    print_table,
    run_child,
    write_json,
)
from fleet.compiled import compiled_modules

PG_SERVER = os.environ.get(
    "FLEET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STREAMS = 1000


# ----------------------------------------------------------------------------- rows


def typical_payloads() -> tuple[Any, Any]:
    """The first event of a mission stream and a typical follow-up event."""
    from fleet.vocabulary import MissionCreated, MissionUpdated

    created = MissionCreated(
        title="Survey the northern ridge",
        description="Map the ridge line and mark safe approach routes.",
        priority="high",
    )
    updated = MissionUpdated(description="Ridge mapped to the second saddle; continuing east.")
    return created, updated


def domain_workload(domain: str) -> tuple[Any, str, Any, Any]:
    """The catalog, stream category, first event and follow-up event of a domain:
    ``builtin`` (missions), ``cart`` (a typed user category) or ``audit`` (untyped)."""
    if domain == "builtin":
        from fleet.vocabulary import CATALOG

        return (CATALOG, "msn", *typical_payloads())
    from examples.cart.catalog import CATALOG as CART_CATALOG
    from examples.cart.catalog import CartOpened, ItemAdded

    if domain == "cart":
        added = ItemAdded(sku="tea-darjeeling-250g", quantity=2, unit_price_cents=1450)
        return CART_CATALOG, "cart", CartOpened(customer="ada@example.com"), added
    from fleet.events import JsonPayload

    seen = JsonPayload("PageViewed", {"path": "/ridge/north", "by": "ada", "ms": 42})
    return CART_CATALOG, "audit", JsonPayload("SessionStarted", {"by": "ada"}), seen


def fleet_rows(count: int, streams: int) -> list[tuple[Any, ...]]:
    """Rows exactly as fleet's writer inserts them (positions 1..count)."""
    from fleet.core.ids import generate_event_id
    from fleet.core.time import now_ms
    from fleet.events import encode_payload
    from fleet.vocabulary import generate_mission_id

    created, updated = typical_payloads()
    first, later = encode_payload(created), encode_payload(updated)
    ids = [generate_mission_id() for _ in range(streams)]
    rows = []
    now = now_ms()
    for i in range(count):
        stream, version = ids[i % streams], i // streams + 1
        payload, kind = (first, "MissionCreated") if version == 1 else (later, "MissionUpdated")
        rows.append(
            (
                i + 1,
                generate_event_id(),
                stream,
                version,
                kind,
                2 if version == 1 else 1,
                payload,
                None,
                None,
                None,
                now,
                now,
            )
        )
    return rows


def fresh_sqlite(directory: str, tuned: bool = True) -> tuple[str, Any]:
    """A fleet SQLite database file and its configuration: the interpreter tuned as
    ``fleet serve`` tunes it (``for_serving``), or a library's defaults (untouched)."""
    from fleet.config import Config, for_serving, with_overrides

    path = Path(directory) / "fleet.db"
    config = with_overrides(Config(project_dir=directory), database={"url": f"sqlite:///{path}"})
    return str(path), for_serving(config) if tuned else config


def fresh_postgres() -> tuple[str, Any, Any]:
    """A fresh PostgreSQL database: (url, fleet config, drop function)."""
    import sqlalchemy as sa

    from fleet.config import Config, for_serving, with_overrides

    name = f"fleet_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, for_serving(with_overrides(Config(), database={"url": url})), drop


def migrate(config: Any) -> None:
    from fleet.db import Database

    Database.open(config).close()


# ----------------------------------------------------------------------------- raw baselines


def raw_sqlite(events: int, streams: int = STREAMS) -> dict[str, Any]:
    import sqlite3

    with tempfile.TemporaryDirectory() as directory:
        path, config = fresh_sqlite(directory)
        migrate(config)
        rows = fleet_rows(events, streams)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA cache_size=-{config.database.cache_size_kib}")
        conn.execute(f"PRAGMA wal_autocheckpoint={config.database.checkpoint_pages}")
        sql = f"INSERT INTO events VALUES ({', '.join('?' * 12)})"
        start = time.perf_counter()
        for i in range(0, len(rows), 1000):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows[i : i + 1000])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
    return {"events": events, "seconds": elapsed, "batch": 1000.0}


def raw_postgres(events: int) -> dict[str, Any]:
    import psycopg
    import sqlalchemy as sa

    url, config, drop = fresh_postgres()
    try:
        migrate(config)
        rows = fleet_rows(events, STREAMS)
        dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:
            sql = f"INSERT INTO events VALUES ({', '.join(['%s'] * 12)})"
            start = time.perf_counter()
            for i in range(0, len(rows), 1000):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(sql, rows[i : i + 1000])
            elapsed = time.perf_counter() - start
    finally:
        drop()
    return {"events": events, "seconds": elapsed, "batch": 1000.0}


def eventsourcing_peer(events: int, streams: int = STREAMS) -> dict[str, Any]:
    """One save per event, round-robin over ``streams`` aggregates (created on first save)."""
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event
    except ImportError:
        return {"skipped": "eventsourcing is not installed"}

    class Mission(Aggregate):  # type: ignore[misc]
        @event("Created")
        def __init__(self, title: str) -> None:
            self.title = title
            self.description = ""

        @event("Updated")
        def update(self, description: str) -> None:
            self.description = description

    class Missions(Application):  # type: ignore[misc]
        pass

    with tempfile.TemporaryDirectory() as directory:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(Path(directory) / "es.db"),
        }
        app = Missions(env=env)
        missions = []
        start = time.perf_counter()
        for i in range(events):
            if i < streams:
                mission = Mission(title="Survey the northern ridge")
                missions.append(mission)
            else:
                mission = missions[i % streams]
                mission.update("Ridge mapped to the second saddle; continuing east.")
            app.save(mission)
        elapsed = time.perf_counter() - start
    return {"events": events, "seconds": elapsed, "batch": 1.0}


# ----------------------------------------------------------------------------- fleet scenarios


async def fleet_streams(
    config: Any,
    streams: int,
    appends_per_stream: int,
    events_per_append: int,
    appenders: int,
    domain: str = "builtin",
    seconds: float | None = None,
) -> dict[str, Any]:
    """``appenders`` tasks per stream, each appending ``appends_per_stream`` times (or
    until ``seconds`` have passed, when given), after one creating append per stream."""
    import trio

    from fleet.store import open_store

    catalog, category, created, updated = domain_workload(domain)
    latencies: list[float] = []
    ids = [catalog.new_stream_id(category) for _ in range(streams)]
    async with open_store(config, catalog=catalog) as store:
        async with trio.open_nursery() as nursery:
            for stream in ids:
                nursery.start_soon(store.append, stream, [created])
        before = store.statistics()["writer"]

        async def appender(stream: str) -> None:
            for _ in range(appends_per_stream):
                t0 = time.perf_counter()
                if deadline is not None and t0 >= deadline:
                    return
                await store.append(stream, [updated] * events_per_append)
                latencies.append(time.perf_counter() - t0)

        start, cpu = time.perf_counter(), time.thread_time()
        deadline = None if seconds is None else start + seconds
        async with trio.open_nursery() as nursery:
            for stream in ids:
                for _ in range(appenders):
                    nursery.start_soon(appender, stream)
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
        after = store.statistics()["writer"]
        switch_interval_ms = sys.getswitchinterval() * 1000  # as the store left it
    latencies.sort()
    total = len(latencies) * events_per_append
    batches = after["batches"] - before["batches"]
    return {
        "events": total,
        "seconds": elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "batch": (after["events"] - before["events"]) / batches if batches else 0.0,
        "loop_cpu_us": cpu / total * 1e6 if total else 0.0,
        "latency_histogram": log_histogram(latencies),
        "switch_interval_ms": switch_interval_ms,
    }


async def _fleet_latency(config: Any, rate: float, seconds: float) -> dict[str, Any]:
    """Open loop: start ``rate`` single-event appends per second over 1,000 streams."""
    import trio

    from fleet.store import open_store
    from fleet.vocabulary import generate_mission_id

    created, updated = typical_payloads()
    ids = [generate_mission_id() for _ in range(STREAMS)]
    latencies: list[float] = []
    async with open_store(config) as store:
        async with trio.open_nursery() as nursery:
            for stream in ids:
                nursery.start_soon(store.append, stream, [created])

        async def one(stream: str, started: float) -> None:
            await store.append(stream, [updated])
            latencies.append(time.perf_counter() - started)

        tick = 0.002
        per_tick = rate * tick
        owed = 0.0
        sent = 0
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            next_tick = start
            while next_tick - start < seconds:
                owed += per_tick
                now = time.perf_counter()
                while owed >= 1:
                    owed -= 1
                    nursery.start_soon(one, ids[sent % STREAMS], now)
                    sent += 1
                next_tick += tick
                await trio.sleep_until(
                    trio.current_time() + max(0.0, next_tick - time.perf_counter())
                )
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "events": sent,
        "seconds": elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "offered_per_s": rate,
        "latency_histogram": log_histogram(latencies),
    }


async def _fleet_memory(config: Any, streams: int) -> dict[str, Any]:
    import trio

    from fleet.store import open_store
    from fleet.vocabulary import generate_mission_id

    created, _ = typical_payloads()
    async with open_store(config) as store:
        start = time.perf_counter()

        async def worker(count: int) -> None:
            for _ in range(count):
                await store.append(generate_mission_id(), [created])

        async with trio.open_nursery() as nursery:
            for _ in range(1000):
                nursery.start_soon(worker, streams // 1000)
        elapsed = time.perf_counter() - start
        live = store.statistics()["actors"]
    return {"events": streams, "seconds": elapsed, "live_actors": getattr(live, "live", None)}


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    import trio

    events = args.events
    if name == "raw-sqlite":
        return raw_sqlite(events)
    if name == "raw-postgres":
        return raw_postgres(events)
    if name == "eventsourcing-1":
        return eventsourcing_peer(args.peer_events)
    with tempfile.TemporaryDirectory() as directory:
        name, untouched = name.removesuffix("-defaults"), name.endswith("-defaults")
        _, config = fresh_sqlite(directory, tuned=not untouched)
        per_stream = max(1, events // STREAMS)
        if name == "single":
            return trio.run(fleet_streams, config, STREAMS, per_stream, 1, 1)
        if name in ("cart-single", "audit-single"):
            domain = name.partition("-")[0]
            return trio.run(fleet_streams, config, STREAMS, per_stream, 1, 1, domain)
        if name == "batch10":
            return trio.run(fleet_streams, config, STREAMS, max(1, per_stream // 10), 10, 1)
        if name == "hot":
            return trio.run(fleet_streams, config, 1, max(1, events // 100), 1, 100)
        if name == "latency":
            return trio.run(_fleet_latency, config, args.rate, args.seconds)
        if name == "memory":
            return trio.run(_fleet_memory, config, args.memory_streams)
        if name == "pg-single":
            _, pg_config, drop = fresh_postgres()
            try:
                return trio.run(fleet_streams, pg_config, STREAMS, per_stream, 1, 1)
            finally:
                drop()
    raise SystemExit(f"unknown scenario {name!r}")


# ----------------------------------------------------------------------------- parent

ORDER = [
    "raw-sqlite",
    "single",
    "cart-single",
    "audit-single",
    "batch10",
    "hot",
    "single-defaults",
    "hot-defaults",
    "latency",
    "memory",
    "eventsourcing-1",
    "raw-postgres",
    "pg-single",
]


def spawn(name: str, args: argparse.Namespace, extra: list[str] | None = None) -> dict[str, Any]:
    return run_child(
        [
            "append",
            "--child",
            name,
            "--events",
            str(args.events),
            "--peer-events",
            str(args.peer_events),
            "--memory-streams",
            str(args.memory_streams),
            "--seconds",
            str(args.seconds),
            *(extra or []),
        ]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench append",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--peer-events", type=int, default=5_000)
    parser.add_argument("--memory-streams", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--only", default=",".join(ORDER))
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument(
        "--chart",
        type=Path,
        help="also write the latency chart here (it is always written beside the JSON)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.peer_events, args.memory_streams, args.seconds = (
            20_000,
            1_000,
            10_000,
            2.0,
        )
    if args.child:
        return child_output(measure(args.child, args))

    results: dict[str, dict[str, Any]] = {}
    for name in [n for n in ORDER if n in args.only.split(",")]:
        extra: list[str] = []
        if name == "latency":
            best = results.get("single", {})
            rate = best["events"] / best["seconds"] / 2 if "seconds" in best else 10_000.0
            extra = ["--rate", str(rate)]
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = spawn(name, args, extra)
    rows = []
    raw = results.get("raw-sqlite", {})
    raw_rate = raw["events"] / raw["seconds"] if "seconds" in raw else None
    pg_raw = results.get("raw-postgres", {})
    pg_rate = pg_raw["events"] / pg_raw["seconds"] if "seconds" in pg_raw else None
    peer = results.get("eventsourcing-1", {})
    peer_rate = peer["events"] / peer["seconds"] if "seconds" in peer else None
    for name, result in results.items():
        rate = result["events"] / result["seconds"] if "seconds" in result else None
        baseline = pg_rate if name.startswith("pg-") else raw_rate
        result["events_per_s"] = rate
        result["vs_raw"] = rate / baseline if rate and baseline and name != "latency" else None
        result["vs_peer"] = rate / peer_rate if rate and peer_rate and name == "single" else None
        rows.append(
            {
                "scenario": name,
                "events/s": rate,
                "x raw": result["vs_raw"],
                "x peer": result["vs_peer"],
                "p50 ms": result.get("p50_ms"),
                "p99 ms": result.get("p99_ms"),
                "max ms": result.get("max_ms"),
                "batch": result.get("batch"),
                "rss MB": result.get("peak_rss_mb"),
                "loop µs/ev": result.get("loop_cpu_us"),
                "note": result.get("error") or result.get("skipped") or "",
            }
        )
    print_table("append benchmark (one run; ratios are to raw executemany in this run)", rows)
    print(f"compiled modules: {', '.join(compiled_modules()) or 'none (pure Python)'}")
    path = write_json("append", {"results": results, "compiled": compiled_modules()})
    print(f"\nresults written to {path}")
    for chart in [path.with_suffix(".svg"), *([args.chart] if args.chart else [])]:
        if write_latency_chart(results, chart):
            print(f"latency chart written to {chart}")
    return 0
