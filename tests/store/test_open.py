"""Opening and closing a store."""

from __future__ import annotations

import gc
import sys

import pytest

from fleet.config import SERVING_INTERPRETER, for_serving, with_overrides
from fleet.errors import StoreClosed
from fleet.store import open_store
from fleet.vocabulary import MissionCreated, generate_mission_id

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("freeze", [True, False])
async def test_gc_freeze_on_open_is_configurable_and_undone_on_close(sqlite_config, freeze):
    gc.unfreeze()
    config = with_overrides(sqlite_config, store={"freeze_gc_on_open": freeze})
    async with open_store(config) as store:
        frozen = gc.get_freeze_count()
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
    assert gc.get_freeze_count() == 0
    assert (frozen > 0) is freeze


async def test_a_freeze_made_by_the_caller_is_left_alone(sqlite_config):
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        config = with_overrides(sqlite_config, store={"freeze_gc_on_open": True})
        async with open_store(config):
            pass
        assert gc.get_freeze_count() >= before > 0
    finally:
        gc.unfreeze()


async def test_a_library_store_leaves_the_interpreter_alone(sqlite_config):
    gc.unfreeze()
    settings = (gc.get_threshold(), sys.getswitchinterval())
    async with open_store(sqlite_config) as store:
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
        during = (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count())
    assert during == (*settings, 0)


async def test_a_process_that_serves_tunes_the_interpreter_and_restores_it(sqlite_config):
    gc.unfreeze()
    settings = (gc.get_threshold(), sys.getswitchinterval())
    tuned = for_serving(sqlite_config)
    assert for_serving(tuned) is tuned
    explicit = for_serving(with_overrides(sqlite_config, store={"gc_threshold": 0}))
    assert explicit.store.gc_threshold == 0
    assert explicit.store.switch_interval_ms == SERVING_INTERPRETER["switch_interval_ms"]
    async with open_store(tuned) as store:
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
        assert gc.get_threshold()[0] == SERVING_INTERPRETER["gc_threshold"]
        assert sys.getswitchinterval() == SERVING_INTERPRETER["switch_interval_ms"] / 1000
        assert gc.get_freeze_count() > 0
    assert (gc.get_threshold(), sys.getswitchinterval(), gc.get_freeze_count()) == (*settings, 0)


async def test_closed_store_refuses_appends(sqlite_config):
    async with open_store(sqlite_config) as store:
        pass
    with pytest.raises(StoreClosed):
        await store.append(generate_mission_id(), [MissionCreated(title="t")])
    assert store.config is sqlite_config
    assert store.database.dialect == "sqlite"
