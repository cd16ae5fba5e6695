"""Realistic histories of missions, work orders and checkpoints, and raw log rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, NamedTuple

import anyio.to_thread
import msgspec

from fleet.config import Config
from fleet.core.ids import generate_event_id
from fleet.core.time import now_ms
from fleet.db import EventRow
from fleet.events import Payload, encode_payload
from fleet.projections import apply_batch
from fleet.read_models import BUILTIN_PROJECTIONS, prepare_read_models
from fleet.store import EventStore, open_store
from fleet.vocabulary import (
    CheckpointCompleted,
    CheckpointCreated,
    CheckpointFailed,
    CheckpointProgressRecorded,
    CheckpointRestored,
    CheckpointVerified,
    MissionActivated,
    MissionArchived,
    MissionAssigned,
    MissionCancelled,
    MissionCompleted,
    MissionCreated,
    MissionDeactivated,
    MissionMetadataUpdated,
    MissionPriorityChanged,
    MissionUpdated,
    WorkOrderAssigned,
    WorkOrderBlocked,
    WorkOrderCancelled,
    WorkOrderCompleted,
    WorkOrderCreated,
    WorkOrderFailed,
    WorkOrderRetried,
    WorkOrderStarted,
    WorkOrderUnblocked,
    WorkOrderUpdated,
    generate_checkpoint_id,
    generate_mission_id,
    generate_work_order_id,
)

DIGEST = "sha256:" + "ab" * 32


class Life(NamedTuple):
    """The ids of one history and how many events it appended."""

    missions: list[str]
    work_orders: list[str]
    checkpoints: list[str]
    events: int


async def live_a_life(store: EventStore) -> Life:
    """A mission with three work orders and two checkpoints that completes, and one
    that is cancelled and archived: most kinds of transition, one event at a time
    or a few together."""
    main, other = generate_mission_id(), generate_mission_id()
    first, second, third = (generate_work_order_id() for _ in range(3))
    saved, broken = generate_checkpoint_id(), generate_checkpoint_id()
    plan: list[tuple[str, list[Payload]]] = [
        (
            main,
            [
                MissionCreated(
                    title="Map the reef",
                    priority="high",
                    tags=("survey", "reef"),
                    metadata={"site": "north", "depth": 12},
                ),
                MissionAssigned(assignee="alice"),
                MissionActivated(note="go"),
            ],
        ),
        (first, [WorkOrderCreated(mission_id=main, title="Sonar pass", priority="high")]),
        (second, [WorkOrderCreated(mission_id=main, title="Photo pass")]),
        (third, [WorkOrderCreated(mission_id=main, title="Sample pass", priority="low")]),
        (first, [WorkOrderAssigned(assignee="bob"), WorkOrderStarted()]),
        (second, [WorkOrderAssigned(assignee="carol"), WorkOrderStarted()]),
        (saved, [CheckpointCreated(mission_id=main, work_order_id=first, label="sonar raw")]),
        (first, [WorkOrderBlocked(reason="waiting for photos", blocked_by=second)]),
        (second, [WorkOrderFailed(reason="camera flooded", retryable=True)]),
        (
            broken,
            [
                CheckpointCreated(mission_id=main, label="photos"),
                CheckpointFailed(reason="no data"),
            ],
        ),
        (saved, [CheckpointProgressRecorded(progress=50, message="half")]),
        (main, [MissionPriorityChanged(priority="critical", reason="storm coming")]),
        (second, [WorkOrderRetried(reason="new camera"), WorkOrderAssigned(assignee="dave")]),
        (second, [WorkOrderUpdated(description="use the spare camera"), WorkOrderStarted()]),
        (second, [WorkOrderCompleted(summary="120 photos")]),
        (first, [WorkOrderUnblocked(), WorkOrderCompleted(summary="full map")]),
        (saved, [CheckpointCompleted(digest=DIGEST, size_bytes=4096)]),
        (saved, [CheckpointVerified(verified_by="erin"), CheckpointRestored(reason="redo")]),
        (third, [WorkOrderCancelled(reason="not needed")]),
        (main, [MissionDeactivated(reason="storm"), MissionActivated()]),
        (main, [MissionMetadataUpdated(updates={"boats": 2}, removed=("depth",))]),
        (main, [MissionUpdated(description="north reef, both passes")]),
        (main, [MissionCompleted(summary="reef mapped")]),
        (other, [MissionCreated(title="Old plan"), MissionCancelled(reason="superseded")]),
        (other, [MissionArchived()]),
    ]
    count = 0
    for stream_id, payloads in plan:
        await store.append(stream_id, payloads)
        count += len(payloads)
    return Life([main, other], [first, second, third], [saved, broken], count)


def state_fields(state: Any) -> dict[str, Any]:
    """An aggregate state as plain data (tuples as lists)."""
    data: dict[str, Any] = msgspec.to_builtins(state)
    return data


def view_fields(view: Any, state: Any) -> dict[str, Any]:
    """The fields of a view that are fields of the aggregate state, as plain data."""
    data: dict[str, Any] = msgspec.to_builtins(view)
    return {name: data[name] for name in state_fields(state)}


def raw_rows(
    head: int, stream_id: str, first_version: int, payloads: list[Payload]
) -> list[EventRow]:
    """Log rows written without the store's checks (as an older, looser fleet might have)."""
    at = now_ms()
    return [
        EventRow(
            position=head + i + 1,
            event_id=generate_event_id(),
            stream_id=stream_id,
            version=first_version + i,
            type=payload.event_type,
            schema_version=payload.schema_version,
            payload=encode_payload(payload),
            correlation_id=None,
            causation_id=None,
            actor=None,
            occurred_at=at,
            recorded_at=at,
        )
        for i, payload in enumerate(payloads)
    ]


async def append_raw(
    store: EventStore, stream_id: str, first_version: int, payloads: list[Payload]
) -> int:
    """Write ``payloads`` straight into the log, bypassing the transition table; return the head."""

    def write() -> int:
        with store.database.write_transaction() as tx:
            rows = raw_rows(tx.head_position, stream_id, first_version, payloads)
            tx.insert_events(rows)
            return rows[-1].position

    return await anyio.to_thread.run_sync(write)


@asynccontextmanager
async def open_prepared(config: Config) -> AsyncIterator[EventStore]:
    """An open store whose database has the built-in read models' tables."""
    async with open_store(config) as store:
        await prepare_read_models(store)
        yield store


async def project_everything(store: EventStore, batch: int = 50) -> list[str]:
    """Apply the whole log to every built-in projection, ``batch`` events per transaction
    (creating their tables first if need be).

    Returns the names of the projections that refused a batch as a whole (it was
    applied again one event at a time), once per such batch.
    """
    await prepare_read_models(store)
    one_by_one: list[str] = []
    for projection in BUILTIN_PROJECTIONS:
        position = 0
        while True:
            page = await store.read_all(position, batch)
            if page.events:
                apply = partial(
                    apply_batch, store.database, projection, page.events, after=position
                )
                outcome = await anyio.to_thread.run_sync(apply)
                position = outcome.checkpoint
                if outcome.one_by_one:
                    one_by_one.append(projection.name)
            if page.end:
                break
    return one_by_one
