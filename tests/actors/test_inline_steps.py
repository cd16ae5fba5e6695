"""An idle actor's step runs in its caller's task under trio, with every guarantee kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest
import trio
import trio.testing

from actors import Actor, ActorCrashed, Envelope, NoReply, StopReason, open_actor_system

from .support import CRASH, IGNORE, Probe

pytestmark = pytest.mark.anyio


class TaskRecorder(Actor[Any, Any]):
    """Answers each message with the name of the task that handled it."""

    async def receive(self, batch: Sequence[Envelope[Any, Any]]) -> None:
        for envelope in batch:
            envelope.reply(_task_name())


def _task_name() -> str:
    try:
        return trio.lowlevel.current_task().name
    except RuntimeError:
        import asyncio

        task = asyncio.current_task()
        assert task is not None
        return task.get_name()


async def test_a_request_to_an_idle_actor_runs_in_the_callers_task_under_trio(
    anyio_backend_name: str,
) -> None:
    async with open_actor_system(lambda key: TaskRecorder(), idle_timeout=None) as system:
        first = await system.ask("a", None)
        await settle(anyio_backend_name)
        second = await system.ask("a", None)
        stats = system.statistics()
    assert first.endswith(".worker")
    if anyio_backend_name == "trio":
        assert second == _task_name()
    else:
        assert second.endswith(".worker")
    assert (stats.batches, stats.messages_processed) == (2, 2)


async def settle(backend: str) -> None:
    """Let every task run until all are blocked (the actor parks between requests)."""
    if backend == "trio":
        await trio.testing.wait_all_tasks_blocked()
    else:
        for _ in range(5):
            await anyio.sleep(0)


async def test_requests_arriving_during_an_inline_step_queue_and_keep_their_order(
    anyio_backend_name: str,
) -> None:
    probe = Probe()
    async with (
        open_actor_system(probe.factory, idle_timeout=None) as system,
        anyio.create_task_group() as tg,
    ):
        assert await system.ask("a", 0) == ("a", 1, 0)
        await settle(anyio_backend_name)
        entered, release = probe.hold("a")
        answers: list[Any] = []

        async def ask(message: int) -> None:
            answers.append(await system.ask("a", message))

        tg.start_soon(ask, 1)
        await entered.wait()
        pending = [system.ask_nowait("a", n) for n in (2, 3)]
        assert system.statistics().mailbox_depth == 2
        release.set()
        assert [await p for p in pending] == [("a", 1, 2), ("a", 1, 3)]
    assert answers == [("a", 1, 1)]
    assert probe.batches("a") == [[0], [1], [2, 3]]


async def test_a_caller_cancelled_during_an_inline_step_leaves_the_step_whole(
    anyio_backend_name: str,
) -> None:
    probe = Probe()
    async with (
        open_actor_system(probe.factory, idle_timeout=None) as system,
        anyio.create_task_group() as outer,
    ):
        await system.ask("a", 0)
        await settle(anyio_backend_name)
        entered, release = probe.hold("a")
        async with anyio.create_task_group() as tg:

            async def ask() -> None:
                await system.ask("a", 1)

            tg.start_soon(ask)
            await entered.wait()
            outer.start_soon(_release_later, release)
            tg.cancel_scope.cancel()
        if anyio_backend_name == "trio":
            # The caller's task could not leave before the step it ran was over.
            assert release.is_set()
        assert await system.ask("a", 2) == ("a", 1, 2)
    assert probe.batches("a") == [[0], [1], [2]]
    assert probe.incarnations["a"] == 1


async def test_a_crash_in_an_inline_step_fails_the_request_and_the_next_starts_afresh(
    anyio_backend_name: str,
) -> None:
    probe = Probe()
    async with open_actor_system(probe.factory, idle_timeout=None) as system:
        await system.ask("a", 0)
        await settle(anyio_backend_name)
        with pytest.raises(ActorCrashed):
            await system.ask("a", CRASH)
        await settle(anyio_backend_name)
        with pytest.raises(NoReply):
            await system.ask("a", IGNORE)
        assert await system.ask("a", 1) == ("a", 2, 1)
        crashes = system.statistics().crashes
    assert crashes == 1
    assert probe.kinds("a")[:3] == [("start", 1), ("batch", 1), ("batch", 1)]


async def test_closing_during_an_inline_step_stops_the_actor_after_it(
    anyio_backend_name: str,
) -> None:
    probe = Probe()
    stopped = probe.watch_stop("a")
    outcome: list[Any] = []
    async with anyio.create_task_group() as tg:
        async with open_actor_system(probe.factory, idle_timeout=None) as system:
            await system.ask("a", 0)
            await settle(anyio_backend_name)
            entered, release = probe.hold("a")

            async def ask() -> None:
                outcome.append(await system.ask("a", 1))

            tg.start_soon(ask)
            await entered.wait()
            tg.start_soon(_release_later, release)
        assert stopped.is_set()
    assert outcome == [("a", 1, 1)]
    assert probe.log[-1] == ("stop", "a", 1, StopReason.SHUTDOWN)


async def _release_later(release: anyio.Event) -> None:
    await anyio.sleep(0.01)
    release.set()


async def test_an_actor_idle_again_after_an_inline_step_is_passivated(
    anyio_backend_name: str,
) -> None:
    probe = Probe()
    async with open_actor_system(probe.factory, idle_timeout=1.0) as system:
        await system.ask("a", 0)
        await settle(anyio_backend_name)
        await system.ask("a", 1)
        await anyio.sleep(1.5)
        stats = system.statistics()
    assert (stats.live_actors, stats.passivations) == (0, 1)
    assert probe.log[-1] == ("stop", "a", 1, StopReason.IDLE)
