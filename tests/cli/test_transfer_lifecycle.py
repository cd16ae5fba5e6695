"""Export and import of a log with deletions and scavenged gaps."""

from __future__ import annotations

import pytest
import trio

from fleet.config import Config
from fleet.db import Database, scavenge
from fleet.errors import StreamDeleted, ValidationError
from fleet.store import open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id
from tests.cli.conftest import config_for
from tests.cli.test_transfer import exported, restore


def build(config: Config) -> tuple[str, str, str]:
    """A log with a trimmed, a soft-deleted and started again, and a hard-deleted stream."""
    trimmed, restarted, gone = (generate_mission_id() for _ in range(3))

    async def run() -> None:
        async with open_store(config) as store:
            for mission in (trimmed, restarted, gone):
                await store.append(
                    mission, [MissionCreated(title="t"), MissionUpdated(description="a")]
                )
            await store.set_stream_metadata(trimmed, max_count=1)
            await store.delete_stream(restarted)
            await store.append(restarted, [MissionCreated(title="again")])
            await store.delete_stream(gone, hard=True)
            await store.append(trimmed, [MissionUpdated(description="b")])

    trio.run(run)
    return trimmed, restarted, gone


def test_a_scavenged_log_imports_with_gaps_and_its_deletions(database_url: str, tmp_path) -> None:
    source = config_for(database_url, tmp_path)
    trimmed, restarted, gone = build(source)
    with Database.open(source) as db:
        assert scavenge(db).events_removed == 7
    data = exported(source)
    target = config_for(f"sqlite:///{tmp_path / 'copy.db'}", tmp_path)
    with pytest.raises(ValidationError, match="import it with gaps allowed"):
        restore(target, data)
    assert exported(target) == b""
    summary = restore(target, data, gaps=True, batch_events=2)
    assert summary.imported == len(data.splitlines())
    assert exported(target) == data

    async def check() -> None:
        async with open_store(target) as store:
            with pytest.raises(StreamDeleted) as hard:
                await store.append(gone, [MissionCreated(title="no")])
            assert hard.value.hard
            page = await store.read_stream(restarted)
            assert [(e.version, e.payload) for e in page.events] == [
                (4, MissionCreated(title="again"))
            ]
            assert (await store.stream_version(gone)) == 3
            # Retention settings are not part of the log: the trimmed stream shows
            # what is left of it.
            assert [e.version for e in (await store.read_stream(trimmed)).events] == [3]

    trio.run(check)
