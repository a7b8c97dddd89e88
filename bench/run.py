"""Every throughput, latency, scale-out and state figure in one run, on the same messages, beside
the ceilings that bound them (``GOALS`` lists each figure and its goal).

    bench/run [--quick] [--shared ../shared] [--set SECTION__KEY=VALUE ...]

One loopback Tansu broker serves every phase; each phase has its own topics and consumer group.
The service runs as real ``python -m service run`` processes (stopped by pid at the end, even on
error). Service timings start when the messages are published to a service that is ready and
holds its partitions, and end when every article has its final outcome acknowledged
(``ingest_articles_total``). The last line is ``RESULT {json}``; a figure that could not be
measured is null and the reason is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The tree to import from, as started: this checkout, or a compiled build's tree that links this
# bench/ (bench/run starts it there; bench/build.py).
TREE = Path(__file__).absolute().parents[1]
if str(TREE) not in sys.path:
    sys.path.insert(0, str(TREE))

import orjson  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.errors import TopicAlreadyExistsError  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

from bench.build import is_compiled  # noqa: E402
from bench.corpus import TextCorpus, html_messages, read_pages  # noqa: E402
from bench.harness import SERVICE_TREE, ServiceProcess  # noqa: E402
from service.config import load_config  # noqa: E402
from service.edges.broker import EmbeddedBroker, free_port  # noqa: E402

# Raw-topic partitions of the service runs (the default, kafka.topic_partitions): two workers
# split the stateless work by the shard's weight, 5 and 7 with kafka.state_shard_load 0.2.
PARTITIONS = 12
# A scrape of /metrics costs the service 7-9 ms of CPU on this machine (prometheus-client's
# exposition of ~240 lines), which the phase counts as the service's: polls are spaced by a
# quarter of the time the rest should take at the rate so far, at most _POLL_MAX_S (the rate so
# far includes the start, so it is pessimistic, and the poll that sees the end is what ends the
# timing, to within _POLL_MIN_S). At most 0.2 s apart, a 20 s text phase drew about 100 scrapes:
# 2-3% of its CPU.
_POLL_MIN_S, _POLL_MAX_S = 0.05, 1.0
_STAGES = ("decode", "fetch", "normalize", "fingerprint", "features", "cluster", "serialize")
_SAMPLE = re.compile(r'^(\w+)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

GOALS: dict[str, tuple[str, float, bool]] = {
    # figure: (what, goal, higher is better)
    "text_ms_per_article": ("text: service CPU ms per article, one process", 1.0, False),
    "text_vs_peer": ("text: peer CPU / service CPU per article", 1.0, True),
    "html_vs_trafilatura": ("html service / trafilatura alone", 2.5, True),
    "html_vs_peer": ("html: peer CPU / service CPU per article", 2.0, True),
    "records_per_article": ("records produced per text article", 3.0, False),
    "bytes_written_ratio": ("bytes written / raw bytes, text", 2.5, False),
    "state_mb_per_1m": ("state memory at 1M articles (MB)", 1024.0, False),
    "state_cost_ratio": ("state cost at 1M / at 10k", 1.5, False),
    "restore_s_per_1m": ("restore of a 1M-article shard (s)", 60.0, False),
    "p99_ms": ("p99 produce -> clean at 50% max rate (ms)", 500.0, False),
    "scale_2proc": ("two processes / one", 1.7, True),
}


@dataclass(frozen=True)
class Sizes:
    text: int  # text articles through one process (and offline, and two processes)
    passthrough: int  # passthrough messages (the text corpus cycled)
    html: int  # HTML messages (the extraction pages cycled; full: 6 cycles, a phase of ~6 s)
    latency_s: float  # how long the 50%-rate latency run publishes
    warmup: int  # messages each service run gets before timing (its lazy loads)
    budget_s: float  # bench_state gets what is left of this (and at least a minute)
    restore: int  # articles in the shard whose restore is timed (scaled to 1M)


# budget_s: the quick run's other steps took 380 s on a busy machine, and bench_state --quick
# needs minutes of its own there (60 s left to it was not enough).
QUICK = Sizes(text=2400, passthrough=10_000, html=180, latency_s=8.0, warmup=24,
              budget_s=660.0, restore=10_000)
FULL = Sizes(text=6000, passthrough=60_000, html=540, latency_s=30.0, warmup=60,
             budget_s=3600.0, restore=100_000)


@dataclass
class Report:
    """Figures as they are measured, and why any is missing."""

    figures: dict[str, float | None] = field(default_factory=dict)

    def set(self, name: str, value: float | None, reason: str = "") -> None:
        self.figures[name] = None if value is None else round(value, 3)
        if value is None:
            say(f"  {name}: not available ({reason})")

    def ratio(self, name: str, top: str, bottom: str) -> None:
        a, b = self.figures.get(top), self.figures.get(bottom)
        if a is None or b is None or b == 0:
            self.set(name, None, f"needs {top} and {bottom}")
        else:
            self.set(name, a / b)


def say(line: str) -> None:
    print(line, flush=True)


# -- metrics --------------------------------------------------------------------------------


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    """Prometheus text format to {(name, labels): value} (comments and odd lines skipped)."""
    samples: Samples = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, labels, value = match.groups()
        with contextlib.suppress(ValueError):
            samples[(name, frozenset(_LABEL.findall(labels or "")))] = float(value)
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of ``name`` over the samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, have), value in samples.items()
               if sample == name and wanted <= have)


def label_values(samples: Samples, name: str, label: str, **labels: str) -> dict[str, float]:
    wanted = set(labels.items())
    out: dict[str, float] = {}
    for (sample, have), value in samples.items():
        if sample == name and wanted <= have:
            out.update({v: value for k, v in have if k == label})
    return out


def scrape(service: ServiceProcess, timeout_s: float = 30.0) -> Samples:
    """/metrics of one process. Generous timeout: the service answers between batches, and a
    batch of CPU work holds its event loop for seconds (a finding the report prints)."""
    url = f"http://127.0.0.1:{service.http_port}/metrics"
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return parse_metrics(response.read().decode())


def decided(service: ServiceProcess) -> float:
    """Articles with a final outcome (clean, duplicate or dead letter) acknowledged so far."""
    return total(scrape(service), "ingest_articles_total")


def poll_delay(done: float, count: int, elapsed_s: float) -> float:
    """Seconds to wait before the next scrape of a phase ``done`` of ``count`` into it."""
    if done <= 0:
        return _POLL_MIN_S
    left_s = (count - done) * elapsed_s / done
    return min(_POLL_MAX_S, max(_POLL_MIN_S, left_s / 4))


def cpu_seconds(pid: int | None) -> float:
    """User+system CPU of a process from /proc (the broker's share of a phase)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine used (the benchmark shares its cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# -- Kafka helpers (librdkafka: fast, and independent of the service's client) --------------


