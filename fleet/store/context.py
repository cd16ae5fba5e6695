"""What every stream actor of one store shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from fleet.config import Config
    from fleet.db import Database
    from fleet.store.snapshots import Snapshotter
    from fleet.store.writer import Writer

__all__ = ["StoreContext"]


class StoreContext(NamedTuple):
    """The database, the writer and the snapshot policy of one open store."""

    config: Config
    db: Database
    writer: Writer
    snapshots: Snapshotter
