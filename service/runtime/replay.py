"""``replay``: publish a JSONL file to the raw topic as a crawler would (demos, load tests).

It reads lines as ``process`` does, so replaying a file and processing it see the same messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path
from typing import BinaryIO

import orjson
from aiokafka.errors import KafkaConnectionError

from service.config import Config, ConfigError
from service.edges.http import Health
from service.edges.kafka import replay_producer
from service.runtime.offline import jsonl_lines

log = logging.getLogger("service")


async def replay(config: Config, source: BinaryIO, topic: str, rate: float) -> int:
    """Publish raw messages keyed by ``id`` (else ``url``) when readable, ``rate`` a second
    (0: as fast as the broker takes them); how many were sent."""
    bootstrap = config.kafka.bootstrap_servers or f"127.0.0.1:{config.kafka.embedded_port}"
    producer = replay_producer(dataclasses.replace(config.kafka, bootstrap_servers=bootstrap),
                               config.limits)
    try:
        await producer.start()
    except KafkaConnectionError as exc:
        await producer.stop()  # closes what start() opened: no "Unclosed AIOKafkaProducer"
        raise ConfigError("kafka.bootstrap_servers", f"cannot reach {bootstrap}: {exc}") from exc
    sent, started = 0, asyncio.get_running_loop().time()
    try:
        for _, line in jsonl_lines(source):
            if rate > 0:
                due = started + sent / rate
                await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
            await producer.send(topic, line, key=_key_of(line))
            sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def replay_when_ready(config: Config, path: Path, health: Health,
                            stop: asyncio.Event) -> None:
    """``run --replay``: publish the file once the worker is ready, so it sees every line."""
    while not health.serving and not stop.is_set():
        await asyncio.sleep(0.1)
    if not stop.is_set():
        with path.open("rb") as source:
            sent = await replay(config, source, config.topics.raw, rate=0)
        log.info("replayed samples", extra={"file": str(path), "messages": sent})


def _key_of(line: bytes) -> bytes | None:
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(message, dict):
        for field in ("id", "url"):
            value = message.get(field)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return str(value).encode()
    return None
