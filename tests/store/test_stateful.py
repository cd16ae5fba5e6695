"""The store against a plain in-memory model of streams (hypothesis stateful testing).

The store runs on a trio loop in a background thread; each rule calls into it
with ``trio.from_thread``. After every step the model and the store agree on
every stream's version, and at the end the database holds exactly the model's
events with gap-free positions.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from fleet.config import Config, with_overrides
from fleet.errors import WrongExpectedVersion
from fleet.events import NewEvent
from fleet.store import ANY, NO_STREAM, STREAM_EXISTS, open_store
from fleet.vocabulary import MissionCreated, MissionUpdated, generate_mission_id


class StoreThread:
    """An open store on a trio loop in its own thread."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.store: Any = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise self._failure

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        async with open_store(self._config) as store:
            self.store = store
            self.token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            self._ready.set()
            await self._stop.wait()

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        async def invoke() -> Any:
            return await fn(*args, **kwargs)

        return trio.from_thread.run(invoke, trio_token=self.token)

    def close(self) -> None:
        trio.from_thread.run_sync(self._stop.set, trio_token=self.token)
        self._thread.join(30)


EXPECTATIONS = st.sampled_from(["any", "exact", "stale", "no_stream", "exists"])


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp()
        self.config = with_overrides(
            Config(project_dir=self.directory),
            database={"url": f"sqlite:///{Path(self.directory) / 'fleet.db'}"},
            store={"snapshot_every": 3},
        )
        self.model: dict[str, int] = {}
        self.last_append: tuple[str, list[NewEvent], Any] | None = None
        self.runner: StoreThread | None = None

    @initialize()
    def open(self) -> None:
        self.runner = StoreThread(self.config)

    @rule()
    def create_stream(self) -> None:
        stream = generate_mission_id()
        result = self.runner.call(
            self.runner.store.append, stream, [MissionCreated(title="t")], NO_STREAM
        )
        assert result.last_version == 1
        self.model[stream] = 1

    @precondition(lambda self: self.model)
    @rule(data=st.data(), count=st.integers(1, 4), how=EXPECTATIONS)
    def append(self, data: st.DataObject, count: int, how: str) -> None:
        stream = data.draw(st.sampled_from(sorted(self.model)))
        version = self.model[stream]
        expected: Any = {
            "any": ANY,
            "exact": version,
            "stale": version - 1,
            "no_stream": NO_STREAM,
            "exists": STREAM_EXISTS,
        }[how]
        events = [NewEvent(MissionUpdated(description=f"{i}")) for i in range(count)]
        if how in {"stale", "no_stream"}:
            with pytest.raises(WrongExpectedVersion) as info:
                self.runner.call(self.runner.store.append, stream, events, expected)
            assert info.value.actual == version
            return
        result = self.runner.call(self.runner.store.append, stream, events, expected)
        assert list(result.versions) == list(range(version + 1, version + count + 1))
        self.model[stream] = version + count
        self.last_append = (stream, events, result)

    @precondition(lambda self: self.last_append is not None)
    @rule()
    def retry_last_append(self) -> None:
        stream, events, original = self.last_append
        again = self.runner.call(
            self.runner.store.append, stream, events, original.first_version - 1
        )
        assert again == original

    @rule()
    def restart(self) -> None:
        self.runner.close()
        self.runner = StoreThread(self.config)

    @invariant()
    def versions_agree(self) -> None:
        if self.runner is None:
            return
        for stream, version in self.model.items():
            state = self.runner.call(self.runner.store.aggregate_state, stream)
            assert state.version == version

    def teardown(self) -> None:
        if self.runner is not None:
            self.runner.close()
        path = Path(self.directory) / "fleet.db"
        if path.exists():
            conn = sqlite3.connect(path)
            rows = conn.execute("SELECT stream_id, version, position FROM events").fetchall()
            conn.close()
            assert len(rows) == sum(self.model.values())
            assert sorted(r[2] for r in rows) == list(range(1, len(rows) + 1))
            for stream, version in self.model.items():
                assert sorted(r[1] for r in rows if r[0] == stream) == list(range(1, version + 1))
        shutil.rmtree(self.directory, ignore_errors=True)


StoreMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=15, deadline=None)
TestStoreAgainstModel = StoreMachine.TestCase
