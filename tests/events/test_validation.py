import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.core import ids
from fleet.errors import ValidationError
from fleet.events import (
    BatchResult,
    EventMetadata,
    NewEvent,
)
from fleet.vocabulary import CATALOG, MissionCreated, MissionPayload, generate_mission_id
from tests.events.samples import SAMPLES


def item(title="A mission", **extra):
    return {"type": "MissionCreated", "data": {"title": title}, **extra}


def body(items):
    return msgspec.json.encode(items)


def test_new_event_stamps_and_validates():
    event = CATALOG.new_event(SAMPLES[MissionCreated], metadata=EventMetadata(actor="me"))
    assert ids.is_valid_prefix_id(event.event_id, "evt")
    assert event.payload == SAMPLES[MissionCreated]
    assert event.metadata.actor == "me"
    fixed = CATALOG.new_event(MissionCreated(title="t"), event_id=event.event_id, occurred_at=5)
    assert (fixed.event_id, fixed.occurred_at) == (event.event_id, 5)


def test_new_event_refuses_a_bad_payload():
    with pytest.raises(ValidationError) as info:
        CATALOG.new_event(MissionCreated(title=""))
    assert info.value.problems[0][0] == "event.payload.title"


def test_new_event_refuses_a_bad_envelope_naming_the_field():
    with pytest.raises(ValidationError) as info:
        CATALOG.new_event(MissionCreated(title="t"), event_id="evt-nope")
    assert info.value.problems[0][0] == "event.event_id"
    with pytest.raises(ValidationError) as info:
        CATALOG.new_event(MissionCreated(title="t"), occurred_at=-1)
    assert info.value.problems[0][0] == "event.occurred_at"


def assert_shows_the_event_id_form(why: str, bad: object) -> None:
    assert why.startswith(f"invalid event id {bad!r}: expected evt- followed by 26 characters")
    assert f"e.g. evt-{ids.EXAMPLE_BODY}" in why
    assert why.endswith("`fleet id evt` prints a new one")


MALFORMED_EVENT_IDS = [
    "evt-bad",
    "",
    f"evt-{ids.EXAMPLE_BODY}\n",
    f"evt-{ids.EXAMPLE_BODY.upper()}",
    f"evt-9{ids.EXAMPLE_BODY[1:]}",
    f"msn-{ids.EXAMPLE_BODY}",
]


@pytest.mark.parametrize("bad", MALFORMED_EVENT_IDS)
def test_a_malformed_event_id_from_outside_is_refused_with_the_form_it_should_have(bad):
    result = CATALOG.validate_batch(body([item(), item(event_id=bad)]))
    ((where, why),) = result.errors[1].problems
    assert where == "events[1].event_id"
    assert_shows_the_event_id_form(why, bad)
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_new_events(body([item(event_id=bad)]))
    assert str(info.value) == f"1 of 1 events are invalid; first: events[0].event_id: {why}"


@pytest.mark.parametrize("bad", MALFORMED_EVENT_IDS)
def test_a_malformed_event_id_built_in_python_is_refused_with_the_form_it_should_have(bad):
    with pytest.raises(ValidationError) as info:
        CATALOG.validate_new_event(NewEvent(MissionCreated(title="t"), event_id=bad))
    ((where, why),) = info.value.problems
    assert where == "event.event_id"
    assert_shows_the_event_id_form(why, bad)


def test_validate_new_event_refuses_unencodable_and_unregistered_payloads():
    with pytest.raises(ValidationError, match="cannot be encoded"):
        CATALOG.validate_new_event(NewEvent(MissionCreated(title="t", metadata={"x": object()})))  # type: ignore[dict-item]

    class Impostor(MissionPayload, frozen=True, tag="MissionCreated"):
        title: str

    Impostor.event_type = "MissionCreated"
    with pytest.raises(ValidationError, match="Impostor is not an event type of category 'msn'"):
        CATALOG.validate_new_event(NewEvent(Impostor(title="t")), stream_id=generate_mission_id())
    with pytest.raises(ValidationError) as info:
        CATALOG.validate_new_event(NewEvent(Impostor(title="t")))
    assert info.value.problems == (
        (
            "event.payload",
            "Impostor is not an event type of this catalog (its categories: chk, msn, wo)",
        ),
    )


def test_decode_new_events_fills_defaults_and_keeps_given_values():
    event_id = ids.generate_event_id()
    events = CATALOG.decode_new_events(
        body(
            [
                item(),
                item(event_id=event_id, occurred_at=42, metadata={"correlation_id": "c-1"}),
                {"type": "WorkOrderStarted", "data": {"type": "WorkOrderStarted"}},
            ]
        )
    )
    assert [e.type for e in events] == ["MissionCreated", "MissionCreated", "WorkOrderStarted"]
    assert ids.is_valid_prefix_id(events[0].event_id, "evt")
    assert (events[1].event_id, events[1].occurred_at) == (event_id, 42)
    assert events[1].metadata.correlation_id == "c-1"


def test_one_bad_event_in_a_thousand_is_reported_by_index():
    items = [item(title=f"mission {i}") for i in range(1000)]
    items[617] = item(title="")
    result = CATALOG.validate_batch(body(items))
    assert not result.ok
    assert list(result.errors) == [617]
    assert result.errors[617].problems == (
        ("events[617].data.title", "Expected `str` of length >= 1"),
    )
    assert len(result.events) == 999
    assert len(result.results) == 1000


def test_every_bad_item_is_reported_not_only_the_first():
    items = [
        item(),
        {"type": "MissionExploded", "data": {}},
        item(colour="red"),
        {"type": "MissionCreated"},
        item(title="x" * 300),
        7,
        item(event_id="evt-bad"),
    ]
    result = CATALOG.validate_batch(body(items))
    assert sorted(result.errors) == [1, 2, 3, 4, 5, 6]
    wheres = {i: e.problems[0][0] for i, e in result.errors.items()}
    assert wheres == {
        1: "events[1].type",
        2: "events[2]",
        3: "events[3]",
        4: "events[4].data.title",
        5: "events[5]",
        6: "events[6].event_id",
    }
    with pytest.raises(ValidationError, match="6 of 7 events are invalid") as info:
        CATALOG.decode_new_events(body(items))
    assert len(info.value.problems) == 6


def test_a_body_that_is_not_an_array_is_refused():
    with pytest.raises(ValidationError) as info:
        CATALOG.validate_batch(b'{"type": "MissionCreated"}')
    assert info.value.problems[0] == ("events", "Expected `array`, got `object`")
    with pytest.raises(ValidationError, match="malformed JSON"):
        CATALOG.decode_new_events(b"[")


def test_batch_of_built_events():
    good = NewEvent(SAMPLES[MissionCreated])
    bad = NewEvent(MissionCreated(title=""))
    result = CATALOG.validate_batch([good, bad, good])
    assert list(result.errors) == [1]
    assert result.errors[1].problems[0][0] == "events[1].payload.title"
    assert CATALOG.validate_batch([good]).unwrap() == [good]


def test_empty_batch_is_ok():
    assert CATALOG.validate_batch(b"[]") == BatchResult(())
    assert CATALOG.validate_batch(b"[]").ok


@given(st.lists(st.booleans(), max_size=30))
def test_results_line_up_with_items(good):
    items = [item() if ok else item(title="") for ok in good]
    result = CATALOG.validate_batch(body(items))
    assert [not isinstance(r, ValidationError) for r in result.results] == good
    assert result.ok is all(good)
