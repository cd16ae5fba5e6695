"""Values one backend cannot store are refused on every backend, before anything is written."""

from __future__ import annotations

import pytest

from fleet.core.storable import LARGEST_STORED_INT
from fleet.errors import ValidationError
from fleet.events import EventMetadata, NewEvent
from fleet.store import LogFilter, open_store
from fleet.vocabulary import CATALOG, MissionCreated, generate_mission_id
from tests.store.conftest import stored_rows

pytestmark = pytest.mark.anyio

TOO_BIG = LARGEST_STORED_INT + 1


async def test_a_nul_character_in_an_event_is_refused(store_config):
    mission = generate_mission_id()
    with_nul_actor = CATALOG.new_event(
        MissionCreated(title="t"), metadata=EventMetadata(actor="a\x00")
    )
    async with open_store(store_config) as store:
        with pytest.raises(ValidationError, match=r"events\[0\]\.data: contains a NUL"):
            await store.append(mission, [MissionCreated(title="a\x00b")])
        with pytest.raises(ValidationError, match=r"events\[0\]\.metadata: contains a NUL"):
            await store.append(mission, [with_nul_actor])
        with pytest.raises(ValidationError, match="NUL"):
            await store.append(
                mission, [MissionCreated(title="t")], metadata=EventMetadata(correlation_id="\x00")
            )
        with pytest.raises(ValidationError, match="NUL"):
            await store.set_stream_metadata(mission, metadata={"k\x00": 1})
        assert isinstance(with_nul_actor, NewEvent)
    assert stored_rows(store_config) == 0


async def test_the_text_backslash_u0000_is_stored_as_written(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        await store.append(mission, [MissionCreated(title="\\u0000 and \\\\u0000")])
        await store.set_stream_metadata(mission, metadata={"\\u0000": "\\u0000"})
        page = await store.read_stream(mission)
        assert page.events[0].payload.title == "\\u0000 and \\\\u0000"
        assert (await store.stream_metadata(mission)).metadata == {"\\u0000": "\\u0000"}


async def test_integers_beyond_a_database_column_are_refused(store_config):
    mission = generate_mission_id()
    async with open_store(store_config) as store:
        await store.append(mission, [MissionCreated(title="t")])
        refusals = {
            "from_position": lambda: store.read_all(from_position=TOO_BIG),
            "recorded_after": lambda: store.read_all(where=LogFilter(recorded_after=TOO_BIG)),
            "recorded_before": lambda: store.count(where=LogFilter(recorded_before=TOO_BIG)),
            "from_version": lambda: store.read_stream(mission, from_version=TOO_BIG),
            "expected_version": lambda: store.append(
                mission, [MissionCreated(title="t")], expected_version=TOO_BIG
            ),
            "max_count": lambda: store.set_stream_metadata(mission, max_count=TOO_BIG),
            "keep": lambda: store.prune_snapshots(TOO_BIG),
        }
        for name, call in refusals.items():
            with pytest.raises(ValidationError) as refused:
                await call()
            assert refused.value.problems[0][0] == name
        with pytest.raises(ValidationError, match="from_position"):
            store.subscribe(TOO_BIG)
        assert (await store.read_all(from_position=LARGEST_STORED_INT)).events == []
        assert (await store.stream_version(mission)) == 1
