from fleet.vocabulary import (
    CHECKPOINT,
    CheckpointCompleted,
    CheckpointCreated,
    CheckpointDiscarded,
    CheckpointExpired,
    CheckpointFailed,
    CheckpointProgressRecorded,
    CheckpointRestored,
    CheckpointVerified,
)
from tests.events.samples import DIGEST, SAMPLES, WORK_ORDER_ID, recorded


def run(*payloads):
    return CHECKPOINT.fold(recorded(p, version=v, at=v) for v, p in enumerate(payloads, 1))


def test_capture_verify_restore_expire():
    state = run(
        SAMPLES[CheckpointCreated],
        CheckpointProgressRecorded(progress=60, message="half"),
        CheckpointCompleted(digest=DIGEST, size_bytes=10),
        CheckpointVerified(verified_by="rev"),
        CheckpointRestored(reason="oops"),
        CheckpointRestored(),
        CheckpointExpired(),
    )
    assert state is not None
    assert state.status == "expired"
    assert state.work_order_id == WORK_ORDER_ID
    assert (state.progress, state.digest, state.size_bytes) == (100, DIGEST, 10)
    assert (state.verified_by, state.restore_count, state.last_restored_at) == ("rev", 2, 6)
    assert state.last_reason == "oops"


def test_failed_then_discarded():
    state = run(SAMPLES[CheckpointCreated], CheckpointFailed(reason="disk"), CheckpointDiscarded())
    assert state is not None
    assert (state.status, state.last_reason) == ("discarded", None)
