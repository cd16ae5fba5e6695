"""The daemon's metrics: what the HTTP layer measures, and the store's counters at scrape time.

Measured here, per request:

* ``fleet_http_requests_total{method,route,status}`` and
  ``fleet_http_request_duration_seconds{route}``; ``route`` is the path
  template (``/streams/{stream_id}``), or ``unmatched``, so ids never become labels.
* ``fleet_appends_total`` and ``fleet_appended_events_total``: acknowledged
  appends (one per stream share) and their events;
  ``fleet_append_events`` (histogram): events per appended share;
  ``fleet_append_latency_seconds`` (histogram): from handing validated
  events to the store to the commit acknowledgement (queueing, group commit and fsync).
* ``fleet_sse_streams`` and ``fleet_sse_messages_total``: open SSE streams
  and what they sent.
* ``fleet_commit_seconds`` and ``fleet_commit_events`` (histograms): each
  group commit's transaction time on the writer thread and its events.

Read from ``store.statistics()`` at every scrape: open and live
subscriptions, the largest subscriber lag and the events buffered for
subscribers; the writer's commits,
bundles, events, failures, queue and mean batch size; the stream actors' live
and stopping counts, mailbox depths, blocked senders and lifetime counters;
the read pool's connections.

The page is rendered by ``prometheus_client`` from a registry of this
daemon's own (never the library's process-wide default registry), so two
stores in one process never mix their figures; counters also expose their
``_created`` time, as that library does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fleet.store import EventStore

__all__ = ["CONTENT_TYPE", "ApiMetrics"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of the metrics page (Prometheus text exposition 0.0.4)."""

LATENCY_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
SIZE_BUCKETS: Final = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)

_WRITER: Final = (
    ("fleet_store_commits_total", "counter", "batches", "Batches the writer took to commit."),
    (
        "fleet_store_transactions_total",
        "counter",
        "transactions",
        "Transactions the writer committed.",
    ),
    (
        "fleet_store_commit_fallbacks_total",
        "counter",
        "fallbacks",
        "Batches whose first transaction failed and that were committed another way.",
    ),
    ("fleet_store_bundles_total", "counter", "bundles", "Appends (bundles) committed."),
    ("fleet_store_events_total", "counter", "events", "Events committed."),
    (
        "fleet_store_failed_bundles_total",
        "counter",
        "failed_bundles",
        "Bundles whose commit failed.",
    ),
    ("fleet_store_queued_bundles", "gauge", "queued_bundles", "Bundles waiting for a commit."),
    (
        "fleet_store_mean_batch_events",
        "gauge",
        "mean_batch_events",
        "Mean events per committed transaction since the store opened.",
    ),
)

_SUBSCRIPTIONS: Final = (
    ("fleet_subscriptions", "gauge", "subscriptions", "Open subscriptions (SSE and in-process)."),
    (
        "fleet_subscriptions_live",
        "gauge",
        "live_subscriptions",
        "Subscriptions past their backlog, following commits live.",
    ),
    (
        "fleet_subscriber_lag_events",
        "gauge",
        "max_subscriber_lag",
        "Events between the newest commit and the furthest-behind subscription.",
    ),
    (
        "fleet_subscriber_buffered_events",
        "gauge",
        "buffered_events",
        "Committed events waiting in subscription inboxes.",
    ),
    (
        "fleet_subscriber_buffered_bytes",
        "gauge",
        "buffered_bytes",
        "Payload bytes of the committed events waiting in subscription inboxes.",
    ),
)

