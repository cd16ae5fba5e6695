from fleet.vocabulary import (
    WORK_ORDER,
    WorkOrderAssigned,
    WorkOrderBlocked,
    WorkOrderCancelled,
    WorkOrderCompleted,
    WorkOrderCreated,
    WorkOrderFailed,
    WorkOrderRetried,
    WorkOrderStarted,
    WorkOrderUnblocked,
    WorkOrderUpdated,
)
from tests.events.samples import MISSION_ID, SAMPLES, WORK_ORDER_ID, recorded


def run(*payloads):
    return WORK_ORDER.fold(recorded(p, version=v, at=v) for v, p in enumerate(payloads, 1))


def test_retry_after_failure_starts_a_new_attempt():
    state = run(
        SAMPLES[WorkOrderCreated],
        WorkOrderAssigned(assignee="a1"),
        WorkOrderStarted(),
        WorkOrderBlocked(reason="waiting", blocked_by=WORK_ORDER_ID),
        WorkOrderFailed(reason="gave up", retryable=False),
        WorkOrderRetried(),
    )
    assert state is not None
    assert state.status == "pending"
    assert state.mission_id == MISSION_ID
    assert (state.attempt, state.assignee, state.blocked_by) == (2, None, None)
    assert state.last_reason == "gave up"
    assert state.retryable is True


def test_block_unblock_complete():
    state = run(
        SAMPLES[WorkOrderCreated],
        WorkOrderUpdated(title="T2", description="d", due_at=9),
        WorkOrderAssigned(assignee="a1"),
        WorkOrderStarted(),
        WorkOrderBlocked(reason="waiting", blocked_by=WORK_ORDER_ID),
        WorkOrderUnblocked(),
        WorkOrderCompleted(summary="ok"),
    )
    assert state is not None
    assert (state.status, state.blocked_by, state.summary, state.closed_at) == (
        "completed",
        None,
        "ok",
        7,
    )
    assert (state.title, state.description, state.priority, state.due_at) == ("T2", "d", "low", 9)


def test_cancel():
    state = run(SAMPLES[WorkOrderCreated], WorkOrderCancelled(reason="dup"))
    assert state is not None
    assert (state.status, state.last_reason, state.closed_at) == ("cancelled", "dup", 2)
