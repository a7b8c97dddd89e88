"""``run``: one consumer-group member that consumes, runs the pipeline, produces and commits.

Guarantee: at-least-once. A consumed offset is committed only after every record it produced
(clean record, cluster events, changelog entries, or its dead letter) is acknowledged by the
broker. Output keys are article ids, so a redelivered message overwrites rather than adds.

Shape: one consumer (one group) reads two topics. ``topics.raw`` partitions get the stateless
step; ``topics.prepared`` partitions are state shards, each owned by the worker that holds the
partition, restored from its ``topics.state`` changelog partition when assigned. Both steps
route as ``process`` does (``service.runtime.routing``); a prepared record whose shard this
worker owns is decided at once rather than sent through ``topics.prepared``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from service.config import Config
from service.edges.fetch import Fetcher
from service.edges.http import Health
from service.edges.kafka import changelog_reader, stop_member, worker_consumer, worker_producer
from service.metrics import Metrics
from service.pipeline import Pipeline, Result
from service.records import Origin, RawArticle, Rejection
from service.runtime.checkpoint import Batch, Checkpoint
from service.runtime.delivery import Delivery
from service.runtime.flow import Message, decode_batch, fetch_pages, prepare_decoded, wanting_fetch
from service.runtime.probes import Probes
from service.runtime.recovery import ChangelogReader, Recovery
from service.runtime.routing import route
from service.runtime.shards import Shards
from service.timefmt import parse_timestamp

log = logging.getLogger("service.kafka")

# Of service.shutdown_grace_s, what a stop waits for a group join under way before leaving.
_JOIN_WAIT_SHARE = 0.25
T = TypeVar("T")
Records = dict[TopicPartition, list[ConsumerRecord[Any, Any]]]


class Worker:
    """One consumer-group member running the pipeline until ``stop`` is set.

    It polls and runs the stateless step; ``shards`` decide and settle, ``delivery`` produces,
    ``checkpoint`` acknowledges in order and commits, ``recovery`` restores assigned shards and
    ``probes`` watch the topics and the lag. The Kafka clients are the real ones unless given
    (the unit tests give in-memory ones)."""

    def __init__(self, config: Config, pipeline: Pipeline, metrics: Metrics, health: Health,
                 fetcher: Fetcher | None = None, wall_clock: Callable[[], float] = time.time,
                 *, producer: AIOKafkaProducer | None = None,
                 consumer: AIOKafkaConsumer | None = None,
                 reader: Callable[[], ChangelogReader] | None = None) -> None:
        self.config = config
        self.pipeline = pipeline
        self.metrics = metrics
        self.health = health
        self.fetcher = fetcher
        self.producer = producer if producer is not None else worker_producer(config)
        self.consumer = consumer if consumer is not None else worker_consumer(config)
        self.delivery = Delivery(config, pipeline, self.producer, health, metrics)
        self.checkpoint = Checkpoint(
            self.delivery, self.consumer, health, metrics,
            max_in_flight=config.kafka.max_in_flight,
            commit_interval_s=config.kafka.commit_interval_ms / 1000, wall_clock=wall_clock)
        self.recovery = Recovery(pipeline, metrics, config.topics.state,
                                 reader or (lambda: changelog_reader(config.kafka)))
        self.probes = Probes(config, self.consumer, health, metrics, self._subscribe,
                             lambda: self.recovery.restored)
        self._handling = asyncio.Lock()
        # Partitions as the rebalance listener last left them: aiokafka still lists revoked
        # ones (and may hand out records it fetched from them) until the group's next assignment.
        self._held: set[TopicPartition] = set()
        self.shards = Shards(config, pipeline, metrics, self.recovery, self.delivery,
                             self.checkpoint, self._handling)

    # -- lifecycle -------------------------------------------------------------------------

    def _subscribe(self) -> None:
        topics = self.config.topics
        self.consumer.subscribe([topics.raw, topics.prepared], listener=_Rebalance(self))

    async def run(self, stop: asyncio.Event) -> None:
        await self.producer.start()
        try:
            self._subscribe()
            helpers: list[asyncio.Task[None]] = []
            try:
                # The first start joins the group: it ends when partitions are assigned.
                started = await _unless_stopped(self.consumer.start(), stop)
                if started is not None:
                    started.result()
                    helpers = [asyncio.create_task(self.checkpoint.run(), name="ack-loop"),
                               asyncio.create_task(self.probes.run(), name="probes")]
                    await self._poll_loop(stop, helpers)
                    self.checkpoint.abandon_fetches()  # redelivered: never wait on a slow host
                    await self.checkpoint.flush()
            finally:
                self.checkpoint.abandon_fetches()
                for task in helpers:
                    task.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                self.health.set_ready(False, "stopping")
                grace_s = self.config.service.shutdown_grace_s
                await stop_member(self.consumer, _JOIN_WAIT_SHARE * grace_s)
        finally:
            await self.producer.stop()

    async def _poll_loop(self, stop: asyncio.Event, helpers: list[asyncio.Task[None]]) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        settling = False
        try:
            while not stop.is_set():
                for task in helpers:
                    if task.done():
                        task.result()  # a helper loop died: surface its error, stop consuming
                await self.checkpoint.wait_for_room()
                polling = self.consumer.getmany(timeout_ms=0 if settling else 200,
                                                max_records=self.config.kafka.max_poll_records)
                polled = await _unless_stopped(polling, stop)
                if polled is None:
                    break
                try:
                    records = polled.result()
                except KafkaError as exc:
                    self.health.set_ready(False, f"consume failed: {exc}")
                    log.warning("consume failed", extra={"error": str(exc)})
                    await asyncio.wait([stopping], timeout=1.0)
                    continue
                settling = False
                if records:
                    async with self._handling:
                        await self._handle(records)
                else:
                    settling = await self.shards.settle_idle()
        finally:
            stopping.cancel()

    # -- processing ------------------------------------------------------------------------

    async def _handle(self, records: Records) -> None:
        """Process one poll. Records of a partition revoked since they were fetched are left to
        its next owner: neither processed nor committed here, so a shard that moved is never
        restored and decided again by the worker that gave it up."""
        records = {tp: messages for tp, messages in records.items() if tp in self._held}
        if not records:
            return
        batch = self.checkpoint.consumed(records)
        decided_here: set[int] = set()
        for tp, messages in records.items():
            self.metrics.messages_consumed.labels(tp.topic).inc(len(messages))
            if tp.topic == self.config.topics.raw:
                decided_here |= await self._prepare(tp, messages, batch)
            else:
                await self.shards.decide(tp, messages, batch)
        for shard in sorted(decided_here):  # one changelog drain per shard for the whole poll
            await self.shards.decided(shard, batch)
        self.checkpoint.queue(batch)

    async def _prepare(self, tp: TopicPartition, messages: list[ConsumerRecord[Any, Any]],
                       batch: Batch) -> set[int]:
        """Prepare the messages that need no fetch now; URL-only ones go to a batch of their own,
        filled by a task as their pages arrive, so one slow host holds up no other message. Returns
        the shards that decided some of them here (``_add_results``).

        That batch is queued before ``batch``, which carries every offset: a partition's offsets
        are committed only once its fetched messages are done too. A fetched message's records
        may follow those of messages consumed after it."""
        inputs = [(m.value, Origin(tp.topic, tp.partition, m.offset, m.key)) for m in messages]
        decoded = decode_batch(self.pipeline, inputs)
        wanted = set(wanting_fetch(decoded)) if self.fetcher is not None else set()
        if wanted:
            later, fetching = Batch({}, len(wanted)), sorted(wanted)
            later.filling = asyncio.create_task(self._fetch_and_prepare(
                tp, [messages[i] for i in fetching], [inputs[i] for i in fetching],
                [decoded[i] for i in fetching], later), name="fetch-batch")
            batch.count -= len(wanted)
            self.checkpoint.queue(later)
        now = [i for i in range(len(messages)) if i not in wanted]
        results = await prepare_decoded(self.pipeline, [inputs[i] for i in now],
                                        [decoded[i] for i in now],
                                        self.config.limits.message_deadline_s)
        return await self._add_results(tp, [messages[i] for i in now], results, batch,
                                       decide_here=True)

    async def _fetch_and_prepare(self, tp: TopicPartition,
                                 messages: list[ConsumerRecord[Any, Any]], inputs: list[Message],
                                 decoded: list[RawArticle | Rejection], batch: Batch) -> None:
        assert self.fetcher is not None
        await fetch_pages(self.pipeline, self.fetcher, decoded, range(len(decoded)))
        results = await prepare_decoded(self.pipeline, inputs, decoded,
                                        self.config.limits.message_deadline_s)
        await self._add_results(tp, messages, results, batch)

    async def _add_results(self, tp: TopicPartition, messages: list[ConsumerRecord[Any, Any]],
                           results: list[Result], batch: Batch,
                           decide_here: bool = False) -> set[int]:
        """Send the records of prepared messages as part of ``batch``. With ``decide_here``
        (the caller holds the handling lock) a prepared record whose shard this worker owns is
        decided at once instead of sent; fetched batches, which fill outside the lock, always
        send theirs. The shards that decided here: the caller sends their changelog entries
        (``Shards.decided``) before it queues ``batch``."""
        decided: set[int] = set()
        for message, result in zip(messages, results, strict=True):
            born = parse_timestamp(result.prepared.head.fetched_at) if result.prepared else None
            batch.born.append(born.timestamp() if born else message.timestamp / 1000)
            batch.results.append(result)
            origin = Origin(tp.topic, tp.partition, message.offset, message.key)
            for routed in route(result, self.config.kafka.state_shards):
                output, shard = routed.output, routed.shard
                if (decide_here and shard is not None and result.prepared is not None
                        and await self.shards.decide_here(shard, result.prepared, batch)):
                    decided.add(shard)
                    continue
                batch.sends.append(await self.delivery.send(
                    self.delivery.topic(output.sink), shard, output.key, output.value, origin,
                    message.value))
        return decided

    # -- rebalance and state ---------------------------------------------------------------

    async def on_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        revoked = list(revoked)
        log.info("partitions revoked", extra={"partitions": _partitions(revoked)})
        async with self._handling:  # no decision between the flush and the shards' forgetting
            self._held.difference_update(revoked)
            await self.checkpoint.flush()
            for tp in revoked:
                if tp.topic == self.config.topics.prepared:
                    self.shards.forget(tp.partition)
                self.probes.forget(tp)

    async def on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        assigned = list(assigned)
        log.info("partitions assigned", extra={"partitions": _partitions(assigned),
                                               "held": _partitions(self.consumer.assignment())})
        self._held.update(assigned)
        for tp in assigned:
            if tp.topic == self.config.topics.prepared:
                await self.recovery.shard(tp.partition)
        if self.consumer.assignment():
            self.health.set_ready(True)
        else:
            self.health.set_ready(False, "no partitions assigned")


async def _unless_stopped(awaitable: Awaitable[T], stop: asyncio.Event) -> asyncio.Future[T] | None:
    """``awaitable`` as a future that has ended, or None when ``stop`` was set first (it is then
    cancelled). A group join blocks ``start`` and every poll, without their timeouts, and the
    broker may hold a join for minutes (until every member rejoins): SIGTERM must not wait."""
    task = asyncio.ensure_future(awaitable)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task.done():
        return task
    task.cancel()
    await asyncio.wait([task])
    return None


def _partitions(tps: Iterable[TopicPartition]) -> dict[str, list[int]]:
    """Partitions by topic, for log lines an operator reads."""
    by_topic: dict[str, list[int]] = {}
    for tp in sorted(tps):
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return by_topic


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.worker.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.worker.on_assigned(assigned)
