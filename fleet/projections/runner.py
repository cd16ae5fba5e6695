"""Keeping projections live beside the writer.

::

    async with open_store(config) as store, open_projections(store, views) as runner:
        ...                                   # appends; the views follow
        await runner.wait_for_position(result.last_position)
        await runner.rebuild("audit_feed", progress=bar.update)

Each projection has a *lane*: a task that reads its checkpoint, subscribes to
the log after it with the projection's event types, and applies what arrives
in batches of up to ``projections.batch_events`` events, each batch in one
transaction with the checkpoint (:func:`~fleet.projections.batch.apply_batch`).
That transaction takes the database write lock like an append does, so a
large batch delays appends by the time it takes to write; a catching-up lane
writes many events per transaction. A live one, after each batch, lets new
events gather for ``projections.gather_ms`` before taking the next, so under
load it writes a few large batches rather than one per append and its cost
stays off the appends' path; :meth:`ProjectionRunner.wait_for_position` cuts
the wait short, so read-your-writes costs no added latency.
Guarantees:

* Every event a projection wants is applied exactly once, in position order;
  a restart resumes after the stored checkpoint.
* An event the projection refuses, or whose handler raises, becomes a
  ``projection_errors`` row and the lane goes on.
* Database trouble stops nothing for good: the lane logs it, waits
  ``projections.retry_delay_s`` and resumes from its stored checkpoint. A
  checkpoint moved by someone else (another process rebuilding) is noticed
  at the next batch, and the lane resumes from it.
* A lane belongs to one owner at a time: :meth:`ProjectionRunner.rebuild`
  stops the lane's task (letting its current transaction finish), rebuilds,
  and starts following again from the rebuilt checkpoint.

Leaving the block stops every lane; a batch being written is committed or
rolled back first, never cut in half. With ``projections.enabled = false`` no
lane runs, but rebuilds and status still work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Final

import anyio
import anyio.to_thread
import msgspec

from fleet.errors import FleetError, ProjectionNotFound, StoreClosed
from fleet.logging import get_logger
from fleet.projections.batch import apply_batch, stored_position
from fleet.projections.projection import Projection, projections_by_name, wanted_events
from fleet.projections.reads import projection_status
from fleet.projections.rebuild import Progress, rebuild_projection
from fleet.projections.views import LaneState, ProjectionStatus, RebuildReport

if TYPE_CHECKING:
    from fleet.db import Database
    from fleet.store import EventStore, LogFilter, Subscription

__all__ = ["Prepare", "ProjectionRunner", "open_projections"]

Prepare = Callable[["Database"], None]
"""Makes the tables of some projections exist (see :func:`open_projections`)."""

WAIT_POLL_S: Final = 0.02
"""How often :meth:`ProjectionRunner.wait_for_position` looks again without a notice."""

_log = get_logger("projections")


class _Lane:
    """One projection's live updates: who owns it, where it stands."""

    def __init__(self, projection: Projection) -> None:
        self.projection = projection
        self.where = wanted_events(projection)
        self.checkpoint = 0
        self.subscription: Subscription | None = None
        self.handling = False
        self.lock = anyio.Lock()
        self.scope: anyio.CancelScope | None = None
        self.pauses = 0
        self.unpaused = anyio.Event()
        self.changed = anyio.Event()
        self.hurry = anyio.Event()
        self.running = False
        self.rebuilding = False
        self.retrying = False
        self.last_error: str | None = None

    @property
    def state(self) -> LaneState:
        if self.rebuilding:
            return "rebuilding"
        if not self.running:
            return "stopped"
        if self.retrying:
            return "retrying"
        if self.subscription is None:
            return "starting"
        return "live" if self.subscription.caught_up else "catching_up"

    @property
    def applied_through(self) -> int:
        """Every event the projection wants up to this position is applied and committed."""
        sub = self.subscription
        if sub is None or self.handling:
            return self.checkpoint
        return max(self.checkpoint, sub.position)

    def notify(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()

    async def gather(self, seconds: float) -> None:
        """Let live events gather for ``seconds``, unless someone waits for them."""
        if seconds > 0 and not self.hurry.is_set():
            with anyio.move_on_after(seconds):
                await self.hurry.wait()
        self.hurry = anyio.Event()

    async def wait_unpaused(self) -> None:
        while self.pauses:
            await self.unpaused.wait()

    def pause(self) -> None:
        self.pauses += 1
        if self.scope is not None:
            self.scope.cancel()

    def resume(self) -> None:
        self.pauses -= 1
        if not self.pauses:
            self.unpaused.set()
            self.unpaused = anyio.Event()


class ProjectionRunner:
    """Live projections of one store; get one from :func:`open_projections`."""

    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        prepare: Sequence[Prepare] = (),
    ) -> None:
        self._store = store
        self._projections = tuple(projections)
        self._lanes = {name: _Lane(p) for name, p in projections_by_name(projections).items()}
        self._prepare = tuple(prepare)
        self._prepared = not self._prepare
        self._preparing = anyio.Lock()

    async def _ready(self) -> None:
        """Run the ``prepare`` functions, one caller at a time, until they have all
        succeeded once."""
        async with self._preparing:
            if self._prepared:
                return
            for prepare in self._prepare:
                await anyio.to_thread.run_sync(prepare, self._store.database)
            self._prepared = True

    @property
    def projections(self) -> tuple[Projection, ...]:
        """The projections this runner keeps, in the order they are reported."""
        return self._projections

    def _lane(self, name: str) -> _Lane:
        lane = self._lanes.get(name)
        if lane is None:
            raise ProjectionNotFound(name)
        return lane

    def state(self, name: str) -> LaneState:
        """What the lane of projection ``name`` is doing right now.

        Raises:
            ProjectionNotFound: no projection of that name in this runner.
        """
        return self._lane(name).state

    async def status(self) -> list[ProjectionStatus]:
        """Each projection's checkpoint, head, lag and errors, with what its lane is doing."""
        found = await projection_status(self._store, self._projections)
        return [
            msgspec.structs.replace(
                item,
                state=self._lanes[item.name].state,
                last_error=self._lanes[item.name].last_error,
            )
            for item in found
        ]

    async def rebuild(self, name: str, *, progress: Progress | None = None) -> RebuildReport:
        """Rebuild one projection while its live updates wait (see :func:`rebuild`).

        The lane's task stops first (a batch being written commits or rolls
        back), the rebuild runs, then the lane follows the log again from the
        rebuilt checkpoint. Two rebuilds of one projection run one after the other.

        Raises:
            ProjectionNotFound: no projection of that name in this runner.
            StoreUnavailable, StoreClosed: the database failed during the rebuild.
        """
        lane = self._lane(name)
        await self._ready()
        lane.pause()
        try:
            async with lane.lock:
                lane.rebuilding = True
                try:
                    report = await rebuild_projection(
                        self._store, lane.projection, progress=progress
                    )
                finally:
                    lane.rebuilding = False
                lane.checkpoint = report.position
                return report
        finally:
            lane.resume()
            lane.notify()

    async def wait_for_position(self, position: int) -> None:
        """Return once every live projection has applied every event it wants up to ``position``.

        Waits forever for a projection whose lane does not run (``enabled = false``);
        bound it with :func:`anyio.fail_after` where that matters.
        """
        for lane in self._lanes.values():
            while lane.applied_through < position:
                lane.hurry.set()
                if not lane.handling and lane.subscription is not None:
                    after = lane.applied_through
                    if not await _wants_any(self._store, lane.where, after, position):
                        break
                with anyio.move_on_after(WAIT_POLL_S):
                    await lane.changed.wait()

    async def _run(self, lane: _Lane) -> None:
        try:
            while True:
                await lane.wait_unpaused()
                async with lane.lock:
                    if lane.pauses:
                        continue
                    with anyio.CancelScope() as scope:
                        lane.scope = scope
                        try:
                            await self._follow(lane)
                        except StoreClosed:
                            return
                        except FleetError as exc:
                            await self._back_off(lane, exc)
                    lane.scope = None
        finally:
            lane.running = False
            lane.notify()

    async def _back_off(self, lane: _Lane, exc: FleetError) -> None:
        lane.retrying = True
        lane.last_error = f"{type(exc).__name__}: {exc}"
        delay = self._store.config.projections.retry_delay_s
        _log.warning(
            "projection paused",
            projection=lane.projection.name,
            error=lane.last_error,
            retry_in_s=delay,
        )
        try:
            await anyio.sleep(delay)
        finally:
            lane.retrying = False

    async def _follow(self, lane: _Lane) -> None:
        """Follow the log from the stored checkpoint until it moves under the lane."""
        store = self._store
        db = store.database
        projection = lane.projection
        await self._ready()
        lane.checkpoint = await anyio.to_thread.run_sync(stored_position, db, projection.name)
        size = store.config.projections.batch_events
        gather_s = store.config.projections.gather_ms / 1000
        async with store.subscribe(
            from_position=lane.checkpoint,
            where=lane.where,
            page_size=min(size, store.config.store.max_read_limit),
        ) as sub:
            lane.subscription = sub
            try:
                async for batch in sub.batches(max_events=size):
                    lane.handling = True
                    apply = partial(apply_batch, db, projection, batch, after=lane.checkpoint)
                    outcome = await anyio.to_thread.run_sync(apply)
                    lane.checkpoint = outcome.checkpoint
                    lane.handling = False
                    lane.notify()
                    if outcome.moved:
                        return
                    if sub.caught_up:
                        await lane.gather(gather_s)
            finally:
                lane.subscription = None
                lane.handling = False


