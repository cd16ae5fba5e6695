"""Projections: read models kept from the event log, and the queries over them.

* :class:`Projection` is the interface: a name, the event types it reads, a
  handler that writes rows inside the transaction that also moves its
  checkpoint, and a reset.
* :func:`open_projections` keeps projections live beside the writer;
  :func:`rebuild` replays one from position 0.
* The built-in read models (:data:`BUILTIN_PROJECTIONS`) keep one row per
  mission, work order and checkpoint, folded with the aggregates' own
  transition tables; :func:`get_mission`, :func:`list_missions` and friends
  read them.
"""

from fleet.projections.aggregate_views import (
    BUILTIN_PROJECTIONS,
    CHECKPOINTS,
    MISSIONS,
    WORK_ORDERS,
    AggregateView,
)
from fleet.projections.batch import BatchOutcome, apply_batch, reset_projection
from fleet.projections.projection import EventFailure, Projection, checkpoint_name
from fleet.projections.reads import (
    get_checkpoint,
    get_mission,
    get_work_order,
    list_checkpoints,
    list_missions,
    list_projection_errors,
    list_work_orders,
    projection_status,
)
from fleet.projections.rebuild import Progress, rebuild
from fleet.projections.runner import ProjectionRunner, open_projections
from fleet.projections.views import (
    CheckpointList,
    CheckpointView,
    LaneState,
    MissionList,
    MissionView,
    ProjectionError,
    ProjectionErrorList,
    ProjectionStatus,
    RebuildReport,
    WorkOrderList,
    WorkOrderView,
)

__all__ = [
    "BUILTIN_PROJECTIONS",
    "CHECKPOINTS",
    "MISSIONS",
    "WORK_ORDERS",
    "AggregateView",
    "BatchOutcome",
    "CheckpointList",
    "CheckpointView",
    "EventFailure",
    "LaneState",
    "MissionList",
    "MissionView",
    "Progress",
    "Projection",
    "ProjectionError",
    "ProjectionErrorList",
    "ProjectionRunner",
    "ProjectionStatus",
    "RebuildReport",
    "WorkOrderList",
    "WorkOrderView",
    "apply_batch",
    "checkpoint_name",
    "get_checkpoint",
    "get_mission",
    "get_work_order",
    "list_checkpoints",
    "list_missions",
    "list_projection_errors",
    "list_work_orders",
    "open_projections",
    "projection_status",
    "rebuild",
    "reset_projection",
]
