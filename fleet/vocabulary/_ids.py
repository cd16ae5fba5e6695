"""Ids of the built-in streams: missions (``msn-``), work orders (``wo-``), checkpoints
(``chk-``), each fleet's time-ordered id form."""

from __future__ import annotations

from typing import NewType

from fleet.core import generate_id, parse_prefixed_id

__all__ = [
    "CheckpointId",
    "MissionId",
    "WorkOrderId",
    "generate_checkpoint_id",
    "generate_mission_id",
    "generate_work_order_id",
    "parse_checkpoint_id",
    "parse_mission_id",
    "parse_work_order_id",
]

MissionId = NewType("MissionId", str)
WorkOrderId = NewType("WorkOrderId", str)
CheckpointId = NewType("CheckpointId", str)


def generate_mission_id() -> MissionId:
    """Return a new mission id (``msn-…``)."""
    return MissionId(generate_id("msn"))


def generate_work_order_id() -> WorkOrderId:
    """Return a new work-order id (``wo-…``)."""
    return WorkOrderId(generate_id("wo"))


def generate_checkpoint_id() -> CheckpointId:
    """Return a new checkpoint id (``chk-…``)."""
    return CheckpointId(generate_id("chk"))


def parse_mission_id(value: object) -> MissionId:
    """Return ``value`` as a :data:`MissionId`, or raise ``ValueError`` naming it."""
    return MissionId(parse_prefixed_id(value, "msn", "mission"))


def parse_work_order_id(value: object) -> WorkOrderId:
    """Return ``value`` as a :data:`WorkOrderId`, or raise ``ValueError`` naming it."""
    return WorkOrderId(parse_prefixed_id(value, "wo", "work order"))


def parse_checkpoint_id(value: object) -> CheckpointId:
    """Return ``value`` as a :data:`CheckpointId`, or raise ``ValueError`` naming it."""
    return CheckpointId(parse_prefixed_id(value, "chk", "checkpoint"))
