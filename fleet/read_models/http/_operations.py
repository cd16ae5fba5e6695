"""The built-in read models over HTTP: ``/missions``, ``/work-orders``, ``/checkpoints``.

Six read-only operations, each a :class:`~fleet.server.ReadOperation` reading
the views through :mod:`fleet.read_models.reads`; :data:`BUILTIN_API` adds
them, with the built-in projections and the preparation of their tables, to a
daemon (``fleet serve`` does when ``projections.enabled``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final

import msgspec

from fleet.core import ALPHABET, BODY_LENGTH
from fleet.read_models import (
    BUILTIN_PROJECTIONS,
    CheckpointList,
    CheckpointView,
    MissionList,
    MissionView,
    WorkOrderList,
    WorkOrderView,
    get_checkpoint,
    get_mission,
    get_work_order,
    list_checkpoints,
    list_missions,
    list_work_orders,
    upgrade_read_models,
)
from fleet.server import ReadModelApi, ReadOperation
from fleet.store import EventStore
from fleet.vocabulary import CheckpointStatus, MissionStatus, WorkOrderStatus

__all__ = [
    "BUILTIN_API",
    "OPERATIONS",
    "CheckpointsQuery",
    "MissionsQuery",
    "WorkOrdersQuery",
]

_PAGE: Final = msgspec.Meta(ge=1, description="page size (default: the maximum)")
_AFTER: Final = msgspec.Meta(description="continue after this id (`next_after`)")
_OF_MISSION: Final = msgspec.Meta(description="only those of this mission")


class MissionsQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /missions``."""

    status: MissionStatus | None = None
    after: Annotated[str | None, _AFTER] = None
    limit: Annotated[int, _PAGE] | None = None


class WorkOrdersQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /work-orders``."""

    status: WorkOrderStatus | None = None
    mission_id: Annotated[str | None, _OF_MISSION] = None
    after: Annotated[str | None, _AFTER] = None
    limit: Annotated[int, _PAGE] | None = None


class CheckpointsQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``GET /checkpoints``."""

    status: CheckpointStatus | None = None
    mission_id: Annotated[str | None, _OF_MISSION] = None
    after: Annotated[str | None, _AFTER] = None
    limit: Annotated[int, _PAGE] | None = None


def _id_pattern(prefix: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^{prefix}-[0-3][{ALPHABET}]{{{BODY_LENGTH - 1}}}$"}


async def _list_missions(
    store: EventStore, path: Mapping[str, str], query: MissionsQuery
) -> MissionList:
    return await list_missions(store, **msgspec.structs.asdict(query))


async def _get_mission(store: EventStore, path: Mapping[str, str], query: object) -> MissionView:
    return await get_mission(store, path["mission_id"])


async def _list_work_orders(
    store: EventStore, path: Mapping[str, str], query: WorkOrdersQuery
) -> WorkOrderList:
    return await list_work_orders(store, **msgspec.structs.asdict(query))


async def _get_work_order(
    store: EventStore, path: Mapping[str, str], query: object
) -> WorkOrderView:
    return await get_work_order(store, path["work_order_id"])


async def _list_checkpoints(
    store: EventStore, path: Mapping[str, str], query: CheckpointsQuery
) -> CheckpointList:
    return await list_checkpoints(store, **msgspec.structs.asdict(query))


async def _get_checkpoint(
    store: EventStore, path: Mapping[str, str], query: object
) -> CheckpointView:
    return await get_checkpoint(store, path["checkpoint_id"])


OPERATIONS: Final[tuple[ReadOperation, ...]] = (
    ReadOperation(
        "list_missions",
        "/missions",
        "Missions from the read model, in id order, paged, optionally of one status.",
        MissionList,
        _list_missions,
        query=MissionsQuery,
    ),
    ReadOperation(
        "get_mission",
        "/missions/{mission_id}",
        "One mission from the read model (404 until it is projected).",
        MissionView,
        _get_mission,
        parameters={"mission_id": _id_pattern("msn")},
        not_found=True,
    ),
    ReadOperation(
        "list_work_orders",
        "/work-orders",
        "Work orders from the read model, in id order, paged, by status and mission.",
        WorkOrderList,
        _list_work_orders,
        query=WorkOrdersQuery,
    ),
    ReadOperation(
        "get_work_order",
        "/work-orders/{work_order_id}",
        "One work order from the read model (404 until it is projected).",
        WorkOrderView,
        _get_work_order,
        parameters={"work_order_id": _id_pattern("wo")},
        not_found=True,
    ),
    ReadOperation(
        "list_checkpoints",
        "/checkpoints",
        "Checkpoints from the read model, in id order, paged, by status and mission.",
        CheckpointList,
        _list_checkpoints,
        query=CheckpointsQuery,
    ),
    ReadOperation(
        "get_checkpoint",
        "/checkpoints/{checkpoint_id}",
        "One checkpoint from the read model (404 until it is projected).",
        CheckpointView,
        _get_checkpoint,
        parameters={"checkpoint_id": _id_pattern("chk")},
        not_found=True,
    ),
)
"""The six read-only operations over the built-in views."""

BUILTIN_API: Final = ReadModelApi(
    projections=BUILTIN_PROJECTIONS,
    operations=OPERATIONS,
    prepare=(upgrade_read_models,),
)
"""The built-in read models for a daemon: projections, table preparation and operations."""
