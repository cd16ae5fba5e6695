"""Every store method that takes a stream id refuses a malformed one, and stores nothing."""

from __future__ import annotations

import pytest

from fleet.errors import ValidationError
from fleet.store import StreamAppend, open_store
from fleet.vocabulary import MissionCreated, generate_mission_id
from tests.store.conftest import stored_rows

pytestmark = pytest.mark.anyio

MALFORMED = [
    "msn-nope",
    "msn-",
    "msn-" + "0" * 25,
    "msn-" + "0" * 27,
    "msn-4" + "0" * 25,
    "msn-0" + "0" * 24 + "u",
    "MSN-" + generate_mission_id()[4:],
    generate_mission_id() + " ",
    "evt-" + generate_mission_id()[4:],
    "x-1",
    "",
]

CALLS = {
    "append": lambda store, stream: store.append(stream, [MissionCreated(title="t")]),
    "append_many": lambda store, stream: store.append_many(
        [StreamAppend(stream, [MissionCreated(title="t")])]
    ),
    "execute": lambda store, stream: store.execute(stream, lambda state: []),
    "read_stream": lambda store, stream: store.read_stream(stream),
    "stream_version": lambda store, stream: store.stream_version(stream),
    "aggregate_state": lambda store, stream: store.aggregate_state(stream),
    "stream_metadata": lambda store, stream: store.stream_metadata(stream),
    "set_stream_metadata": lambda store, stream: store.set_stream_metadata(stream, max_count=1),
}


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_malformed_stream_id_is_refused_by_every_method(sqlite_config, call):
    async with open_store(sqlite_config) as store:
        for stream in MALFORMED:
            with pytest.raises(ValidationError, match="stream id"):
                await CALLS[call](store, stream)
    assert stored_rows(sqlite_config) == 0
