"""Export and import: byte-identical round trips across backends, every refusal of a bad file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
import trio
from rich.console import Console

from fleet.config import Config
from fleet.core.ids import generate_event_id
from fleet.db import Database
from fleet.errors import ValidationError
from fleet.store import LogFilter, open_store
from fleet.transfer import (
    ExportSummary,
    ImportSummary,
    export_events,
    import_events,
    iter_log,
)
from fleet.vocabulary import CATALOG, MissionCreated, generate_mission_id
from tests.cli.conftest import Fleet, assert_one_line_error, config_for, seed, seed_bulk


def exported(config: Config, after: int = 0, where: LogFilter | None = None) -> bytes:
    async def run() -> bytes:
        out = io.BytesIO()
        async with open_store(config) as store:
            await export_events(store, out, after=after, where=where)
        return out.getvalue()

    return trio.run(run)


def restore(config: Config, data: bytes, **options: Any) -> ImportSummary:
    with Database.open(config) as db:
        return import_events(db, io.BytesIO(data), CATALOG, **options)


def edit(export: bytes, line: int, **changes: object) -> bytes:
    """Change fields of one (1-based) line of an export."""
    lines = export.splitlines(keepends=True)
    record = json.loads(lines[line - 1])
    record.update(changes)
    lines[line - 1] = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    return b"".join(lines)


def test_sqlite_to_postgresql_and_back_is_byte_identical(
    fleet: Fleet, sqlite_url: str, sqlite_config: Config, postgres_url: str, tmp_path: Path
) -> None:
    seeded = seed(sqlite_config)
    first = tmp_path / "first.jsonl"
    exported_first = fleet("export", str(first), "--database-url", sqlite_url)
    assert exported_first.code == 0, exported_first.err
    assert exported_first.err == f"exported {seeded.events} events to {first}\n"

    imported = fleet("import", str(first), "--database-url", postgres_url)
    assert (imported.code, imported.err) == (0, "")
    assert (
        imported.out
        == f"imported {seeded.events} events; the log ends at position {seeded.events}\n"
    )

    again = fleet("export", "--database-url", postgres_url)
    assert again.code == 0
    assert again.out.encode() == first.read_bytes()

    back = tmp_path / "back.db"
    assert fleet("import", str(first), "--database-url", f"sqlite:///{back}").code == 0
    assert fleet("export", "--database-url", f"sqlite:///{back}").out.encode() == first.read_bytes()

    # the restored store carries on where the original stopped
    appended = fleet(
        "append", seeded.missions[0], '{"type": "MissionUpdated", "data": {"description": "more"}}',
        "--expected-version", "3", "--json", "--database-url", postgres_url,
    )  # fmt: skip
    assert json.loads(appended.out)["first_position"] == seeded.events + 1


def test_import_from_a_real_pipe(
    fleet_process: Fleet, sqlite_config: Config, postgres_url: str, tmp_path: Path
) -> None:
    seed(sqlite_config)
    original = exported(sqlite_config)
    restored = fleet_process("import", "-", "--database-url", postgres_url, stdin=original)
    assert restored.code == 0, restored.err
    assert exported(config_for(postgres_url, tmp_path)) == original


def test_incremental_export_continues_a_restored_database(
    sqlite_config: Config, tmp_path: Path
) -> None:
    seed(sqlite_config)
    whole = exported(sqlite_config)
    head, tail = whole.splitlines(keepends=True)[:4], whole.splitlines(keepends=True)[4:]
    assert exported(sqlite_config, after=4) == b"".join(tail)
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    restore(target, b"".join(head))
    summary = restore(target, b"".join(tail))
    assert msgspec.structs.asdict(summary) == {
        "imported": len(tail),
        "skipped": 0,
        "last_position": len(head) + len(tail),
    }
    assert exported(target) == whole


def test_filtered_exports_are_for_reading(
    fleet: Fleet, sqlite_config: Config, sqlite_url: str, tmp_path: Path
) -> None:
    seeded = seed(sqlite_config)
    only_work = fleet("export", "--prefix", "wo", "--database-url", sqlite_url)
    lines = only_work.out.splitlines()
    assert len(lines) == len(seeded.work_orders)
    assert all(json.loads(line)["stream_id"].startswith("wo-") for line in lines)
    typed = fleet(
        "export", "--type", "MissionActivated", "--from", "3", "--database-url", sqlite_url
    )
    assert len(typed.out.splitlines()) == len(seeded.missions)

    target = f"sqlite:///{tmp_path / 'target.db'}"
    refused = fleet("import", "-", "--database-url", target, stdin=only_work.out.encode())
    assert_one_line_error(refused, "line 1:", "needs it from position 1")


def test_a_bad_line_names_its_number_and_keeps_earlier_batches(
    sqlite_config: Config, tmp_path: Path
) -> None:
    seed(sqlite_config)
    data = edit(exported(sqlite_config), 6, type="MissionExploded")
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    with pytest.raises(ValidationError, match=r"^line 6: .*MissionExploded") as refused:
        restore(target, data, batch_events=4)
    assert refused.value.problems[0][0] == "line 6"
    stored = exported(target)
    assert stored == b"".join(data.splitlines(keepends=True)[:4])

    fixed = exported(sqlite_config)
    with pytest.raises(ValidationError, match="continue at position 5, not 1"):
        restore(target, fixed)
    summary = restore(target, fixed, resume=True, batch_events=3)
    assert (summary.imported, summary.skipped) == (len(fixed.splitlines()) - 4, 4)
    assert exported(target) == fixed


def test_progress_accounts_for_every_byte_and_event_once(
    sqlite_config: Config, tmp_path: Path
) -> None:
    seed(sqlite_config)
    data = exported(sqlite_config)
    lines = data.splitlines(keepends=True)
    with_blanks = b"".join(lines[:5]) + b"\n  \n" + b"".join(lines[5:])
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    restore(target, b"".join(lines[:4]))
    calls: list[tuple[int, int]] = []
    summary = restore(
        target,
        with_blanks,
        resume=True,
        batch_events=2,
        progress=lambda events, size: calls.append((events, size)),
    )
    assert (summary.imported, summary.skipped) == (len(lines) - 4, 4)
    assert sum(events for events, _ in calls) == summary.imported
    assert sum(size for _, size in calls) == len(with_blanks)
    assert calls[0] == (0, len(b"".join(lines[:2])))  # the first two skipped lines

    # blank lines after the last full batch are reported once the input ends
    calls.clear()
    fresh = config_for(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)
    trailing = data + b"\n \n"
    restore(
        fresh,
        trailing,
        batch_events=len(lines),
        progress=lambda events, size: calls.append((events, size)),
    )
    assert calls == [(len(lines), len(data)), (0, 3)]


@pytest.mark.parametrize(
    ("line", "changes", "message"),
    [
        (3, {"position": 4}, "line 3: position 4 does not follow position 2"),
        (6, {"version": 5}, "line 6: stream .* goes from version 1 to 5"),
        (4, {"version": 3}, "line 4: version 3 does not continue the stream: .* no events yet"),
        (2, {"data": {"type": "MissionCreated", "title": ""}}, "line 2: invalid"),
        (2, {"extra": 1}, "line 2: invalid recorded event"),
    ],
)
def test_broken_files_are_refused_by_line(
    sqlite_config: Config, tmp_path: Path, line: int, changes: dict[str, object], message: str
) -> None:
    seed(sqlite_config)
    data = edit(exported(sqlite_config), line, **changes)
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    with pytest.raises(ValidationError, match=message):
        restore(target, data)
    assert exported(target) == b""


def test_versions_and_ids_are_checked_within_a_batch(sqlite_config: Config, tmp_path: Path) -> None:
    seed(sqlite_config)
    data = exported(sqlite_config)
    records = [json.loads(line) for line in data.splitlines()]
    mission = records[0]["stream_id"]
    later = next(i for i, r in enumerate(records) if i > 0 and r["stream_id"] == mission) + 1
    gap = edit(data, later, version=3)
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    with pytest.raises(
        ValidationError, match=f"line {later}: stream '{mission}' goes from version 1 to 3"
    ):
        restore(target, gap)
    twice = edit(data, 2, event_id=records[0]["event_id"])
    with pytest.raises(ValidationError, match=r"line 2: event id .* appears twice"):
        restore(target, twice)
    across = edit(data, 7, event_id=records[0]["event_id"])
    with pytest.raises(ValidationError, match=r"lines 7-8: .*nothing of these lines was stored"):
        restore(target, across, batch_events=2)
    assert len(exported(target).splitlines()) == 6


def test_a_stream_that_exists_cannot_start_again(sqlite_config: Config, tmp_path: Path) -> None:
    seed(sqlite_config)
    data = exported(sqlite_config)
    first = json.loads(data.splitlines()[0])
    extra = edit(data, 11, stream_id=first["stream_id"], version=1, type="MissionCreated",
                 data={"type": "MissionCreated", "title": "again"})  # fmt: skip
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    with pytest.raises(
        ValidationError,
        match=r"line 11: version 1 does not continue the stream: .* up to version 3, "
        r"so the next version is 4",
    ):
        restore(target, extra, batch_events=5)


def test_resume_refuses_a_different_export(sqlite_config: Config, tmp_path: Path) -> None:
    seed(sqlite_config)
    data = exported(sqlite_config)
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    restore(target, b"".join(data.splitlines(keepends=True)[:3]))
    other = edit(data, 2, event_id=generate_event_id())
    with pytest.raises(ValidationError, match=r"line 2: event .* is not the one stored there"):
        restore(target, other, resume=True)
    with pytest.raises(ValidationError, match="line 3: position 5 does not follow position 2"):
        restore(target, edit(data, 3, position=5), resume=True)
    with pytest.raises(ValidationError, match="line 2: position 3 does not follow position 1"):
        restore(target, edit(data, 2, position=3), resume=True)
    with pytest.raises(ValidationError, match="line 1: invalid recorded event"):
        restore(target, b"[]\n" + data, resume=True)


def test_a_writer_that_moves_the_head_stops_the_import(
    sqlite_config: Config, tmp_path: Path
) -> None:
    seed(sqlite_config)
    data = exported(sqlite_config)
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)

    def intrude(events: int, consumed: int) -> None:
        if events:
            with db.write_transaction() as txn:
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
        pytest.raises(ValidationError, match="the database changed during the import"),
    ):
        import_events(db, io.BytesIO(data), CATALOG, batch_events=3, progress=intrude)


def test_import_streams_its_input(sqlite_config: Config, tmp_path: Path) -> None:
    seed(sqlite_config)
    lines = exported(sqlite_config).splitlines(keepends=True)
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)

    class Interrupted(Exception):
        pass

    def source() -> Iterator[bytes]:
        yield from lines[:5]
        yield b"\n"
        raise Interrupted

    with Database.open(target) as db, pytest.raises(Interrupted):
        import_events(db, source(), CATALOG, batch_events=2)
    assert exported(target) == b"".join(lines[:4])


def test_blank_lines_and_an_empty_file(
    fleet: Fleet, sqlite_config: Config, sqlite_url: str, tmp_path: Path
) -> None:
    seed(sqlite_config, missions=1, work_orders=0)
    data = exported(sqlite_config)
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    assert restore(target, b"\n" + data.replace(b"\n", b"\n\n")).imported == 3
    empty = fleet("import", "-", "--database-url", f"sqlite:///{tmp_path / 'e.db'}", stdin=b"")
    assert empty.out == "imported 0 events; the log ends at position 0\n"
    with pytest.raises(ValueError, match="batch_events"):
        restore(target, data, batch_events=0)


def test_file_mistakes_are_one_line(fleet: Fleet, sqlite_url: str, tmp_path: Path) -> None:
    assert_one_line_error(
        fleet("import", str(tmp_path / "missing.jsonl")), "cannot read", "missing.jsonl"
    )
    nowhere = tmp_path / "no" / "such" / "dir.jsonl"
    assert_one_line_error(
        fleet("export", str(nowhere), "--database-url", sqlite_url), "cannot write"
    )
    assert_one_line_error(fleet("import", "--batch", "0"), "expected a number >= 1", code=2)
    assert_one_line_error(fleet("export", "--from", "-2"), "expected a whole number", code=2)


def test_a_failed_export_leaves_no_file(fleet: Fleet, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    result = fleet(
        "export", str(target), "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/x"
    )
    assert_one_line_error(result, "unavailable")
    assert list(tmp_path.iterdir()) == []


def test_progress_bars_draw_on_a_terminal(
    fleet: Fleet,
    sqlite_config: Config,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fleet.cli.transfer as transfer

    seeded = seed(sqlite_config)
    screen = io.StringIO()
    monkeypatch.setattr(
        transfer, "progress_console", lambda: Console(file=screen, force_terminal=True, width=100)
    )
    file = tmp_path / "log.jsonl"
    assert fleet("export", str(file), "--database-url", sqlite_url).code == 0
    assert f"{seeded.events}/{seeded.events}" in screen.getvalue()
    assert "exporting" in screen.getvalue()

    screen.truncate(0)
    restored = fleet("import", str(file), "--database-url", f"sqlite:///{tmp_path / 't.db'}")
    assert restored.code == 0
    assert f"{seeded.events} events" in screen.getvalue()
    assert "importing" in screen.getvalue()

    screen.truncate(0)
    assert fleet("export", "--quiet", "--database-url", sqlite_url).code == 0
    assert screen.getvalue() == ""


def _all_rows(config: Config) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(config.database.url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT * FROM events ORDER BY position").all()
    finally:
        engine.dispose()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


def _with_every_field(payload: Any, n: int) -> Any:
    from fleet.events import EventMetadata, NewEvent

    return NewEvent(
        payload,
        occurred_at=1_700_000_000_000 + n,
        metadata=EventMetadata(
            correlation_id=f"corr-{n}", causation_id=f"cause-{n}", actor=f"actor-{n}"
        ),
    )


def _every_optional_field() -> dict[type[Any], Any]:
    """The samples of the event types whose sample leaves an optional field unset, with
    every field set."""
    from fleet.vocabulary import (
        CheckpointCreated,
        MissionUpdated,
        WorkOrderCreated,
        WorkOrderFailed,
        WorkOrderStarted,
        WorkOrderUpdated,
    )
    from tests.events.samples import MISSION_ID, WORK_ORDER_ID

    due = 1_800_000_000_000
    return {
        p.__class__: p
        for p in [
            MissionUpdated(title="Ship the event store", description="phase 0", due_at=due),
            WorkOrderCreated(
                mission_id=MISSION_ID, title="Codec", description="json", priority="low", due_at=due
            ),
            WorkOrderUpdated(title="Codec v2", description="msgspec", priority="high", due_at=due),
            WorkOrderStarted(note="on it"),
            WorkOrderFailed(reason="tests red", retryable=False),
            CheckpointCreated(
                mission_id=MISSION_ID,
                label="before migration",
                work_order_id=WORK_ORDER_ID,
                expires_at=due,
                metadata={"disk": "sda", "size": 3},
            ),
        ]
    }


def _fields_left_at_their_default(payload: Any) -> list[str]:
    left = []
    for field in msgspec.structs.fields(payload):
        if field.default is not msgspec.NODEFAULT:
            default = field.default
        elif field.default_factory is not msgspec.NODEFAULT:
            default = field.default_factory()
        else:
            continue
        if getattr(payload, field.name) == default:
            left.append(field.name)
    return left


def test_every_field_of_every_event_kind_survives_the_round_trip(
    sqlite_config: Config, postgres_url: str, tmp_path: Path
) -> None:
    from fleet.core.ids import generate_id
    from fleet.vocabulary import AGGREGATES, EVENT_TYPES
    from tests.events.samples import SAMPLES
    from tests.events.test_aggregate import PATHS, sample_for

    full = SAMPLES | _every_optional_field()
    for payload in full.values():
        assert _fields_left_at_their_default(payload) == [], payload

    async def record() -> None:
        # For every status of every aggregate, a stream that walks there and then
        # takes every move the status allows that the walk did not: every event
        # type, each with every envelope field set.
        async with open_store(sqlite_config) as store:
            for prefix, aggregate in AGGREGATES.items():
                for status, path in PATHS[aggregate.name].items():
                    for name in sorted(aggregate.event_types):
                        if not aggregate.allows(status, name):
                            continue
                        stream = generate_id(prefix)
                        steps = [full[EVENT_TYPES[step]] for step in path]
                        last = sample_for(EVENT_TYPES[name], status)
                        steps.append(full[type(last)] if last is SAMPLES[type(last)] else last)
                        for n, payload in enumerate(steps):
                            await store.append(stream, [_with_every_field(payload, n)])

    trio.run(record)
    source = _all_rows(sqlite_config)
    assert {row[4] for row in source} == set(EVENT_TYPES)
    assert all(row[7] and row[8] and row[9] for row in source)
    target = config_for(postgres_url, tmp_path)
    restore(target, exported(sqlite_config))
    assert _all_rows(target) == source


def test_iter_log_pages_from_the_start_up_to_a_limit(sqlite_config: Config) -> None:
    seeded = seed(sqlite_config)

    async def pages(**options: Any) -> list[list[int]]:
        async with open_store(sqlite_config) as store:
            return [[event.position for event in page] async for page in iter_log(store, **options)]

    everything = trio.run(pages)
    assert [p for page in everything for p in page] == list(range(1, seeded.events + 1))
    assert [p for page in trio.run(partial(pages, limit=3)) for p in page] == [1, 2, 3]
    assert [p for page in trio.run(partial(pages, after=4, limit=1)) for p in page] == [5]
    assert trio.run(partial(pages, after=seeded.events)) == []


def test_a_log_of_several_pages_and_streams_exports_and_imports_whole(
    sqlite_config: Config, tmp_path: Path
) -> None:
    count = seed_bulk(sqlite_config, missions=700)  # 2,100 events: three pages, 700 streams

    async def export() -> tuple[ExportSummary, bytes]:
        out = io.BytesIO()
        async with open_store(sqlite_config) as store:
            summary = await export_events(store, out, where=LogFilter())
        return summary, out.getvalue()

    summary, data = trio.run(export)
    assert (summary.events, summary.last_position) == (count, count)
    target = config_for(f"sqlite:///{tmp_path / 'target.db'}", tmp_path)
    restored = restore(target, data, batch_events=1_000)
    assert (restored.imported, restored.skipped, restored.last_position) == (count, 0, count)
    assert exported(target) == data
    with pytest.raises(ValueError, match="batch_events must be >= 1"):
        restore(target, b"", batch_events=0)
    empty = config_for(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    assert (
        restore(empty, b"".join(data.splitlines(keepends=True)[:2]), batch_events=1).last_position
        == 2
    )


def test_export_filters_and_an_empty_export(sqlite_config: Config) -> None:
    seeded = seed(sqlite_config)
    everything = [json.loads(line) for line in exported(sqlite_config).splitlines()]
    recorded = sorted({event["recorded_at"] for event in everything})
    middle = recorded[len(recorded) // 2]

    def positions(where: LogFilter) -> list[int]:
        return [
            json.loads(line)["position"]
            for line in exported(sqlite_config, where=where).splitlines()
        ]

    correlated = [
        e["position"] for e in everything if e["metadata"].get("correlation_id") == "corr-1"
    ]
    assert positions(LogFilter(correlation_id="corr-1")) == correlated
    assert positions(LogFilter(recorded_after=middle)) == [
        e["position"] for e in everything if e["recorded_at"] >= middle
    ]
    assert positions(LogFilter(recorded_before=middle)) == [
        e["position"] for e in everything if e["recorded_at"] < middle
    ]

    async def export_nothing() -> ExportSummary:
        async with open_store(sqlite_config) as store:
            return await export_events(store, io.BytesIO(), after=seeded.events)

    assert trio.run(export_nothing) == ExportSummary(0, None)
