import pytest

from fleet.core import ids
from fleet.core.time import now_ms
from fleet.events import Category, EventMetadata, JsonPayload, NewEvent, Payload
from fleet.vocabulary import MissionActivated


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
    with pytest.raises(AttributeError):
        JsonPayload("Noted", {}).type = "Other"  # type: ignore[misc]


def test_event_type_is_the_tag_before_and_after_a_category_places_the_class():
    class TicketOpened(Payload, frozen=True, tag="support.TicketOpened"):
        subject: str

    assert TicketOpened.event_type == "support.TicketOpened"
    assert TicketOpened(subject="s").event_type == "support.TicketOpened"
    Category("ticket", [TicketOpened])
    assert TicketOpened.__dict__["event_type"] == "support.TicketOpened"
    assert NewEvent(TicketOpened(subject="s")).type == "support.TicketOpened"


def test_an_untagged_class_is_called_by_its_name():
    class Untagged(Payload, frozen=True):
        pass

    assert Untagged.event_type == "Untagged"


def test_json_payload_carries_its_type_name_and_object():
    payload = JsonPayload("LineAdded", {"sku": "a-1", "qty": 2})
    assert payload.event_type == payload.type == "LineAdded"
    assert payload.schema_version == 1
    assert NewEvent(payload).type == "LineAdded"


def test_nonblank_fields_refuse_whitespace_and_other_types_when_built():
    class Noted(Payload, frozen=True, tag="Noted"):
        nonblank = ("text", "extra")
        text: str
        extra: str | None = None

    assert Noted(text="x").extra is None
    with pytest.raises(ValueError, match="`text` must not be blank"):
        Noted(text=" \t")
    with pytest.raises(Exception, match=r"Noted\.text must be a string, not int") as info:
        Noted(text=3)  # type: ignore[arg-type]
    assert info.value.problems == (("text", "expected a string, got int"),)
