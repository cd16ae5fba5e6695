"""Stored rows into events: a whole page at once gives what row by row gives."""

from __future__ import annotations

import msgspec
import pytest

from fleet.core.ids import generate_event_id
from fleet.db import EventRow, PendingColumn, StoredColumn
from fleet.errors import ValidationError
from fleet.events import encode_payload
from fleet.store.decoding import row_to_event, rows_to_events
from fleet.vocabulary import CATALOG, MissionCreated, MissionUpdated, generate_mission_id

MISSION = generate_mission_id()


def row(position: int, payload: bytes, type_name: str, schema_version: int, **more) -> EventRow:
    made = EventRow(
        position,
        generate_event_id(),
        MISSION,
        position,
        type_name,
        schema_version,
        payload,
        None,
        None,
        None,
        1_000 + position,
        2_000 + position,
    )
    return made._replace(**more)


CREATED = row(1, encode_payload(MissionCreated(title="t")), "MissionCreated", 2)
UPDATED = row(2, encode_payload(MissionUpdated(title="u")), "MissionUpdated", 1, actor="ann")
OLD = row(3, msgspec.json.encode({"title": "v1", "priority": 2}), "MissionCreated", 1)
# A version 1 payload that also decodes as the current version: still read as version 1.
TAGGED_OLD = row(
    3, msgspec.json.encode({"type": "MissionCreated", "title": "v1"}), "MissionCreated", 1
)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [CREATED, UPDATED],
        [CREATED, OLD, UPDATED],
        [CREATED, TAGGED_OLD, UPDATED],
        [tuple(CREATED), CREATED._replace(payload=memoryview(CREATED.payload))],
    ],
)
def test_a_page_decodes_like_its_rows_one_by_one(rows) -> None:
    assert rows_to_events(rows, CATALOG) == [row_to_event(EventRow._make(r), CATALOG) for r in rows]


def test_upcasts_old_payloads_in_a_page() -> None:
    (_, old, _) = rows_to_events([CREATED, OLD, UPDATED], CATALOG)
    assert old.payload == MissionCreated(title="v1", priority="medium")
    assert old.schema_version == 1


@pytest.mark.parametrize(
    "broken",
    [
        row(2, b"{not json", "MissionUpdated", 1),
        row(2, encode_payload(MissionUpdated(title="u")), "MissionCreated", 2),
        # Decodes as the current version, but is stored as version 1: read as version 1.
        row(2, encode_payload(MissionCreated(title="w", priority="high")), "MissionCreated", 1),
    ],
)
def test_a_bad_payload_in_a_page_is_reported_like_alone(broken) -> None:
    with pytest.raises(ValidationError) as alone:
        row_to_event(broken, CATALOG)
    with pytest.raises(ValidationError) as paged:
        rows_to_events([CREATED, broken], CATALOG)
    assert str(paged.value) == str(alone.value)


def _indexes(layout: type) -> dict[str, int]:
    return {name.lower(): index for name, index in vars(layout).items() if name.isupper()}


def test_the_row_layouts_name_every_column_where_it_is() -> None:
    stored = {name: index for index, name in enumerate(EventRow._fields)}
    assert _indexes(StoredColumn) == stored
    assert _indexes(PendingColumn) == {
        name: index - 1 for name, index in stored.items() if name != "position"
    }
    assert CREATED[StoredColumn.PAYLOAD] == CREATED.payload
    assert tuple(CREATED)[1:][PendingColumn.RECORDED_AT] == CREATED.recorded_at
