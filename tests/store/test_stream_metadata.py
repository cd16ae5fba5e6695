"""Stream metadata: saved settings beside a stream's version."""

from __future__ import annotations

import pytest

from fleet.errors import StreamNotFound, ValidationError
from fleet.store import StreamMetadata, open_store
from fleet.vocabulary import MissionCreated, generate_mission_id

pytestmark = pytest.mark.anyio


async def test_a_stream_without_settings_shows_its_version(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        with pytest.raises(StreamNotFound):
            await store.stream_metadata(mission)
        await store.append(mission, [MissionCreated(title="t")])
        assert await store.stream_metadata(mission) == StreamMetadata(mission, 1)


async def test_settings_are_saved_merged_and_survive_a_restart(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        first = await store.set_stream_metadata(mission, metadata={"owner": "ops", "n": [1, 2]})
        assert first.version is None
        assert first.metadata == {"owner": "ops", "n": [1, 2]}
        assert first.created_at == first.updated_at
        await store.append(mission, [MissionCreated(title="t")])
        second = await store.set_stream_metadata(mission, max_count=10, truncate_before=1)
        assert (second.version, second.deleted, second.max_count) == (1, False, 10)
        assert (second.truncate_before, second.deleted_version) == (1, None)
        assert second.metadata == {"owner": "ops", "n": [1, 2]}
        assert second.created_at == first.created_at
        assert second.updated_at >= first.updated_at
    async with open_store(store_config) as store:
        assert await store.stream_metadata(mission) == second
        cleared = await store.set_stream_metadata(mission, metadata=None, max_count=None)
        assert (cleared.metadata, cleared.max_count, cleared.deleted) == ({}, None, False)
        deleted = await store.set_stream_metadata(mission, deleted=True, max_age_s=60)
        # The deletion's record is the stream's version 2.
        assert (deleted.version, deleted.deleted, deleted.hard_deleted) == (2, True, False)
        # The deletion keeps the truncation set before it.
        assert (deleted.deleted_version, deleted.truncate_before, deleted.max_age_s) == (2, 1, 60)
    async with open_store(store_config) as store:
        assert await store.stream_metadata(mission) == deleted


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"metadata": [1]}, "metadata must be a JSON object"),
        ({"metadata": {"x": "y" * 70_000}}, "limit is 65536"),
        ({"metadata": {"x": object()}}, "cannot be encoded"),
        ({"deleted": "yes"}, "deleted must be true or false"),
        ({"max_count": 0}, "max_count must be a whole number"),
        ({"max_age_s": True}, "max_age_s must be a whole number"),
        ({"max_count": 2**63}, "max_count must be a whole number from 1 to 9223372036854775807"),
        ({"truncate_before": 0}, "truncate_before must be a whole number"),
        ({"truncate_before": "3"}, "truncate_before must be a whole number"),
        ({"metadata": {"x": "a\x00"}}, "metadata contains a NUL character"),
    ],
)
async def test_bad_settings_are_refused_and_nothing_is_saved(store_config, settings, named):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        with pytest.raises(ValidationError, match=named):
            await store.set_stream_metadata(mission, **settings)
        with pytest.raises(StreamNotFound):
            await store.stream_metadata(mission)
        with pytest.raises(ValidationError):
            await store.stream_metadata("not-a-stream")
