"""Behaviour of ``ActorSystem`` through its public API, under trio and asyncio."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.abc
import pytest
import trio.testing

from actors import (
    Actor,
    ActorCrashed,
    ActorStatistics,
    ActorSystem,
    Envelope,
    MailboxFull,
    NoReply,
    StopReason,
    SystemClosed,
    open_actor_system,
)

from .support import CRASH, IGNORE, Probe

pytestmark = pytest.mark.anyio

GUARD = 10


def system_for(probe: Probe, **options: Any) -> Any:
    options.setdefault("idle_timeout", None)
    return open_actor_system(probe.factory, **options)


async def start_ask(
    tg: anyio.abc.TaskGroup, system: ActorSystem[Any, Any, Any], key: Any, message: Any
) -> list[Any]:
    """Start a task that asks and has queued its request by the time this returns."""
    outcome: list[Any] = []

    async def asker(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        task_status.started()
        try:
            outcome.append(await system.ask(key, message))
        except Exception as error:
            outcome.append(error)

    await tg.start(asker)
    return outcome


async def test_first_message_spawns_and_starts_the_actor_before_its_batch() -> None:
    probe = Probe()
    async with system_for(probe) as system:
        assert system.statistics().live_actors == 0
        assert await system.ask("a", 1) == ("a", 1, 1)
        assert await system.ask("a", 2) == ("a", 1, 2)
        stats = system.statistics()
    assert probe.log[:3] == [("start", "a", 1), ("batch", "a", 1, [1]), ("batch", "a", 1, [2])]
    assert (stats.live_actors, stats.spawned, stats.batches, stats.messages_processed) == (
        1,
        1,
        2,
        2,
    )


async def test_messages_queued_during_a_batch_arrive_as_one_batch() -> None:
    probe = Probe()
    async with system_for(probe) as system, anyio.create_task_group() as tg:
        entered, release = probe.hold("a")
        first = await start_ask(tg, system, "a", 0)
        await entered.wait()
        pending = [system.ask_nowait("a", n) for n in range(1, 6)]
        stats = system.statistics()
        assert (stats.mailbox_depth, stats.max_mailbox_depth) == (5, 5)
        release.set()
        assert [await p for p in pending] == [("a", 1, n) for n in range(1, 6)]
    assert first == [("a", 1, 0)]
    assert probe.batches("a") == [[0], [1, 2, 3, 4, 5]]


async def test_full_mailbox_blocks_ask_and_refuses_ask_nowait() -> None:
    probe = Probe()
    async with system_for(probe, mailbox_size=2) as system, anyio.create_task_group() as tg:
        entered, release = probe.hold("a")
        await start_ask(tg, system, "a", 0)
        await entered.wait()
        queued = [system.ask_nowait("a", 1), system.ask_nowait("a", 2)]
        with pytest.raises(MailboxFull) as refused:
            system.ask_nowait("a", "refused")
        assert isinstance(refused.value, anyio.WouldBlock)
        blocked = [await start_ask(tg, system, "a", n) for n in (3, 4, 5)]
        stats = system.statistics()
        assert (stats.mailbox_depth, stats.blocked_senders) == (2, 3)
        release.set()
        assert [await p for p in queued] == [("a", 1, 1), ("a", 1, 2)]
    assert blocked == [[("a", 1, 3)], [("a", 1, 4)], [("a", 1, 5)]]
    assert probe.batches("a") == [[0], [1, 2], [3, 4], [5]]


async def test_replies_and_errors_reach_the_caller() -> None:
    probe = Probe()
    refusal = LookupError("no such thing")
    async with system_for(probe) as system:
        with pytest.raises(LookupError) as raised:
            await system.ask("a", refusal)
        assert raised.value is refusal
        with pytest.raises(NoReply, match="without answering") as unanswered:
            await system.ask("a", IGNORE)
        assert unanswered.value.key == "a"
        assert await system.ask("a", 1) == ("a", 1, 1)
        assert system.statistics().crashes == 0


async def test_a_crash_fails_its_batch_only_and_the_key_restarts_fresh() -> None:
    probe = Probe()
    crashes: list[tuple[Any, BaseException]] = []
    async with (
        system_for(probe, on_crash=lambda key, error: crashes.append((key, error))) as system,
        anyio.create_task_group() as tg,
    ):
        assert await system.ask("b", 1) == ("b", 1, 1)
        entered, release = probe.hold("a")
        first = system.ask_nowait("a", 1)
        crashing = system.ask_nowait("a", CRASH)
        after = system.ask_nowait("a", 2)
        sibling = await start_ask(tg, system, "b", 2)
        await entered.wait()
        queued = system.ask_nowait("a", 3)
        release.set()
        assert await first == ("a", 1, 1)
        for pending in (crashing, after):
            with pytest.raises(ActorCrashed, match="boom") as crashed:
                await pending
            assert crashed.value.key == "a"
            assert isinstance(crashed.value.__cause__, RuntimeError)
        assert await queued == ("a", 2, 3)
        assert await system.ask("b", 3) == ("b", 1, 3)
        stats = system.statistics()
    assert sibling == [("b", 1, 2)]
    assert stats.crashes == 1
    assert [key for key, _ in crashes] == ["a"]
    assert ("stop", "a", 1, StopReason.SHUTDOWN) not in probe.log
    assert probe.kinds("a") == [("start", 1), ("batch", 1), ("start", 2), ("batch", 2), ("stop", 2)]


async def test_crashed_actor_with_empty_mailbox_restarts_on_next_message() -> None:
    probe = Probe()
    async with system_for(probe) as system:
        with pytest.raises(ActorCrashed):
            await system.ask("a", CRASH)
        assert system.statistics().live_actors == 1
        assert await system.ask("a", 1) == ("a", 2, 1)


async def test_failing_on_start_fails_the_waiting_requests() -> None:
    probe = Probe()
    probe.failing_starts.add("a")
    async with system_for(probe) as system:
        pending = [system.ask_nowait("a", n) for n in range(3)]
        for p in pending:
            with pytest.raises(ActorCrashed, match="cannot load") as crashed:
                await p
            assert isinstance(crashed.value.__cause__, ValueError)
        probe.failing_starts.clear()
        assert await system.ask("a", 4) == ("a", 2, 4)
        assert system.statistics().crashes == 1
    assert probe.batches("a") == [[4]]


async def test_failing_factory_is_a_failed_start() -> None:
    def factory(key: str) -> Any:
        raise KeyError(key)

    async with open_actor_system(factory, idle_timeout=None) as system:
        with pytest.raises(ActorCrashed) as crashed:
            await system.ask("a", 1)
        assert isinstance(crashed.value.__cause__, KeyError)


async def test_failing_on_stop_is_counted_and_reported_but_harmless() -> None:
    probe = Probe()
    probe.failing_stops.add("a")
    crashes: list[Any] = []
    async with system_for(probe, on_crash=lambda key, error: crashes.append(error)) as system:
        await system.ask("a", 1)
    assert system.statistics().crashes == 1
    assert isinstance(crashes[0], OSError)


async def test_idle_actor_is_passivated_and_comes_back_fresh() -> None:
    probe = Probe()
    async with system_for(probe, idle_timeout=0.01) as system:
        stopped = probe.watch_stop("a")
        with anyio.fail_after(GUARD):
            await system.ask("a", 1)
            await stopped.wait()
        assert probe.log[-1] == ("stop", "a", 1, StopReason.IDLE)
        stats = system.statistics()
        assert (stats.live_actors, stats.passivations) == (0, 1)
        assert await system.ask("a", 2) == ("a", 2, 2)


@pytest.mark.parametrize(
    "anyio_backend", [("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})]
)
async def test_passivation_waits_for_a_full_idle_period() -> None:
    """Trio only: its MockClock controls time exactly."""
    probe = Probe()
    async with system_for(probe, idle_timeout=10) as system:
        await system.ask("a", 1)
        await anyio.sleep(6)
        await system.ask("a", 2)
        await system.ask("b", 1)
        await anyio.sleep(6)
        assert system.statistics().live_actors == 2
        await anyio.sleep(5)
        assert system.statistics().passivations == 2
    assert sorted(e[1] for e in probe.log if e[0] == "stop") == ["a", "b"]


async def test_cap_evicts_least_recently_used_idle_actor() -> None:
    probe = Probe()
    async with system_for(probe, max_live=2) as system:
        await system.ask("a", 1)
        await system.ask("b", 1)
        await system.ask("a", 2)
        await system.ask("c", 1)
        stats = system.statistics()
        assert (stats.live_actors, stats.evictions) == (2, 1)
        assert ("stop", "b", 1, StopReason.EVICTED) in probe.log
        assert await system.ask("a", 3) == ("a", 1, 3)


async def test_cap_never_stops_a_busy_actor() -> None:
    probe = Probe()
    async with system_for(probe, max_live=1) as system, anyio.create_task_group() as tg:
        entered, release = probe.hold("a")
        busy = await start_ask(tg, system, "a", 1)
        await entered.wait()
        b_stopped = probe.watch_stop("b")
        try:
            assert await system.ask("b", 1) == ("b", 1, 1)
            await b_stopped.wait()
            assert system.statistics().live_actors == 1
        finally:
            release.set()
        assert ("stop", "b", 1, StopReason.EVICTED) in probe.log
    assert busy == [("a", 1, 1)]
    assert ("stop", "a", 1, StopReason.SHUTDOWN) in probe.log


async def test_new_incarnation_waits_for_previous_on_stop() -> None:
    probe = Probe()
    async with system_for(probe, max_live=1) as system, anyio.create_task_group() as tg:
        await system.ask("a", 1)
        probe.stop_holds["a"] = release = anyio.Event()
        stopping = probe.watch_stop("a")
        await system.ask("b", 1)
        again = await start_ask(tg, system, "a", 2)
        stats = system.statistics()
        assert stats.stopping_actors >= 1
        assert ("start", "a", 2) not in probe.log
        release.set()
        await stopping.wait()
    assert again == [("a", 2, 2)]
    assert probe.kinds("a")[:4] == [("start", 1), ("batch", 1), ("stop", 1), ("start", 2)]


async def test_leaving_the_block_drains_every_mailbox_then_stops_actors() -> None:
    probe = Probe()
    async with anyio.create_task_group() as outer:
        async with system_for(probe, mailbox_size=2) as system:
            entered, release = probe.hold("a")
            held = system.ask_nowait("a", 0)
            await entered.wait()
            queued = [system.ask_nowait("a", 1), system.ask_nowait("a", 2)]
            blocked = await start_ask(outer, system, "a", 3)
            other = system.ask_nowait("b", 1)

            async def release_once_closed() -> None:
                while not system.closed:
                    await anyio.lowlevel.checkpoint()
                with pytest.raises(SystemClosed):
                    await system.ask("c", 1)
                release.set()

            outer.start_soon(release_once_closed)
        assert [await p for p in (held, *queued, other)] == [
            ("a", 1, 0),
            ("a", 1, 1),
            ("a", 1, 2),
            ("b", 1, 1),
        ]
    assert blocked == [("a", 1, 3)]
    assert probe.log[-1][0] == "stop"
    assert {e[1]: e[3] for e in probe.log if e[0] == "stop"} == {
        "a": StopReason.SHUTDOWN,
        "b": StopReason.SHUTDOWN,
    }
    stats = system.statistics()
    assert (stats.live_actors, stats.stopping_actors, stats.messages_processed) == (0, 0, 5)


async def test_requests_after_close_raise_system_closed() -> None:
    probe = Probe()
    async with system_for(probe) as system:
        await system.ask("a", 1)
    assert system.closed
    with pytest.raises(SystemClosed, match="closed"):
        await system.ask("a", 2)
    with pytest.raises(SystemClosed):
        system.ask_nowait("b", 2)


async def test_an_exception_in_the_block_still_drains() -> None:
    probe = Probe()
    pending: list[Any] = []

    async def fail_after_queueing() -> None:
        async with system_for(probe) as system:
            pending.append(system.ask_nowait("a", 1))
            raise LookupError("caller bug")

    with pytest.raises(ExceptionGroup) as group:
        await fail_after_queueing()
    assert group.value.subgroup(LookupError) is not None
    assert await pending[0] == ("a", 1, 1)
    assert probe.log[-1] == ("stop", "a", 1, StopReason.SHUTDOWN)


async def test_cancelling_the_system_fails_unanswered_requests() -> None:
    probe = Probe()
    async with anyio.create_task_group() as outer:
        with anyio.CancelScope() as scope:
            async with system_for(probe, mailbox_size=1) as system:
                entered, _ = probe.hold("a")
                held = system.ask_nowait("a", 1)
                await entered.wait()
                queued = system.ask_nowait("a", 2)
                blocked = await start_ask(outer, system, "a", 3)
                scope.cancel()
    for pending in (held, queued):
        with pytest.raises(SystemClosed, match="before answering"):
            await pending
    assert isinstance(blocked[0], SystemClosed)
    assert all(entry[0] != "stop" for entry in probe.log)


async def test_cancelling_the_enclosing_scope_raises_the_backends_own_cancellation() -> None:
    probe = Probe()
    seen: list[type[BaseException]] = []
    with anyio.CancelScope() as scope:
        try:
            async with system_for(probe) as system:
                for key in ("a", "b"):
                    entered, _ = probe.hold(key)
                    system.ask_nowait(key, 1)
                    await entered.wait()
                scope.cancel()
                await anyio.sleep(1)
        except BaseException as exc:
            seen.append(type(exc))
            raise
    assert scope.cancelled_caught
    assert seen == [anyio.get_cancelled_exc_class()]


async def test_caller_cancelled_while_waiting_leaves_actor_working() -> None:
    probe = Probe()
    async with system_for(probe) as system:
        entered, release = probe.hold("a")
        with anyio.move_on_after(GUARD) as scope:
            pending = system.ask_nowait("a", 1)
            abandoned = system.ask_nowait("a", 2)
            await entered.wait()
            scope.cancel()
            await abandoned
        assert scope.cancelled_caught
        release.set()
        assert await pending == ("a", 1, 1)
        assert abandoned.done()
        assert await system.ask("a", 3) == ("a", 1, 3)


async def test_cancelled_reply_wait_is_seen_by_actor_as_abandoned() -> None:
    probe = Probe()
    async with system_for(probe) as system:
        entered, release = probe.hold("a")
        held = system.ask_nowait("a", 0)
        await entered.wait()
        with anyio.CancelScope() as scope:
            waiter = system.ask_nowait("a", 1)
            scope.cancel()
            await waiter
        release.set()
        assert await held == ("a", 1, 0)
        assert await waiter == ("a", 1, 1)
    assert probe.abandoned == [1]


async def test_sender_cancelled_while_blocked_on_space_is_withdrawn() -> None:
    probe = Probe()
    async with system_for(probe, mailbox_size=1) as system, anyio.create_task_group() as tg:
        entered, release = probe.hold("a")
        held = system.ask_nowait("a", 0)
        await entered.wait()
        queued = system.ask_nowait("a", 1)
        with anyio.CancelScope() as scope:

            async def cancel() -> None:
                scope.cancel()

            tg.start_soon(cancel)
            await system.ask("a", "withdrawn")
        later = await start_ask(tg, system, "a", 2)
        release.set()
        assert [await held, await queued] == [("a", 1, 0), ("a", 1, 1)]
    assert later == [("a", 1, 2)]
    assert probe.batches("a") == [[0], [1], [2]]


async def test_statistics_is_a_frozen_record() -> None:
    async with system_for(Probe()) as system:
        stats = system.statistics()
    assert isinstance(stats, ActorStatistics)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.spawned = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "options",
    [{"mailbox_size": 0}, {"idle_timeout": -1.0}, {"max_live": 0}],
)
async def test_out_of_range_limits_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        async with open_actor_system(Probe().factory, **options):
            pass  # pragma: no cover


class AnswerFirstThenHang(Actor[int, int]):
    async def receive(self, batch: Sequence[Envelope[int, int]]) -> None:
        batch[0].reply(batch[0].message)
        await anyio.sleep_forever()


async def test_cancelling_mid_batch_keeps_answers_already_given() -> None:
    def factory(key: str) -> AnswerFirstThenHang:
        return AnswerFirstThenHang()

    with anyio.CancelScope() as scope:
        async with open_actor_system(factory) as system:
            first = system.ask_nowait("a", 1)
            second = system.ask_nowait("a", 2)
            assert await first == 1
            scope.cancel()
    with pytest.raises(SystemClosed):
        await second


async def test_a_raising_crash_callback_tears_the_system_down() -> None:
    def on_crash(key: Any, error: BaseException) -> None:
        raise SystemError("logger broke")

    probe = Probe()
    systems: list[Any] = []

    async def crash_once() -> None:
        async with system_for(probe, on_crash=on_crash) as system:
            systems.append(system)
            await system.ask("a", CRASH)

    with pytest.raises(ExceptionGroup) as group:
        await crash_once()
    assert group.value.subgroup(SystemError) is not None
    assert systems[0].statistics().live_actors == 0
