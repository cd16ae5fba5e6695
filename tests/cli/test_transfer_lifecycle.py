"""Export and import of a log with deletions and scavenged gaps."""

from __future__ import annotations

import io
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
import trio

from fleet.config import Config
from fleet.core.ids import generate_event_id
from fleet.db import Database, scavenge
from fleet.errors import StreamDeleted, ValidationError
from fleet.store import open_store
from fleet.transfer import import_events
from fleet.vocabulary import CATALOG, MissionCreated, MissionUpdated, generate_mission_id
from tests.cli.conftest import Fleet, config_for
from tests.cli.test_transfer import edit, exported, restore


def build(config: Config) -> tuple[str, str, str]:
    """A log with a trimmed, a soft-deleted and started again, and a hard-deleted stream."""
    trimmed, restarted, gone = (generate_mission_id() for _ in range(3))

    async def run() -> None:
        async with open_store(config) as store:
            for mission in (trimmed, restarted, gone):
                await store.append(
                    mission, [MissionCreated(title="t"), MissionUpdated(description="a")]
                )
            await store.set_stream_metadata(trimmed, max_count=1)
            await store.delete_stream(restarted)
            await store.append(restarted, [MissionCreated(title="again")])
            await store.delete_stream(gone, hard=True)
            await store.append(trimmed, [MissionUpdated(description="b")])

    trio.run(run)
    return trimmed, restarted, gone


def test_a_scavenged_log_imports_with_gaps_and_its_deletions(database_url: str, tmp_path) -> None:
    source = config_for(database_url, tmp_path)
    trimmed, restarted, gone = build(source)
    with Database.open(source) as db:
        assert scavenge(db).events_removed == 7
    data = exported(source)
    target = config_for(f"sqlite:///{tmp_path / 'copy.db'}", tmp_path)
    with pytest.raises(ValidationError, match="import it with gaps allowed"):
        restore(target, data)
    assert exported(target) == b""
    summary = restore(target, data, gaps=True, batch_events=2)
    assert summary.imported == len(data.splitlines())
    assert exported(target) == data

    async def check() -> None:
        async with open_store(target) as store:
            with pytest.raises(StreamDeleted) as hard:
                await store.append(gone, [MissionCreated(title="no")])
            assert hard.value.hard
            page = await store.read_stream(restarted)
            assert [(e.version, e.payload) for e in page.events] == [
                (4, MissionCreated(title="again"))
            ]
            assert (await store.stream_version(gone)) == 3
            # Retention settings are not part of the log: the trimmed stream shows
            # what is left of it.
            assert [e.version for e in (await store.read_stream(trimmed)).events] == [3]

    trio.run(check)


def thinned(config: Config) -> tuple[str, bytes]:
    """One mission's stream of seven events, exported without positions (and versions) 2 and 5:
    lines at positions 1, 3, 4, 6 and 7."""
    mission = generate_mission_id()

    async def run() -> None:
        async with open_store(config) as store:
            await store.append(mission, [MissionCreated(title="t")])
            for n in range(6):
                await store.append(mission, [MissionUpdated(description=f"u{n}")])

    trio.run(run)
    lines = exported(config).splitlines(keepends=True)
    return mission, b"".join(line for i, line in enumerate(lines, start=1) if i not in (2, 5))


def _target(tmp_path: Path, name: str) -> Config:
    return config_for(f"sqlite:///{tmp_path / name}", tmp_path)


@pytest.mark.parametrize("batch_events", [1000, 2, 1])
def test_gaps_allowed_restores_missing_positions_and_versions_byte_for_byte(
    fleet: Fleet, sqlite_config: Config, tmp_path: Path, batch_events: int
) -> None:
    mission, data = thinned(sqlite_config)
    target = _target(tmp_path, "copy.db")
    with pytest.raises(ValidationError, match="line 2: position 3 does not follow position 1"):
        restore(_target(tmp_path, "strict.db"), data, batch_events=batch_events)
    summary = restore(target, data, gaps=True, batch_events=batch_events)
    assert (summary.imported, summary.skipped, summary.last_position) == (5, 0, 7)
    assert exported(target) == data

    source = tmp_path / "thinned.jsonl"
    source.write_bytes(data)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    refused = fleet("import", str(source), "--database-url", url)
    assert refused.code != 0
    assert "import it with gaps allowed" in refused.err
    imported = fleet("import", str(source), "--gaps", "--database-url", url)
    assert (imported.code, imported.err) == (0, "")
    assert exported(config_for(url, tmp_path)) == data

    async def check() -> None:
        async with open_store(target) as store:
            page = await store.read_stream(mission)
            assert [e.version for e in page.events] == [1, 3, 4, 6, 7]
            assert [e.position for e in page.events] == [1, 3, 4, 6, 7]
            assert (
                await store.append(mission, [MissionUpdated(description="on")])
            ).first_version == 8

    trio.run(check)


