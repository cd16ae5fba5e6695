"""The trio one-shot event behaves like ``trio.Event``."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from actors._trio import TrioEvent


@pytest.mark.trio
async def test_set_wakes_every_waiter_once() -> None:
    event = TrioEvent()
    woken: list[int] = []

    async def waiter(number: int) -> None:
        await event.wait()
        woken.append(number)

    async with trio.open_nursery() as nursery:
        for number in range(3):
            nursery.start_soon(waiter, number)
        await trio.testing.wait_all_tasks_blocked()
        assert not event.is_set()
        event.set()
        event.set()
    assert sorted(woken) == [0, 1, 2]
    assert event.is_set()


@pytest.mark.trio
@pytest.mark.parametrize("waiters", [1, 2])
async def test_cancelled_waiters_are_forgotten(waiters: int) -> None:
    event = TrioEvent()
    woken: list[int] = []

    async def waiter(number: int) -> None:
        await event.wait()
        woken.append(number)

    async with trio.open_nursery() as nursery:
        with trio.CancelScope() as scope:
            for number in range(waiters):
                nursery.start_soon(waiter, number)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        assert not scope.cancelled_caught
    event.set()
    assert woken == []
    assert event._waiter is None
    assert not event._waiters


@pytest.mark.trio
async def test_waiting_on_a_set_event_is_a_checkpoint() -> None:
    event = TrioEvent()
    event.set()
    with trio.CancelScope() as scope:
        scope.cancel()
        await event.wait()
    assert scope.cancelled_caught
    await event.wait()
