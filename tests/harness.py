"""Helpers for integration tests: the service as a real process, and an independent Kafka client.

confluent-kafka (librdkafka) reads and writes here on purpose: it proves our records are
ordinary Kafka records. Every wait is bounded; every process is stopped by its own pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from service.edges.broker import free_port
from tests.conftest import REPO
from tests.schemas import check_record


class ServiceProcess:
    """``article-ingest run`` against a given broker, with its own HTTP port and log file."""

    def __init__(self, bootstrap: str, log_dir: Path, group: str = "it", **settings: str) -> None:
        self.http_port = free_port()
        self.log_path = log_dir / f"service-{self.http_port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("INGEST_")}
        env.update({
            "INGEST_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "INGEST_KAFKA__GROUP_ID": group,
            "INGEST_KAFKA__SESSION_TIMEOUT_MS": "6000",
            "INGEST_KAFKA__HEARTBEAT_INTERVAL_MS": "1000",
            "INGEST_HTTP__HOST": "127.0.0.1",
            "INGEST_HTTP__PORT": str(self.http_port),
            "INGEST_SERVICE__LOG_LEVEL": "info",
        })
        env.update({f"INGEST_{k.upper()}": v for k, v in settings.items()})
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "service", "run"]
        if not bootstrap:
            command.append("--embedded-broker")
        self.process = subprocess.Popen(command, cwd=REPO,
                                        env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}",
                                        timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"service exited {self.process.returncode}: {self.logs()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"service not ready within {timeout_s} s: {self.logs()[-3000:]}")

    def metric(self, name: str, **labels: str) -> float | None:
        """The value of one sample on /metrics, or None when absent."""
        wanted = name + ("{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
                         if labels else "")
        for line in self.get("/metrics")[1].splitlines():
            sample, _, value = line.rpartition(" ")
            if sample == wanted:
                return float(value)
        return None

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            return self.process.wait(timeout_s)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if not self._log.closed:
            self._log.close()

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


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