_ACTORS: Final = (
    ("fleet_actors_live", "gauge", "live_actors", "Stream actors in memory."),
    ("fleet_actors_stopping", "gauge", "stopping_actors", "Stream actors finishing their work."),
    ("fleet_mailbox_depth", "gauge", "mailbox_depth", "Requests queued across all stream actors."),
    (
        "fleet_mailbox_depth_max",
        "gauge",
        "max_mailbox_depth",
        "Requests queued in the fullest stream actor's mailbox.",
    ),
    (
        "fleet_actors_blocked_senders",
        "gauge",
        "blocked_senders",
        "Appends waiting for mailbox space (backpressure).",
    ),
    (
        "fleet_actor_messages_total",
        "counter",
        "messages_processed",
        "Requests handled by stream actors.",
    ),
    ("fleet_actor_batches_total", "counter", "batches", "Drained mailbox batches."),
    ("fleet_actors_spawned_total", "counter", "spawned", "Stream actors started."),
    ("fleet_actor_crashes_total", "counter", "crashes", "Stream actor crashes."),
    ("fleet_actor_passivations_total", "counter", "passivations", "Idle stream actors stopped."),
    (
        "fleet_actor_evictions_total",
        "counter",
        "evictions",
        "Stream actors stopped to keep the cap.",
    ),
)


def _family(name: str, kind: str, help_text: str, value: float) -> Metric:
    if kind == "counter":
        return CounterMetricFamily(name.removesuffix("_total"), help_text, value=float(value))
    return GaugeMetricFamily(name, help_text, value=float(value))


class _StoreCollector(Collector):
    """The store's statistics, read at every scrape."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        stats = self._store.statistics()
        subscriptions = stats.get("subscriptions", {})
        for name, kind, key, help_text in _SUBSCRIPTIONS:
            if key in subscriptions:
                yield _family(name, kind, help_text, subscriptions[key])
        writer = stats["writer"]
        for name, kind, key, help_text in _WRITER:
            yield _family(name, kind, help_text, writer[key])
        actors = stats["actors"]
        for name, kind, key, help_text in _ACTORS:
            yield _family(name, kind, help_text, getattr(actors, key))
        pool = self._store.database.pool_statistics()
        yield GaugeMetricFamily(
            "fleet_db_read_connections_in_use", "Read connections lent out.", pool.checked_out
        )
        yield GaugeMetricFamily(
            "fleet_db_read_connections_idle", "Read connections idle in the pool.", pool.idle
        )
        yield GaugeMetricFamily(
            "fleet_db_writer_busy", "1 while a write transaction is open.", int(pool.writer_busy)
        )


class ApiMetrics:
    """The daemon's instruments, and the store collector registered beside them."""

    def __init__(self, store: EventStore) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "fleet_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.request_seconds = Histogram(
            "fleet_http_request_duration_seconds",
            "Time to answer an HTTP request (a subscription: its whole life).",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "fleet_http_requests_in_flight", "HTTP requests being answered now.", registry=registry
        )
        self.appends = Counter(
            "fleet_appends", "Acknowledged appends (one per stream share).", registry=registry
        )
        self.appended_events = Counter(
            "fleet_appended_events", "Events of acknowledged appends.", registry=registry
        )
        self.append_events = Histogram(
            "fleet_append_events",
            "Events per acknowledged append (batch size).",
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        self.append_latency = Histogram(
            "fleet_append_latency_seconds",
            "From handing validated events to the store to the commit acknowledgement.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.store_timeouts = Counter(
            "fleet_store_timeouts",
            "Requests answered 503 because the store did not answer in time.",
            registry=registry,
        )
        self.sse_streams = Gauge(
            "fleet_sse_streams",
            "Server-Sent Events subscription streams open now.",
            registry=registry,
        )
        self.sse_messages = Counter(
            "fleet_sse_messages",
            "Events and caught-up markers sent on SSE streams.",
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "fleet_commit_seconds",
            "Group-commit transaction time on the writer thread, begin to commit (fsync included).",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.commit_events = Histogram(
            "fleet_commit_events",
            "Events per group-commit transaction.",
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        registry.register(_StoreCollector(store))
        store.observe_commits(self._committed)

    def _committed(self, events: int, seconds: float) -> None:
        self.commit_events.observe(events)
        self.commit_seconds.observe(seconds)

    def render(self) -> str:
        """The whole metrics page."""
        return generate_latest(self.registry).decode()
