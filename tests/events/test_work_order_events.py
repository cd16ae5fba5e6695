import pytest

from fleet.errors import ValidationError
from fleet.vocabulary import CATALOG, WorkOrderUpdated


def test_update_must_change_something():
    with pytest.raises(ValueError, match="must change"):
        WorkOrderUpdated()
    assert WorkOrderUpdated(due_at=0).due_at == 0


def test_work_order_needs_its_mission():
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("WorkOrderCreated", 1, b'{"title": "t"}')
    assert "mission_id" in info.value.problems[0][1]


def test_failure_needs_a_reason():
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("WorkOrderFailed", 1, b'{"reason": "   "}')
    assert info.value.problems[0] == ("WorkOrderFailed", "`reason` must not be blank")
    with pytest.raises(ValidationError, match="reason"):
        CATALOG.decode_payload("WorkOrderFailed", 1, b"{}")
