"""Native primitives are picked for the running loop."""

from __future__ import annotations

import asyncio

import pytest

from actors._backend import current_backend

pytestmark = pytest.mark.anyio


async def test_primitives_belong_to_the_running_loop(anyio_backend_name: str) -> None:
    backend = current_backend()
    event = backend.event()
    event.set()
    await event.wait()
    assert event.is_set()
    assert isinstance(backend.now(), float)
    assert isinstance(event, asyncio.Event) == (anyio_backend_name == "asyncio")


def test_the_trio_clock_is_the_runs_own_even_a_mock_one() -> None:
    import trio
    import trio.testing

    clock = trio.testing.MockClock(autojump_threshold=0)

    async def main() -> tuple[float, float, float]:
        now = current_backend().now
        before = now()
        await trio.sleep(5)
        return before, now(), trio.current_time()

    before, after, current = trio.run(main, clock=clock)
    assert after - before == 5
    assert after == current
