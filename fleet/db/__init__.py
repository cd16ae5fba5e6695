"""Fleet's synchronous persistence layer: schema, engines, migrations, health.

Nothing here imports trio or anyio; the store runs these calls in worker threads.
Other packages use what this package exports: the tables through
``from fleet.db import schema``, the migrations through the
:mod:`fleet.db.migrations` package.
"""

from fleet.db import schema
from fleet.db.backup import backup_sqlite
from fleet.db.changes import ChangeFeed, Waker, open_change_feed
from fleet.db.checkpoints import delete_checkpoint, load_checkpoint, save_checkpoint
from fleet.db.database import Database, PoolStatistics, WriteTransaction
from fleet.db.engine import admin_connection, create_engine, resolve_url
from fleet.db.health import HealthReport, health_report
from fleet.db.log_filter import LogFilter, check_filter
from fleet.db.migration_branch import MigrationBranch
from fleet.db.queries import (
    FIND_CHUNK,
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
    event_ids_between,
    head_position,
    list_stream_rows,
    position_of,
    read_log_rows,
    read_log_sizes,
    read_stream_page,
    read_stream_sizes,
)
from fleet.db.rows import (
    EventRow,
    EventTuple,
    PendingColumn,
    PendingTuple,
    SnapshotRow,
    StoredColumn,
    StoredEventRef,
    positioned,
)
from fleet.db.scavenging import SCAVENGE_BATCH_SIZE, ScavengeProgress, ScavengeReport, scavenge
from fleet.db.stream_settings import (
    Deletion,
    StreamSettingsRow,
    StreamWindow,
    deleted_settings,
    load_settings_of,
    load_stream_settings,
    save_stream_settings,
    stream_window,
    streams_with_settings,
)

__all__ = [
    "FIND_CHUNK",
    "SCAVENGE_BATCH_SIZE",
    "ChangeFeed",
    "Database",
    "Deletion",
    "EventRow",
    "EventTuple",
    "HealthReport",
    "LogFilter",
    "MigrationBranch",
    "PendingColumn",
    "PendingTuple",
    "PoolStatistics",
    "ScavengeProgress",
    "ScavengeReport",
    "SnapshotRow",
    "StoredColumn",
    "StoredEventRef",
    "StreamSettingsRow",
    "StreamSummary",
    "StreamWindow",
    "Waker",
    "WriteTransaction",
    "admin_connection",
    "backup_sqlite",
    "check_filter",
    "count_events",
    "create_engine",
    "delete_checkpoint",
    "deleted_settings",
    "event_by_id",
    "event_ids_between",
    "find_events",
    "head_position",
    "health_report",
    "latest_snapshot",
    "latest_snapshots",
    "list_stream_rows",
    "load_checkpoint",
    "load_settings_of",
    "load_stream_settings",
    "open_change_feed",
    "position_of",
    "positioned",
    "prune_snapshots",
    "read_log_rows",
    "read_log_sizes",
    "read_stream_page",
    "read_stream_rows",
    "read_stream_sizes",
    "read_streams_rows",
    "resolve_url",
    "save_checkpoint",
    "save_snapshot",
    "save_stream_settings",
    "scavenge",
    "schema",
    "stream_head",
    "stream_heads",
    "stream_window",
    "streams_with_settings",
]
