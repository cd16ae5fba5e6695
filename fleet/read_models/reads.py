"""The built-in views through the store: async, checked, capped by configuration.

Each function runs its query in a worker thread on a connection from the read
pool, so it sees committed rows only. ``limit`` defaults to, and may not
exceed, ``store.max_read_limit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread

from fleet.read_models.queries import (
    fetch_checkpoint,
    fetch_checkpoints,
    fetch_mission,
    fetch_missions,
    fetch_work_order,
    fetch_work_orders,
)
from fleet.read_models.views import (
    CheckpointList,
    CheckpointView,
    MissionList,
    MissionView,
    WorkOrderList,
    WorkOrderView,
)
from fleet.store import check_limit

if TYPE_CHECKING:
    from collections.abc import Callable

    from fleet.store import EventStore

__all__ = [
    "get_checkpoint",
    "get_mission",
    "get_work_order",
    "list_checkpoints",
    "list_missions",
    "list_work_orders",
]

T = TypeVar("T")


async def _read(store: EventStore, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    def run() -> T:
        with store.database.read() as conn:
            return query(conn, *args, **kwargs)

    return await anyio.to_thread.run_sync(run)


def _limit(store: EventStore, limit: object) -> int:
    return check_limit(limit, store.config.store.max_read_limit)


async def get_mission(store: EventStore, mission_id: str) -> MissionView:
    """One mission view.

    Raises:
        ValidationError: not a mission id.
        ViewNotFound: no such mission (or not projected yet).
    """
    return await _read(store, fetch_mission, mission_id)


async def list_missions(
    store: EventStore,
    *,
    status: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> MissionList:
    """A page of mission views in id order, optionally of one status.

    Raises:
        ValidationError: a bad status, cursor or limit.
    """
    size = _limit(store, limit)
    return await _read(store, fetch_missions, status=status, after=after, limit=size)


async def get_work_order(store: EventStore, work_order_id: str) -> WorkOrderView:
    """One work-order view.

    Raises:
        ValidationError: not a work-order id.
        ViewNotFound: no such work order (or not projected yet).
    """
    return await _read(store, fetch_work_order, work_order_id)


async def list_work_orders(
    store: EventStore,
    *,
    status: str | None = None,
    mission_id: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> WorkOrderList:
    """A page of work-order views in id order, optionally of one status and/or mission.

    Raises:
        ValidationError: a bad status, mission id, cursor or limit.
    """
    size = _limit(store, limit)
    return await _read(
        store, fetch_work_orders, status=status, mission_id=mission_id, after=after, limit=size
    )


async def get_checkpoint(store: EventStore, checkpoint_id: str) -> CheckpointView:
    """One checkpoint view.

    Raises:
        ValidationError: not a checkpoint id.
        ViewNotFound: no such checkpoint (or not projected yet).
    """
    return await _read(store, fetch_checkpoint, checkpoint_id)


async def list_checkpoints(
    store: EventStore,
    *,
    status: str | None = None,
    mission_id: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> CheckpointList:
    """A page of checkpoint views in id order, optionally of one status and/or mission.

    Raises:
        ValidationError: a bad status, mission id, cursor or limit.
    """
    size = _limit(store, limit)
    return await _read(
        store, fetch_checkpoints, status=status, mission_id=mission_id, after=after, limit=size
    )
