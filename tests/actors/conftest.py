"""Run every ``@pytest.mark.anyio`` test under trio (with an autojumping clock) and asyncio."""

from __future__ import annotations

from typing import Any

import pytest
import trio.testing


@pytest.fixture(params=["trio", "asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """Each backend in turn; trio gets a fresh ``MockClock`` that jumps when all tasks block."""
    if request.param == "trio":
        return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
    return "asyncio"
