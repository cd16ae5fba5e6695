"""Opening and closing a store."""

from __future__ import annotations

import gc

import pytest

from fleet.config import with_overrides
from fleet.core.ids import generate_mission_id
from fleet.errors import StoreClosed
from fleet.events import MissionCreated
from fleet.store import open_store

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("freeze", [True, False])
async def test_gc_freeze_on_open_is_configurable(sqlite_config, freeze):
    gc.unfreeze()
    config = with_overrides(sqlite_config, store={"freeze_gc_on_open": freeze})
    async with open_store(config) as store:
        frozen = gc.get_freeze_count()
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
    gc.unfreeze()
    assert (frozen > 0) is freeze


async def test_closed_store_refuses_appends(sqlite_config):
    async with open_store(sqlite_config) as store:
        pass
    with pytest.raises(StoreClosed):
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
    assert store.config is sqlite_config
    assert store.database.dialect == "sqlite"
