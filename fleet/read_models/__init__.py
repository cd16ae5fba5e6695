"""Fleet's built-in read models: one row per mission, work order and checkpoint.

* :data:`BUILTIN_PROJECTIONS` (:data:`MISSIONS`, :data:`WORK_ORDERS`,
  :data:`CHECKPOINTS`) fold each stream with its aggregate's own transition
  table into a view row (:mod:`fleet.read_models.tables`).
* :func:`get_mission`, :func:`list_missions` and friends read the views.
* The views' tables have their own migration branch (:data:`MIGRATIONS`),
  applied by :func:`upgrade_read_models` when the read models are used, never
  by opening a store: :func:`open_read_models` and :func:`rebuild_read_model`
  call it before handing over to :mod:`fleet.projections`.
* :mod:`fleet.read_models.http` adds the views' operations to the HTTP daemon.

::

    async with open_store(config) as store, open_read_models(store) as runner:
        result = await store.append(...)
        await runner.wait_for_position(result.last_position)
        mission = await get_mission(store, mission_id)
"""

from fleet.read_models import tables
from fleet.read_models.aggregate_views import (
    BUILTIN_PROJECTIONS,
    CHECKPOINTS,
    MISSIONS,
    WORK_ORDERS,
    AggregateView,
)
from fleet.read_models.migrations import MIGRATIONS, upgrade_read_models
from fleet.read_models.reads import (
    get_checkpoint,
    get_mission,
    get_work_order,
    list_checkpoints,
    list_missions,
    list_work_orders,
)
from fleet.read_models.running import (
    applies_to,
    open_read_models,
    prepare_read_models,
    rebuild_read_model,
)
from fleet.read_models.views import (
    CheckpointList,
    CheckpointView,
    MissionList,
    MissionView,
    WorkOrderList,
    WorkOrderView,
)

__all__ = [
    "BUILTIN_PROJECTIONS",
    "CHECKPOINTS",
    "MIGRATIONS",
    "MISSIONS",
    "WORK_ORDERS",
    "AggregateView",
    "CheckpointList",
    "CheckpointView",
    "MissionList",
    "MissionView",
    "WorkOrderList",
    "WorkOrderView",
    "applies_to",
    "get_checkpoint",
    "get_mission",
    "get_work_order",
    "list_checkpoints",
    "list_missions",
    "list_work_orders",
    "open_read_models",
    "prepare_read_models",
    "rebuild_read_model",
    "tables",
    "upgrade_read_models",
]
