import msgspec
import pytest

from fleet.errors import ValidationError
from fleet.events import (
    EventMetadata,
    Payload,
    decode_metadata,
    encode_metadata,
    encode_payload,
)
from fleet.vocabulary import (
    CATALOG,
    EVENT_TYPES,
    MissionCreated,
    MissionPayload,
    WorkOrderCreated,
    generate_mission_id,
)
from tests.events.samples import SAMPLES


def test_there_is_a_sample_of_every_type():
    assert set(SAMPLES) == set(EVENT_TYPES.values())


@pytest.mark.parametrize("payload", list(SAMPLES.values()), ids=lambda p: p.event_type)
def test_every_event_round_trips(payload):
    data = encode_payload(payload)
    assert msgspec.json.decode(data)["type"] == payload.event_type
    decoded = CATALOG.decode_payload(payload.event_type, payload.schema_version, data)
    assert decoded == payload
    assert type(decoded) is type(payload)
    assert CATALOG.validate_payload(payload) == payload


def test_bad_field_names_event_field_and_reason():
    data = b'{"title": "", "priority": "high"}'
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("MissionCreated", 2, data)
    assert info.value.problems == (("MissionCreated.title", "Expected `str` of length >= 1"),)
    assert "MissionCreated.title" in str(info.value)
    assert isinstance(info.value.__cause__, msgspec.ValidationError)


def test_unknown_field_is_refused():
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("WorkOrderStarted", 1, b'{"note": "", "colour": "red"}')
    assert info.value.problems[0] == (
        "WorkOrderStarted",
        "Object contains unknown field `colour`",
    )


def test_missing_required_field():
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("MissionAssigned", 1, b"{}")
    assert "assignee" in info.value.problems[0][1]


def test_malformed_json():
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("MissionCreated", 2, b'{"title": ')
    assert info.value.problems[0][1].startswith("malformed JSON")


def test_unknown_type_is_named():
    with pytest.raises(ValidationError, match="unknown event type 'MissionExploded'"):
        CATALOG.decode_payload("MissionExploded", 1, b"{}")


def test_tag_in_data_must_match_the_type():
    data = encode_payload(SAMPLES[WorkOrderCreated])
    with pytest.raises(ValidationError, match=r"MissionCreated\.type"):
        CATALOG.decode_payload("MissionCreated", 2, data)


def test_validate_payload_catches_what_the_constructor_lets_through():
    with pytest.raises(ValidationError) as info:
        CATALOG.validate_payload(MissionCreated(title="x" * 201))
    assert info.value.problems[0][0] == "MissionCreated.title"


def test_validate_payload_refuses_unencodable_values():
    with pytest.raises(ValidationError, match="cannot be encoded"):
        CATALOG.validate_payload(MissionCreated(title="x", metadata={"a": object()}))  # type: ignore[dict-item]


def test_validate_payload_normalises_nan_to_null():
    checked = CATALOG.validate_payload(MissionCreated(title="x", metadata={"a": float("nan")}))
    assert isinstance(checked, MissionCreated)
    assert checked.metadata == {"a": None}


def test_validate_payload_refuses_unregistered_classes():
    class Rogue(MissionPayload, frozen=True, tag="Rogue"):
        pass

    class Lookalike(Payload, frozen=True, tag="MissionCreated"):
        title: str

    Lookalike.event_type = "MissionCreated"
    stream_id = generate_mission_id()
    for payload in (Rogue(), Lookalike(title="x")):
        name = type(payload).__name__
        with pytest.raises(ValidationError, match=f"{name} is not an event type of category 'msn'"):
            CATALOG.validate_payload(payload, stream_id=stream_id)
        with pytest.raises(ValidationError) as info:
            CATALOG.validate_payload(payload)
        assert info.value.problems == (
            (
                "payload",
                f"{name} is not an event type of this catalog (its categories: chk, msn, wo)",
            ),
        )


def test_metadata_round_trips_and_is_compact():
    assert encode_metadata(EventMetadata()) == b"{}"
    meta = EventMetadata(correlation_id="req-1", causation_id="evt-x", actor="agent 7")
    assert decode_metadata(encode_metadata(meta)) == meta


def test_bad_metadata():
    with pytest.raises(ValidationError) as info:
        decode_metadata(b'{"correlation_id": "%s"}' % (b"x" * 129))
    assert info.value.problems[0][0] == "metadata.correlation_id"
