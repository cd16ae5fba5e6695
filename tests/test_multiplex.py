"""The multiplexer: concurrent requests go out together, each gets its own answer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio
import trio.testing

from fleet.errors import StoreUnavailable, ValidationError
from fleet.multiplex import Multiplexer

pytestmark = pytest.mark.trio


class Echo:
    """A sender that answers ``n * 10`` after a checkpoint, refuses negatives alone,
    and fails a whole batch that holds 13."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = trio.Event()
        self.gate.set()

    async def send(self, batch: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(batch))
        await self.gate.wait()
        await trio.sleep(0)
        if 13 in batch:
            raise StoreUnavailable("connection reset")
        return [ValidationError(f"{n} is negative") if n < 0 else n * 10 for n in batch]


async def test_a_lone_request_goes_at_once_and_alone() -> None:
    echo = Echo()
    mux = Multiplexer(echo.send, max_batch=100)
    assert await mux.submit(4) == 40
    assert await mux.submit(5) == 50
    assert echo.batches == [[4], [5]]


async def test_requests_gather_while_the_slots_are_busy() -> None:
    echo = Echo()
    echo.gate = trio.Event()
    mux = Multiplexer(echo.send, max_batch=10, max_in_flight=1)
    answers: dict[int, int] = {}

    async def one(n: int) -> None:
        answers[n] = await mux.submit(n)

    async with trio.open_nursery() as nursery:
        for n in range(100, 125):
            nursery.start_soon(one, n)
        await trio.testing.wait_all_tasks_blocked()
        assert mux.in_flight == 1
        echo.gate.set()
    assert answers == {n: n * 10 for n in range(100, 125)}
    assert len(echo.batches[0]) == 1
    assert sorted(len(b) for b in echo.batches[1:]) == [4, 10, 10]
    assert sorted(n for b in echo.batches for n in b) == list(range(100, 125))


async def _concurrently(mux: Multiplexer[int, int], echo: Echo, *ns: int) -> dict[int, object]:
    """Submit ``ns`` together behind a blocker (so they go as one batch); their outcomes."""
    echo.gate = trio.Event()
    outcomes: dict[int, object] = {}

    async def one(n: int) -> None:
        try:
            outcomes[n] = await mux.submit(n)
        except Exception as exc:
            outcomes[n] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(one, 0)
        await trio.testing.wait_all_tasks_blocked()
        for n in ns:
            nursery.start_soon(one, n)
        await trio.testing.wait_all_tasks_blocked()
        echo.gate.set()
    return outcomes


async def test_each_request_gets_its_own_error_and_a_failed_batch_fails_its_requests() -> None:
    echo = Echo()
    mux = Multiplexer(echo.send, max_batch=10, max_in_flight=1)
    outcomes = await _concurrently(mux, echo, -2, 4)
    assert isinstance(outcomes[-2], ValidationError)
    assert outcomes[4] == 40
    outcomes = await _concurrently(mux, echo, 5, 13)
    # 5 went in 13's batch: the batch failed, so it did.
    assert isinstance(outcomes[5], StoreUnavailable)
    assert isinstance(outcomes[13], StoreUnavailable)
    assert [sorted(batch) for batch in echo.batches] == [[0], [-2, 4], [0], [5, 13]]


async def test_a_cancelled_sender_fails_its_batch_and_hands_on_the_slot() -> None:
    echo = Echo()
    echo.gate = trio.Event()
    mux = Multiplexer(echo.send, max_batch=2, max_in_flight=1)
    outcomes: dict[int, object] = {}
    leader = trio.CancelScope()

    async def one(n: int) -> None:
        try:
            outcomes[n] = await mux.submit(n)
        except Exception as exc:
            outcomes[n] = exc

    async def lead() -> None:
        with leader:
            await mux.submit(1)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(lead)
        await trio.testing.wait_all_tasks_blocked()
        for n in (2, 3):
            nursery.start_soon(one, n)
        await trio.testing.wait_all_tasks_blocked()
        leader.cancel()
        await trio.testing.wait_all_tasks_blocked()
        echo.gate.set()
    # 1's batch was cancelled on its way; 2 and 3 went in the next one.
    assert [sorted(batch) for batch in echo.batches] == [[1], [2, 3]]
    assert (outcomes[2], outcomes[3]) == (20, 30)


async def test_a_sender_that_loses_answers_fails_the_batch() -> None:
    async def short(batch: Sequence[int]) -> list[int | BaseException]:
        return [1] if len(batch) > 1 else [7]

    echo = Echo()

    async def sends(batch: Sequence[int]) -> list[int | BaseException]:
        await echo.send(batch)
        return await short(batch)

    mux = Multiplexer(sends, max_batch=5, max_in_flight=1)
    outcomes = await _concurrently(mux, echo, 2, 3)
    assert outcomes[0] == 7
    for n in (2, 3):
        assert isinstance(outcomes[n], StoreUnavailable)
        assert "1 answers came back for 2 requests" in str(outcomes[n])
    with pytest.raises(ValueError, match="must be >= 1"):
        Multiplexer(short, max_batch=0)
