"""Alembic environment for fleet's migrations and for the branches kept beside them.

Fleet drives Alembic only programmatically (:mod:`fleet.db.migrations.commands`):
the caller opens the connection, begins the transaction, takes the write lock
and passes the connection in ``config.attributes["connection"]``; a branch
kept outside this package also passes the table that records its revision in
``config.attributes["version_table"]``. Running the ``alembic`` command line
against this directory is not supported.
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
    version_table=context.config.attributes.get("version_table", "alembic_version"),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
