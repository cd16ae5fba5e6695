import msgspec
import pytest

from fleet.core import ids
from fleet.errors import ValidationError
from fleet.events import CheckpointCreated, decode_payload


def test_checkpoint_belongs_to_a_mission_and_optionally_a_work_order():
    mission_id = ids.generate_mission_id()
    data = msgspec.json.encode({"mission_id": mission_id, "label": "l"})
    payload = decode_payload("CheckpointCreated", 1, data)
    assert payload == CheckpointCreated(mission_id=mission_id, label="l")
    bad = msgspec.json.encode({"mission_id": mission_id, "label": "l", "work_order_id": mission_id})
    with pytest.raises(ValidationError) as info:
        decode_payload("CheckpointCreated", 1, bad)
    assert info.value.problems[0][0] == "CheckpointCreated.work_order_id"


def test_expired_carries_nothing():
    with pytest.raises(ValidationError):
        decode_payload("CheckpointExpired", 1, b'{"why": "time"}')
    assert decode_payload("CheckpointExpired", 1, b"{}").event_type == "CheckpointExpired"