async def _wants_any(store: EventStore, where: LogFilter, after: int, upto: int) -> bool:
    """Whether the log holds an event ``where`` matches in ``(after, upto]``."""
    page = await store.read_all(after, 1, where=where)
    return bool(page.events) and page.events[0].position <= upto


@asynccontextmanager
async def open_projections(
    store: EventStore, projections: Sequence[Projection], *, prepare: Sequence[Prepare] = ()
) -> AsyncIterator[ProjectionRunner]:
    """Keep ``projections`` live while the block runs; see the module docstring.

    Open it inside the store's block: the lanes stop before the store closes.

    Args:
        store: the open store.
        projections: the projections to keep.
        prepare: functions that make the projections' tables exist, called in
            a worker thread with the store's database before a lane first
            reads its checkpoint and before a rebuild; each must be safe to
            call again. A lane whose preparation fails with database trouble
            waits ``projections.retry_delay_s`` and tries again, as it does
            for a batch.

    Raises:
        ValueError: two projections share a name.
    """
    runner = ProjectionRunner(store, projections, prepare)
    async with anyio.create_task_group() as group:
        if store.config.projections.enabled:
            for lane in runner._lanes.values():
                lane.running = True
                group.start_soon(runner._run, lane, name=f"projection {lane.projection.name}")
        try:
            yield runner
        finally:
            group.cancel_scope.cancel()
