"""Helpers for integration tests: an independent Kafka client (the service as a real process is
``bench.harness.ServiceProcess``, which the benchmarks run too).

confluent-kafka (librdkafka) reads and writes here on purpose: it proves our records are
ordinary Kafka records. Every wait is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.schemas import check_record


def publish(bootstrap: str, topic: str, values: Iterable[bytes], keys: bool = True) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False})
    count = 0
    for index, value in enumerate(values):
        producer.produce(topic, value, key=str(index).encode() if keys else None)
        count += 1
        producer.poll(0)
    assert producer.flush(30) == 0, "unflushed messages"
    return count


def wait_for_topic(bootstrap: str, topic: str, timeout_s: float = 30.0) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if topic in admin.list_topics(timeout=5).topics:
            return
        time.sleep(0.2)
    raise AssertionError(f"topic {topic} was not created within {timeout_s} s")


def read_topic(bootstrap: str, topic: str, expect: int, timeout_s: float = 45.0,
               settle_s: float = 1.0) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Every record of ``topic`` from the start, once at least ``expect`` arrived (then settles).

    Each of the service's records (those naming a ``schema``) must carry the headers consumers
    route on, ``content-type`` and that schema's name, and validate against that schema."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{time.time_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    found: list[tuple[bytes | None, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout_s
    settled_at: float | None = None
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                record = orjson.loads(message.value())
                if isinstance(record, dict) and "schema" in record:
                    assert message.headers() == [("content-type", b"application/json"),
                                                 ("schema", record["schema"].encode())]
                    check_record(record)
                found.append((message.key(), record))
                continue
            if len(found) >= expect:
                settled_at = settled_at or time.monotonic()
                if time.monotonic() - settled_at >= settle_s:
                    break
    finally:
        consumer.close()
    return found


def synthetic_articles(count: int, seed: int = 7) -> list[bytes]:
    """Distinct text articles (one story each) with a little shared furniture, as raw messages."""
    import random

    rng = random.Random(seed)
    vocabulary = [f"{rng.choice('bcdfghjklmnpqrstvwz')}{rng.choice('aeiou')}"
                  f"{rng.choice('bcdfghjklmnpqrstvwz')}{rng.choice('aeiou')}{n}"
                  for n in range(5000)]
    messages = []
    for index in range(count):
        names = " ".join(rng.choice(vocabulary).title() for _ in range(3))
        paragraphs = [
            " ".join(rng.choice(vocabulary) for _ in range(rng.randint(25, 45))).capitalize()
            + "." for _ in range(rng.randint(4, 8))]
        paragraphs.insert(1, f"{names} said the report was published on Monday.")
        text = "\n\n".join(["Subscribe to our newsletter", *paragraphs, "Share this article"])
        messages.append(orjson.dumps({"id": f"syn-{seed}-{index}",
                                      "url": f"https://news{index % 7}.example.com/{index}",
                                      "title": f"Report {index}", "text": text}))
    return messages
