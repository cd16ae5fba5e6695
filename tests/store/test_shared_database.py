"""Two stores writing to one database, as two processes sharing it would.

Each store's writer reuses the head its own last commit left (one round trip
less on PostgreSQL); when the other store wrote in between, the batch is
written again after the head is read afresh. Every acknowledged append must
be stored exactly where its result says, with no gap and no duplicate.
"""

from __future__ import annotations

import anyio
import pytest

from fleet.store import NO_STREAM, AppendResult, open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id
from tests.store.test_append import stored_rows

pytestmark = pytest.mark.anyio


async def test_interleaved_appends_from_two_stores_are_all_stored_where_acknowledged(
    store_config,
):
    results: list[AppendResult] = []

    async def appender(store, rounds: int) -> None:
        mission = generate_mission_id()
        created = MissionCreated(title="shared")
        results.append(await store.append(mission, [created], expected_version=NO_STREAM))
        for n in range(rounds):
            done = await store.append(
                mission, [MissionUpdated(description=f"step {n}")], expected_version=n + 1
            )
            results.append(done)

    async with (
        open_store(store_config) as first,
        open_store(store_config) as second,
        anyio.create_task_group() as tasks,
    ):
        for index in range(8):
            tasks.start_soon(appender, first if index % 2 else second, 15)

    rows = stored_rows(store_config)
    assert [row[2] for row in rows] == list(range(1, 8 * 16 + 1))
    stored = {(row[0], row[1]): row[2] for row in rows}
    for result in results:
        assert stored[(result.stream_id, result.first_version)] == result.first_position
