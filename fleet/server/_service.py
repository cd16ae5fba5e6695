"""What every endpoint shares: the store, the limits, the metrics and a deadline on store calls.

A request never waits on the store longer than ``server.request_timeout_s``.
:meth:`Service.call` runs the store call in a task of the service's own task
group and waits for its outcome with a deadline; past it, the request is
answered ``503 unavailable`` while the call finishes in the background (a
read parked in a worker thread cannot be cancelled, and an append's outcome
must not be left half-known by cancelling it). An append that timed out may
still commit: the answer says so, and a retry with the same event ids
returns the original result instead of appending twice.

Shutting down (:meth:`Service.begin_shutdown`) ends live subscriptions and
starts the grace period (``server.shutdown_grace_s``); leaving
:func:`open_service` waits for store calls still running until the grace
period is over, then cancels them.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Final, TypeVar

import anyio
from anyio.abc import TaskGroup

from fleet.config import ServerConfig
from fleet.errors import StoreClosed, StoreUnavailable
from fleet.projections import ProjectionRunner
from fleet.server._api_metrics import ApiMetrics
from fleet.store import EventStore

__all__ = ["KEEPALIVE_S", "Service", "open_service"]

T = TypeVar("T")

KEEPALIVE_S: Final = 15.0
"""Seconds of silence after which a subscription stream sends a ``: keep-alive`` comment."""


class Service:
    """The state the endpoints share. Create it with :func:`open_service`."""

    def __init__(
        self,
        store: EventStore,
        config: ServerConfig,
        group: TaskGroup,
        metrics: ApiMetrics,
        keepalive_s: float,
        projections: ProjectionRunner | None = None,
    ) -> None:
        self.store = store
        self.projections = projections
        """The live read models of this process, when it keeps them."""
        self.config = config
        self.metrics = metrics
        self.keepalive_s = keepalive_s
        self.closing = anyio.Event()
        """Set when the daemon starts shutting down: subscriptions end, readiness fails."""
        self.shutdown_deadline: float | None = None
        """When the grace period ends (``anyio.current_time()`` clock), once shutting down."""
        self._group = group
        self._pending = 0
        self._idle = anyio.Event()
        self._idle.set()

    @property
    def pending_calls(self) -> int:
        """Store calls running now (answered or not)."""
        return self._pending

    def begin_shutdown(self) -> None:
        """End live subscriptions, report not ready and start the grace period.

        Requests in flight continue. Calling it again changes nothing.
        """
        if self.shutdown_deadline is None:
            self.shutdown_deadline = anyio.current_time() + self.config.shutdown_grace_s
        self.closing.set()

    def grace_left(self) -> float:
        """Seconds left of the grace period (the whole period before shutdown begins)."""
        if self.shutdown_deadline is None:
            return self.config.shutdown_grace_s
        return max(0.0, self.shutdown_deadline - anyio.current_time())

    async def call(self, function: Callable[[], Awaitable[T]], *, deadline: bool = True) -> T:
        """Run ``function()`` (a store call) and return its result within the request timeout.

        ``deadline=False`` waits as long as the call takes (for work that is
        long by nature, such as a rebuild); it still ends with the service.

        Raises:
            StoreUnavailable: no outcome within ``server.request_timeout_s``.
            StoreClosed: the service closed before the call finished.
            Exception: whatever ``function`` raised.
        """
        done = anyio.Event()
        results: list[T] = []
        errors: list[Exception] = []

        async def run() -> None:
            try:
                results.append(await function())
            except Exception as exc:
                errors.append(exc)
            finally:
                done.set()
                self._pending -= 1
                if not self._pending:
                    self._idle.set()

        self._pending += 1
        self._idle = anyio.Event() if self._idle.is_set() else self._idle
        self._group.start_soon(run)
        timeout = self.config.request_timeout_s if deadline else math.inf
        with anyio.move_on_after(timeout):
            await done.wait()
        if errors:
            raise errors[0]
        if results:
            return results[0]
        if done.is_set():
            raise StoreClosed("the daemon is shutting down; the request was not completed")
        self.metrics.store_timeouts.inc()
        raise StoreUnavailable(
            f"the store did not answer within {timeout:g} s; an append may still commit: "
            "retry with the same event ids to find out"
        )

    async def wait_idle(self) -> None:
        """Return once no store call is running."""
        while self._pending:
            await self._idle.wait()


@asynccontextmanager
async def open_service(
    store: EventStore,
    config: ServerConfig,
    *,
    metrics: ApiMetrics | None = None,
    keepalive_s: float = KEEPALIVE_S,
    projections: ProjectionRunner | None = None,
) -> AsyncIterator[Service]:
    """Open the shared state of the API over an open store.

    Args:
        store: the store the API serves; it stays open after this block.
        config: the ``[server]`` configuration.
        metrics: the instruments to count into (new ones by default).
        keepalive_s: silence before a subscription stream's keep-alive comment.
        projections: the runner keeping the read models live, if this process
            runs one (projection status then includes what each lane is doing,
            and a rebuild pauses the lane); the ``/projections`` operations
            then know its projections.
    """
    async with anyio.create_task_group() as group:
        service = Service(
            store, config, group, metrics or ApiMetrics(store), keepalive_s, projections
        )
        try:
            yield service
        finally:
            service.begin_shutdown()
            with anyio.move_on_after(service.grace_left()):
                await service.wait_idle()
            group.cancel_scope.cancel()
