"""The built-in views through the store: async, checked, capped by configuration.

Each function runs its query in a worker thread on a connection from the read
pool, so it sees committed rows only. ``limit`` defaults to, and may not
exceed, ``store.max_read_limit``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from fleet.store import EventStore

__all__ = [
    "get_checkpoint",
    "get_mission",
    "get_work_order",
    "list_checkpoints",
    "list_missions",
    "list_work_orders",
]


async def get_mission(store: EventStore, mission_id: str) -> MissionView:
    """One mission view.

    Raises:
        ValidationError: not a mission id.
        ViewNotFound: no such mission (or not projected yet).
    """
    return await store.read_tables(fetch_mission, mission_id)


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
    size = store.page_size(limit)
    return await store.read_tables(fetch_missions, status=status, after=after, limit=size)


async def get_work_order(store: EventStore, work_order_id: str) -> WorkOrderView:
    """One work-order view.

    Raises:
        ValidationError: not a work-order id.
        ViewNotFound: no such work order (or not projected yet).
    """
    return await store.read_tables(fetch_work_order, work_order_id)


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
    size = store.page_size(limit)
    return await store.read_tables(
        fetch_work_orders, status=status, mission_id=mission_id, after=after, limit=size
    )


async def get_checkpoint(store: EventStore, checkpoint_id: str) -> CheckpointView:
    """One checkpoint view.

    Raises:
        ValidationError: not a checkpoint id.
        ViewNotFound: no such checkpoint (or not projected yet).
    """
    return await store.read_tables(fetch_checkpoint, checkpoint_id)


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
    size = store.page_size(limit)
    return await store.read_tables(
        fetch_checkpoints, status=status, mission_id=mission_id, after=after, limit=size
    )
