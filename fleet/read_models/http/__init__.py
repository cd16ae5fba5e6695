"""The built-in read models as an extension of the HTTP daemon (:class:`fleet.server.ReadModelApi`).

Kept apart from :mod:`fleet.read_models` so that using the read models does not
load the HTTP stack.
"""

from fleet.read_models.http._operations import (
    BUILTIN_API,
    OPERATIONS,
    CheckpointsQuery,
    MissionsQuery,
    WorkOrdersQuery,
)

__all__ = [
    "BUILTIN_API",
    "OPERATIONS",
    "CheckpointsQuery",
    "MissionsQuery",
    "WorkOrdersQuery",
]
