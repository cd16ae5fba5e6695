import pytest

from fleet.core import ids
from fleet.core.time import now_ms
from fleet.events import EventMetadata, MissionActivated, NewEvent, Payload
from fleet.events._envelope import declare_family


def test_new_event_defaults_stamp_id_time_and_empty_metadata():
    before = now_ms()
    event = NewEvent(MissionActivated())
    assert ids.is_valid_prefix_id(event.event_id, "evt")
    assert before <= event.occurred_at <= now_ms()
    assert event.metadata == EventMetadata()
    assert event.type == "MissionActivated"


def test_payloads_are_frozen():
    with pytest.raises(AttributeError):
        MissionActivated().note = "x"  # type: ignore[misc]


def test_declare_family_needs_a_string_tag():
    class Untagged(Payload, frozen=True, tag=lambda name: name.lower()):
        pass

    class Numbered(Payload, frozen=True, tag=7):
        pass

    with pytest.raises(TypeError, match="explicit string tag"):
        declare_family("msn", [Numbered])
    assert declare_family("msn", [Untagged]) == (Untagged,)
