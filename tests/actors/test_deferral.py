"""Actors that answer after ``receive`` returned (``Envelope.defer``)."""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import pytest

from actors import Envelope, open_actor_system

pytestmark = pytest.mark.anyio


class Forwarder:
    """Defers every request and answers it from a separate task, like a writer would."""

    def __init__(self, outbox: list[tuple[Envelope[int, int], int]], ready: anyio.Event) -> None:
        self.outbox = outbox
        self.ready = ready

    async def on_start(self) -> None:
        return None

    async def receive(self, batch: Sequence[Envelope[int, int]]) -> None:
        for envelope in batch:
            envelope.defer()
            self.outbox.append((envelope, envelope.message * 2))
        self.ready.set()

    async def on_stop(self, reason: object) -> None:
        return None


async def test_deferred_requests_are_not_failed_by_the_runtime() -> None:
    outbox: list[tuple[Envelope[int, int], int]] = []
    ready = anyio.Event()
    results: list[int] = []
    async with open_actor_system(lambda key: Forwarder(outbox, ready)) as system:

        async def ask(n: int) -> None:
            results.append(await system.ask("k", n))

        async with anyio.create_task_group() as group:
            for n in range(5):
                group.start_soon(ask, n)
            await ready.wait()
            await anyio.wait_all_tasks_blocked()
            assert results == []
            for envelope, value in outbox:
                envelope.reply(value)
    assert sorted(results) == [0, 2, 4, 6, 8]