async def create_topics(bootstrap: str, names: Sequence[str],
                        partitions: int = PARTITIONS) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


def message_key(value: bytes, index: int) -> bytes:
    """The key a crawler would give a raw message: its ``id`` (its index when it has none)."""
    try:
        return str(orjson.loads(value).get("id", index)).encode()
    except (orjson.JSONDecodeError, AttributeError):  # not a JSON object: a bad message
        return str(index).encode()


def message_keys(values: Sequence[bytes]) -> list[bytes]:
    """``message_key`` of each of ``values``, in order."""
    return [message_key(value, index) for index, value in enumerate(values)]


def publish(bootstrap: str, topic: str, values: Sequence[bytes], rate: float = 0.0,
            keys: Sequence[bytes] | None = None) -> dict[bytes, int]:
    """Publish ``values`` keyed by their ``id`` (``keys``, when already read: reading them
    parses each message, work for the bench's process while a timed phase runs); returns key ->
    CreateTime (ms) as sent.

    ``rate`` > 0 paces the sends (messages per second), for latency runs."""
    if keys is None:
        keys = message_keys(values)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False,
                         "linger.ms": 1 if rate else 5, "message.max.bytes": 16_000_000,
                         "queue.buffering.max.kbytes": 1_048_576})
    sent: dict[bytes, int] = {}
    started = time.monotonic()
    for index, (key, value) in enumerate(zip(keys, values, strict=True)):
        if rate:
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # not poll(delay): it returns at the first delivery report
        stamp = time.time_ns() // 1_000_000
        producer.produce(topic, value, key=key, timestamp=stamp)
        sent[key] = stamp
        producer.poll(0)
    if producer.flush(60) != 0:
        raise RuntimeError(f"could not publish every message to {topic}")
    return sent


def record_times(bootstrap: str, topic: str, keys: set[bytes], timeout_s: float = 60.0) -> dict[
        bytes, int]:
    """CreateTime (ms) of the first record of each of ``keys`` in ``topic``."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.time_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    found: dict[bytes, int] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < len(keys) and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.5):
                key = message.key()
                if message.error() is None and key in keys and key not in found:
                    found[key] = message.timestamp()[1]
    finally:
        consumer.close()
    return found


Offsets = dict[tuple[str, int], int]


def end_offsets(bootstrap: str, topics: Sequence[str]) -> Offsets:
    """The end offset of every partition of ``topics``."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.time_ns()}"})
    try:
        found = admin.list_topics(timeout=10).topics
        return {(topic, p): consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1]
                for topic in topics if topic in found for p in found[topic].partitions}
    finally:
        consumer.close()


def written(bootstrap: str, since: Offsets, until: Offsets) -> tuple[int, int]:
    """(records, bytes of key and value) written to each partition between two ``end_offsets``."""
    wanted = {tp: (since.get(tp, 0), end) for tp, end in until.items() if end > since.get(tp, 0)}
    if not wanted:
        return 0, 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.time_ns()}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _) in wanted.items()])
    records = size = 0
    left = dict(wanted)
    deadline = time.monotonic() + 120
    try:
        while left and time.monotonic() < deadline:
            for message in consumer.consume(5000, 0.5):
                tp = (message.topic(), message.partition())
                if message.error() is not None or tp not in left:
                    continue
                records += 1
                size += len(message.key() or b"") + len(message.value() or b"")
                offset = message.offset()
                if offset is not None and offset + 1 >= left[tp][1]:
                    del left[tp]
    finally:
        consumer.close()
    if left:
        raise RuntimeError(f"could not read back {sorted(left)}")
    return records, size


# -- 1. passthrough: the ceiling of an aiokafka service ---------------------------------------


# What one consumed record becomes: the (topic, value) records to produce for it, and how many
# of the messages being timed it finishes.
Route = Callable[[ConsumerRecord[bytes, bytes]], tuple[list[tuple[str, bytes]], int]]


async def _relay(bootstrap: str, sources: Sequence[str], group: str, count: int,
                 route: Route) -> float:
    """Messages/s of an aiokafka process that consumes ``sources``, produces what ``route``
    makes of each record (256 KB batches, keyed as the record), awaits the acknowledgements and
    commits, per batch, until ``count`` messages are finished."""
    consumer = AIOKafkaConsumer(*sources, bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_poll_records=500)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=262_144,
                                linger_ms=5, enable_idempotence=False)
    await producer.start()
    await consumer.start()
    try:
        done, started = 0, 0.0
        while done < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if not started and batches:
                started = time.perf_counter()
            futures = []
            for messages in batches.values():
                for message in messages:
                    records, finished = route(message)
                    done += finished
                    for topic, value in records:
                        futures.append(await producer.send(topic, value, key=message.key))
            await asyncio.gather(*futures)
            await consumer.commit()
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def _passthrough(bootstrap: str, source: str, sink: str, count: int) -> float:
    """aiokafka consume -> orjson loads/dumps -> produce (256 KB batches) -> commit per batch."""
    return await _relay(bootstrap, [source], "bench-passthrough", count,
                        lambda m: ([(sink, orjson.dumps(orjson.loads(m.value)))], 1))


