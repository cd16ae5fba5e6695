"""When to snapshot a stream's folded state.

Policy (pure, :func:`snapshot_due`): every ``snapshot_every`` events, and when
an actor stops if the stream moved since its last snapshot. A periodic snapshot
travels in the same bundle as the events that made it due, so it commits in
the same transaction and can never describe events that were not stored.
Snapshots are an optimisation only: a snapshot whose state schema version
differs from the code's is ignored on load and rebuilt from events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleet.core import now_ms
from fleet.db import SnapshotRow

if TYPE_CHECKING:
    from fleet.events import Aggregate

__all__ = ["build_snapshot", "snapshot_due"]


def snapshot_due(version: int | None, snapshot_version: int, every: int) -> bool:
    """Tell whether a stream at ``version`` whose newest snapshot is at
    ``snapshot_version`` should be snapshotted now (``every`` = 0: never)."""
    return every > 0 and version is not None and version - snapshot_version >= every


def build_snapshot(
    stream_id: str, version: int, aggregate: Aggregate[Any], state: Any
) -> SnapshotRow:
    """The snapshot row for ``state``, the aggregate after ``version``."""
    return SnapshotRow(
        stream_id, version, aggregate.state_schema_version, aggregate.encode_state(state), now_ms()
    )
