"""Commit notices on PostgreSQL: every insert into events notifies fleet_events.

The notification carries the newest position of the statement's rows and is
delivered when the inserting transaction commits, so a store listening on the
channel learns at once of events other processes committed. SQLite has no
notifications (stores there watch ``PRAGMA data_version``): this revision
changes nothing on SQLite.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION fleet_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('fleet_events', (SELECT max(position) FROM new_events)::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER fleet_events_notify AFTER INSERT ON events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION fleet_notify_events()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER fleet_events_notify ON events")
    op.execute("DROP FUNCTION fleet_notify_events()")