@pytest.mark.parametrize(
    ("line", "changes", "why"),
    [
        (
            3,
            {"position": 3},
            "line 3: position 3 does not follow position 3: positions must increase",
        ),
        (
            3,
            {"position": 2},
            "line 3: position 2 does not follow position 3: positions must increase",
        ),
        (
            3,
            {"version": 3},
            r"line 3: stream '.*' goes from version 3 to 3: versions must increase",
        ),
        (
            3,
            {"version": 2},
            r"line 3: stream '.*' goes from version 3 to 2: versions must increase",
        ),
    ],
)
@pytest.mark.parametrize("batch_events", [1000, 2])
def test_gaps_allowed_still_refuses_positions_and_versions_that_do_not_increase(
    sqlite_config: Config,
    tmp_path: Path,
    line: int,
    changes: dict[str, int],
    why: str,
    batch_events: int,
) -> None:
    _, data = thinned(sqlite_config)
    target = _target(tmp_path, "copy.db")
    broken = edit(data, line, **changes)
    if batch_events == 2 and "version" in changes:
        # lines 3 and 4 make the second batch: the rule holds within it too
        broken = edit(data, 4, version=changes["version"] + 1)
        why = why.replace("line 3", "line 4").replace(
            f"to {changes['version']}", f"to {changes['version'] + 1}"
        )
        why = why.replace("from version 3", "from version 4")
    with pytest.raises(ValidationError, match=why):
        restore(target, broken, gaps=True, batch_events=batch_events)
    assert len(exported(target).splitlines()) == (2 if batch_events == 2 else 0)


def test_a_gaps_import_continues_a_database_only_beyond_its_heads(
    sqlite_config: Config, tmp_path: Path
) -> None:
    mission, data = thinned(sqlite_config)
    lines = data.splitlines(keepends=True)
    target = _target(tmp_path, "copy.db")
    restore(target, b"".join(lines[:2]), gaps=True)
    with pytest.raises(
        ValidationError, match="line 1: the database already holds events up to position 3"
    ):
        restore(target, b"".join(lines[1:]), gaps=True)
    rest = b"".join(lines[2:])
    with pytest.raises(
        ValidationError,
        match=f"line 1: version 3 does not continue the stream: stream '{mission}' is stored up "
        "to version 3, so the next version is 4",
    ):
        restore(target, edit(rest, 1, version=3), gaps=True)
    assert exported(target) == b"".join(lines[:2])
    summary = restore(target, rest, gaps=True)
    assert (summary.imported, summary.last_position) == (3, 7)
    assert exported(target) == data


def test_a_writer_that_moves_the_head_stops_a_gaps_import(
    sqlite_config: Config, tmp_path: Path
) -> None:
    """Between two batches another writer takes position 5, which the log skips."""
    _, data = thinned(sqlite_config)
    target = _target(tmp_path, "copy.db")
    intruded: list[int] = []

    def intrude(events: int, consumed: int) -> None:
        if events and not intruded:
            with db.write_transaction() as txn:
                intruded.append(txn.head_position + 1)
                txn.connection.execute(
                    sa.text(
                        "INSERT INTO events VALUES (:p, :e, :s, 1, 'MissionCreated', 2, "
                        ":payload, NULL, NULL, NULL, 0, 0)"
                    ),
                    {
                        "p": txn.head_position + 1,
                        "e": generate_event_id(),
                        "s": generate_mission_id(),
                        "payload": msgspec.json.encode(MissionCreated(title="x")),
                    },
                )

    with (
        Database.open(target) as db,
        pytest.raises(
            ValidationError,
            match="line 4: the database changed during the import: its head is now position 5",
        ),
    ):
        import_events(db, io.BytesIO(data), CATALOG, batch_events=3, progress=intrude, gaps=True)
    assert intruded == [5]
    assert len(exported(target).splitlines()) == 4