def passthrough(bootstrap: str, corpus: Sequence[bytes], count: int) -> float:
    values = [corpus[i % len(corpus)] for i in range(count)]
    asyncio.run(create_topics(bootstrap, ["bench-pass.in", "bench-pass.out"]))
    publish(bootstrap, "bench-pass.in", values)
    return asyncio.run(_passthrough(bootstrap, "bench-pass.in", "bench-pass.out", count))


# -- 1b. the topology's ceiling: the service's records, moved by Kafka with no processing ------


# Prepared records per batch the shard decides (its changelog is drained once per batch, an
# entry rewritten within it sent once). Flat out, the service's shard takes the prepared records
# a few at a time as the stateless step emits them: it produced 3.52 changelog records per
# article in a 2,000-article run, which batches of 5 reproduce (3.55; 3.2 at 100).
CHANGELOG_BATCH = 5


@dataclass(frozen=True)
class Topology:
    """Per raw message key, the records the service produces for it, computed offline by the
    pipeline: the stateless step's (clean and prepared, or a dead letter) and the shard's
    (cluster events, changelog entries). Moving exactly these through Kafka is what the service
    does, minus its CPU."""

    stateless: dict[bytes, list[tuple[str, bytes]]]
    stateful: dict[bytes, list[bytes]]

    @classmethod
    def of(cls, values: Sequence[bytes]) -> Topology:
        from service.app import build_pipeline
        from service.pipeline import Sink
        from service.records import Origin

        pipeline = build_pipeline(load_config(env={}))
        state = pipeline.new_state()
        stateless: dict[bytes, list[tuple[str, bytes]]] = {}
        stateful: dict[bytes, list[bytes]] = {}
        decided_keys: list[bytes] = []
        for offset, value in enumerate(values):
            key = message_key(value, offset)
            result = pipeline.prepare(value, Origin("raw", 0, offset, key))
            stateless[key] = [("prepared" if output.sink is Sink.PREPARED else "clean",
                               output.value) for output in result.outputs]
            if result.prepared is not None:
                decided = pipeline.decide(state, result.prepared)
                stateful[key] = [output.value for output in decided.outputs]
                decided_keys.append(key)
                if len(decided_keys) % CHANGELOG_BATCH == 0:
                    # the shard drains its changelog once per batch (an entry rewritten within
                    # the batch is sent once): after this batch's last record
                    stateful[key] += [change or b"" for _, change in state.drain_changes()]
        if decided_keys:
            stateful[decided_keys[-1]] += [change or b"" for _, change in state.drain_changes()]
        return cls(stateless, stateful)

    def records(self) -> tuple[float, float]:
        """Records produced per message, and their mean size in bytes."""
        sizes = [len(v) for records in self.stateless.values() for _, v in records]
        sizes += [len(v) for records in self.stateful.values() for v in records]
        return len(sizes) / len(self.stateless), sum(sizes) / max(1, len(sizes))


async def _topology(bootstrap: str, topology: Topology, raw: str) -> float:
    """The service's record flow with lookups for processing, as one aiokafka process: consume
    raw -> produce its clean and prepared records; consume prepared -> produce its cluster
    events and changelog entries; await the acknowledgements, then commit, per batch."""
    sinks = {name: f"bench-topology.{name}" for name in ("clean", "prepared", "shard")}
    await create_topics(bootstrap, list(sinks.values()), partitions=1)

    def route(message: ConsumerRecord[bytes, bytes]) -> tuple[list[tuple[str, bytes]], int]:
        key = message.key or b""
        if message.topic == raw:  # a message without a prepared record ends here
            records = topology.stateless[key]
            return ([(sinks[sink], value) for sink, value in records],
                    all(sink != "prepared" for sink, _ in records))
        return [(sinks["shard"], value) for value in topology.stateful.get(key, [])], 1

    return await _relay(bootstrap, [raw, sinks["prepared"]], "bench-topology",
                        len(topology.stateless), route)


def topology_rate(bootstrap: str, corpus: Sequence[bytes]) -> tuple[float, Topology]:
    """Messages/s of the service's record flow with no processing (``_topology``)."""
    topology = Topology.of(corpus)
    asyncio.run(create_topics(bootstrap, ["bench-topology.raw"]))
    publish(bootstrap, "bench-topology.raw", corpus)
    return asyncio.run(_topology(bootstrap, topology, "bench-topology.raw")), topology


# -- 1c. the peer: the pipeline a user would write instead (bench/peer.py) -------------------


def peer_rate(bootstrap: str, name: str, values: Sequence[bytes]) -> tuple[float, float]:
    """(messages/s, CPU ms per message) of bench/peer.py over ``values``, after a warm-up of
    its lazy loads on the first few (not timed)."""
    from bench import peer

    topics = {kind: f"bench-peer-{name}.{kind}" for kind in ("raw", "clean", "clusters")}
    asyncio.run(create_topics(bootstrap, list(topics.values())))
    warm = peer.Peer()
    for value in values[:8]:
        warm.handle(value)
    publish(bootstrap, topics["raw"], values)
    wall, cpu = asyncio.run(peer.run(bootstrap, topics["raw"], topics["clean"],
                                     topics["clusters"], f"bench-peer-{name}", len(values)))
    return len(values) / wall, 1000 * cpu / len(values)


