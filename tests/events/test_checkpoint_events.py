import msgspec
import pytest

from fleet.errors import ValidationError
from fleet.vocabulary import CATALOG, CheckpointCreated, generate_mission_id


def test_checkpoint_belongs_to_a_mission_and_optionally_a_work_order():
    mission_id = generate_mission_id()
    data = msgspec.json.encode({"mission_id": mission_id, "label": "l"})
    payload = CATALOG.decode_payload("CheckpointCreated", 1, data)
    assert payload == CheckpointCreated(mission_id=mission_id, label="l")
    bad = msgspec.json.encode({"mission_id": mission_id, "label": "l", "work_order_id": mission_id})
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("CheckpointCreated", 1, bad)
    assert info.value.problems[0][0] == "CheckpointCreated.work_order_id"


def test_expired_carries_nothing():
    with pytest.raises(ValidationError):
        CATALOG.decode_payload("CheckpointExpired", 1, b'{"why": "time"}')
    assert CATALOG.decode_payload("CheckpointExpired", 1, b"{}").event_type == "CheckpointExpired"
