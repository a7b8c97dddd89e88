"""Recovery without a broker: a shard restored from its changelog decides as the state that wrote
it would; a shard is restored once however often it is asked for, again after it was revoked,
and a restore that failed is retried, never kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from service.metrics import Metrics
from service.pipeline import Pipeline, Prepared
from service.records import Origin
from service.runtime.recovery import Recovery
from tests.harness import synthetic_articles
from tests.memory_kafka import MemoryChangelog

STATE = TopicPartition("state", 3)


def _pipeline() -> Pipeline:
    return Pipeline(max_message_bytes=5_000_000, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC))


def _prepared(pipeline: Pipeline, count: int) -> list[Prepared]:
    results = [pipeline.prepare(value, Origin("raw", 0, i))
               for i, value in enumerate(synthetic_articles(count))]
    return [result.prepared for result in results if result.prepared is not None]


def test_a_restored_shard_decides_as_the_state_that_wrote_its_changelog() -> None:
    pipeline = _pipeline()
    articles = _prepared(pipeline, 12)
    writer = pipeline.new_state()
    for prepared in articles[:10]:
        pipeline.decide(writer, prepared)
    changelog = MemoryChangelog(STATE, writer.drain_changes(), chunk=5)
    recovery = Recovery(pipeline, Metrics(), STATE.topic, changelog)

    restored = asyncio.run(recovery.shard(STATE.partition))
    assert restored.article_count() == writer.article_count() == 10
    assert recovery.shards == {STATE.partition: restored} and recovery.restored
    assert changelog.stopped == 1  # the reader is closed after the restore
    for prepared in articles[10:]:  # new articles meet the same stories
        assert pipeline.decide(restored, prepared) == pipeline.decide(writer, prepared)
    again = pipeline.decide(restored, articles[0])  # a redelivery gets its decision back
    assert again.duplicate_kind is None and again.outputs


def test_a_shard_is_restored_once_however_often_it_is_asked_for_and_again_after_revoke() -> None:
    pipeline = _pipeline()
    changelog = MemoryChangelog(STATE, [])
    recovery = Recovery(pipeline, Metrics(), STATE.topic, changelog)

    async def go() -> None:
        first, second = await asyncio.gather(recovery.shard(3), recovery.shard(3))
        assert first is second and changelog.readers == 1
        assert await recovery.shard(3) is first and changelog.readers == 1
        recovery.forget(3)
        assert recovery.shards == {}
        assert await recovery.shard(3) is not first and changelog.readers == 2

    asyncio.run(go())


def test_a_failed_restore_is_not_kept_and_the_next_request_restores_again() -> None:
    pipeline = _pipeline()
    writer = pipeline.new_state()
    for prepared in _prepared(pipeline, 3):
        pipeline.decide(writer, prepared)
    entries = writer.drain_changes()
    changelog = MemoryChangelog(STATE, entries, chunk=1, fail=KafkaConnectionError("cut"))
    recovery = Recovery(pipeline, Metrics(), STATE.topic, changelog)

    async def go() -> None:
        with pytest.raises(KafkaConnectionError):
            await recovery.shard(3)
        assert recovery.shards == {} and recovery.restored and changelog.stopped == 1
        changelog.fail = None
        assert (await recovery.shard(3)).article_count() == 3

    asyncio.run(go())
