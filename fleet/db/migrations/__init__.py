"""Schema migrations (Alembic scripts in ``versions/``) and the functions that run them.

A :class:`~fleet.db.MigrationBranch` is a line of migrations an upper layer keeps in its own
directory and applies when it needs its tables (see :func:`upgrade_branch`).
"""

from fleet.db.migrations.commands import (
    FOREIGN_REFUSAL,
    MigrationStatus,
    RevisionInfo,
    SchemaState,
    branch_status,
    downgrade,
    downgrade_branch,
    head_revision,
    history,
    status,
    upgrade,
    upgrade_branch,
    upgrade_branch_in,
)

__all__ = [
    "FOREIGN_REFUSAL",
    "MigrationStatus",
    "RevisionInfo",
    "SchemaState",
    "branch_status",
    "downgrade",
    "downgrade_branch",
    "head_revision",
    "history",
    "status",
    "upgrade",
    "upgrade_branch",
    "upgrade_branch_in",
]
