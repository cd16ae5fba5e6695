from fleet.vocabulary import (
    MISSION,
    MissionActivated,
    MissionArchived,
    MissionAssigned,
    MissionCancelled,
    MissionCompleted,
    MissionCreated,
    MissionDeactivated,
    MissionMetadataUpdated,
    MissionPriorityChanged,
    MissionStatusChanged,
    MissionUnassigned,
    MissionUpdated,
)
from tests.events.samples import SAMPLES, recorded


def run(*payloads):
    return MISSION.fold(recorded(p, version=v, at=v * 10) for v, p in enumerate(payloads, 1))


def test_a_mission_life_cycle():
    state = run(
        SAMPLES[MissionCreated],
        MissionUpdated(description="new words", due_at=7),
        MissionActivated(),
        MissionAssigned(assignee="a1"),
        MissionPriorityChanged(priority="low"),
        MissionDeactivated(reason="lunch"),
        MissionStatusChanged(status="active", reason="back"),
        MissionUnassigned(),
        MissionMetadataUpdated(updates={"k": 1}, removed=("team",)),
        MissionCompleted(summary="shipped"),
        MissionArchived(),
    )
    assert state is not None
    assert state.status == "archived"
    assert (state.title, state.description, state.due_at) == ("Ship the store", "new words", 7)
    assert state.priority == "low"
    assert state.assignee is None
    assert "team" not in state.metadata
    assert state.metadata["k"] == 1
    assert (state.created_at, state.updated_at, state.closed_at) == (10, 110, 100)
    assert state.summary == "shipped"
    assert state.version == 11


def test_cancel_records_reason_and_time():
    state = run(SAMPLES[MissionCreated], MissionCancelled(reason="nope"))
    assert state is not None
    assert (state.status, state.last_reason, state.closed_at) == ("cancelled", "nope", 20)


def test_update_keeps_unchanged_fields():
    state = run(SAMPLES[MissionCreated], MissionUpdated(title="Renamed"))
    assert state is not None
    assert state.title == "Renamed"
    assert state.description == SAMPLES[MissionCreated].description
    assert state.due_at == SAMPLES[MissionCreated].due_at
