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
