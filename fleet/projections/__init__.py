"""Projections: read models kept from the event log, and their bookkeeping.

* :class:`Projection` is the interface: a name, the event types it reads, a
  handler that writes rows inside the transaction that also moves its
  checkpoint, and a reset.
* :func:`open_projections` keeps projections live beside the writer;
  :func:`rebuild` replays one from position 0.
* :func:`projection_status` and :func:`list_projection_errors` report where
  each projection stands and the events it could not apply.

The projections themselves live above this package (Fleet's built-in read
models are in :mod:`fleet.read_models`); every function here takes the
projections it works on.
"""

from fleet.projections.batch import BatchOutcome, apply_batch, reset_projection
from fleet.projections.projection import EventFailure, Projection, checkpoint_name
from fleet.projections.reads import list_projection_errors, projection_status
from fleet.projections.rebuild import Progress, rebuild
from fleet.projections.runner import Prepare, ProjectionRunner, open_projections
from fleet.projections.views import (
    LaneState,
    ProjectionError,
    ProjectionErrorList,
    ProjectionStatus,
    RebuildReport,
)

__all__ = [
    "BatchOutcome",
    "EventFailure",
    "LaneState",
    "Prepare",
    "Progress",
    "Projection",
    "ProjectionError",
    "ProjectionErrorList",
    "ProjectionRunner",
    "ProjectionStatus",
    "RebuildReport",
    "apply_batch",
    "checkpoint_name",
    "list_projection_errors",
    "open_projections",
    "projection_status",
    "rebuild",
    "reset_projection",
]
