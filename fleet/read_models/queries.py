"""Synchronous queries over the built-in views; each runs on a connection the caller holds.

Use a connection from :meth:`fleet.db.Database.read` (the async functions in
:mod:`fleet.read_models.reads` do). Listings are keyset-paged by id: a page
holds up to ``limit`` rows with ids after ``after``, in id order, and its
``next_after`` continues it; rows added later never shift a page. Every
filter is backed by an index (``(status, id)``, ``(mission_id, id)``).

Arguments are checked here (ids, statuses); ``limit`` is taken as given (the
async layer caps it by configuration).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Generic, TypeVar

import msgspec
import sqlalchemy as sa

from fleet.core import has_nul, invalid_id_message, is_valid_prefix_id
from fleet.errors import ValidationError, ViewNotFound
from fleet.read_models import tables
from fleet.read_models.views import (
    CheckpointList,
    CheckpointView,
    MissionList,
    MissionView,
    WorkOrderList,
    WorkOrderView,
)
from fleet.vocabulary import CHECKPOINT_STATUSES, MISSION_STATUSES, WORK_ORDER_STATUSES

__all__ = [
    "fetch_checkpoint",
    "fetch_checkpoints",
    "fetch_mission",
    "fetch_missions",
    "fetch_work_order",
    "fetch_work_orders",
]

V = TypeVar("V", bound=msgspec.Struct)


class _Kind(Generic[V]):
    """How one view table is read: its key, its id prefix, its statuses, its record."""

    def __init__(
        self,
        label: str,
        table: sa.Table,
        key: str,
        prefix: str,
        statuses: Sequence[str],
        record: type[V],
    ) -> None:
        self.label = label
        self.table = table
        self.key = table.c[key]
        self.prefix = prefix
        self.statuses = tuple(statuses)
        self.record = record
        fields = set(record.__struct_fields__)
        self.columns = [column for column in table.columns if column.name in fields]
        self.names = [str(column.name) for column in self.columns]

    def check_id(self, value: object, where: str) -> str:
        if not is_valid_prefix_id(value, self.prefix):
            why = invalid_id_message(value, self.prefix, self.label)
            raise ValidationError(why, [(where, why)])
        assert isinstance(value, str)
        return value

    def check_status(self, status: object) -> str | None:
        if status is None or status in self.statuses:
            return status
        known = ", ".join(self.statuses)
        raise ValidationError(
            f"invalid {self.label} status {status!r}: use one of {known}",
            [("status", f"{status!r} is not one of {known}")],
        )

    def one(self, conn: sa.Connection, item_id: object) -> dict[str, Any]:
        checked = self.check_id(item_id, f"{self.label.replace(' ', '_')}_id")
        row = conn.execute(sa.select(*self.columns).where(self.key == checked)).first()
        if row is None:
            raise ViewNotFound(self.label, checked)
        return dict(zip(self.names, row, strict=True))

    def page(
        self,
        conn: sa.Connection,
        status: object,
        mission_id: object,
        after: object,
        limit: int,
    ) -> tuple[list[dict[str, Any]], str | None]:
        conditions: list[sa.ColumnElement[bool]] = []
        checked = self.check_status(status)
        if checked is not None:
            conditions.append(self.table.c.status == checked)
        if mission_id is not None:
            conditions.append(self.table.c.mission_id == MISSION.check_id(mission_id, "mission_id"))
        if after is not None:
            if not isinstance(after, str) or has_nul(after):
                raise ValidationError(
                    f"invalid cursor {after!r}: pass a {self.label} id",
                    [("after", f"not a {self.label} id")],
                )
            conditions.append(self.key > after)
        query = sa.select(*self.columns).where(*conditions).order_by(self.key).limit(limit + 1)
        rows = [dict(zip(self.names, row, strict=True)) for row in conn.execute(query)]
        if len(rows) > limit:
            del rows[limit:]
            return rows, rows[-1][self.names[0]]
        return rows, None


MISSION: Final = _Kind(
    "mission", tables.mission_view, "mission_id", "msn", MISSION_STATUSES, MissionView
)
WORK_ORDER: Final = _Kind(
    "work order", tables.work_order_view, "work_order_id", "wo", WORK_ORDER_STATUSES, WorkOrderView
)
CHECKPOINT: Final = _Kind(
    "checkpoint",
    tables.checkpoint_view,
    "checkpoint_id",
    "chk",
    CHECKPOINT_STATUSES,
    CheckpointView,
)


def _missions(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[MissionView]:
    ids = [row["mission_id"] for row in rows]
    by_status: dict[str, dict[str, int]] = {mission_id: {} for mission_id in ids}
    saved: dict[str, int] = dict.fromkeys(ids, 0)
    if ids:
        orders = (
            sa.select(
                tables.work_order_view.c.mission_id,
                tables.work_order_view.c.status,
                sa.func.count(),
            )
            .where(tables.work_order_view.c.mission_id.in_(ids))
            .group_by(tables.work_order_view.c.mission_id, tables.work_order_view.c.status)
        )
        for mission_id, status, count in conn.execute(orders):
            by_status[mission_id][status] = int(count)
        points = (
            sa.select(tables.checkpoint_view.c.mission_id, sa.func.count())
            .where(tables.checkpoint_view.c.mission_id.in_(ids))
            .group_by(tables.checkpoint_view.c.mission_id)
        )
        for mission_id, count in conn.execute(points):
            saved[mission_id] = int(count)
    return [
        msgspec.convert(
            {
                **row,
                "work_orders": sum(by_status[row["mission_id"]].values()),
                "work_orders_by_status": by_status[row["mission_id"]],
                "checkpoints": saved[row["mission_id"]],
            },
            MissionView,
        )
        for row in rows
    ]


def fetch_mission(conn: sa.Connection, mission_id: object) -> MissionView:
    """One mission, with its work-order and checkpoint counts.

    Raises:
        ValidationError: not a mission id.
        ViewNotFound: the view has no such mission.
    """
    return _missions(conn, [MISSION.one(conn, mission_id)])[0]


def fetch_missions(
    conn: sa.Connection, *, status: object = None, after: object = None, limit: int
) -> MissionList:
    """A page of missions in id order, optionally of one status.

    Raises:
        ValidationError: an unknown status or a cursor that is not a string.
    """
    rows, next_after = MISSION.page(conn, status, None, after, limit)
    return MissionList(_missions(conn, rows), next_after)


def fetch_work_order(conn: sa.Connection, work_order_id: object) -> WorkOrderView:
    """One work order.

    Raises:
        ValidationError: not a work-order id.
        ViewNotFound: the view has no such work order.
    """
    return msgspec.convert(WORK_ORDER.one(conn, work_order_id), WorkOrderView)


def fetch_work_orders(
    conn: sa.Connection,
    *,
    status: object = None,
    mission_id: object = None,
    after: object = None,
    limit: int,
) -> WorkOrderList:
    """A page of work orders in id order, optionally of one status and/or one mission.

    Raises:
        ValidationError: an unknown status, a bad mission id or a cursor that
            is not a string.
    """
    rows, next_after = WORK_ORDER.page(conn, status, mission_id, after, limit)
    return WorkOrderList([msgspec.convert(row, WorkOrderView) for row in rows], next_after)


def fetch_checkpoint(conn: sa.Connection, checkpoint_id: object) -> CheckpointView:
    """One checkpoint.

    Raises:
        ValidationError: not a checkpoint id.
        ViewNotFound: the view has no such checkpoint.
    """
    return msgspec.convert(CHECKPOINT.one(conn, checkpoint_id), CheckpointView)


def fetch_checkpoints(
    conn: sa.Connection,
    *,
    status: object = None,
    mission_id: object = None,
    after: object = None,
    limit: int,
) -> CheckpointList:
    """A page of checkpoints in id order, optionally of one status and/or one mission.

    Raises:
        ValidationError: an unknown status, a bad mission id or a cursor that
            is not a string.
    """
    rows, next_after = CHECKPOINT.page(conn, status, mission_id, after, limit)
    return CheckpointList([msgspec.convert(row, CheckpointView) for row in rows], next_after)
