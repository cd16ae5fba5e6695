"""The event store's async API (trio by default, asyncio through anyio)."""

from fleet.db import LogFilter
from fleet.store.expected_version import ANY, NO_STREAM, STREAM_EXISTS, ExpectedVersion
from fleet.store.reads import Direction, LogPage, StreamList, StreamPage
from fleet.store.results import AppendResult
from fleet.store.retry import retry_on_conflict
from fleet.store.store import EventStore, StreamAppend, open_store
from fleet.store.stream_metadata import StreamMetadata
from fleet.store.subscriptions import CaughtUp, Subscription

__all__ = [
    "ANY",
    "NO_STREAM",
    "STREAM_EXISTS",
    "AppendResult",
    "CaughtUp",
    "Direction",
    "EventStore",
    "ExpectedVersion",
    "LogFilter",
    "LogPage",
    "StreamAppend",
    "StreamList",
    "StreamMetadata",
    "StreamPage",
    "Subscription",
    "open_store",
    "retry_on_conflict",
]
