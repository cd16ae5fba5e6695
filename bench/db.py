"""Commit throughput of ``Database.commit`` against the raw driver.

``python -m bench db [--rows N] [--batch N] [--single N] [--repeat N]
[--postgres-url URL | --no-postgres]``

For each backend, the same pre-built rows (time-ordered event ids, 100 streams)
are inserted into the same schema with the same settings twice: once through
fleet (``Database.commit``, the writer's one call per batch) and once through the
bare driver (``sqlite3`` / ``psycopg`` ``executemany`` inside ``BEGIN`` ...
``COMMIT``), each side into its own database. The two sides' transactions
run interleaved, one of each in turn (alternating which goes first), so both
see the same disk and machine state: the disk's fsync time drifts over
seconds on shared machines, and back-to-back runs of one side after the other
compare different conditions. Each measurement starts from empty tables; the
best of ``--repeat`` runs is kept. Two shapes:
one row per transaction (commit cost dominates) and ``--batch`` rows per
transaction (the group-commit shape). The ratio is fleet / raw; the target is
at least 0.9.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from bench.report import print_table, write_json
from fleet.config import Config, DatabaseConfig
from fleet.core.ids import generate_event_id
from fleet.db import Database, EventRow, PendingTuple
from fleet.db.schema import EVENT_COLUMNS
from fleet.events import encode_payload
from fleet.vocabulary import MissionCreated

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAYLOAD = encode_payload(
    MissionCreated(title="benchmark mission", priority="high", tags=("a", "b", "c"))
)
SCHEMA_VERSION = MissionCreated.schema_version


def make_rows(count: int, streams: int = 100) -> list[EventRow]:
    versions = [0] * streams
    rows = []
    for i in range(count):
        s = i % streams
        versions[s] += 1
        rows.append(
            EventRow(
                i + 1,
                generate_event_id(),
                f"msn-bench{s:05d}",
                versions[s],
                "MissionCreated",
                SCHEMA_VERSION,
                PAYLOAD,
                "cor-bench",
                None,
                "bench",
                1_700_000_000_000 + i,
                1_700_000_000_000 + i,
            )
        )
    return rows


def chunks(rows: Sequence[EventRow], size: int) -> list[Sequence[EventRow]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def fleet_insert(db: Database, batches: list[list[PendingTuple]]) -> None:
    """Insert ``batches`` of rows without positions (see :func:`pending`), one transaction
    each, as :func:`fleet_transaction` runs them."""
    for index in range(len(batches)):
        fleet_transaction(db, batches, index)


def insert_sql(marker: str) -> str:
    return f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join([marker] * 12)})"


def sqlite_pragmas(config: DatabaseConfig) -> list[str]:
    return [
        f"PRAGMA busy_timeout = {config.busy_timeout_ms}",
        "PRAGMA journal_mode = WAL",
        f"PRAGMA synchronous = {config.synchronous}",
        "PRAGMA foreign_keys = ON",
        f"PRAGMA cache_size = -{config.cache_size_kib}",
        f"PRAGMA wal_autocheckpoint = {config.checkpoint_pages}",
    ]


def interleaved(
    fleet_one: Callable[[int], None], raw_one: Callable[[int], None], count: int
) -> tuple[float, float]:
    """Run transaction ``i`` of each side back to back for every ``i``; seconds per side."""
    clock = time.perf_counter
    seconds = [0.0, 0.0]
    sides = ((0, fleet_one), (1, raw_one))
    for i in range(count):
        for side, run in sides if i % 2 == 0 else sides[::-1]:
            started = clock()
            run(i)
            seconds[side] += clock() - started
    return seconds[0], seconds[1]


def fleet_transaction(db: Database, batches: list[list[PendingTuple]], index: int) -> None:
    """One commit as the store's writer makes it: :meth:`Database.commit` of rows
    without positions."""
    db.commit(batches[index])


def pending(batches: list[Sequence[EventRow]]) -> list[list[PendingTuple]]:
    """The batches' rows without their positions, as the store's writer hands them over."""
    return [[row[1:] for row in batch] for batch in batches]


def measure_sqlite(
    rows: list[EventRow], size: int, repeat: int, workdir: Path
) -> tuple[float, float]:
    batches = chunks(rows, size)
    sql = insert_sql("?")
    best_fleet = best_raw = float("inf")
    for attempt in range(repeat):
        fleet_path = workdir / f"fleet-{size}-{attempt}.db"
        raw_path = workdir / f"raw-{size}-{attempt}.db"
        config = Config(database=DatabaseConfig(url=f"sqlite:///{fleet_path}"))
        Database.open(Config(database=DatabaseConfig(url=f"sqlite:///{raw_path}"))).close()
        db = Database.open(config)
        raw = sqlite3.connect(raw_path, isolation_level=None)
        for pragma in sqlite_pragmas(config.database):
            raw.execute(pragma)

        def raw_one(index: int, raw: sqlite3.Connection = raw) -> None:
            raw.execute("BEGIN IMMEDIATE")
            raw.executemany(sql, batches[index])
            raw.execute("COMMIT")

        fleet_s, raw_s = interleaved(
            partial(fleet_transaction, db, pending(batches)), raw_one, len(batches)
        )
        best_raw = min(best_raw, raw_s)
        best_fleet = min(best_fleet, fleet_s)
        raw.close()
        db.close()
    return best_fleet, best_raw


def measure_postgres(
    rows: list[EventRow], size: int, repeat: int, fleet_url: sa.URL, raw_url: sa.URL
) -> tuple[float, float]:
    batches = chunks(rows, size)
    sql = insert_sql("%s")
    config = Config(database=DatabaseConfig(url=fleet_url.render_as_string(hide_password=False)))
    db = Database.open(config)
    Database.open(
        Config(database=DatabaseConfig(url=raw_url.render_as_string(hide_password=False)))
    ).close()
    raw = psycopg.connect(
        raw_url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    best_fleet = best_raw = float("inf")
    try:

        def raw_one(index: int) -> None:
            with raw.cursor() as cursor:
                cursor.executemany(sql, batches[index])
            raw.commit()

        for _ in range(repeat):
            raw.execute("TRUNCATE events")
            raw.commit()
            with db.write_transaction() as tx:
                tx.connection.exec_driver_sql("TRUNCATE events")
            fleet_s, raw_s = interleaved(
                partial(fleet_transaction, db, pending(batches)), raw_one, len(batches)
            )
            best_raw = min(best_raw, raw_s)
            best_fleet = min(best_fleet, fleet_s)
    finally:
        raw.close()
        db.close()
    return best_fleet, best_raw


def result_row(
    backend: str, shape: str, count: int, fleet_s: float, raw_s: float
) -> dict[str, Any]:
    return {
        "backend": backend,
        "shape": shape,
        "rows": count,
        "fleet rows/s": count / fleet_s,
        "raw rows/s": count / raw_s,
        "ratio": raw_s / fleet_s,
    }


def run_postgres(
    args: argparse.Namespace, single: list[EventRow], batched: list[EventRow]
) -> list[dict[str, Any]]:
    server = sa.make_url(args.postgres_url)
    name = f"fleet_bench_{uuid.uuid4().hex[:10]}"
    names = (name, f"{name}_raw")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for database in names:
                conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        print(f"PostgreSQL skipped: cannot reach {server.render_as_string()}: {exc.orig}")
        return []
    try:
        urls = server.set(database=names[0]), server.set(database=names[1])
        out = []
        fleet_s, raw_s = measure_postgres(single, 1, args.repeat, *urls)
        out.append(result_row("postgresql", "1 row/txn", len(single), fleet_s, raw_s))
        fleet_s, raw_s = measure_postgres(batched, args.batch, args.repeat, *urls)
        out.append(result_row("postgresql", f"{args.batch} rows/txn", len(batched), fleet_s, raw_s))
        return out
    finally:
        with admin.connect() as conn:
            for database in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench db", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000, help="rows in the batched runs")
    parser.add_argument("--batch", type=int, default=1000, help="rows per batched transaction")
    parser.add_argument("--single", type=int, default=2000, help="one-row transactions")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best kept)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)

    single = make_rows(args.single)
    batched = make_rows(args.rows)
    results = []
    with tempfile.TemporaryDirectory(prefix="fleet-bench-db-") as tmp:
        workdir = Path(tmp)
        fleet_s, raw_s = measure_sqlite(single, 1, args.repeat, workdir)
        results.append(result_row("sqlite", "1 row/txn", len(single), fleet_s, raw_s))
        fleet_s, raw_s = measure_sqlite(batched, args.batch, args.repeat, workdir)
        results.append(result_row("sqlite", f"{args.batch} rows/txn", len(batched), fleet_s, raw_s))
    if not args.no_postgres:
        results.extend(run_postgres(args, single, batched))
    print_table("insert throughput: fleet insert_events vs raw executemany", results)
    path = write_json("db", {"arguments": vars(args), "results": results})
    print(f"\nwritten: {path}")
    return 0
