"""``/scavenge``: one scavenge at a time per daemon, and what it has done so far.

``POST /scavenge`` runs :meth:`fleet.store.EventStore.scavenge` and answers
with its report when it is done; ``GET /scavenge`` says whether one is
running, how far it has got and what the last one removed. A second ``POST``
while one runs is refused (``409 scavenge_running``): the first one's progress
is there to watch. A scavenge cut short (the daemon stopped, the client went
away and the daemon shut down) leaves its finished batches done; the next one
finishes the work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import msgspec

from fleet.db import SCAVENGE_BATCH_SIZE, ScavengeProgress, ScavengeReport
from fleet.server._errors import Refusal

__all__ = ["ScavengeJob", "ScavengeQuery", "ScavengeStatus"]


class ScavengeQuery(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Query of ``POST /scavenge``."""

    batch_size: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=100_000, description="events removed per write transaction (default 1000)"
        ),
    ] = SCAVENGE_BATCH_SIZE


class ScavengeStatus(msgspec.Struct, frozen=True):
    """``GET /scavenge``: whether a scavenge runs, its progress, the last one's report.

    ``progress`` is that of the running scavenge (``null`` when none runs or it
    has not reported yet); ``last`` the report of the last one this daemon
    finished (``null`` if none).
    """

    running: bool
    progress: ScavengeProgress | None
    last: ScavengeReport | None


class ScavengeJob:
    """The daemon's scavenge: at most one runs at a time."""

    def __init__(self) -> None:
        self._running = False
        self._progress: ScavengeProgress | None = None
        self._last: ScavengeReport | None = None

    def status(self) -> ScavengeStatus:
        """What runs now and what ran last."""
        return ScavengeStatus(self._running, self._progress, self._last)

    def _advance(self, progress: ScavengeProgress) -> None:
        self._progress = progress

    async def run(
        self,
        start: Callable[[Callable[[ScavengeProgress], None]], Awaitable[ScavengeReport]],
    ) -> ScavengeReport:
        """Run ``start(progress)`` unless a scavenge is running already.

        Raises:
            Refusal: 409 ``scavenge_running``.
        """
        if self._running:
            raise Refusal(
                409,
                "scavenge_running",
                "a scavenge is running already: GET /scavenge shows its progress",
            )
        self._running, self._progress = True, None
        try:
            report = await start(self._advance)
        finally:
            self._running, self._progress = False, None
        self._last = report
        return report
