"""Producing the worker's records: send now, wait for the broker's ack later, never lose one.

A record is sent at once (the producer batches it) and its acknowledgement awaited when its
batch comes up in the commit order (``service.runtime.checkpoint``). A failed send is retried
with backoff until it succeeds; a record refused as too large is replaced by a dead letter.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka.errors import KafkaError

from service.config import Config
from service.edges.http import Health
from service.edges.kafka import REFUSED_AS_TOO_LARGE
from service.metrics import Metrics
from service.pipeline import Pipeline, Sink, record_headers
from service.records import Origin, Reason, Rejection

log = logging.getLogger("service.kafka")

_RETRY_BASE_S = 0.2
_RETRY_MAX_S = 5.0


class Producer(Protocol):
    """What delivery needs of a producer (aiokafka's, or an in-memory one in tests)."""

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   partition: int | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future[Any]: ...


@dataclass
class Send:
    """One record sent, and the future of its acknowledgement."""

    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None  # None: a changelog tombstone
    future: asyncio.Future[Any]
    origin: Origin | None = None  # the consumed message, when a dead letter can stand in for it
    raw: bytes | None = None


class Delivery:
    """Sends records to the topics of their sinks and waits until the broker has them."""

    def __init__(self, config: Config, pipeline: Pipeline, producer: Producer, health: Health,
                 metrics: Metrics) -> None:
        self.config = config
        self.pipeline = pipeline
        self.producer = producer
        self.health = health
        self.metrics = metrics
        topics = config.topics
        self._sink_topics = {Sink.CLEAN: topics.clean, Sink.CLUSTERS: topics.clusters,
                             Sink.DLQ: topics.dlq, Sink.PREPARED: topics.prepared}
        self._headers = {topic: record_headers(sink) for sink, topic in self._sink_topics.items()}

    def topic(self, sink: Sink) -> str:
        return self._sink_topics[sink]

    async def send(self, topic: str, partition: int | None, key: bytes | None,
                   value: bytes | None, origin: Origin | None = None,
                   raw: bytes | None = None) -> Send:
        try:
            future = await self.producer.send(topic, value, key=key, partition=partition,
                                              headers=self._headers.get(topic))
        except REFUSED_AS_TOO_LARGE as exc:  # the producer checks the size before sending
            future = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
        return Send(topic, partition, key, value, future, origin, raw)

    async def deliver(self, send: Send) -> None:
        """Wait for the broker's ack; retry with backoff until it comes (never skip a record),
        unless the record is refused as too large: then a dead letter stands in for it."""
        future, attempt = send.future, 0
        while True:
            try:
                await future
                if attempt:
                    self.health.set_ready(True)
                return
            except REFUSED_AS_TOO_LARGE as exc:
                await self._refused(send, exc)
                return
            except KafkaError as exc:
                attempt += 1
                self.health.set_ready(False, f"produce failing: {type(exc).__name__}")
                log.warning("produce failed, retrying",
                            extra={**about(send), "attempt": attempt, "error": str(exc)})
                delay = min(_RETRY_MAX_S, _RETRY_BASE_S * 2 ** attempt)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                future = await self.producer.send(send.topic, send.value, key=send.key,
                                                  partition=send.partition,
                                                  headers=self._headers.get(send.topic))

    async def _refused(self, send: Send, error: KafkaError) -> None:
        """A record too large for the producer or broker (their limit below
        ``limits.max_record_bytes``): its message becomes a too_large dead letter, which keeps
        none of the raw bytes when a dead letter itself was refused."""
        size = len(send.value or b"")
        log.error("record refused as too large", extra={**about(send), "bytes": size,
                                                        "error": type(error).__name__})
        if send.origin is None:  # a shard's own record: there is no message to stand in for
            return
        rejection = Rejection(Reason.TOO_LARGE, f"the {size}-byte record for {send.topic} was "
                              f"refused ({type(error).__name__}): lower limits.max_record_bytes",
                              "produce")
        is_letter = send.topic == self.config.topics.dlq
        (letter,) = self.pipeline.reject(rejection, send.origin, send.raw,
                                         raw_limit=0 if is_letter else None).outputs
        stand_in = await self.send(self.config.topics.dlq, None, letter.key, letter.value,
                                   None if is_letter else send.origin, send.raw)
        await self.deliver(stand_in)
        self.metrics.dead_letters.labels(str(Reason.TOO_LARGE)).inc()


def about(send: Send) -> dict[str, Any]:
    """Where a record goes and which consumed message it came from: per-message log fields."""
    fields: dict[str, Any] = {"topic": send.topic, "partition": send.partition,
                              "key": send.key.decode("utf-8", "replace") if send.key else None}
    if send.origin is not None:
        fields.update(source_topic=send.origin.topic, source_partition=send.origin.partition,
                      source_offset=send.origin.offset)
    return fields
