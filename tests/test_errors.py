import inspect

import fleet.errors as errors
from fleet.errors import (
    DuplicateEvent,
    EventNotFound,
    FleetError,
    InvalidTransition,
    StreamNotFound,
    ValidationError,
    WrongExpectedVersion,
)


def test_every_public_error_is_a_fleet_error_and_drawn_in_the_docstring():
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert inspect.isclass(cls)
        assert issubclass(cls, FleetError)
        assert name in doc


def test_messages_name_the_problem():
    e = WrongExpectedVersion("msn-x", 3, 5)
    assert str(e) == "stream 'msn-x': expected version 3, stream is at version 5"
    assert (e.stream_id, e.expected, e.actual) == ("msn-x", 3, 5)
    assert "no stream" in str(WrongExpectedVersion("msn-x", "stream_exists", None))
    t = InvalidTransition("mission", "completed", "MissionActivated")
    assert isinstance(t, ValidationError)
    assert "MissionActivated" in str(t)
    assert "'completed'" in str(t)
    assert "(no stream)" in str(InvalidTransition("mission", None, "MissionActivated"))
    assert str(StreamNotFound("wo-1")) == "stream 'wo-1' does not exist"
    assert str(EventNotFound("evt-1")) == "event 'evt-1' does not exist"
    assert DuplicateEvent("dup", ["evt-1"]).event_ids == ("evt-1",)
    v = ValidationError("bad", [("events[0].title", "too long")])
    assert v.problems == (("events[0].title", "too long"),)
