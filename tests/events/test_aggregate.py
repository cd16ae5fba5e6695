"""Transition tables, exercised exhaustively: every status x every event type."""

import msgspec
import pytest

from fleet.errors import InvalidTransition, ValidationError
from fleet.events import Aggregate, NewEvent, Payload
from fleet.vocabulary import (
    AGGREGATES,
    CATALOG,
    CHECKPOINT,
    EVENT_TYPES,
    MISSION,
    WORK_ORDER,
    CheckpointCreated,
    MissionAssigned,
    MissionCreated,
    MissionStatusChanged,
    WorkOrderCreated,
)
from tests.events.samples import SAMPLES, recorded, with_status

CREATED: dict[str, type[Payload]] = {
    "mission": MissionCreated,
    "work_order": WorkOrderCreated,
    "checkpoint": CheckpointCreated,
}


def statuses(aggregate):
    return list(msgspec.inspect.type_info(aggregate.state_type).fields[1].type.values)


def fresh(aggregate):
    return aggregate.evolve(None, recorded(SAMPLES[CREATED[aggregate.name]], version=1))


def sample_for(payload_cls, status):
    payload = SAMPLES[payload_cls]
    if isinstance(payload, MissionStatusChanged) and payload.status == status:
        return MissionStatusChanged(
            status="pending" if status != "pending" else "active", reason="r"
        )
    return payload


# The life cycles, written out by hand from the design (each aggregate module's
# docstring), not derived from the tables under test. "-" is "no stream yet";
# "=" keeps the status; "payload" takes the status the event names.
LIFE_CYCLES: dict[str, dict[str, tuple[str, str]]] = {
    "mission": {
        "MissionCreated": ("-", "pending"),
        "MissionUpdated": ("pending active paused", "="),
        "MissionActivated": ("pending paused", "active"),
        "MissionDeactivated": ("active", "paused"),
        "MissionAssigned": ("pending active paused", "="),
        "MissionUnassigned": ("pending active paused", "="),
        "MissionCompleted": ("active", "completed"),
        "MissionCancelled": ("pending active paused", "cancelled"),
        "MissionPriorityChanged": ("pending active paused", "="),
        "MissionStatusChanged": ("pending active paused", "payload"),
        "MissionMetadataUpdated": ("pending active paused completed cancelled", "="),
        "MissionArchived": ("completed cancelled", "archived"),
    },
    "work_order": {
        "WorkOrderCreated": ("-", "pending"),
        "WorkOrderUpdated": ("pending assigned in_progress blocked", "="),
        "WorkOrderAssigned": ("pending assigned", "assigned"),
        "WorkOrderStarted": ("assigned", "in_progress"),
        "WorkOrderBlocked": ("in_progress", "blocked"),
        "WorkOrderUnblocked": ("blocked", "in_progress"),
        "WorkOrderCompleted": ("in_progress", "completed"),
        "WorkOrderFailed": ("assigned in_progress blocked", "failed"),
        "WorkOrderRetried": ("failed", "pending"),
        "WorkOrderCancelled": ("pending assigned in_progress blocked failed", "cancelled"),
    },
    "checkpoint": {
        "CheckpointCreated": ("-", "in_progress"),
        "CheckpointProgressRecorded": ("in_progress", "="),
        "CheckpointCompleted": ("in_progress", "completed"),
        "CheckpointFailed": ("in_progress", "failed"),
        "CheckpointRestored": ("completed verified", "="),
        "CheckpointVerified": ("completed", "verified"),
        "CheckpointExpired": ("in_progress completed verified", "expired"),
        "CheckpointDiscarded": ("in_progress completed failed verified expired", "discarded"),
    },
}

# How each status is reached by real events, from no stream.
PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "mission": {
        "pending": ("MissionCreated",),
        "active": ("MissionCreated", "MissionActivated"),
        "paused": ("MissionCreated", "MissionActivated", "MissionDeactivated"),
        "completed": ("MissionCreated", "MissionActivated", "MissionCompleted"),
        "cancelled": ("MissionCreated", "MissionCancelled"),
        "archived": ("MissionCreated", "MissionCancelled", "MissionArchived"),
    },
    "work_order": {
        "pending": ("WorkOrderCreated",),
        "assigned": ("WorkOrderCreated", "WorkOrderAssigned"),
        "in_progress": ("WorkOrderCreated", "WorkOrderAssigned", "WorkOrderStarted"),
        "blocked": (
            "WorkOrderCreated",
            "WorkOrderAssigned",
            "WorkOrderStarted",
            "WorkOrderBlocked",
        ),
        "completed": (
            "WorkOrderCreated",
            "WorkOrderAssigned",
            "WorkOrderStarted",
            "WorkOrderCompleted",
        ),
        "failed": ("WorkOrderCreated", "WorkOrderAssigned", "WorkOrderFailed"),
        "cancelled": ("WorkOrderCreated", "WorkOrderCancelled"),
    },
    "checkpoint": {
        "in_progress": ("CheckpointCreated",),
        "completed": ("CheckpointCreated", "CheckpointCompleted"),
        "failed": ("CheckpointCreated", "CheckpointFailed"),
        "verified": ("CheckpointCreated", "CheckpointCompleted", "CheckpointVerified"),
        "expired": ("CheckpointCreated", "CheckpointExpired"),
        "discarded": ("CheckpointCreated", "CheckpointDiscarded"),
    },
}


