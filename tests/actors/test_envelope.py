"""The one-shot reply slot shared by caller (``Pending``) and actor (``Envelope``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from actors import Envelope

pytestmark = pytest.mark.anyio


def make(message: object = "m") -> Envelope[object, int]:
    return Envelope(message, anyio.Event())


async def test_reply_wakes_every_waiter() -> None:
    envelope = make()
    results: list[int] = []
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(lambda: _collect(envelope, results))
        await anyio.wait_all_tasks_blocked()
        assert not envelope.done()
        envelope.reply(7)
    assert results == [7, 7, 7]
    assert envelope.done()


async def _collect(envelope: Envelope[object, int], results: list[int]) -> None:
    results.append(await envelope)


async def test_answer_is_kept_for_later_waits() -> None:
    envelope = make()
    envelope.reply(3)
    assert await envelope == 3
    assert await envelope.wait() == 3


async def test_failure_is_raised_in_the_caller() -> None:
    envelope = make()
    error = ValueError("nope")
    envelope.fail(error)
    with pytest.raises(ValueError, match="nope") as raised:
        await envelope
    assert raised.value is error


@pytest.mark.parametrize("second", ["reply", "fail"])
async def test_an_envelope_resolves_only_once(second: str) -> None:
    envelope = make()
    envelope.reply(1)
    again: Callable[[Any], None] = envelope.reply if second == "reply" else envelope.fail
    with pytest.raises(RuntimeError, match="already resolved"):
        again(ValueError())
    assert await envelope == 1


async def test_a_cancelled_waiter_abandons_and_late_answers_are_harmless() -> None:
    envelope = make()
    with anyio.CancelScope() as scope:
        scope.cancel()
        await envelope
    assert scope.cancelled_caught
    assert envelope.abandoned
    envelope.reply(5)
    assert envelope.message == "m"


async def test_deferred_envelope_is_answered_later() -> None:
    envelope = make()
    envelope.defer()
    assert not envelope.done()
    envelope.defer()
    envelope.reply(5)
    assert envelope.done()
    assert await envelope == 5
    with pytest.raises(RuntimeError, match="already resolved"):
        envelope.fail(ValueError("late"))
    with pytest.raises(RuntimeError, match="already resolved"):
        envelope.defer()


async def test_deferred_envelope_can_fail() -> None:
    envelope = make()
    envelope.defer()
    envelope.fail(ValueError("no"))
    with pytest.raises(ValueError, match="no"):
        await envelope
