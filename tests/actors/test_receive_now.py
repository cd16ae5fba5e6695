"""Actors that take a message in the sender's own task (``ReceivesNow``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from actors import (
    Actor,
    ActorCrashed,
    Envelope,
    NoReply,
    ReceivesNow,
    StopReason,
    open_actor_system,
)

pytestmark = pytest.mark.anyio

TAKE = "take"
DECLINE = "decline"
HOLD = "hold"
CRASH_NOW = "crash-now"
LEAVE = "leave"


class Counter(Actor[str, tuple[str, str, int]]):
    """Answers ``(how, message, n)``: ``how`` says which path took it, ``n`` counts steps.

    ``receive_now`` takes ``TAKE`` and ``LEAVE`` (leaving the latter pending),
    raises on ``CRASH_NOW`` and declines the rest; ``receive`` waits for
    ``release`` on ``HOLD``.
    """

    def __init__(self, log: list[tuple[str, Any]], release: anyio.Event) -> None:
        self.log = log
        self.release = release
        self.steps = 0
        self.busy = False

    async def on_start(self) -> None:
        self.log.append(("start", None))

    def receive_now(self, envelope: Envelope[str, tuple[str, str, int]]) -> bool:
        assert not self.busy, "receive_now ran beside receive"
        message = envelope.message
        if message == CRASH_NOW:
            raise RuntimeError("boom")
        if message not in (TAKE, LEAVE):
            return False
        self.steps += 1
        self.log.append(("now", message))
        if message == TAKE:
            envelope.reply(("now", message, self.steps))
        return True

    async def receive(self, batch: Sequence[Envelope[str, tuple[str, str, int]]]) -> None:
        self.busy = True
        self.log.append(("batch", [envelope.message for envelope in batch]))
        for envelope in batch:
            if envelope.message == HOLD:
                await self.release.wait()
            self.steps += 1
            envelope.reply(("queued", envelope.message, self.steps))
        self.busy = False

    async def on_stop(self, reason: StopReason) -> None:
        self.log.append(("stop", reason))


def test_counter_is_a_receives_now_actor() -> None:
    actor: ReceivesNow[str, Any] = Counter([], anyio.Event())
    assert actor.receive_now is not None


async def test_an_idle_actor_takes_a_message_in_the_senders_task() -> None:
    log: list[tuple[str, Any]] = []
    release = anyio.Event()
    async with open_actor_system(lambda key: Counter(log, release), idle_timeout=None) as system:
        # The first message starts the actor, so it is queued.
        assert await system.ask("k", TAKE) == ("queued", TAKE, 1)
        assert await system.ask("k", TAKE) == ("now", TAKE, 2)
        assert await system.ask("k", DECLINE) == ("queued", DECLINE, 3)
        assert await system.ask("k", TAKE) == ("now", TAKE, 4)
        stats = system.statistics()
        assert (stats.messages_processed, stats.batches) == (4, 4)
    assert log == [
        ("start", None),
        ("batch", [TAKE]),
        ("now", TAKE),
        ("batch", [DECLINE]),
        ("now", TAKE),
        ("stop", StopReason.SHUTDOWN),
    ]


async def test_a_busy_actor_is_never_offered_a_message_and_order_holds() -> None:
    log: list[tuple[str, Any]] = []
    release = anyio.Event()
    answers: list[tuple[str, str, int]] = []
    async with open_actor_system(lambda key: Counter(log, release), idle_timeout=None) as system:
        await system.ask("k", DECLINE)

        async def ask(message: str) -> None:
            answers.append(await system.ask("k", message))

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask, HOLD)
            await anyio.wait_all_tasks_blocked()
            # The actor is inside receive: these queue behind HOLD, in order.
            tg.start_soon(ask, TAKE)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(ask, TAKE)
            await anyio.wait_all_tasks_blocked()
            release.set()
    assert sorted(answers, key=lambda answer: answer[2]) == [
        ("queued", HOLD, 2),
        ("queued", TAKE, 3),
        ("queued", TAKE, 4),
    ]
    assert ("now", TAKE) not in log


async def test_a_crash_in_receive_now_fails_the_message_and_replaces_the_actor() -> None:
    log: list[tuple[str, Any]] = []
    crashes: list[tuple[Any, BaseException]] = []
    release = anyio.Event()
    async with open_actor_system(
        lambda key: Counter(log, release),
        idle_timeout=None,
        on_crash=lambda key, error: crashes.append((key, error)),
    ) as system:
        await system.ask("k", DECLINE)
        with pytest.raises(ActorCrashed) as crashed:
            await system.ask("k", CRASH_NOW)
        assert isinstance(crashed.value.__cause__, RuntimeError)
        # A fresh incarnation, started from the mailbox, answers next.
        assert await system.ask("k", TAKE) == ("queued", TAKE, 1)
        assert await system.ask("k", TAKE) == ("now", TAKE, 2)
        assert system.statistics().crashes == 1
    assert [key for key, _ in crashes] == ["k"]
    assert [entry for entry in log if entry[0] == "start"] == [("start", None)] * 2
    # The crashed incarnation is never stopped; the second one is.
    assert [entry for entry in log if entry[0] == "stop"] == [("stop", StopReason.SHUTDOWN)]


async def test_a_message_taken_but_left_pending_fails_with_no_reply() -> None:
    release = anyio.Event()
    async with open_actor_system(lambda key: Counter([], release), idle_timeout=None) as system:
        await system.ask("k", DECLINE)
        with pytest.raises(NoReply):
            await system.ask("k", LEAVE)
        assert await system.ask("k", TAKE) == ("now", TAKE, 3)


async def test_taking_a_message_keeps_the_actor_from_being_passivated() -> None:
    log: list[tuple[str, Any]] = []
    release = anyio.Event()
    async with open_actor_system(lambda key: Counter(log, release), idle_timeout=1.0) as system:
        await system.ask("k", DECLINE)
        for _ in range(5):
            await anyio.sleep(0.6)
            assert (await system.ask("k", TAKE))[0] == "now"
        assert system.statistics().passivations == 0
        await anyio.sleep(1.5)
        assert system.statistics().passivations == 1


async def test_taking_a_message_makes_the_actor_the_last_evicted() -> None:
    release = anyio.Event()
    async with open_actor_system(
        lambda key: Counter([], release), idle_timeout=None, max_live=2
    ) as system:
        await system.ask("a", DECLINE)
        await system.ask("b", DECLINE)
        assert (await system.ask("a", TAKE))[0] == "now"
        # "b" is now the least recently used idle actor: a third key evicts it.
        await system.ask("c", DECLINE)
        assert system.statistics().evictions == 1
        assert (await system.ask("a", TAKE))[0] == "now"
        # "b" starts afresh: its first message is queued while it loads.
        assert (await system.ask("b", TAKE))[0] == "queued"
