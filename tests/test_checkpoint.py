"""Checkpointing without a broker: batches are acknowledged in their numbered order, offsets are
committed only once everything before them is acknowledged, and ``kafka.max_in_flight`` holds
the poll loop back until acknowledgements make room."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError

from service.app import build_pipeline
from service.config import Config, load_config
from service.edges.http import Health
from service.edges.topics import topic_specs
from service.metrics import Metrics
from service.runtime.checkpoint import Batch, Checkpoint
from service.runtime.delivery import Delivery
from service.runtime.worker import Worker
from tests.harness import synthetic_articles
from tests.memory_kafka import MemoryConsumer, MemoryProducer, record, until

RAW = TopicPartition("articles.raw", 0)


def _config(**env: str) -> Config:
    return load_config(env={"INGEST_KAFKA__BOOTSTRAP_SERVERS": "memory:9092",
                            **{f"INGEST_KAFKA__{k.upper()}": v for k, v in env.items()}})


def _checkpoint(producer: MemoryProducer, consumer: MemoryConsumer,
                max_in_flight: int = 100) -> Checkpoint:
    config = _config()
    metrics, health = Metrics(), Health()
    delivery = Delivery(config, build_pipeline(config), producer, health, metrics)
    return Checkpoint(delivery, consumer, health, metrics, max_in_flight=max_in_flight,
                      commit_interval_s=0.05)


_until = functools.partial(until, timeout_s=10.0)  # bounded: every wait of these tests


async def _batch(checkpoint: Checkpoint, producer: MemoryProducer, end: int,
                 sends: int = 1) -> Batch:
    """A consumed batch of the one message at ``end - 1`` of RAW, with ``sends`` records."""
    batch = checkpoint.consumed({RAW: [record(RAW, end - 1, b"{}")]})
    for _ in range(sends):
        batch.sends.append(await checkpoint.delivery.send("articles.clean", None, b"k", b"{}"))
    checkpoint.queue(batch)
    return batch


def _run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


def test_a_later_batch_acknowledged_first_waits_for_the_earlier_one() -> None:
    async def go() -> None:
        producer, consumer = MemoryProducer(), MemoryConsumer([RAW])
        await consumer.start()
        checkpoint = _checkpoint(producer, consumer)
        acker = asyncio.create_task(checkpoint.run())
        first = await _batch(checkpoint, producer, end=5, sends=2)
        second = await _batch(checkpoint, producer, end=9)
        assert (first.number, second.number) == (1, 2)
        for send in second.sends:
            send.future.set_result(None)
        await asyncio.sleep(0.3)  # several commit intervals
        assert checkpoint.acknowledged == 0 and consumer.commits == []
        first.sends[0].future.set_result(None)
        await asyncio.sleep(0.2)
        assert checkpoint.acknowledged == 0 and consumer.commits == []
        first.sends[1].future.set_result(None)
        await _until(lambda: consumer.committed(RAW) == 9)
        assert checkpoint.acknowledged == 2 and checkpoint.in_flight == 0
        assert all(commit[RAW] in (5, 9) for commit in consumer.commits)
        acker.cancel()

    _run(go)


def test_a_failed_send_is_retried_and_the_commit_waits_for_it() -> None:
    async def go() -> None:
        producer, consumer = MemoryProducer(), MemoryConsumer([RAW])
        await consumer.start()
        checkpoint = _checkpoint(producer, consumer)
        acker = asyncio.create_task(checkpoint.run())
        (send,) = (await _batch(checkpoint, producer, end=3)).sends
        send.future.set_exception(KafkaTimeoutError())
        await _until(lambda: len(producer.sent) == 2)  # sent again after a pause
        assert consumer.commits == [] and not checkpoint.health.serving
        producer.ack_all()
        await _until(lambda: consumer.committed(RAW) == 3)
        acker.cancel()

    _run(go)


def test_flush_commits_everything_consumed_and_offsets_of_revoked_partitions_are_dropped() -> None:
    async def go() -> None:
        producer, consumer = MemoryProducer(auto_ack=True), MemoryConsumer([RAW])
        await consumer.start()
        checkpoint = _checkpoint(producer, consumer)
        checkpoint.commit_interval_s = 60.0  # only flush commits here
        acker = asyncio.create_task(checkpoint.run())
        await _batch(checkpoint, producer, end=4)
        await checkpoint.flush()
        assert consumer.committed(RAW) == 4
        consumer.held.clear()  # the partition went to another member
        await _batch(checkpoint, producer, end=8)
        await checkpoint.flush()
        assert consumer.commits == [{RAW: 4}]
        acker.cancel()

    _run(go)


def test_max_in_flight_stops_polling_until_acknowledgements_make_room(tmp_path: Path) -> None:
    """max_in_flight 4, polls of 2: the worker takes 4 messages and polls no more while their
    records wait for the broker; acknowledged, it consumes the rest and commits them all."""
    async def go() -> None:
        config = _config(max_in_flight="4", max_poll_records="2", commit_interval_ms="50")
        producer = MemoryProducer()
        consumer = MemoryConsumer([RAW], [spec.name for spec in topic_specs(config)])
        consumer.queue(RAW, synthetic_articles(10))
        pipeline = build_pipeline(config)
        pipeline.load_models()  # seconds, as the service does before it joins
        worker = Worker(config, pipeline, Metrics(), Health(),
                        producer=producer, consumer=consumer)  # type: ignore[arg-type]
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await _until(lambda: consumer.served == 4)
        polls = consumer.polls
        await asyncio.sleep(0.5)
        assert consumer.served == 4 and consumer.polls == polls
        assert worker.checkpoint.in_flight == 4 and consumer.commits == []
        acked = producer.ack_all()
        assert acked == 8  # a clean and a prepared record for each of 4 articles
        await _until(lambda: consumer.served == 8)  # room for 4 more, and no more
        await asyncio.sleep(0.3)
        assert consumer.served == 8 and worker.checkpoint.acknowledged == 2
        assert (consumer.committed(RAW) or 0) <= 4  # nothing of the unacknowledged batches
        while consumer.served < 10 or any(not s.future.done() for s in producer.sent):
            producer.ack_all()
            await asyncio.sleep(0.02)
        await _until(lambda: consumer.committed(RAW) == 10)
        assert worker.checkpoint.in_flight == 0
        stop.set()
        await running
        assert consumer.stopped and producer.stopped

    _run(go)
