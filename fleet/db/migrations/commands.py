"""Alembic, driven programmatically: status, upgrade, downgrade and history.

Each function takes an open connection that is not inside a transaction (for
SQLite, one from the write engine), runs its work in one transaction of its
own and holds the database write lock while changing the schema, so two
processes migrating at once run one after the other and the second finds
nothing left to do. On SQLite the whole migration is one transaction: a failed
upgrade leaves the schema as it was.

Guarantees:

* Running the same command twice is safe; the second run changes nothing.
* A database stamped with a revision this fleet does not know (written by a
  newer fleet) is never touched: every command raises
  :class:`~fleet.errors.SchemaTooNew` before doing anything.
* A downgrade writes nothing to a database without fleet's schema: one of
  someone else's tables is refused (:data:`FOREIGN_REFUSAL`), and one with no
  revision recorded has nothing to revert.

Besides fleet's own chain (``versions/``, recorded in ``alembic_version``), a
:class:`~fleet.db.MigrationBranch` is a line of migrations kept by an upper layer (the built-in
read models keep theirs in :mod:`fleet.read_models`). Its scripts live in their
own directory and its revision in its own table, so fleet's own status, the
store's schema check and the health report never see it: a database whose
branch is at a revision this code does not know is still ``current`` for
fleet's chain. A branch is applied by whoever uses it (:func:`upgrade_branch`),
never by opening a store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Literal

import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from fleet.db.driver_errors import translating
from fleet.db.engine import acquire_write_lock, use_wal
from fleet.db.migration_branch import MigrationBranch
from fleet.errors import SchemaError, SchemaTooNew, ValidationError

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

SCRIPT_LOCATION: Final = Path(__file__).parent

FOREIGN_REFUSAL: Final = (
    "the database holds tables that are not fleet's and no fleet schema, so fleet "
    "leaves it untouched: give fleet an empty database, or add fleet's tables "
    "beside the others with `fleet db upgrade`"
)
"""Why a database of someone else's tables is refused (by a store, or a downgrade)."""

SchemaState = Literal["empty", "foreign", "behind", "current", "ahead", "unmanaged"]
"""Where a database stands relative to the code.

``empty``: no tables at all. ``foreign``: tables of someone else's, no fleet
schema (an upgrade adds fleet's tables beside them; opening a store never
does). ``behind``: an older known revision. ``current``: at head. ``ahead``: a
revision this code does not know. ``unmanaged``: fleet's tables exist but no
revision is recorded.
"""


class MigrationStatus(msgspec.Struct, frozen=True):
    """The schema revision of one database compared with the code's head."""

    current: str | None
    """Revision recorded in the database (``None`` when none is)."""
    head: str
    """Newest revision this code knows."""
    state: SchemaState
    pending: tuple[str, ...] = ()
    """Revisions an upgrade to head would apply, oldest first."""


class RevisionInfo(msgspec.Struct, frozen=True):
    """One migration script."""

    revision: str
    down_revision: str | None
    description: str
    is_head: bool
    is_current: bool = False


def _alembic_config(
    conn: sa.Connection | None = None, branch: MigrationBranch | None = None
) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("path_separator", "os")
    if branch is not None:
        cfg.set_main_option("version_locations", branch.location)
        cfg.attributes["version_table"] = branch.version_table
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def _scripts(branch: MigrationBranch | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config(branch=branch))