# -- the service -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """One service process's part of a phase."""

    cpu_s: float
    raw_partitions: int
    owns_shard: bool


@dataclass
class Phase:
    """What one timed phase cost: wall time, service and broker CPU, time per stage."""

    count: int
    wall_s: float
    service_cpu_s: float
    broker_cpu_s: float
    machine_cpu_s: float
    stages_s: dict[str, float]
    cpu_by_process: list[Share]

    @property
    def per_s(self) -> float:
        return self.count / self.wall_s


class Services:
    """``count`` service processes in one consumer group on their own topic set."""

    def __init__(self, bootstrap: str, log_dir: Path, name: str, count: int,
                 overrides: dict[str, str] | None = None) -> None:
        self.topics = {kind: f"bench-{name}.{kind}" for kind in
                       ("raw", "clean", "clusters", "dlq", "prepared", "state")}
        self.bootstrap = bootstrap
        settings = {f"topics__{kind}": topic for kind, topic in self.topics.items()}
        settings["service__log_level"] = "warning"
        settings["kafka__topic_partitions"] = str(PARTITIONS)
        settings.update(overrides or {})
        self.processes: list[ServiceProcess] = []
        try:
            for _ in range(count):
                self.processes.append(ServiceProcess(bootstrap, log_dir, group=f"bench-{name}",
                                                     **settings))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(Exception):
                process.stop(timeout_s=15)
            process.kill()

    def decided(self) -> float:
        return sum(decided(p) for p in self.processes)

    def held(self, sample: Samples, kind: str) -> list[str]:
        """The partitions of topic ``kind`` one process holds (it reports a lag for each)."""
        return list(label_values(sample, "ingest_consumer_lag", "partition",
                                 topic=self.topics[kind]))

    def settle(self, timeout_s: float = 60.0) -> None:
        """Wait until every process is ready and the raw and state partitions are split
        between them with no overlap (a rebalance has finished)."""
        for process in self.processes:
            process.wait_ready(timeout_s)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            samples = [scrape(p) for p in self.processes]
            raw = [self.held(s, "raw") for s in samples]
            prepared = [part for s in samples for part in self.held(s, "prepared")]
            split = sorted(int(part) for parts in raw for part in parts)
            if split == list(range(PARTITIONS)) and len(prepared) == 1 and all(raw):
                return
            time.sleep(0.25)
        raise RuntimeError("partitions were not settled between the service processes")

    def run(self, values: Sequence[bytes], broker_pid: int | None, rate: float = 0.0,
            timeout_s: float = 600.0) -> tuple[Phase, dict[bytes, int]]:
        """Publish ``values`` and wait until each has its outcome; the phase's costs."""
        keys = message_keys(values)
        before = [scrape(p) for p in self.processes]
        start_total = sum(total(s, "ingest_articles_total") for s in before)
        broker_cpu = cpu_seconds(broker_pid)
        machine_cpu = machine_busy_seconds()
        started = time.perf_counter()
        sent = publish(self.bootstrap, self.topics["raw"], values, rate, keys)
        deadline = time.monotonic() + timeout_s
        while (done := self.decided() - start_total) < len(values):
            if time.monotonic() > deadline:
                raise RuntimeError(f"service did not finish {len(values)} messages in time")
            for process in self.processes:
                if process.process.poll() is not None:
                    raise RuntimeError(f"service exited: {process.logs()[-2000:]}")
            time.sleep(poll_delay(done, len(values), time.perf_counter() - started))
        wall = time.perf_counter() - started
        broker_cpu = cpu_seconds(broker_pid) - broker_cpu
        machine_cpu = machine_busy_seconds() - machine_cpu
        after = [scrape(p) for p in self.processes]
        stages = {stage: sum(total(a, "ingest_processing_seconds_sum", stage=stage)
                             - total(b, "ingest_processing_seconds_sum", stage=stage)
                             for a, b in zip(after, before, strict=True))
                  for stage in _stages(after)}
        by_process = [Share(total(a, "process_cpu_seconds_total")
                            - total(b, "process_cpu_seconds_total"),
                            len(self.held(a, "raw")), bool(self.held(a, "prepared")))
                      for a, b in zip(after, before, strict=True)]
        cpu = sum(share.cpu_s for share in by_process)
        return Phase(len(values), wall, cpu, broker_cpu, machine_cpu, stages, by_process), sent


def shard_load(shares: Sequence[Share]) -> float | None:
    """The shard's CPU relative to the stateless CPU of all raw partitions, from an owner and a
    non-owner: a raw partition costs what the non-owner spent per partition, the shard the rest
    of the owner's CPU."""
    owners = [s for s in shares if s.owns_shard]
    others = [s for s in shares if not s.owns_shard and s.raw_partitions]
    if len(owners) != 1 or not others:
        return None
    per_partition = sum(s.cpu_s for s in others) / sum(s.raw_partitions for s in others)
    shard = owners[0].cpu_s - owners[0].raw_partitions * per_partition
    return shard / (per_partition * sum(s.raw_partitions for s in shares))


def _stages(samples: list[Samples]) -> list[str]:
    found = {stage for s in samples for stage in
             label_values(s, "ingest_processing_seconds_sum", "stage")}
    return [s for s in _STAGES if s in found] + sorted(found - set(_STAGES))