def reach(aggregate: Aggregate, status: str | None):
    """The state after the hand-written path to ``status`` (``None``: no stream)."""
    state = None
    if status is None:
        return state
    for version, name in enumerate(PATHS[aggregate.name][status], start=1):
        state = aggregate.evolve(state, recorded(SAMPLES[EVENT_TYPES[name]], version=version))
    assert state.status == status
    return state


MATRIX = [
    pytest.param(aggregate, status, name, id=f"{aggregate.name}-{status}-{name}")
    for aggregate in AGGREGATES.values()
    for status in [None, *PATHS[aggregate.name]]
    for name in EVENT_TYPES
]


@pytest.mark.parametrize(("aggregate", "status", "name"), MATRIX)
def test_each_move_is_allowed_or_refused_as_the_life_cycle_says(
    aggregate: Aggregate, status: str | None, name: str
):
    sources, target = LIFE_CYCLES[aggregate.name].get(name, ("", ""))
    allowed = ("-" if status is None else status) in sources.split()
    assert aggregate.allows(status, name) is allowed
    state = reach(aggregate, status)
    payload = sample_for(EVENT_TYPES[name], status)
    event = recorded(payload, version=(state.version if state else 0) + 1, at=50)
    if not allowed:
        with pytest.raises(InvalidTransition) as info:
            aggregate.evolve(state, event)
        assert (info.value.aggregate, info.value.status, info.value.event_type) == (
            aggregate.name,
            status,
            name,
        )
        assert isinstance(info.value, ValidationError)
        return
    after = aggregate.evolve(state, event)
    assert after.version == event.version
    assert after.updated_at == 50
    expected = {"=": status, "payload": getattr(payload, "status", None)}.get(target, target)
    assert after.status == expected


def test_the_life_cycles_name_every_status_and_event_type():
    for aggregate in AGGREGATES.values():
        assert set(PATHS[aggregate.name]) == set(statuses(aggregate))
        assert set(LIFE_CYCLES[aggregate.name]) == aggregate.event_types


def test_every_status_is_reachable_and_every_event_type_has_a_rule():
    for aggregate in AGGREGATES.values():
        family = set(CATALOG.category(aggregate.prefix).events)
        assert set(aggregate.transitions) == family
        assert aggregate.event_types == {cls.event_type for cls in family}
        targets = {rule.target for rule in aggregate.transitions.values()} - {None}
        assert set(statuses(aggregate)) == targets


def test_status_changed_to_the_same_status_is_refused():
    active = with_status(fresh(MISSION), "active")
    with pytest.raises(InvalidTransition):
        MISSION.evolve(active, recorded(MissionStatusChanged(status="active", reason="r")))


def test_evolve_new_checks_a_whole_append_before_it_is_stored():
    created = NewEvent(SAMPLES[MissionCreated], occurred_at=5)
    state = MISSION.evolve_new(None, created, version=1)
    assert state.status == "pending"
    assert state.created_at == 5
    assert state.version == 1
    assigned = NewEvent(MissionAssigned(assignee="scout"), occurred_at=6)
    assert MISSION.evolve_new(state, assigned, version=7).version == 7
    with pytest.raises(InvalidTransition):
        MISSION.evolve_new(state, created, version=2)


def test_check_refuses_events_of_another_aggregate():
    with pytest.raises(InvalidTransition, match="WorkOrderCreated is not allowed for a mission"):
        MISSION.check(None, SAMPLES[WorkOrderCreated])


def test_fold_applies_events_in_order():
    events = [recorded(SAMPLES[p], version=v) for v, p in enumerate(list(SAMPLES)[12:16], 1)]
    state = WORK_ORDER.fold(events)
    assert state is not None
    assert state.status == "in_progress"
    assert WORK_ORDER.fold([]) is None


@pytest.mark.parametrize("aggregate", list(AGGREGATES.values()), ids=repr)
def test_state_snapshots_round_trip(aggregate):
    state = fresh(aggregate)
    assert aggregate.decode_state(aggregate.encode_state(state)) == state
    assert aggregate.state_schema_version == 1


def test_bad_snapshot_is_a_validation_error():
    with pytest.raises(ValidationError) as info:
        CHECKPOINT.decode_state(b'{"version": 1}')
    assert info.value.problems[0] == ("checkpoint", "Object missing required field `status`")
    assert str(info.value).startswith("invalid checkpoint state: ")
