import msgspec
import pytest

from fleet.errors import ValidationError
from fleet.events import (
    EVENT_TYPES,
    FAMILIES,
    AnyPayload,
    CheckpointVerified,
    MissionCreated,
    WorkOrderFailed,
    family_of,
    is_checkpoint_payload,
    is_event_type,
    is_mission_payload,
    is_work_order_payload,
    payload_type,
)
from tests.events.samples import SAMPLES

EXPECTED_COUNTS = {"mission": 12, "work_order": 10, "checkpoint": 8}


def test_families_hold_the_issue_s_event_counts():
    assert {name: len(classes) for name, classes in FAMILIES.items()} == EXPECTED_COUNTS
    assert len(EVENT_TYPES) == 30


@pytest.mark.parametrize("cls", list(EVENT_TYPES.values()), ids=lambda c: c.event_type)
def test_each_type_is_tagged_with_its_permanent_name(cls):
    assert cls.__struct_config__.tag == cls.event_type == cls.__name__
    assert cls.__struct_config__.frozen
    assert cls.__struct_config__.forbid_unknown_fields
    assert cls.schema_version >= 1
    assert payload_type(cls.event_type) is cls
    prefix = {"mission": "msn", "work_order": "wo", "checkpoint": "chk"}[family_of(cls.event_type)]
    assert cls.stream_prefix == prefix


def test_unknown_type_is_a_validation_error_naming_it():
    with pytest.raises(ValidationError, match="'Nope'") as info:
        payload_type("Nope")
    assert info.value.problems == (("type", "unknown event type 'Nope'"),)
    with pytest.raises(ValidationError):
        family_of("Nope")


def test_is_event_type():
    assert is_event_type("MissionCreated")
    assert not is_event_type("missioncreated")
    assert not is_event_type(3)


def test_type_guards_split_the_families():
    guards = (is_mission_payload, is_work_order_payload, is_checkpoint_payload)
    for payload in SAMPLES.values():
        family = family_of(payload.event_type)
        hits = [guard.__name__ for guard in guards if guard(payload)]
        assert hits == [f"is_{family}_payload"]
    assert not is_mission_payload("MissionCreated")


def test_union_decodes_by_tag():
    decoder = msgspec.json.Decoder(list[AnyPayload])
    payloads = [SAMPLES[MissionCreated], SAMPLES[WorkOrderFailed], SAMPLES[CheckpointVerified]]
    assert decoder.decode(msgspec.json.encode(payloads)) == payloads