def print_profile(title: str, phase: Phase, processes: int = 1) -> None:
    """Share of the service's wall time per stage; Kafka I/O is the remainder. Stage times are
    wall time too, so on a busy machine they include time the stage waited for a core."""
    wall = phase.wall_s * processes
    staged = sum(phase.stages_s.values())
    others = phase.machine_cpu_s - phase.service_cpu_s - phase.broker_cpu_s
    say(f"  profile ({title}): {phase.count} articles in {phase.wall_s:.2f} s wall; CPU s: "
        f"service {phase.service_cpu_s:.2f}, broker {phase.broker_cpu_s:.2f}, everything else "
        f"on the machine {others:.2f} (of {phase.wall_s * (os.cpu_count() or 1):.2f} available)")
    for stage, seconds in sorted(phase.stages_s.items(), key=lambda kv: -kv[1]):
        say(f"    {stage:<34}{100 * seconds / wall:5.1f}%  {1e6 * seconds / phase.count:8.0f} "
            "us/article")
    rest = max(0.0, wall - staged)
    say(f"    {'kafka I/O, client, idle (rest)':<34}{100 * rest / wall:5.1f}%  "
        f"{1e6 * rest / phase.count:8.0f} us/article")


# -- offline baselines -----------------------------------------------------------------------


def process_seconds(values: Sequence[bytes], out_dir: Path, start: Any = None) -> float:
    """Seconds ``article-ingest process`` (the same pipeline, files instead of Kafka) takes over
    ``values``, after a warm-up; ``start`` (a barrier) is waited on between the two."""
    from service.app import process_file

    config = load_config(env={})
    asyncio.run(process_file(config, io.BytesIO(b"\n".join(values[:8])), "warmup",
                             out_dir / "warmup"))
    if start is not None:
        start.wait()
    started = time.perf_counter()
    asyncio.run(process_file(config, io.BytesIO(b"\n".join(values)), "bench", out_dir / "run"))
    return time.perf_counter() - started


def process_rate(values: Sequence[bytes], out_dir: Path) -> float:
    """Offline ``process`` articles/s, one process."""
    return len(values) / process_seconds(values, out_dir)


