"""Alembic environment for fleet's migrations.

Fleet drives Alembic only programmatically (:mod:`fleet.db.migrations.commands`):
the caller opens the connection, begins the transaction, takes the write lock
and passes the connection in ``config.attributes["connection"]``. Running the
``alembic`` command line against this directory is not supported.
"""

from __future__ import annotations

from alembic import context

from fleet.db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("fleet migrations run through `fleet db ...`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
