"""Transition tables, exercised exhaustively: every status x every event type."""

import itertools

import msgspec
import pytest

from fleet.errors import InvalidTransition, ValidationError
from fleet.events import (
    AGGREGATES,
    CHECKPOINT,
    EVENT_TYPES,
    MISSION,
    WORK_ORDER,
    CheckpointCreated,
    MissionCreated,
    MissionStatusChanged,
    NewEvent,
    Payload,
    WorkOrderCreated,
)
from fleet.events._aggregate import Aggregate
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


CASES = [
    pytest.param(aggregate, status, cls, id=f"{aggregate.name}-{status}-{cls.event_type}")
    for aggregate in AGGREGATES.values()
    for status, cls in itertools.product([None, *statuses(aggregate)], EVENT_TYPES.values())
]


@pytest.mark.parametrize(("aggregate", "status", "cls"), CASES)
def test_event_is_allowed_exactly_when_the_table_says(aggregate: Aggregate, status, cls):
    rule = aggregate.transitions.get(cls)
    allowed = rule is not None and status in rule.sources
    assert aggregate.allows(status, cls.event_type) is allowed
    state = None if status is None else with_status(fresh(aggregate), status)
    payload = sample_for(cls, status)
    event = recorded(payload, version=2, at=50)
    if not allowed:
        with pytest.raises(InvalidTransition) as info:
            aggregate.evolve(state, event)
        assert (info.value.aggregate, info.value.status, info.value.event_type) == (
            aggregate.name,
            status,
            cls.event_type,
        )
        assert isinstance(info.value, ValidationError)
        return
    after = aggregate.evolve(state, event)
    assert after.version == 2
    assert after.updated_at == 50
    expected = rule.target or getattr(payload, "status", None) or status
    assert after.status == expected
    if state is not None:
        assert state.status == status


def test_every_status_is_reachable_and_every_event_type_has_a_rule():
    for aggregate in AGGREGATES.values():
        family = {cls for cls in EVENT_TYPES.values() if cls.stream_prefix == aggregate.prefix}
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
    assert info.value.problems[0][0] == "checkpoint"
