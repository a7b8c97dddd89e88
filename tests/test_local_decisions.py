"""A worker that owns the shard of an article it prepared decides it at once: no record goes
through ``topics.prepared``, and the decisions are those the hop would have given. A worker
that does not own the shard sends the prepared record, as before."""

from __future__ import annotations

import asyncio
import functools
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
from tests.memory_kafka import MemoryChangelog, MemoryConsumer, MemoryProducer, Sent, until

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


_until = functools.partial(until, timeout_s=30.0)  # bounded: every wait of these tests


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


# -- two workers, faults and rebalances ------------------------------------------------------


class _Member:
    """A worker over in-memory clients, run in the test's own loop: ``held`` partitions, records
    acknowledged by the test (or at once with ``auto_ack``), its shard restored from
    ``changelog`` (whose entries a test may replace before a later restore)."""

    def __init__(self, config: Config, held: list[TopicPartition], auto_ack: bool = True,
                 changelog: list[tuple[bytes, bytes | None]] | None = None) -> None:
        self.producer = MemoryProducer(auto_ack=auto_ack)
        self.consumer = MemoryConsumer(held, [spec.name for spec in topic_specs(config)])
        self.changelog = MemoryChangelog(TopicPartition(config.topics.state, 0), changelog or [])
        pipeline = build_pipeline(config)
        pipeline.load_models()
        self.worker = Worker(config, pipeline, Metrics(), Health(), producer=self.producer,
                             consumer=self.consumer,  # type: ignore[arg-type]
                             reader=self.changelog)  # type: ignore[arg-type]
        self.stop = asyncio.Event()
        self.running: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.running = asyncio.create_task(self.worker.run(self.stop))

    async def finish(self) -> None:
        assert self.running is not None
        self.stop.set()
        await self.running

    async def crash(self) -> None:
        """Gone without a flush: whatever is not acknowledged is not committed."""
        assert self.running is not None
        self.running.cancel()
        await asyncio.wait([self.running])

    def on(self, topic: str) -> list[Sent]:
        return _on(self.producer.sent, topic)

    def acked(self, topic: str) -> list[Sent]:
        return [sent for sent in self.on(topic) if sent.future.done()]


def _firsts(sent: list[Sent]) -> dict[str, dict[str, object]]:
    """Each article's first cluster event (its own decision comes before any move of it)."""
    firsts: dict[str, dict[str, object]] = {}
    for record in sent:
        event = _without_times(record.value or b"")
        firsts.setdefault(str(event["article_id"]), event)
    return firsts


def _stream(synthetic: int) -> list[bytes]:
    """The seed story, a copy of its first report, and distinct synthetic stories."""
    from tests.harness import synthetic_articles
    return [*_messages(), *synthetic_articles(synthetic, seed=5)]


def _ids(messages: list[bytes]) -> set[str]:
    return {str(orjson.loads(message).get("id")) for message in messages} - {"None"}


def test_two_workers_decide_their_own_shards_articles_and_hop_the_others() -> None:
    """A holds raw 0 and the shard; B holds raw 1. A's articles never reach topics.prepared,
    B's all do, and A decides both: every article gets its decision and changelog entry."""
    config = _config()
    messages = _stream(14)
    raw_b = TopicPartition(RAW.topic, 1)
    prepared_tp = TopicPartition(config.topics.prepared, 0)

    async def go() -> None:
        a, b = _Member(config, [RAW, prepared_tp]), _Member(config, [raw_b])
        a.consumer.queue(RAW, messages[0::2])
        b.consumer.queue(raw_b, messages[1::2])
        a.start()
        b.start()
        await _until(lambda: b.consumer.committed(raw_b) == len(messages[1::2]))
        hopped = b.on(config.topics.prepared)
        assert len(hopped) == len(messages[1::2]) and {r.partition for r in hopped} == {0}
        assert b.on(config.topics.clusters) == [] and b.on(config.topics.state) == []
        a.consumer.queue(prepared_tp, [record.value or b"" for record in hopped])
        await _until(lambda: a.consumer.committed(prepared_tp) == len(hopped)
                     and a.consumer.committed(RAW) == len(messages[0::2]))
        await asyncio.gather(a.finish(), b.finish())

        assert a.on(config.topics.prepared) == []
        clean = {str(orjson.loads(r.value or b"")["id"])
                 for member in (a, b) for r in member.on(config.topics.clean)}
        assert set(_firsts(a.on(config.topics.clusters))) == clean
        assert len(clean) == len(messages) and _ids(messages) <= clean
        restored = build_pipeline(config).new_state()
        restored.restore((r.key or b"", r.value) for r in a.on(config.topics.state))
        assert restored.article_count() == len(messages)

    asyncio.run(asyncio.wait_for(go(), 60))


def test_a_raw_offset_decided_here_is_committed_only_once_its_changelog_is_acknowledged() -> None:
    config = load_config(env={"INGEST_KAFKA__BOOTSTRAP_SERVERS": "memory:9092",
                              "INGEST_KAFKA__COMMIT_INTERVAL_MS": "20",
                              "INGEST_KAFKA__MAX_POLL_RECORDS": "4"})
    messages = _stream(6)

    async def go() -> None:
        member = _Member(config, [RAW, TopicPartition(config.topics.prepared, 0)],
                         auto_ack=False)
        member.consumer.queue(RAW, messages)
        member.start()
        await _until(lambda: member.consumer.served == len(messages)
                     and len(member.on(config.topics.clusters)) >= len(messages))
        await asyncio.sleep(0.1)
        for topic in (config.topics.clean, config.topics.clusters):
            for sent in member.on(topic):
                sent.future.set_result(None)
        await asyncio.sleep(0.2)  # ten commit intervals
        assert member.consumer.commits == [], "the changelog entries are not acknowledged yet"
        member.producer.ack_all()
        await _until(lambda: member.consumer.committed(RAW) == len(messages))
        assert member.on(config.topics.prepared) == []
        await member.finish()

    asyncio.run(asyncio.wait_for(go(), 60))


