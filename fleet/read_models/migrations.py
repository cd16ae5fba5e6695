"""The read models' own migration branch, and the function that applies it.

The view tables are not part of fleet's own schema: opening a store never
creates them. They are created, in one write transaction holding the write
lock, by :func:`upgrade_read_models`, which whoever keeps or rebuilds the
built-in read models calls first (:func:`~fleet.read_models.open_read_models`,
:func:`~fleet.read_models.rebuild_read_model`, ``fleet serve``, ``fleet
projections rebuild``).

The branch's scripts are in ``versions/`` (branch label ``read_models``); its
revision is recorded in ``alembic_version_read_models``. A database that an
older fleet gave these tables in its own revision 0002 records the branch's
first revision without creating anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fleet.db import Database, MigrationBranch

__all__ = ["MIGRATIONS", "upgrade_read_models"]

MIGRATIONS: Final = MigrationBranch(
    label="read_models",
    location=str(Path(__file__).with_name("versions")),
    head="rm0001",
    adopts=("mission_view", "work_order_view", "checkpoint_view"),
)
"""The branch that creates :mod:`fleet.read_models.tables`."""


def upgrade_read_models(db: Database) -> None:
    """Make sure the built-in views' tables exist at the code's revision.

    Cheap when they do (one read, no Alembic); safe to call from several
    processes at once.

    Raises:
        StoreReadOnly: the tables need creating and ``db`` is read-only.
        SchemaTooNew: the branch is at a revision this code does not know.
        StoreUnavailable: the database cannot be written.
    """
    db.upgrade_branch(MIGRATIONS)
