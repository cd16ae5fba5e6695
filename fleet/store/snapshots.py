"""When to snapshot a stream's folded state, and how a snapshot is trusted on load.

Policy (pure, :func:`snapshot_due`): every ``snapshot_every`` events, and when
an actor stops if the stream moved since its last snapshot. Snapshots are
written by the group-commit writer in its next transaction, never by the actor,
so they cost an append nothing. They are an optimisation only: losing one is
harmless, and a snapshot whose state schema version differs from the code's is
ignored on load and rebuilt from events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleet.core.time import now_ms
from fleet.db import SnapshotRow

if TYPE_CHECKING:
    from fleet.config import StoreConfig
    from fleet.events import Aggregate
    from fleet.store.stream_actor import StreamActor
    from fleet.store.writer import Writer

__all__ = ["Snapshotter", "snapshot_due"]


def snapshot_due(version: int | None, snapshot_version: int, every: int) -> bool:
    """Tell whether a stream at ``version`` whose newest snapshot is at ``snapshot_version``
    should be snapshotted now (``every`` = 0 turns periodic snapshots off)."""
    return every > 0 and version is not None and version - snapshot_version >= every


class Snapshotter:
    """Applies the snapshot policy for stream actors and queues snapshots on the writer."""

    def __init__(self, config: StoreConfig, writer: Writer) -> None:
        self._every = config.snapshot_every
        self._on_stop = config.snapshot_on_stop
        self._writer = writer

    def _save(self, actor: StreamActor, aggregate: Aggregate[Any]) -> None:
        head = actor.head
        if head is None:
            return
        self._writer.queue_snapshot(
            SnapshotRow(
                actor.stream_id,
                head,
                aggregate.state_schema_version,
                aggregate.encode_state(actor.state),
                now_ms(),
            )
        )
        actor.snapshot_version = head

    def after_commit(self, actor: StreamActor, aggregate: Aggregate[Any]) -> None:
        """Queue a snapshot if the stream has moved ``snapshot_every`` events since the last."""
        if snapshot_due(actor.head, actor.snapshot_version, self._every):
            self._save(actor, aggregate)

    async def on_stop(self, actor: StreamActor, aggregate: Aggregate[Any]) -> None:
        """Queue a snapshot of a stopping actor whose stream moved since its last snapshot."""
        if self._on_stop and snapshot_due(actor.head, actor.snapshot_version, 1):
            self._save(actor, aggregate)
