"""Codec throughput: payloads encoded and validated+decoded per second, on one core.

``python -m bench codec [--events N] [--repeat R]``. Each figure is the best of
``R`` timed loops over ``N`` operations; the issue's target is >= 300k/s for both
encoding and decoding a typical mission event. Because absolute figures drift
with machine load, the same run also decodes the same bytes with a plain
msgspec Struct of the same shape (no constraints, no tag) and reports fleet's
decode as a fraction of that baseline.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import msgspec

from bench.report import print_table, write_json
from fleet.core.ids import generate_event_id
from fleet.events import NewEvent, encode_payload
from fleet.vocabulary import (
    CATALOG,
    MissionAssigned,
    MissionCreated,
    WorkOrderCreated,
    generate_mission_id,
)

TARGET_PER_SECOND = 300_000


def _typical_mission() -> MissionCreated:
    return MissionCreated(
        title="Migrate the billing service to the new event store",
        description="Move every write path to fleet and backfill three years of history.",
        priority="high",
        tags=("billing", "migration"),
        due_at=1_800_000_000_000,
        metadata={"team": "payments", "estimate_days": 12, "customer_facing": True},
    )


class _PlainMission(msgspec.Struct):
    type: str
    title: str
    description: str = ""
    priority: str = "medium"
    tags: tuple[str, ...] = ()
    due_at: int | None = None
    metadata: dict[str, str | int | float | bool | None] = {}


def _best_rate(operation: Callable[[], object], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            operation()
        best = min(best, time.perf_counter() - start)
    return count / best


def _batch_body(size: int) -> bytes:
    item = (
        b'{"type": "MissionCreated", "event_id": "%s", '
        b'"data": {"title": "Batch mission", "priority": "low", "tags": ["x"]}}'
    )
    return b"[" + b",".join(item % generate_event_id().encode() for _ in range(size)) + b"]"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench codec", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="operations per timed loop")
    parser.add_argument("--repeat", type=int, default=7, help="timed loops; the best is kept")
    args = parser.parse_args(argv)
    count, repeat = args.events, args.repeat

    mission = _typical_mission()
    mission_bytes = encode_payload(mission)
    small = MissionAssigned(assignee="agent-7")
    small_bytes = encode_payload(small)
    work_order = WorkOrderCreated(mission_id=generate_mission_id(), title="Backfill 2024")
    work_order_bytes = encode_payload(work_order)
    v1_bytes = b'{"title": "Old mission", "description": "", "priority": 3}'
    new = NewEvent(mission)
    batch_size = 1_000
    batch = _batch_body(batch_size)

    plain = msgspec.json.Decoder(_PlainMission)
    cases: list[tuple[str, int, Callable[[], object], int]] = [
        ("encode MissionCreated", len(mission_bytes), lambda: encode_payload(mission), count),
        (
            "decode+validate MissionCreated",
            len(mission_bytes),
            lambda: CATALOG.decode_payload("MissionCreated", 2, mission_bytes),
            count,
        ),
        (
            "baseline: plain msgspec decode, same bytes",
            len(mission_bytes),
            lambda: plain.decode(mission_bytes),
            count,
        ),
        ("encode MissionAssigned", len(small_bytes), lambda: encode_payload(small), count),
        (
            "decode+validate MissionAssigned",
            len(small_bytes),
            lambda: CATALOG.decode_payload("MissionAssigned", 1, small_bytes),
            count,
        ),
        (
            "decode+validate WorkOrderCreated",
            len(work_order_bytes),
            lambda: CATALOG.decode_payload("WorkOrderCreated", 1, work_order_bytes),
            count,
        ),
        (
            "decode+upcast MissionCreated v1",
            len(v1_bytes),
            lambda: CATALOG.decode_payload("MissionCreated", 1, v1_bytes),
            count // 4,
        ),
        (
            "validate_new_event (built)",
            len(mission_bytes),
            lambda: CATALOG.validate_new_event(new),
            count,
        ),
    ]

    rows: list[dict[str, Any]] = []
    for name, size, operation, n in cases:
        rate = _best_rate(operation, n, repeat)
        rows.append({"operation": name, "bytes": size, "per_second": rate, "us_each": 1e6 / rate})
    batches = max(1, count // batch_size // 4)
    batch_rate = _best_rate(lambda: CATALOG.decode_new_events(batch), batches, repeat) * batch_size
    rows.append(
        {
            "operation": f"decode_new_events ({batch_size}/batch)",
            "bytes": len(batch) // batch_size,
            "per_second": batch_rate,
            "us_each": 1e6 / batch_rate,
        }
    )

    print_table(f"codec throughput, one core (best of {repeat})", rows)
    encode_rate, decode_rate, plain_rate = (rows[i]["per_second"] for i in range(3))
    meets = encode_rate >= TARGET_PER_SECOND and decode_rate >= TARGET_PER_SECOND
    print(
        f"\ntypical mission event: {encode_rate:,.0f} encoded/s, {decode_rate:,.0f} "
        f"validated+decoded/s (target {TARGET_PER_SECOND:,}/s: {'met' if meets else 'NOT met'}); "
        f"decode at {decode_rate / plain_rate:.0%} of plain msgspec"
    )
    path = write_json(
        "codec",
        {
            "events_per_loop": count,
            "repeat": repeat,
            "target_per_second": TARGET_PER_SECOND,
            "target_met": meets,
            "decode_vs_plain_msgspec": decode_rate / plain_rate,
            "rows": rows,
        },
    )
    print(f"results: {path}")
    return 0
