"""Fleet's built-in catalog: missions, work orders and checkpoints.

Declared exactly as a user's catalog would be: three typed categories with
fleet's time-ordered ids, each with its aggregate; the mission category also
carries the upcaster of ``MissionCreated`` v1.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

from fleet.events import Aggregate, Catalog, Category, Payload
from fleet.vocabulary._checkpoint import CHECKPOINT
from fleet.vocabulary._checkpoint_events import CHECKPOINT_EVENTS
from fleet.vocabulary._mission import MISSION
from fleet.vocabulary._mission_events import MISSION_EVENTS
from fleet.vocabulary._upcasters import MISSION_UPCASTERS
from fleet.vocabulary._work_order import WORK_ORDER
from fleet.vocabulary._work_order_events import WORK_ORDER_EVENTS

__all__ = [
    "AGGREGATES",
    "CATALOG",
    "CHECKPOINTS",
    "EVENT_TYPES",
    "FAMILIES",
    "MISSIONS",
    "WORK_ORDERS",
    "Family",
]

MISSIONS: Final = Category(
    "msn", MISSION_EVENTS, aggregate=MISSION, ids="ordered", upcasters=MISSION_UPCASTERS
)
"""Mission streams, ``msn-<time-ordered id>``."""
WORK_ORDERS: Final = Category("wo", WORK_ORDER_EVENTS, aggregate=WORK_ORDER, ids="ordered")
"""Work-order streams, ``wo-<time-ordered id>``."""
CHECKPOINTS: Final = Category("chk", CHECKPOINT_EVENTS, aggregate=CHECKPOINT, ids="ordered")
"""Checkpoint streams, ``chk-<time-ordered id>``."""

CATALOG: Final = Catalog(MISSIONS, WORK_ORDERS, CHECKPOINTS)
"""The built-in catalog, and the default of ``store.catalog``."""

Family = Literal["mission", "work_order", "checkpoint"]

FAMILIES: Final[Mapping[Family, tuple[type[Payload], ...]]] = MappingProxyType(
    {"mission": MISSION_EVENTS, "work_order": WORK_ORDER_EVENTS, "checkpoint": CHECKPOINT_EVENTS}
)
"""Each built-in aggregate's payload types, in declaration order."""

EVENT_TYPES: Final[Mapping[str, type[Payload]]] = CATALOG.event_types
"""Every built-in payload type by its permanent event type name."""

AGGREGATES: Final[Mapping[str, Aggregate[Any]]] = MappingProxyType(
    {category.name: category.aggregate for category in CATALOG if category.aggregate is not None}
)
"""Every built-in aggregate by its category (``msn``, ``wo``, ``chk``)."""