def test_a_crash_mid_stream_then_redelivery_loses_nothing_and_repeats_first_decisions() -> None:
    """Records of later batches never acknowledged, the worker gone: what was committed had its
    decisions acknowledged, and the next owner (restored from every changelog entry the first
    sent) gives each redelivered article the first decision it had."""
    config = load_config(env={"INGEST_KAFKA__BOOTSTRAP_SERVERS": "memory:9092",
                              "INGEST_KAFKA__COMMIT_INTERVAL_MS": "20",
                              "INGEST_KAFKA__MAX_POLL_RECORDS": "5"})
    messages = _stream(19)
    prepared_tp = TopicPartition(config.topics.prepared, 0)

    async def go() -> None:
        first = _Member(config, [RAW, prepared_tp], auto_ack=False)
        first.consumer.queue(RAW, messages)
        first.start()
        await _until(lambda: first.consumer.served == len(messages)
                     and len(_firsts(first.on(config.topics.clusters))) == len(messages))
        for sent in first.producer.sent[:len(first.producer.sent) // 2]:  # an acked prefix
            sent.future.set_result(None)
        await _until(lambda: (first.consumer.committed(RAW) or 0) > 0)
        await asyncio.sleep(0.1)
        await first.crash()
        committed = first.consumer.committed(RAW) or 0
        assert 0 < committed < len(messages)
        decided = _firsts(first.acked(config.topics.clusters))
        assert _ids(messages[:committed]) <= set(decided), "committed, so decided and acked"

        second = _Member(config, [RAW, prepared_tp], changelog=[
            (r.key or b"", r.value) for r in first.on(config.topics.state)])
        second.consumer.positions[RAW] = committed
        second.consumer.queue(RAW, messages[committed:])
        second.start()
        await _until(lambda: second.consumer.committed(RAW) == len(messages))
        await second.finish()
        again = _firsts(second.on(config.topics.clusters))
        assert set(again) >= _ids(messages[committed:])
        earlier = _firsts(first.on(config.topics.clusters))
        assert all(again[article] == earlier[article] for article in again)
        assert second.on(config.topics.prepared) == []

    asyncio.run(asyncio.wait_for(go(), 60))


def test_a_shard_revoked_mid_stream_hops_then_returns_restored_and_decides_the_hopped() -> None:
    config = _config()
    messages = _stream(10)
    prepared_tp = TopicPartition(config.topics.prepared, 0)
    thirds = [messages[:6], messages[6:11], messages[11:]]

    async def go() -> None:
        member = _Member(config, [RAW, prepared_tp])
        member.consumer.queue(RAW, thirds[0])
        member.start()
        await _until(lambda: member.consumer.committed(RAW) == len(thirds[0]))
        await member.worker.on_revoked([prepared_tp])  # flushes, then forgets the shard
        member.consumer.held.discard(prepared_tp)
        assert member.worker.recovery.shards == {}
        changelog = [(r.key or b"", r.value) for r in member.on(config.topics.state)]
        assert all(sent.future.done() for sent in member.producer.sent)

        member.consumer.queue(RAW, thirds[1])
        await _until(lambda: member.consumer.committed(RAW) == len(thirds[0]) + len(thirds[1]))
        hopped = member.on(config.topics.prepared)
        assert len(hopped) == len(thirds[1]), "not owned: the hop"

        member.changelog.records = MemoryChangelog(member.changelog.tp, changelog).records
        member.consumer.held.add(prepared_tp)
        await member.worker.on_assigned([prepared_tp])  # restored from the changelog
        member.consumer.queue(prepared_tp, [record.value or b"" for record in hopped])
        member.consumer.queue(RAW, thirds[2])
        await _until(lambda: member.consumer.committed(RAW) == len(messages)
                     and member.consumer.committed(prepared_tp) == len(hopped))
        await member.finish()

        assert len(member.on(config.topics.prepared)) == len(thirds[1]), "owned again: none"
        assert set(_firsts(member.on(config.topics.clusters))) >= _ids(messages)
        assert member.worker.recovery.shards[0].article_count() == len(messages)

    asyncio.run(asyncio.wait_for(go(), 60))


def test_records_fetched_from_a_revoked_shard_are_left_to_its_next_owner() -> None:
    """aiokafka lists a revoked partition until the next assignment and may still hand out
    records it fetched from it: the worker that gave the shard up neither restores it again,
    nor decides them, nor commits them."""
    config = _config()
    prepared_tp = TopicPartition(config.topics.prepared, 0)

    async def go() -> None:
        hop = _Member(config, [RAW])
        hop.consumer.queue(RAW, _messages())
        hop.start()
        await _until(lambda: hop.consumer.committed(RAW) == len(_messages()))
        await hop.finish()

        member = _Member(config, [RAW, prepared_tp])
        member.start()
        await _until(lambda: member.worker.recovery.shards != {})
        await member.worker.on_revoked([prepared_tp])  # the consumer still lists it
        member.consumer.queue(prepared_tp, [r.value or b"" for r in hop.on(config.topics.prepared)])
        await _until(lambda: member.consumer.served == len(_messages()))
        await asyncio.sleep(0.2)  # ten commit intervals
        await member.finish()
        assert member.worker.recovery.shards == {} and member.changelog.readers == 1
        assert member.producer.sent == [] and member.consumer.committed(prepared_tp) is None

    asyncio.run(asyncio.wait_for(go(), 60))
