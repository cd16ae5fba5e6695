import pytest

from fleet.errors import ValidationError
from fleet.events import (
    MissionCreated,
    decode_payload,
    encode_payload,
    missing_upcasters,
    register_upcaster,
    upcast,
)


def test_every_old_version_has_an_upcaster():
    assert missing_upcasters() == []
    assert MissionCreated.schema_version == 2


@pytest.mark.parametrize(
    ("stored", "priority"), [(1, "low"), (2, "medium"), (3, "high"), (4, "critical")]
)
def test_mission_created_v1_integer_priority_is_read_as_its_name(stored, priority):
    data = b'{"title": "Old mission", "description": "from v1", "priority": %d}' % stored
    payload = decode_payload("MissionCreated", 1, data)
    assert payload == MissionCreated(title="Old mission", description="from v1", priority=priority)
    assert decode_payload("MissionCreated", 2, encode_payload(payload)) == payload


def test_v1_without_priority_gets_the_v1_default():
    payload = decode_payload("MissionCreated", 1, b'{"title": "x"}')
    assert isinstance(payload, MissionCreated)
    assert payload.priority == "medium"
    assert payload.tags == ()


@pytest.mark.parametrize("bad", ["0", "5", "true", '"high"', "null", "2.5"])
def test_v1_priority_out_of_range_is_refused(bad):
    data = b'{"title": "x", "priority": %s}' % bad.encode()
    with pytest.raises(ValidationError) as info:
        decode_payload("MissionCreated", 1, data)
    assert info.value.problems[0] == (
        "MissionCreated.priority",
        "a v1 priority must be an integer from 1 to 4",
    )


def test_upcast_result_still_meets_current_constraints():
    with pytest.raises(ValidationError) as info:
        decode_payload("MissionCreated", 1, b'{"title": "", "priority": 1}')
    assert info.value.problems[0][0] == "MissionCreated.title"


def test_upcast_needs_a_json_object():
    with pytest.raises(ValidationError):
        decode_payload("MissionCreated", 1, b"[1]")


@pytest.mark.parametrize("version", [0, 3, -1])
def test_unreadable_versions_are_refused(version):
    with pytest.raises(ValidationError, match="not readable"):
        decode_payload("MissionCreated", version, b'{"title": "x"}')


def test_upcast_leaves_current_data_alone():
    data = {"title": "x"}
    assert upcast("MissionCreated", 2, data) is data


def test_register_upcaster_refuses_nonsense():
    with pytest.raises(ValueError, match="no schema version"):
        register_upcaster("MissionUpdated", 1)
    with pytest.raises(ValueError, match="no schema version"):
        register_upcaster("Nope", 1)
    with pytest.raises(ValueError, match="already has an upcaster"):
        register_upcaster("MissionCreated", 1)
