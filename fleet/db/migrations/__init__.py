"""Schema migrations (Alembic scripts in ``versions/``) and the functions that run them."""

from fleet.db.migrations.commands import (
    MigrationStatus,
    RevisionInfo,
    SchemaState,
    downgrade,
    head_revision,
    history,
    status,
    upgrade,
)

__all__ = [
    "MigrationStatus",
    "RevisionInfo",
    "SchemaState",
    "downgrade",
    "head_revision",
    "history",
    "status",
    "upgrade",
]
