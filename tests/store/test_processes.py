"""Several OS processes on one database, hammering the same streams.

Each process has its own stream actors, whose cached heads the others keep
making stale; the database has the last word. Every acknowledged append must
be stored where its result says, positions stay gap-free, each stream's
versions run 1..n, exact-version conflicts name a version the stream really
passed, and nothing else goes wrong.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa

from fleet.config import Config
from fleet.db.engine import resolve_url
from fleet.store import NO_STREAM, open_store
from fleet.vocabulary import MissionCreated, generate_mission_id

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def _stored(config: Config) -> list[tuple[int, str, int, str]]:
    engine = sa.create_engine(resolve_url(config))
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT position, stream_id, version, event_id FROM events ORDER BY position"
            ).all()
    finally:
        engine.dispose()
    return [tuple(row) for row in rows]


async def test_two_processes_on_overlapping_streams_agree_with_the_database(store_config):
    streams = [generate_mission_id() for _ in range(4)]
    async with open_store(store_config) as store:
        for stream in streams:
            await store.append(stream, [MissionCreated(title="shared")], expected_version=NO_STREAM)
    url = resolve_url(store_config).render_as_string(hide_password=False)
    contenders = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store.contender", url, "3", *streams],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = []
    for contender in contenders:
        out, err = contender.communicate(timeout=120)
        assert contender.returncode == 0, err
        outcomes.append(msgspec.json.decode(out))

    for outcome in outcomes:
        assert outcome["errors"] == []
    rows = _stored(store_config)
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    at = {row[3]: row for row in rows}
    acknowledged = [ack for outcome in outcomes for ack in outcome["acknowledged"]]
    assert len(acknowledged) == len(rows) - len(streams)
    assert len(acknowledged) > 20
    for ack in acknowledged:
        assert at[ack["event_id"]][:3] == (ack["position"], ack["stream_id"], ack["version"])
    final = {}
    for _, stream, version, _ in rows:
        assert version == final.get(stream, 0) + 1
        final[stream] = version
    for outcome in outcomes:
        for refusal in outcome["refusals"]:
            assert refusal["actual"] is not None
            assert refusal["expected"] < refusal["actual"] <= final[refusal["stream_id"]]
