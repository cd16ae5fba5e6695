"""A line of migrations kept outside :mod:`fleet.db`: where its scripts are, where it is recorded.

Declaring one loads nothing of Alembic; :mod:`fleet.db.migrations` applies it
(:func:`~fleet.db.migrations.upgrade_branch`,
:meth:`fleet.db.Database.upgrade_branch`).
"""

from __future__ import annotations

import msgspec

__all__ = ["MigrationBranch"]


class MigrationBranch(msgspec.Struct, frozen=True):
    """A line of migrations kept outside :mod:`fleet.db`, applied apart from fleet's own.

    Its first revision carries :attr:`label` as its Alembic branch label and
    has no ``down_revision``; its revision is recorded in
    :attr:`version_table`, never in ``alembic_version``.
    """

    label: str
    """The branch label; also names the table recording the branch's revision."""
    location: str
    """The directory of its revision scripts."""
    head: str
    """Its newest revision: a database that records it needs nothing (checked without Alembic)."""
    adopts: tuple[str, ...] = ()
    """Tables that an older fleet created in its own chain before the branch existed. When
    every one of them exists and the branch has no recorded revision, the branch's first
    revision is recorded as applied instead of being run."""

    @property
    def version_table(self) -> str:
        """The table holding the branch's revision (``alembic_version_<label>``)."""
        return f"alembic_version_{self.label}"
