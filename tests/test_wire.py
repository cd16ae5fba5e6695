"""Recorded events in their JSON shape: round trips and refusals."""

from __future__ import annotations

import json

import msgspec
import pytest

from fleet.errors import ValidationError
from fleet.events import Event, EventMetadata, encode_payload
from fleet.vocabulary import CATALOG, MissionCreated
from fleet.wire import decode_event, encode_event, encode_events_ndjson

MISSION = "msn-01jd8x7k2m3n4p5q6r7s8t9v0w"


def recorded(position: int = 1, **changes: object) -> Event:
    event = Event(
        event_id="evt-01jd8x7k2m3n4p5q6r7s8t9v0x",
        type="MissionCreated",
        stream_id=MISSION,
        version=1,
        position=position,
        schema_version=MissionCreated.schema_version,
        occurred_at=1_764_201_600_000,
        recorded_at=1_764_201_600_004,
        metadata=EventMetadata(correlation_id="corr-1", actor="alice"),
        payload=MissionCreated(title="Survey the north ridge"),
    )
    return msgspec.structs.replace(event, **changes)


def test_an_event_survives_the_round_trip() -> None:
    event = recorded()
    assert decode_event(encode_event(event), CATALOG) == event


def test_the_shape_is_flat_with_the_payload_under_data() -> None:
    shown = json.loads(encode_event(recorded(position=7)))
    assert shown["position"] == 7
    assert shown["type"] == "MissionCreated"
    assert shown["metadata"]["actor"] == "alice"
    assert shown["data"] == json.loads(encode_payload(recorded().payload))


def test_json_lines_end_every_line() -> None:
    lines = encode_events_ndjson([recorded(1), recorded(2)]).split(b"\n")
    assert lines[-1] == b""
    assert [decode_event(line, CATALOG).position for line in lines[:-1]] == [1, 2]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d.update(type="Nope"), "unknown event type 'Nope'"),
        (lambda d: d.update(position=0), "position"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d["data"].update(title=""), "title"),
        (lambda d: d.pop("stream_id"), "stream_id"),
        (lambda d: d.update(stream_id="wo-01jd8x7k2m3n4p5q6r7s8t9v0w"), "does not belong"),
        (lambda d: d.update(stream_id="msn-bad"), "msn-bad"),
        (lambda d: d.update(event_id="evt-"), "evt-"),
    ],
)
def test_bad_events_are_refused_naming_the_problem(change, named: str) -> None:
    shown = json.loads(encode_event(recorded()))
    change(shown)
    with pytest.raises(ValidationError, match=named):
        decode_event(json.dumps(shown), CATALOG)


def test_not_json_is_refused() -> None:
    with pytest.raises(ValidationError, match="invalid recorded event"):
        decode_event(b"{nope", CATALOG)
