"""The worker's probes, every few seconds: are its topics there, how far behind is it.

They feed /readyz (``Health``): topics gone from a broker that restarted empty, a broker that
does not answer, no partitions assigned, a shard still restoring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from service.config import Config
from service.edges import topics
from service.edges.http import Health
from service.edges.kafka import consumer_lag
from service.metrics import Metrics

log = logging.getLogger("service.kafka")

_PROBE_INTERVAL_S = 2.0
_PROBE_TIMEOUT_S = 3.0
_MISSING_TOPICS_GRACE_S = 10.0  # topics may vanish for a moment while a broker restarts


class Probed(Protocol):
    """What the probes ask of a consumer."""

    def assignment(self) -> Iterable[TopicPartition]: ...

    async def topics(self) -> set[str]: ...

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]: ...

    async def position(self, partition: TopicPartition) -> int: ...


class TopicsMissing(RuntimeError):
    """The service's topics are gone from the broker and ``kafka.create_topics`` is off."""


class Probes:
    """Topic presence and consumer lag, reported to readiness and metrics."""

    def __init__(self, config: Config, consumer: Probed, health: Health, metrics: Metrics,
                 resubscribe: Callable[[], None], restored: Callable[[], bool]) -> None:
        self.config = config
        self.consumer = consumer
        self.health = health
        self.metrics = metrics
        self.resubscribe = resubscribe
        self.restored = restored
        self._missing_since: float | None = None

    async def run(self) -> None:
        while True:
            await asyncio.sleep(_PROBE_INTERVAL_S)
            await self.check_topics()
            await self.update_lag()

    async def check_topics(self) -> None:
        """Readiness says when the service's topics are gone (a broker restarted empty); they
        are recreated when ``kafka.create_topics`` is on, else the worker stops with
        ``TopicsMissing`` once they have been gone ``_MISSING_TOPICS_GRACE_S``."""
        wanted = {spec.name for spec in topics.topic_specs(self.config)}
        try:
            present = await asyncio.wait_for(self.consumer.topics(), _PROBE_TIMEOUT_S)
        except (KafkaError, TimeoutError):
            return  # the lag probe reports an unreachable broker
        missing = sorted(wanted - set(present))
        if not missing:
            if self._missing_since is not None:
                log.info("topics present again")
            self._missing_since = None
            self.health.report("topics")
            return
        self.health.report("topics", f"topics missing: {', '.join(missing)}")
        now = time.monotonic()
        if self._missing_since is None:
            self._missing_since = now
            log.error("topics missing from the broker", extra={
                "topics": missing, "create_topics": self.config.kafka.create_topics})
        if self.config.kafka.create_topics:
            try:
                topics.log_report(await topics.ensure_topics(self.config, create=True))
            except KafkaError as exc:
                log.warning("recreating topics failed", extra={"error": repr(exc)})
                return
            log.warning("topics recreated", extra={"topics": missing})
            self.resubscribe()  # a new subscription refreshes the metadata: new partitions seen
        elif now - self._missing_since >= _MISSING_TOPICS_GRACE_S:
            raise TopicsMissing(f"topics missing from the broker for "
                                f"{_MISSING_TOPICS_GRACE_S:g} s and kafka.create_topics is off: "
                                f"{', '.join(missing)}")

    async def update_lag(self) -> None:
        """Lag per partition; doubles as the broker probe that readiness follows."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            self.health.set_ready(False, "no partitions assigned")
            return
        try:
            ends = await asyncio.wait_for(self.consumer.end_offsets(assigned), _PROBE_TIMEOUT_S)
            for tp in assigned:
                position = await self.consumer.position(tp)
                lag = consumer_lag(ends.get(tp, position), position)
                self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
        except (KafkaError, AssertionError, TimeoutError) as exc:
            self.health.set_ready(False, f"broker unreachable: {type(exc).__name__}")
            log.warning("broker probe failed", extra={"error": repr(exc)})
            return
        if self.restored():
            self.health.set_ready(True)

    def forget(self, tp: TopicPartition) -> None:
        """A revoked partition's lag is no longer this worker's to report."""
        with contextlib.suppress(KeyError):  # never reported for this partition
            self.metrics.consumer_lag.remove(tp.topic, str(tp.partition))
