"""Fleet's synchronous persistence layer: schema, engines, migrations, health.

Nothing here imports trio or anyio; the store runs these calls in worker threads.
"""

from fleet.db.checkpoints import delete_checkpoint, load_checkpoint, save_checkpoint
from fleet.db.database import Database, PoolStatistics, WriteTransaction
from fleet.db.engine import create_engine, resolve_url
from fleet.db.health import HealthReport, health_report
from fleet.db.log_filter import LogFilter, check_filter
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
from fleet.db.reads import (
    StreamSummary,
    count_events,
    event_by_id,
    head_position,
    list_stream_rows,
    read_log_rows,
    read_stream_page,
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
    "LogFilter",
    "PendingColumn",
    "PendingTuple",
    "PoolStatistics",
    "SnapshotRow",
    "StoredColumn",
    "StoredEventRef",
    "StreamSummary",
    "WriteTransaction",
    "check_filter",
    "count_events",
    "create_engine",
    "delete_checkpoint",
    "event_by_id",
    "find_events",
    "head_position",
    "health_report",
    "latest_snapshot",
    "latest_snapshots",
    "list_stream_rows",
    "load_checkpoint",
    "prune_snapshots",
    "read_log_rows",
    "read_stream_page",
    "read_stream_rows",
    "read_streams_rows",
    "resolve_url",
    "save_checkpoint",
    "save_snapshot",
    "stream_head",
    "stream_heads",
]
