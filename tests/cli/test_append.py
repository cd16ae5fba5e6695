"""``fleet append``: events from an argument or stdin, expected versions, one-line errors."""

from __future__ import annotations

import json

import pytest

from fleet.cli.append import parse_events, parse_expected_version
from fleet.core.ids import generate_event_id
from fleet.errors import ValidationError
from fleet.store import ANY, NO_STREAM, STREAM_EXISTS
from fleet.vocabulary import CATALOG, generate_mission_id, generate_work_order_id
from fleet.wire import decode_event
from tests.cli.conftest import Fleet, assert_one_line_error

CREATED = '{"type": "MissionCreated", "data": {"title": "Survey the ridge"}}'


def test_append_an_object_then_an_array_from_stdin(fleet: Fleet, sqlite_url: str) -> None:
    mission = generate_mission_id()
    url = ("--database-url", sqlite_url)
    first = fleet("append", mission, CREATED, "--expected-version", "no_stream", *url)
    assert (first.code, first.err) == (0, "")
    assert first.out == f"appended 1 event to {mission}: version 1, position 1\n"

    event_id = generate_event_id()
    events = [
        {"type": "MissionAssigned", "data": {"assignee": "scout-7"}, "event_id": event_id},
        {"type": "MissionActivated", "data": {}, "metadata": {"correlation_id": "op-1"}},
    ]
    second = fleet(
        "append", mission, "-", "--expected-version", "1", "--json", *url,
        stdin=json.dumps(events).encode(),
    )  # fmt: skip
    assert second.code == 0
    assert json.loads(second.out) == {
        "stream_id": mission,
        "first_version": 2,
        "last_version": 3,
        "first_position": 2,
        "last_position": 3,
    }

    log = fleet("read", mission, "--json", *url)
    recorded = [decode_event(line, CATALOG) for line in log.out.splitlines()]
    assert [e.type for e in recorded] == ["MissionCreated", "MissionAssigned", "MissionActivated"]
    assert recorded[1].event_id == event_id
    assert recorded[2].metadata.correlation_id == "op-1"

    update = b'{"type": "MissionUpdated", "data": {"description": "Mapped."}}'
    human = fleet("append", mission, "-", *url, stdin=update)
    assert human.out == f"appended 1 event to {mission}: version 4, position 4\n"


def test_several_events_are_described_as_ranges(fleet: Fleet, sqlite_url: str) -> None:
    order = generate_work_order_id()
    mission = generate_mission_id()
    events = [
        {"type": "WorkOrderCreated", "data": {"title": "Dig", "mission_id": mission}},
        {"type": "WorkOrderAssigned", "data": {"assignee": "a-1"}},
    ]
    result = fleet("append", order, json.dumps(events), "--database-url", sqlite_url)
    assert result.out == f"appended 2 events to {order}: versions 1-2, positions 1-2\n"


def test_retrying_with_the_same_event_ids_appends_once(fleet: Fleet, sqlite_url: str) -> None:
    mission = generate_mission_id()
    event = json.dumps(
        {"type": "MissionCreated", "data": {"title": "x"}, "event_id": generate_event_id()}
    )
    url = ("--database-url", sqlite_url)
    first = fleet("append", mission, event, "--json", *url)
    again = fleet("append", mission, event, "--json", *url)
    assert again.out == first.out
    assert len(fleet("read", "--json", *url).out.splitlines()) == 1


@pytest.mark.parametrize(
    ("events", "expected", "needles"),
    [
        ('{"type": "MissionCreated", "data": {"title": ', "any", ["malformed JSON"]),
        ('[{"type": "MissionCreated", "data": ', "any", ["malformed JSON"]),
        ('{"type": "MissionExploded", "data": {}}', "any", ["events[0].type", "MissionExploded"]),
        ('{"type": "MissionCreated", "data": {"title": ""}}', "any", ["events[0].data.title"]),
        ('{"type": "WorkOrderStarted", "data": {}}', "any", ["WorkOrderStarted", "msn-"]),
        ("[]", "any", ["at least one event"]),
        ("   ", "any", ["no events given"]),
        (CREATED, "sometimes", ["invalid expected version 'sometimes'"]),
        (CREATED, "-3", ["invalid expected version '-3'"]),
    ],
)
def test_bad_input_is_one_line(
    fleet: Fleet, sqlite_url: str, events: str, expected: str, needles: list[str]
) -> None:
    mission = generate_mission_id()
    result = fleet(
        "append", mission, events, "--expected-version", expected, "--database-url", sqlite_url
    )
    assert_one_line_error(result, *needles)


def test_conflicts_and_bad_stream_ids_are_one_line(fleet: Fleet, sqlite_url: str) -> None:
    mission = generate_mission_id()
    url = ("--database-url", sqlite_url)
    assert fleet("append", mission, CREATED, *url).code == 0
    conflict = fleet("append", mission, CREATED, "--expected-version", "no_stream", *url)
    assert_one_line_error(conflict, mission, "expected version no_stream", "version 1")
    stale = fleet("append", mission, CREATED, "--expected-version", "7", *url)
    assert_one_line_error(stale, "expected version 7")
    assert_one_line_error(fleet("append", "nope-1", CREATED, *url), "'nope-1'")


def test_a_terminal_on_stdin_is_not_waited_for(
    fleet: Fleet, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    result = fleet("append", generate_mission_id(), "--database-url", sqlite_url)
    assert_one_line_error(result, "pass them as an argument or pipe them to stdin")


def test_a_missing_stream_id_is_a_usage_error(fleet: Fleet) -> None:
    result = fleet("append")
    assert result.code == 2
    assert "STREAM_ID" in result.err


def test_help_shows_the_event_shape(fleet: Fleet) -> None:
    with pytest.raises(SystemExit) as exit_info:
        fleet("append", "--help")
    assert exit_info.value.code == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("any", ANY),
        ("no_stream", NO_STREAM),
        ("stream_exists", STREAM_EXISTS),
        ("0", 0),
        ("12", 12),
    ],
)
def test_expected_version_words_and_numbers(text: str, expected: object) -> None:
    assert parse_expected_version(text) == expected


def test_parse_events_accepts_one_object_or_an_array() -> None:
    stream = generate_mission_id()
    one = parse_events(b'  {"type": "MissionCreated", "data": {"title": "a"}}\n', CATALOG, stream)
    many = parse_events(b'[{"type": "MissionCreated", "data": {"title": "a"}}]', CATALOG, stream)
    assert [e.payload for e in one] == [e.payload for e in many]
    with pytest.raises(ValidationError, match="malformed JSON"):
        parse_events(b'{"type": }', CATALOG, stream)


def test_append_through_a_real_process_reads_stdin(fleet_process: Fleet, sqlite_url: str) -> None:
    mission = generate_mission_id()
    done = fleet_process(
        "append", mission, "--database-url", sqlite_url, "--json", stdin=CREATED.encode()
    )
    assert done.code == 0, done.err
    assert json.loads(done.out)["last_position"] == 1
