import pytest

from fleet.core import ids
from fleet.errors import ValidationError
from fleet.events import AGGREGATES, CHECKPOINT, MISSION, WORK_ORDER, aggregate_for_stream


def test_aggregate_by_stream_prefix():
    assert aggregate_for_stream(ids.generate_mission_id()) is MISSION
    assert aggregate_for_stream(ids.generate_work_order_id()) is WORK_ORDER
    assert aggregate_for_stream(ids.generate_checkpoint_id()) is CHECKPOINT
    assert set(AGGREGATES) == {"msn", "wo", "chk"}
    assert repr(MISSION) == "<Aggregate mission (msn-)>"


@pytest.mark.parametrize("bad", ["", "msn-", "msn-xyz", ids.generate_event_id(), 3])
def test_anything_else_is_refused(bad):
    with pytest.raises(ValidationError, match="invalid stream id") as info:
        aggregate_for_stream(bad)
    assert info.value.problems[0][0] == "stream_id"
