import msgspec
import pytest

from fleet.errors import ValidationError
from fleet.vocabulary import CATALOG, MissionMetadataUpdated, MissionStatusChanged, MissionUpdated


def test_update_must_change_something():
    with pytest.raises(ValueError, match="must change"):
        MissionUpdated()
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("MissionUpdated", 1, b"{}")
    assert info.value.problems[0] == (
        "MissionUpdated",
        "MissionUpdated must change title, description or due_at",
    )


def test_metadata_update_must_do_something_and_not_contradict_itself():
    with pytest.raises(ValueError, match="at least one key"):
        MissionMetadataUpdated()
    with pytest.raises(ValueError, match="both set and removed: a"):
        MissionMetadataUpdated(updates={"a": 1}, removed=("a",))
    assert MissionMetadataUpdated(removed=("a",)).removed == ("a",)


@pytest.mark.parametrize("status", ["completed", "cancelled", "archived", "bogus"])
def test_status_change_only_between_open_statuses(status):
    data = msgspec.json.encode({"status": status, "reason": "r"})
    with pytest.raises(ValidationError) as info:
        CATALOG.decode_payload("MissionStatusChanged", 1, data)
    assert info.value.problems[0][0] == "MissionStatusChanged.status"
    assert MissionStatusChanged(status="paused", reason="r").status == "paused"
