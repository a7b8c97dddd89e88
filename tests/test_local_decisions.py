"""A worker that owns the shard of an article it prepared decides it at once: no record goes
through ``topics.prepared``, and the decisions are those the hop would have given. A worker
that does not own the shard sends the prepared record, as before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import orjson
from aiokafka import TopicPartition

from service.app import build_pipeline
from service.config import Config, load_config
from service.edges.http import Health
from service.edges.topics import topic_specs
from service.metrics import Metrics
from service.records import Origin
from service.runtime.routing import decide_record, route
from service.runtime.worker import Worker
from tests.memory_kafka import MemoryChangelog, MemoryConsumer, MemoryProducer, Sent

SEEDS = Path(__file__).resolve().parents[1] / "service" / "samples" / "seeds.jsonl"
RAW = TopicPartition("articles.raw", 0)
_TIMES = ("assigned_at", "processed_at")


def _config() -> Config:
    return load_config(env={"INGEST_KAFKA__BOOTSTRAP_SERVERS": "memory:9092",
                            "INGEST_KAFKA__COMMIT_INTERVAL_MS": "20"})


def _messages() -> list[bytes]:
    seeds = [line for line in SEEDS.read_bytes().splitlines() if line.strip()]
    copy = orjson.loads(seeds[0])  # the first report again, syndicated under another address
    copy.pop("id", None)
    copy["url"] = "https://syndicated.example/copy-of-the-first-report"
    return [*seeds, orjson.dumps(copy)]


def _without_times(value: bytes) -> dict[str, object]:
    record = orjson.loads(value)
    return {key: item for key, item in record.items() if key not in _TIMES}


def _run_worker(config: Config, held: list[TopicPartition], messages: list[bytes]) -> list[Sent]:
    """Every record a worker holding ``held`` sent for ``messages``, once it committed them."""
    async def go() -> list[Sent]:
        producer = MemoryProducer(auto_ack=True)
        consumer = MemoryConsumer(held, [spec.name for spec in topic_specs(config)])
        consumer.queue(RAW, messages)
        changelog = MemoryChangelog(TopicPartition(config.topics.state, 0), [])
        pipeline = build_pipeline(config)
        pipeline.load_models()
        worker = Worker(config, pipeline, Metrics(), Health(), producer=producer,
                        consumer=consumer, reader=changelog)  # type: ignore[arg-type]
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await _until(lambda: consumer.committed(RAW) == len(messages))
        stop.set()
        await running
        return producer.sent

    return asyncio.run(asyncio.wait_for(go(), 60))


async def _until(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout_s)


def _on(sent: list[Sent], topic: str) -> list[Sent]:
    return [record for record in sent if record.topic == topic]


def test_the_owner_of_the_shard_decides_at_once_as_the_hop_would() -> None:
    config = _config()
    messages = _messages()
    prepared_tp = TopicPartition(config.topics.prepared, 0)
    sent = _run_worker(config, [RAW, prepared_tp], messages)

    assert _on(sent, config.topics.prepared) == []
    assert len(_on(sent, config.topics.clean)) == len(messages)
    assert _on(sent, config.topics.state), "the decisions' changelog entries are written"
    # What a shard fed through topics.prepared decides for the same prepared records.
    pipeline = build_pipeline(config)
    state = pipeline.new_state()
    expected = []
    for offset, value in enumerate(messages):
        result = pipeline.prepare(value, Origin(RAW.topic, 0, offset))
        for routed in route(result, config.kafka.state_shards):
            if routed.shard is not None:
                decided = decide_record(pipeline, state, routed.output.value,
                                        Origin(prepared_tp.topic, 0, offset))
                expected += [_without_times(output.value) for output in decided.outputs]
    clusters = [_without_times(record.value or b"")
                for record in _on(sent, config.topics.clusters)]
    assert clusters == expected
    assert clusters[-1]["duplicate_of"] == clusters[0]["article_id"]  # the copy is flagged


def test_a_worker_without_the_shard_sends_the_prepared_record_through_the_hop() -> None:
    config = _config()
    messages = _messages()
    sent = _run_worker(config, [RAW], messages)

    prepared = _on(sent, config.topics.prepared)
    assert len(prepared) == len(messages)
    assert {record.partition for record in prepared} == {0}
    assert _on(sent, config.topics.clusters) == [] and _on(sent, config.topics.state) == []
