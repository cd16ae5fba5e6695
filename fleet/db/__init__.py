"""Fleet's synchronous persistence layer: schema, engines, migrations, health.

Nothing here imports trio or anyio; the store runs these calls in worker threads.
"""

from fleet.db.checkpoints import delete_checkpoint, load_checkpoint, save_checkpoint
from fleet.db.database import Database, PoolStatistics, WriteTransaction
from fleet.db.engine import create_engine, resolve_url
from fleet.db.health import HealthReport, health_report
from fleet.db.queries import (
    find_events,
    latest_snapshot,
    latest_snapshots,
    prune_snapshots,
    read_stream_rows,
    read_streams_rows,
    save_snapshot,
    stream_head,
    stream_heads,
)
from fleet.db.rows import (
    EventRow,
    EventTuple,
    PendingColumn,
    PendingTuple,
    SnapshotRow,
    StoredColumn,
    StoredEventRef,
)

__all__ = [
    "Database",
    "EventRow",
    "EventTuple",
    "HealthReport",
    "PendingColumn",
    "PendingTuple",
    "PoolStatistics",
    "SnapshotRow",
    "StoredColumn",
    "StoredEventRef",
    "WriteTransaction",
    "create_engine",
    "delete_checkpoint",
    "find_events",
    "health_report",
    "latest_snapshot",
    "latest_snapshots",
    "load_checkpoint",
    "prune_snapshots",
    "read_stream_rows",
    "read_streams_rows",
    "resolve_url",
    "save_checkpoint",
    "save_snapshot",
    "stream_head",
    "stream_heads",
]
