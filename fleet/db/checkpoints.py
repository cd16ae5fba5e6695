"""Named positions in the global log: where a durable subscription or projection is.

A checkpoint ``(name, position)`` says that everything up to and including
``position`` has been handled by its owner. Saving one inside the same
transaction as the effects it covers (as projections do) makes the pair atomic.
"""

from __future__ import annotations

import sqlalchemy as sa

from fleet.db.schema import checkpoints

__all__ = ["delete_checkpoint", "load_checkpoint", "save_checkpoint"]


def load_checkpoint(conn: sa.Connection, name: str) -> int | None:
    """The saved position of ``name``, or ``None`` when it has none."""
    found = conn.execute(
        sa.select(checkpoints.c.position).where(checkpoints.c.name == name)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def save_checkpoint(conn: sa.Connection, name: str, position: int, now: int) -> None:
    """Set the position of ``name`` (creating it), stamped with ``now`` (epoch ms).

    Call it inside :meth:`fleet.db.Database.write_transaction` (it writes).
    """
    updated = conn.execute(
        sa.update(checkpoints)
        .where(checkpoints.c.name == name)
        .values(position=position, updated_at=now)
    )
    if updated.rowcount == 0:
        conn.execute(sa.insert(checkpoints).values(name=name, position=position, updated_at=now))


def delete_checkpoint(conn: sa.Connection, name: str) -> bool:
    """Forget ``name``; return whether it existed."""
    deleted = conn.execute(sa.delete(checkpoints).where(checkpoints.c.name == name))
    return bool(deleted.rowcount)
