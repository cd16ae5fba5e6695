"""The metrics page: valid Prometheus exposition, the daemon's own registry, the store's figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from fleet.config import Config, with_overrides
from fleet.server._api_metrics import ApiMetrics
from fleet.store import EventStore, open_store
from fleet.vocabulary import MissionCreated, generate_mission_id
from tests.server.conftest import metric_samples

pytestmark = pytest.mark.trio


@pytest.fixture
async def store(sqlite_url: str, tmp_path: Path) -> AsyncIterator[EventStore]:
    config = with_overrides(Config(project_dir=str(tmp_path)), database={"url": sqlite_url})
    async with open_store(config) as opened:
        yield opened


async def test_the_page_parses_and_carries_what_was_measured(store: EventStore) -> None:
    metrics = ApiMetrics(store)
    metrics.requests.labels("POST", "/append", "200").inc()
    metrics.requests.labels("POST", "/append", "200").inc()
    metrics.request_seconds.labels("/append").observe(0.003)
    metrics.appended_events.inc(3)
    await store.append(generate_mission_id(), [MissionCreated(title="t")])
    found = metric_samples(metrics.render())
    route = (("method", "POST"), ("route", "/append"), ("status", "200"))
    assert found[("fleet_http_requests_total", route)] == 2
    assert (
        found[
            ("fleet_http_request_duration_seconds_bucket", (("le", "0.005"), ("route", "/append")))
        ]
        == 1
    )
    assert (
        found[
            ("fleet_http_request_duration_seconds_bucket", (("le", "0.0025"), ("route", "/append")))
        ]
        == 0
    )
    assert found[("fleet_http_request_duration_seconds_count", (("route", "/append"),))] == 1
    assert found[("fleet_appended_events_total", ())] == 3
    assert found[("fleet_store_events_total", ())] == 1
    assert found[("fleet_store_bundles_total", ())] == 1
    assert found[("fleet_commit_events_count", ())] == 1
    assert found[("fleet_db_writer_busy", ())] == 0


async def test_each_daemon_has_its_own_registry(store: EventStore) -> None:
    first, second = ApiMetrics(store), ApiMetrics(store)
    first.appends.inc()
    assert metric_samples(first.render())[("fleet_appends_total", ())] == 1
    assert metric_samples(second.render())[("fleet_appends_total", ())] == 0
    assert "fleet_appends_total" not in {
        sample.name for family in REGISTRY.collect() for sample in family.samples
    }


async def test_every_family_has_help_and_a_type(store: EventStore) -> None:
    page = ApiMetrics(store).render()
    families = list(text_string_to_metric_families(page))
    assert len(families) >= 40
    for family in families:
        assert family.documentation, family.name
        assert family.type in {"counter", "gauge", "histogram"}, family.name
