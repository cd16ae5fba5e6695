"""What every stream actor of one store shares."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors import ActorSystem
    from fleet.config import Config
    from fleet.db import Database
    from fleet.store.writer import Writer

__all__ = ["StoreContext"]


class StoreContext:
    """The configuration, database, writer and actor system of one open store.

    ``system`` and ``spawn`` are set once the actor system and the store's task
    group exist (the actors are created by the system, so they cannot be
    constructor arguments).
    """

    def __init__(self, config: Config, db: Database, writer: Writer) -> None:
        self.config = config
        self.db = db
        self.writer = writer
        self.system: ActorSystem[str, Any, Any] | None = None
        self.spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], object] | None = None