def head_revision() -> str:
    """Return the newest revision shipped with this code."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


@contextmanager
def _transaction(conn: sa.Connection, *, lock: bool) -> Iterator[None]:
    with translating(), conn.begin():
        if lock:
            acquire_write_lock(conn)
        yield


def _read_status(conn: sa.Connection, branch: MigrationBranch | None = None) -> MigrationStatus:
    scripts = _scripts(branch)
    head = scripts.get_current_head()
    assert head is not None
    table = "alembic_version" if branch is None else branch.version_table
    current = MigrationContext.configure(conn, opts={"version_table": table}).get_current_revision()
    if current is None:
        state: SchemaState = "empty"
        if branch is None:
            names = [
                n for n in sa.inspect(conn).get_table_names() if not n.startswith("alembic_version")
            ]
            state = "unmanaged" if "events" in names else "foreign" if names else "empty"
        return MigrationStatus(
            current=None, head=head, state=state, pending=_pending(scripts, head, None)
        )
    try:
        scripts.get_revision(current)
    except CommandError:
        return MigrationStatus(current=current, head=head, state="ahead")
    if current == head:
        return MigrationStatus(current=current, head=head, state="current")
    return MigrationStatus(
        current=current, head=head, state="behind", pending=_pending(scripts, head, current)
    )


def _pending(scripts: ScriptDirectory, head: str, current: str | None) -> tuple[str, ...]:
    walked = scripts.iterate_revisions(head, current or "base")
    return tuple(reversed([r.revision for r in walked]))


def _refuse_unknown(found: MigrationStatus) -> None:
    if found.state == "ahead":
        raise SchemaTooNew(
            f"the database is at revision {found.current!r}, which this fleet does not know "
            f"(its newest is {found.head!r}); upgrade fleet before using this database"
        )
    if found.state == "unmanaged":
        raise SchemaError(
            "the database has fleet tables but no recorded schema revision; "
            "it was not created by `fleet db upgrade`"
        )


def status(conn: sa.Connection) -> MigrationStatus:
    """Report the database's schema revision; changes nothing.

    Raises:
        StoreUnavailable: the database cannot be read.
    """
    with _transaction(conn, lock=False):
        return _read_status(conn)


def upgrade(conn: sa.Connection, rev: str = "head") -> MigrationStatus:
    """Apply migrations up to ``rev`` (default: the newest).

    Returns:
        The status after the upgrade.

    Raises:
        SchemaTooNew: the database is at a revision this code does not know.
        SchemaError: fleet's tables exist without a recorded revision.
        ValidationError: ``rev`` is unknown or is not above the current revision.
        StoreUnavailable: the database cannot be written.
    """
    return _migrate(conn, "upgrade", rev)


def downgrade(conn: sa.Connection, rev: str) -> MigrationStatus:
    """Revert migrations down to ``rev`` (``"base"`` removes every fleet table).

    A database with no revision recorded is left as it is: ``"base"`` has
    nothing to do.

    Returns:
        The status after the downgrade.

    Raises:
        SchemaTooNew: the database is at a revision this code does not know.
        SchemaError: fleet's tables exist without a recorded revision, or the
            database holds someone else's tables and no fleet schema (it is
            left untouched).
        ValidationError: ``rev`` is unknown or is above the current revision.
        StoreUnavailable: the database cannot be written.
    """
    return _migrate(conn, "downgrade", rev)


def _migrate(
    conn: sa.Connection,
    direction: Literal["upgrade", "downgrade"],
    rev: str,
    branch: MigrationBranch | None = None,
) -> MigrationStatus:
    with _transaction(conn, lock=True):
        after = _migrate_locked(conn, direction, rev, branch)
    if direction == "upgrade":
        with translating():
            use_wal(conn)
    return after


def _migrate_locked(
    conn: sa.Connection,
    direction: Literal["upgrade", "downgrade"],
    rev: str,
    branch: MigrationBranch | None,
) -> MigrationStatus:
    """Migrate inside the caller's transaction, which holds the write lock."""
    found = _read_status(conn, branch)
    _refuse_unknown(found)
    adopted = branch is not None and found.current is None and _adopted(conn, branch)
    if direction == "downgrade":
        if found.state == "foreign":
            raise SchemaError(FOREIGN_REFUSAL)
        if found.current is None and not adopted and rev == "base":
            return found  # nothing to revert; Alembic would add its version table
    cfg = _alembic_config(conn, branch)
    try:
        if adopted:
            command.stamp(cfg, found.pending[0])
        if direction == "upgrade":
            command.upgrade(cfg, rev)
        else:
            command.downgrade(cfg, rev)
    except CommandError as exc:
        raise ValidationError(f"cannot migrate to revision {rev!r}: {exc}") from exc
    return _read_status(conn, branch)


def _adopted(conn: sa.Connection, branch: MigrationBranch) -> bool:
    """Whether an older fleet already created the tables of the branch's first revision."""
    if not branch.adopts:
        return False
    names = set(sa.inspect(conn).get_table_names())
    return names.issuperset(branch.adopts)


def branch_status(conn: sa.Connection, branch: MigrationBranch) -> MigrationStatus:
    """Report the revision of ``branch`` recorded in the database; changes nothing.

    ``state`` is ``empty`` while no revision of the branch is recorded (even when
    :attr:`MigrationBranch.adopts` tables exist), ``ahead`` for a revision the branch's
    scripts do not know.

    Raises:
        StoreUnavailable: the database cannot be read.
    """
    with _transaction(conn, lock=False):
        return _read_status(conn, branch)


def upgrade_branch(
    conn: sa.Connection, branch: MigrationBranch, rev: str = "head"
) -> MigrationStatus:
    """Apply the migrations of ``branch`` up to ``rev`` (default: its newest).

    ``conn`` is not inside a transaction; the work runs in one transaction that
    holds the write lock. Tables of :attr:`MigrationBranch.adopts` that already exist are
    recorded as the branch's first revision, not created again.

    Returns:
        The branch's status after the upgrade.

    Raises:
        SchemaTooNew: the branch is at a revision this code does not know.
        ValidationError: ``rev`` is unknown or is not above the current revision.
        StoreUnavailable: the database cannot be written.
    """
    return _migrate(conn, "upgrade", rev, branch)


def upgrade_branch_in(conn: sa.Connection, branch: MigrationBranch) -> MigrationStatus:
    """:func:`upgrade_branch` to the newest revision inside the caller's transaction.

    ``conn`` must be inside a transaction that holds the database write lock
    (as :meth:`fleet.db.Database.write_transaction` does); the changes commit
    or roll back with it.
    """
    return _migrate_locked(conn, "upgrade", "head", branch)


def downgrade_branch(conn: sa.Connection, branch: MigrationBranch, rev: str) -> MigrationStatus:
    """Revert the migrations of ``branch`` down to ``rev`` (``"base"`` removes its tables).

    Tables of :attr:`MigrationBranch.adopts` that exist without a recorded revision
    count as the branch's first revision, so ``"base"`` removes them too.

    Returns:
        The branch's status after the downgrade.

    Raises:
        SchemaTooNew: the branch is at a revision this code does not know.
        ValidationError: ``rev`` is unknown or is above the current revision.
        StoreUnavailable: the database cannot be written.
    """
    return _migrate(conn, "downgrade", rev, branch)


def history(conn: sa.Connection | None = None) -> list[RevisionInfo]:
    """List every migration, newest first.

    Args:
        conn: when given, the revision recorded in that database is marked
            ``is_current``.
    """
    current = status(conn).current if conn is not None else None
    scripts = _scripts()
    heads = set(scripts.get_heads())
    return [
        RevisionInfo(
            revision=script.revision,
            down_revision=_single(script.down_revision),
            description=script.doc or "",
            is_head=script.revision in heads,
            is_current=script.revision == current,
        )
        for script in scripts.walk_revisions()
    ]


def _single(down: str | Sequence[str] | None) -> str | None:
    if down is not None and not isinstance(down, str):
        return ", ".join(down)
    return down
