"""One of several OS processes appending to the same streams of one database.

``python -m tests.store.contender URL SECONDS STREAM...`` opens a store on URL
and, until SECONDS have passed, appends to the given streams in turn: an
``ANY`` append, then an append at the exact version it just read (retried by
:func:`fleet.store.retry_on_conflict`). It prints one JSON object: every
acknowledged append, every refusal seen by the retry helper, and every other
error (there should be none).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import msgspec
import trio

from fleet.config import Config, with_overrides
from fleet.errors import WrongExpectedVersion
from fleet.events import NewEvent
from fleet.store import ANY, EventStore, open_store, retry_on_conflict
from fleet.vocabulary import MissionUpdated


async def contend(store: EventStore, streams: list[str], seconds: float) -> dict[str, Any]:
    acknowledged: list[dict[str, Any]] = []
    refusals: list[dict[str, Any]] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds
    turn = 0

    def record(result: Any, event_id: str) -> None:
        acknowledged.append(
            {
                "stream_id": result.stream_id,
                "version": result.first_version,
                "position": result.first_position,
                "event_id": event_id,
            }
        )

    while time.monotonic() < deadline:
        stream = streams[turn % len(streams)]
        turn += 1
        event = NewEvent(MissionUpdated(description=f"any {turn}"))
        try:
            record(await store.append(stream, [event], expected_version=ANY), event.event_id)
        except Exception as exc:
            errors.append(f"any: {type(exc).__name__}: {exc}")
        exact = NewEvent(MissionUpdated(description=f"exact {turn}"))

        async def read_then_append(stream: str = stream, exact: NewEvent = exact) -> Any:
            version = await store.stream_version(stream)
            try:
                return await store.append(stream, [exact], expected_version=version)
            except WrongExpectedVersion as refused:
                refusals.append(
                    {"stream_id": stream, "expected": refused.expected, "actual": refused.actual}
                )
                raise

        try:
            result = await retry_on_conflict(read_then_append, attempts=50)
            record(result, exact.event_id)
        except Exception as exc:
            errors.append(f"exact: {type(exc).__name__}: {exc}")
    return {"acknowledged": acknowledged, "refusals": refusals, "errors": errors}


async def main(url: str, seconds: float, streams: list[str]) -> None:
    config = with_overrides(Config(), database={"url": url})
    async with open_store(config) as store:
        outcome = await contend(store, streams, seconds)
    sys.stdout.write(msgspec.json.encode(outcome).decode() + "\n")


if __name__ == "__main__":
    trio.run(main, sys.argv[1], float(sys.argv[2]), sys.argv[3:])
