"""Prometheus metrics. Labels are bounded sets (topics, stages, reasons), never ids or URLs.

Each service instance owns one ``Metrics`` with its own registry, so tests can run several
workers in one process without colliding in the global registry.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Callable, Iterator
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
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

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


class LabelledHistogram:
    """A histogram of at most one label, exposed as prometheus-client's ``Histogram`` exposes
    one (``_bucket`` by ``le``, ``_count``, ``_sum``), for the series observed for every
    article: an observation is a bucket search and two additions under one lock, where
    ``Histogram`` takes a lock for each of them in interpreted code (~2 µs; the service
    observes each stage of each article). Without a label, observe the series ``""``."""

    def __init__(self, name: str, documentation: str, label: str | None,
                 buckets: tuple[float, ...], registry: CollectorRegistry) -> None:
        self.name, self.documentation, self.label = name, documentation, label
        self._bounds = (*sorted(buckets), float("inf"))
        self._counts: dict[str, list[int]] = {}  # per label value, the count of each bucket
        self._sums: dict[str, float] = {}
        self._lock = threading.Lock()  # the shards settle in a thread
        registry.register(self)

    def observe(self, value: str, amount: float) -> None:
        """One observation of ``amount`` in the series ``value`` names."""
        with self._lock:
            counts = self._counts.get(value)
            if counts is None:
                counts = self._counts[value] = [0] * len(self._bounds)
                self._sums[value] = 0.0
            counts[bisect_left(self._bounds, amount)] += 1  # the first bound at least amount
            self._sums[value] += amount

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = self._family()
        with self._lock:
            series = [(value, list(counts), self._sums[value])
                      for value, counts in self._counts.items()]
        for value, counts, total in series:
            cumulative, buckets = 0.0, []
            for bound, count in zip(self._bounds, counts, strict=True):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))  # type: ignore[no-untyped-call]
            family.add_metric([value] if self.label is not None else [], buckets, total)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield self._family()

    def _family(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(self.name, self.documentation,
                                     labels=[self.label] if self.label is not None else [])


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
        self.processing_seconds = LabelledHistogram(
            "ingest_processing_seconds", "Time spent per article in each stage.", "stage",
            _STAGE_BUCKETS, r)
        self.end_to_end_seconds = LabelledHistogram(
            "ingest_end_to_end_delay_seconds",
            "From the article's fetched_at (else the Kafka timestamp) to its records being acked.",
            None, _DELAY_BUCKETS, r)
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
        self.produced_to = labelled(self.records_produced)
        self.articles_by_outcome = labelled(self.articles)
        self.build_info = Info("ingest_build", "Version of the running service.", registry=r)
        self.build_info.info({"version": __version__})
        # process_start_time_seconds and friends: restart-loop alerts key on them.
        ProcessCollector(registry=r)