def side_by_side(job: Callable[..., float], argsets: Sequence[tuple[Any, ...]]) -> list[float]:
    """``job(*args, start=barrier)`` in one process per argument set, all released at once by
    the barrier (each passes it when ready to time); the seconds each one reports."""
    context = multiprocessing.get_context("spawn")
    start, seconds = context.Barrier(len(argsets) + 1), context.Queue()
    workers = [context.Process(target=_timed_job, args=(job, args, start, seconds))
               for args in argsets]
    for worker in workers:
        worker.start()
    try:
        start.wait(timeout=120)
        return [seconds.get(timeout=600) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()


def _timed_job(job: Callable[..., float], args: tuple[Any, ...], start: Any,
               seconds: Any) -> None:
    seconds.put(job(*args, start=start))


def side_by_side_rate(values: Sequence[bytes], out_dir: Path) -> float:
    """Offline ``process`` articles/s of two processes at once, each on half the messages: what
    this machine gives two processes of this pipeline (they share its cores' caches and its
    memory), the ceiling of the service's two-process figure."""
    halves = [(list(values[0::2]), out_dir / "half-0"), (list(values[1::2]), out_dir / "half-1")]
    return len(values) / max(side_by_side(process_seconds, halves))


def spin(rounds: int, start: Any = None) -> float:
    """Seconds of a pure-Python loop: CPU speed alone, no memory traffic."""
    if start is not None:
        start.wait()
    began = time.perf_counter()
    accumulated = 0
    for i in range(rounds):
        accumulated += i * i
    return time.perf_counter() - began


def machine_scale(rounds: int = 12_000_000, trials: int = 3) -> float:
    """How much work two busy processes get done on this machine just now, relative to one: the
    median over ``trials`` of a pair's rate against one process's, timed just before and after
    the pair. 2.0 on two free cores; lower when the cores share a physical core or a power
    budget, or the host is busy."""
    ratios = []
    for _ in range(trials):
        before = spin(rounds)
        pair = max(side_by_side(spin, [(rounds,), (rounds,)]))
        alone = (before + spin(rounds)) / 2
        ratios.append(2 * alone / pair)
    return statistics.median(ratios)


def trafilatura_rate(pages: list[dict[str, str]]) -> float:
    """``trafilatura.extract`` alone on the same pages, one core (bench/bench_extraction.py)."""
    from bench.bench_extraction import pages_per_second
    from bench.eval_extraction import trafilatura_extractor

    extract = trafilatura_extractor(False)
    extract(pages[0])  # lazy loads outside the timing, as the service's warm-up does
    return pages_per_second(pages, extract, 1)


def restore_figures(bootstrap: str, articles: int,
                    timeout_s: float) -> dict[str, float | None] | str:
    """Figures of bench/bench_restore.py against the run's broker, as its own process."""
    command = [sys.executable, "-m", "bench.bench_restore", "--bootstrap", bootstrap,
               "--articles", str(articles)]
    say(f"  $ python {' '.join(command[1:])}")
    try:
        done = subprocess.run(command, cwd=SERVICE_TREE, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"bench_restore did not finish within {timeout_s:.0f} s"
    for line in (done.stdout + done.stderr).splitlines():
        if not line.startswith("RESULT "):
            say(f"  | {line}")
    results = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not results:
        return f"bench_restore exited {done.returncode}"
    data: dict[str, float | None] = json.loads(results[-1][len("RESULT "):])
    return data


def state_figures(quick: bool, timeout_s: float) -> dict[str, float | None] | str:
    """Figures of bench/bench_state.py (owned by the state stage), run as its own process."""
    if not (ROOT / "bench" / "bench_state.py").exists():
        return "bench/bench_state.py is not there yet"
    command = [sys.executable, "-m", "bench.bench_state", *(["--quick"] if quick else [])]
    say(f"  $ python {' '.join(command[1:])}")
    try:
        done = subprocess.run(command, cwd=SERVICE_TREE, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        for line in partial.splitlines():
            say(f"  | {line}")
        return f"bench_state did not finish within {timeout_s:.0f} s"
    for line in (done.stdout + done.stderr).splitlines():
        say(f"  | {line}")
    if done.returncode != 0:
        return f"bench_state exited {done.returncode}"
    return parse_state_output(done.stdout)


# bench_state's own lines, read when it prints no RESULT line (quick: 100k vs 10k, memory
# extrapolated; full: 1M vs 10k, peak RSS at the 1M checkpoint).
_STATE_PATTERNS = {
    "state_cost_ratio": (r"state_cost_ratio\W+([0-9.]+)",
                         r"cost ratio [0-9,]+ vs [0-9,]+: ([0-9.]+)x"),
    "state_mb_per_1m": (r"state_mb_per_1m\W+([0-9.]+)",
                        r"extrapolated to 1,000,000 articles: ([0-9,.]+) MB",
                        r"1,000,000 articles in window:.*peak RSS ([0-9,.]+) MB"),
}


def parse_state_output(output: str) -> dict[str, float | None] | str:
    """``state_cost_ratio`` and ``state_mb_per_1m`` from a ``RESULT {json}`` line, else from the
    lines bench_state prints."""
    for line in reversed(output.splitlines()):
        if line.startswith("RESULT "):
            data = json.loads(line[len("RESULT "):])
            return {name: data.get(name) for name in _STATE_PATTERNS}
    figures: dict[str, float | None] = {}
    for name, patterns in _STATE_PATTERNS.items():
        found = (re.search(p, output) for p in patterns)
        match = next((m for m in found if m is not None), None)
        figures[name] = float(match.group(1).replace(",", "")) if match else None
    if all(v is None for v in figures.values()):
        return "bench_state printed neither figure"
    return figures


def latency(sent: dict[bytes, int], clean: dict[bytes, int]) -> tuple[float, float] | None:
    delays = sorted(clean[k] - sent[k] for k in sent if k in clean)
    if len(delays) < 2:
        return None
    cuts = statistics.quantiles(delays, n=100, method="inclusive")
    return cuts[49], cuts[98]


# -- the run ---------------------------------------------------------------------------------


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` stops what it started."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def services(bootstrap: str, log_dir: Path, name: str, count: int,
             overrides: dict[str, str]) -> Iterator[Services]:
    group = Services(bootstrap, log_dir, name, count, overrides)
    try:
        group.settle()
        yield group
    except BaseException:
        for process in group.processes:
            say(f"  service log tail ({process.log_path.name}):\n{process.logs()[-1500:]}")
        raise
    finally:
        group.stop()


def measured(report: Report, names: Sequence[str], step: Callable[[], None]) -> None:
    """Run one step; if it fails, its figures are null with the error as the reason."""
    try:
        step()
    except Exception as exc:  # one failed step must not cost the other figures

        for name in names:
            report.set(name, None, f"{type(exc).__name__}: {str(exc)[:300]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="reduced sizes, about 10 minutes")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared",
                        help="the read-only shared folder holding data/extraction")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION__KEY=VALUE",
                        help="a service setting for every service process (a lever to measure), "
                             "e.g. kafka__max_poll_records=50")
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.set):
        parser.error("--set takes SECTION__KEY=VALUE")
    overrides = dict(item.split("=", 1) for item in args.set)
    sizes = QUICK if args.quick else FULL
    _stop_on_sigterm()
    began = time.monotonic()
    report = Report()
    text = TextCorpus(7).messages(sizes.text)
    warm = TextCorpus(99).messages(sizes.warmup)
    later = TextCorpus(8)
    pages_path = args.shared / "data" / "extraction" / "dev.jsonl.gz"
    pages = read_pages(pages_path) if pages_path.exists() else []
    html = html_messages(pages, sizes.html) if pages else []
    say(f"bench/run {'--quick' if args.quick else '(full)'}: {len(text)} text messages "
        f"(avg {sum(map(len, text)) // len(text)} B), {len(html)} HTML messages"
        f"{f' (avg {sum(map(len, html)) // len(html)} B)' if html else ''}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before the run"
        + "".join(f", {k}={v}" for k, v in overrides.items()))
    compiled = is_compiled(SERVICE_TREE / "service")
    report.set("compiled", float(compiled))
    say(f"build: {'compiled (mypyc)' if compiled else 'source, interpreted'}, {SERVICE_TREE}")

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, \
            EmbeddedBroker(free_port()) as broker:
        work = Path(tmp)
        bootstrap = broker.bootstrap

        say("\n[1] passthrough: aiokafka consume -> orjson -> produce (256 KB) -> commit/batch")

        def step_passthrough() -> None:
            rate = passthrough(bootstrap, text, sizes.passthrough)
            report.set("passthrough_per_s", rate)
            say(f"  {sizes.passthrough} messages (the text corpus cycled): {rate:.0f} msg/s")
        measured(report, ["passthrough_per_s"], step_passthrough)

        say("\n[1b] the service's topology with no processing: its own records (computed "
            "offline), moved as it moves them")

        def step_topology() -> None:
            rate, topology = topology_rate(bootstrap, text)
            report.set("topology_per_s", rate)
            records, size = topology.records()
            say(f"  {len(text)} messages, {records:.1f} records produced per message "
                f"(mean {size:.0f} B), 2 consumed: {rate:.0f} msg/s")
        measured(report, ["topology_per_s"], step_topology)

        say("\n[2a] the peer (bench/peer.py): aiokafka -> trafilatura for HTML -> rensa MinHash "
            "LSH -> online TF-IDF nearest centroid -> clean + cluster records -> commit; run "
            "before and after [2], as this shared machine's speed drifts within a run")
        from bench import peer
        missing = peer.available()
        peer_runs: dict[str, list[tuple[float, float]]] = {"text": [], "html": []}

        def peer_round(number: int) -> None:
            for kind, values in (("text", text), ("html", html)):
                name = f"peer_{kind}_per_s"
                if missing or not values:
                    report.set(name, None, missing or f"{pages_path} not found")
                    continue

                def step_peer(kind: str = kind, values: list[bytes] = values) -> None:
                    rate, cpu_ms = peer_rate(bootstrap, f"{kind}-{number}", values)
                    peer_runs[kind].append((rate, cpu_ms))
                    say(f"  peer, {kind}: {rate:.1f} articles/s, {cpu_ms:.2f} ms CPU per article")
                measured(report, [name, f"peer_{kind}_ms_per_article"], step_peer)

        peer_round(1)

        say("\n[2] one service process: text, then latency at 50% of its rate, then HTML")

        def step_one() -> None:
            with services(bootstrap, work, "one", 1, overrides) as one:
                one.run(warm, broker.pid)
                outputs = [t for kind, t in one.topics.items() if kind != "raw"]
                before = end_offsets(bootstrap, outputs)
                phase, _ = one.run(text, broker.pid)
                report.set("text_per_s", phase.per_s)
                report.set("text_ms_per_article", 1000 * phase.service_cpu_s / phase.count)
                say(f"  text: {phase.per_s:.1f} articles/s, "
                    f"{report.figures['text_ms_per_article']} ms of service CPU per article")
                print_profile("text", phase)
                records, size = written(bootstrap, before, end_offsets(bootstrap, outputs))
                raw = sum(len(v) + len(message_key(v, i)) for i, v in enumerate(text))
                report.set("records_per_article", records / len(text))
                report.set("bytes_written_ratio", size / raw)
                say(f"  written for text: {records / len(text):.2f} records and "
                    f"{size / len(text) / 1000:.1f} KB per article ({raw / len(text) / 1000:.2f} "
                    "KB raw), every output and internal topic")
                rate = 0.5 * phase.per_s
                values = later.messages(max(20, int(rate * sizes.latency_s)))
                _, sent = one.run(values, broker.pid, rate=rate)
                clean = record_times(bootstrap, one.topics["clean"], set(sent))
                cut = latency(sent, clean)
                if cut is None:
                    report.set("p99_ms", None, "no clean records matched the published keys")
                else:
                    report.set("p50_ms", cut[0])
                    report.set("p99_ms", cut[1])
                    say(f"  latency at {rate:.0f}/s over {len(values)} messages "
                        f"({len(clean)} matched): p50 {cut[0]:.0f} ms, p99 {cut[1]:.0f} ms")
                if not html:
                    report.set("html_per_s", None, f"{pages_path} not found")
                    report.set("trafilatura_per_s", None, f"{pages_path} not found")
                    return
                # the first pages warm what only HTML uses, as process_rate's warm-up does
                one.run([orjson.dumps({**orjson.loads(value), "id": f"warm-{index}"})
                         for index, value in enumerate(html[:8])], broker.pid)
                # trafilatura alone just before and after: this shared machine's speed drifts
                # within a run, and the ratio should not measure the drift
                alone = trafilatura_rate(pages[:sizes.html])
                html_phase, _ = one.run(html, broker.pid)
                alone_after = trafilatura_rate(pages[:sizes.html])
                report.set("trafilatura_per_s", (alone + alone_after) / 2)
                say(f"  trafilatura.extract alone, just before and after: {alone:.1f}, "
                    f"{alone_after:.1f} pages/s ({min(len(pages), sizes.html)} pages, one core)")
                report.set("html_per_s", html_phase.per_s)
                html_ms = 1000 * html_phase.service_cpu_s / html_phase.count
                report.set("html_ms_per_article", html_ms)
                say(f"  html: {html_phase.per_s:.1f} articles/s, {html_ms:.2f} ms of service CPU "
                    "per article")
                print_profile("html", html_phase)
        measured(report, ["text_per_s", "text_ms_per_article", "records_per_article",
                          "bytes_written_ratio", "p99_ms", "html_per_s", "trafilatura_per_s"],
                 step_one)

        say("\n[2b] the peer, again (its figures: the mean of this round and the one before [2])")
        peer_round(2)
        for kind, runs in peer_runs.items():
            if runs:  # the mean of the rounds measured (a failed one left its reason above)
                report.set(f"peer_{kind}_per_s", statistics.fmean(rate for rate, _ in runs))
                report.set(f"peer_{kind}_ms_per_article", statistics.fmean(ms for _, ms in runs))

        say("\n[2c] restore: a shard's compacted changelog read back and rebuilt"
            + (f" ({sizes.restore:,} articles, scaled to 1M)" if sizes.restore < 1_000_000
               else ""))
        restored = restore_figures(bootstrap, sizes.restore, 900.0)
        if isinstance(restored, str):
            report.set("restore_s_per_1m", None, restored)
        else:
            report.set("restore_s_per_1m", restored.get("restore_s_per_1m"))
            report.set("restore_articles", restored.get("restore_articles"))

        say("\n[3] baselines: offline process (one, then two side by side)")
        for kind, values in (("text", text), ("html", html)):
            name = f"process_{kind}_per_s"
            if not values:
                report.set(name, None, f"{pages_path} not found")
                continue
            out = work / f"process-{kind}"

            def step_process(name: str = name, values: list[bytes] = values,
                             out: Path = out) -> None:
                report.set(name, process_rate(values, out))
            measured(report, [name], step_process)
            if report.figures.get(name) is not None:
                say(f"  process, {kind}: {report.figures[name]} articles/s")
        if text:
            measured(report, ["process_text_2proc_per_s"], lambda: report.set(
                "process_text_2proc_per_s", side_by_side_rate(text, work / "process-two")))
            if report.figures.get("process_text_2proc_per_s") is not None:
                say(f"  process, text, two processes side by side (half each): "
                    f"{report.figures['process_text_2proc_per_s']} articles/s")

        say("\n[4] scale-out: two service processes in one group, text")

        def step_two() -> None:
            with services(bootstrap, work, "two", 2, overrides) as two:
                two.run(warm, broker.pid)
                phase, _ = two.run(text, broker.pid)
                report.set("text_2proc_per_s", phase.per_s)
                say(f"  text, two processes: {phase.per_s:.1f} articles/s")
                print_profile("text, two processes", phase, processes=2)
                say("  CPU s per process: " + ", ".join(
                    f"{share.cpu_s:.2f} ({share.raw_partitions} raw partitions"
                    f"{' and the state shard' if share.owns_shard else ''})"
                    for share in phase.cpu_by_process))
                if (load := shard_load(phase.cpu_by_process)) is not None:
                    say(f"  the shard's work relative to cleaning: {load:.2f}"
                        " (kafka.state_shard_load weighs it when assigning partitions)")
        before = machine_scale()
        measured(report, ["text_2proc_per_s"], step_two)
        after = machine_scale()
        report.set("machine_scale_2proc", round((before + after) / 2, 3))
        say(f"  two spinning processes vs one, just before and after: {before:.2f}x, {after:.2f}x"
            " (what the machine gives two busy processes)")

    say("\n[5] state at scale: bench/bench_state.py"
        + (" (quick: cost ratio is 100k vs 10k, memory extrapolated to 1M)" if args.quick else ""))
    figures = state_figures(args.quick, max(240.0, sizes.budget_s - (time.monotonic() - began)))
    for name in ("state_cost_ratio", "state_mb_per_1m"):
        if isinstance(figures, str):
            report.set(name, None, figures)
        else:
            value = figures.get(name)
            report.set(name, value, "" if value is not None else "not in its output")

    report.ratio("text_ratio", "text_per_s", "passthrough_per_s")
    report.ratio("topology_ratio", "topology_per_s", "passthrough_per_s")
    report.ratio("text_topology_ratio", "text_per_s", "topology_per_s")
    report.ratio("html_vs_trafilatura", "html_per_s", "trafilatura_per_s")
    # Against the peer by CPU per article (its CPU over ours), measured in the same run: the
    # machine is shared, and a rate taken minutes apart also measures what else ran then.
    report.ratio("text_vs_peer", "peer_text_ms_per_article", "text_ms_per_article")
    report.ratio("html_vs_peer", "peer_html_ms_per_article", "html_ms_per_article")
    report.ratio("text_vs_peer_rate", "text_per_s", "peer_text_per_s")
    report.ratio("html_vs_peer_rate", "html_per_s", "peer_html_per_s")
    report.ratio("process_text_ratio", "text_per_s", "process_text_per_s")
    report.ratio("process_html_ratio", "html_per_s", "process_html_per_s")
    report.ratio("scale_2proc", "text_2proc_per_s", "text_per_s")
    report.ratio("process_scale_2proc", "process_text_2proc_per_s", "process_text_per_s")
    print_goals(report)
    say(f"\nelapsed {time.monotonic() - began:.0f} s")
    say("RESULT " + json.dumps(report.figures, sort_keys=True))
    return 0


# The scale-out goal's fallback (issue 26): two processes within this much of the machine's own
# two-process ceiling for this work, the offline pipeline run twice side by side in the same run
# (``process_scale_2proc``: the same CPU work with no Kafka and no broker sharing the cores).
SCALE_CEILING_MARGIN = 0.1


def verdict(name: str, figures: dict[str, float | None]) -> str:
    """Whether figure ``name`` meets its goal in ``GOALS``; ``scale_2proc`` also meets it within
    ``SCALE_CEILING_MARGIN`` of the offline pair, and says so."""
    _, goal, higher = GOALS[name]
    value = figures.get(name)
    if value is None:
        return "n/a"
    if value >= goal if higher else value <= goal:
        return "met"
    ceiling = figures.get("process_scale_2proc")
    if name == "scale_2proc" and ceiling is not None and value >= ceiling - SCALE_CEILING_MARGIN:
        return f"met (within {SCALE_CEILING_MARGIN} of the offline pair's {ceiling})"
    return "NOT met"


def print_goals(report: Report) -> None:
    say("\ngoals")
    for name, (what, goal, higher) in GOALS.items():
        value = report.figures.get(name)
        sign = ">=" if higher else "<="
        say(f"  {what:<44} {value if value is not None else '-':>10}  goal {sign} {goal:<8}"
            f" {verdict(name, report.figures)}")
    ceiling, share = report.figures.get("topology_ratio"), report.figures.get(
        "text_topology_ratio")
    if ceiling is not None and share is not None:
        say(f"  (ceiling: the service's records moved with no processing reach {ceiling} of "
            f"passthrough; text service {share} of that)")
    if (restored := report.figures.get("restore_articles")) is not None and restored < 1e6:
        say(f"  (restore_s_per_1m: extrapolated from a {restored:,.0f}-article shard)")
    if (offline := report.figures.get("process_scale_2proc")) is not None:
        say(f"  (ceiling: two offline processes side by side reach {offline}x one; two spinning "
            f"processes {report.figures.get('machine_scale_2proc')}x)")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
