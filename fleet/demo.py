"""A short tour of the store: record a mission's life and read it back.

``fleet demo`` appends a mission's events to the
embedded SQLite database under ``.fleet/``, then reads the stream back and
prints each event and the mission's folded state.
"""

from __future__ import annotations

import sys
from typing import TextIO

import trio

from fleet.config import Config
from fleet.core import format_timestamp
from fleet.events import EventMetadata
from fleet.store import NO_STREAM, open_store
from fleet.vocabulary import (
    CATALOG,
    MissionActivated,
    MissionAssigned,
    MissionCompleted,
    MissionCreated,
    MissionUpdated,
    generate_mission_id,
)

__all__ = ["run_demo"]


async def _tour(config: Config, out: TextIO) -> None:
    mission = generate_mission_id()
    metadata = EventMetadata(correlation_id="demo", actor="fleet-demo")
    async with open_store(config, catalog=CATALOG) as store:
        first = await store.append(
            mission,
            [
                MissionCreated(
                    title="Survey the northern ridge",
                    description="Map the ridge line and mark safe approach routes.",
                    priority="high",
                    tags=("survey", "ridge"),
                )
            ],
            expected_version=NO_STREAM,
            metadata=metadata,
        )
        await store.append(
            mission,
            [MissionAssigned(assignee="scout-7"), MissionActivated(note="weather is clear")],
            expected_version=first.last_version,
            metadata=metadata,
        )
        await store.append(
            mission,
            [
                MissionUpdated(description="Ridge mapped to the second saddle."),
                MissionCompleted(summary="Two approach routes marked."),
            ],
            metadata=metadata,
        )
        events = (await store.read_stream(mission)).events
        state = await store.aggregate_state(mission)
    print(f"mission {mission} in {config.database.url}\n", file=out)
    print(f"{'ver':>3}  {'pos':>6}  {'recorded':<24}  type", file=out)
    for event in events:
        print(
            f"{event.version:>3}  {event.position:>6}  "
            f"{format_timestamp(event.recorded_at):<24}  {event.type}",
            file=out,
        )
    print(
        f"\nstate: status={state.status} assignee={state.assignee} priority={state.priority} "
        f"version={state.version}\n  {state.title}: {state.summary}",
        file=out,
    )


def run_demo(config: Config, out: TextIO | None = None) -> int:
    """Run the tour on ``config``'s database, printing to ``out`` (default: stdout)."""
    trio.run(_tour, config, sys.stdout if out is None else out)
    return 0
