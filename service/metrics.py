"""Prometheus metrics. Labels are bounded sets (topics, stages, reasons), never ids or URLs.

Each service instance owns one ``Metrics`` with its own registry, so tests can run several
workers in one process without colliding in the global registry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
)

from service import __version__

# Stage latencies span 10 µs (hashing) to seconds (a slow fetch).
_STAGE_BUCKETS = (0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                  0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Crawl-to-publish delay: seconds to a day (backfills replay old articles).
_DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)
_BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)

# `_created` series double the exposition size and no dashboard or alert here uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_Metric = TypeVar("_Metric", Counter, Gauge, Histogram)


def labelled(metric: _Metric) -> Callable[[str], _Metric]:
    """``metric.labels`` for a metric of one label, memoized: prometheus-client checks the value
    and takes a lock on every call (~3 µs, more than the observation itself) and the service
    makes a dozen such calls an article. Only for bounded label sets whose series are never
    removed."""
    return lru_cache(maxsize=None)(metric.labels)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages_consumed = Counter(
            "ingest_messages_consumed", "Raw messages read from Kafka or a file.", ["topic"],
            registry=r)
        self.records_produced = Counter(
            "ingest_records_produced", "Records acknowledged by the broker (or written).",
            ["topic"], registry=r)
        self.articles = Counter(
            "ingest_articles", "Articles by final outcome.", ["outcome"], registry=r)
        self.dead_letters = Counter(
            "ingest_dead_letters", "Dead letters by reason code.", ["reason"], registry=r)
        self.field_unparsed = Counter(
            "ingest_field_unparsed", "Raw fields given but unreadable or absurd (emitted as null).",
            ["field"], registry=r)
        self.duplicates = Counter(
            "ingest_duplicates", "Articles flagged as duplicates, by kind.", ["kind"], registry=r)
        self.processing_seconds = Histogram(
            "ingest_processing_seconds", "Time spent per article in each stage.", ["stage"],
            buckets=_STAGE_BUCKETS, registry=r)
        self.end_to_end_seconds = Histogram(
            "ingest_end_to_end_delay_seconds",
            "From the article's fetched_at (else the Kafka timestamp) to its records being acked.",
            buckets=_DELAY_BUCKETS, registry=r)
        self.batch_size = Histogram(
            "ingest_batch_size_messages", "Messages per consumed batch.", buckets=_BATCH_BUCKETS,
            registry=r)
        self.commit_seconds = Histogram(
            "ingest_commit_seconds", "Offset commit latency.", buckets=_STAGE_BUCKETS, registry=r)
        self.in_flight = Gauge(
            "ingest_in_flight_messages", "Consumed messages not yet committed.", registry=r)
        self.consumer_lag = Gauge(
            "ingest_consumer_lag", "Messages behind the partition end (never negative).",
            ["topic", "partition"], registry=r)
        self.clusters_active = Gauge(
            "ingest_clusters_active", "Story clusters not yet dormant.", registry=r)
        self.state_articles = Gauge(
            "ingest_state_articles", "Articles held in the duplicate and cluster state.",
            registry=r)
        self.restore_seconds = Gauge(
            "ingest_state_restore_seconds", "How long the last state restore took.", registry=r)
        self.ready = Gauge(
            "ingest_ready", "1 while connected and assigned partitions, else 0.", registry=r)
        self.fetches = Counter(
            "ingest_fetch", "URL fetches by outcome.", ["outcome"], registry=r)
        self.fetch_seconds = Histogram(
            "ingest_fetch_seconds", "Time per URL fetch, retries included.",
            buckets=_STAGE_BUCKETS, registry=r)
        # The children observed for every article (see ``labelled``).
        self.stage_seconds = labelled(self.processing_seconds)
        self.produced_to = labelled(self.records_produced)
        self.articles_by_outcome = labelled(self.articles)
        self.build_info = Info("ingest_build", "Version of the running service.", registry=r)
        self.build_info.info({"version": __version__})
        # process_start_time_seconds and friends: restart-loop alerts key on them.
        ProcessCollector(registry=r)
