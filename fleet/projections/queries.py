"""Synchronous queries over the projection bookkeeping; each runs on a connection the caller holds.

Use a connection from :meth:`fleet.db.Database.read` (the async functions in
:mod:`fleet.projections.reads` do). Listings are keyset-paged by position: a
page holds up to ``limit`` rows after ``after``, in position order, and its
``next_after`` continues it.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import sqlalchemy as sa

from fleet.core import is_storable_int
from fleet.db import count_events, head_position, schema
from fleet.errors import ValidationError
from fleet.projections.projection import Projection, checkpoint_name, wanted_events
from fleet.projections.views import ProjectionError, ProjectionErrorList, ProjectionStatus

__all__ = ["fetch_projection_errors", "fetch_projection_status"]


def _pending(conn: sa.Connection, projection: Projection, after: int) -> int:
    return count_events(conn, wanted_events(projection), after)


def fetch_projection_status(
    conn: sa.Connection, projections: Sequence[Projection]
) -> list[ProjectionStatus]:
    """Checkpoint, head, lag and error count of each projection, in the order given.

    ``lag`` counts the events a projection wants after its checkpoint (from the
    ``(type, position)`` index), so events it does not read never make it look
    behind.
    """
    head = head_position(conn)
    names = {checkpoint_name(p.name): p.name for p in projections}
    stored: dict[str, tuple[int, int | None]] = {
        names[name]: (int(position), int(updated_at))
        for name, position, updated_at in conn.execute(
            sa.select(
                schema.checkpoints.c.name,
                schema.checkpoints.c.position,
                schema.checkpoints.c.updated_at,
            ).where(schema.checkpoints.c.name.in_(list(names)))
        )
    }
    counted = (
        sa.select(schema.projection_errors.c.projection, sa.func.count())
        .where(schema.projection_errors.c.projection.in_(list(names.values())))
        .group_by(schema.projection_errors.c.projection)
    )
    errors = {name: int(count) for name, count in conn.execute(counted)}
    report: list[ProjectionStatus] = []
    for projection in projections:
        position, updated_at = stored.get(projection.name, (0, None))
        report.append(
            ProjectionStatus(
                name=projection.name,
                position=position,
                head=head,
                lag=_pending(conn, projection, position),
                errors=errors.get(projection.name, 0),
                updated_at=updated_at,
            )
        )
    return report


def fetch_projection_errors(
    conn: sa.Connection, name: str, *, after: object = None, limit: int
) -> ProjectionErrorList:
    """A page of one projection's errors in position order.

    Raises:
        ValidationError: ``after`` is not a position.
    """
    query = sa.select(schema.projection_errors).where(schema.projection_errors.c.projection == name)
    if after is not None:
        if not is_storable_int(after):
            raise ValidationError(
                f"invalid cursor {after!r}: pass a position", [("after", "not a position")]
            )
        query = query.where(schema.projection_errors.c.position > after)
    query = query.order_by(schema.projection_errors.c.position).limit(limit + 1)
    names = [str(column.name) for column in schema.projection_errors.columns]
    found = [
        msgspec.convert(dict(zip(names, row, strict=True)), ProjectionError)
        for row in conn.execute(query)
    ]
    if len(found) > limit:
        del found[limit:]
        return ProjectionErrorList(found, found[-1].position)
    return ProjectionErrorList(found, None)
