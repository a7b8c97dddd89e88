"""In-memory stand-ins for the worker's Kafka clients: the runtime's unit tests need no broker.

``MemoryProducer`` keeps every send and acknowledges it only when the test says so (or at once
with ``auto_ack``); ``MemoryConsumer`` is a group member that holds fixed partitions and hands
out the records a test queued, counting polls and recording commits; ``MemoryChangelog`` is a
changelog partition for a restore to read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata


def record(tp: TopicPartition, offset: int, value: bytes | None,
           key: bytes | None = None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 1_700_000_000_000, 0, key, value,
                          None, len(key or b""), len(value or b""), [])


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    """Wait for ``condition``, polling every 10 ms; TimeoutError after ``timeout_s``."""
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), timeout_s)


@dataclass
class Sent:
    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None
    future: asyncio.Future[None]


class MemoryProducer:
    def __init__(self, auto_ack: bool = False) -> None:
        self.auto_ack = auto_ack
        self.sent: list[Sent] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   partition: int | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sent.append(Sent(topic, partition, key, value, headers, future))
        if self.auto_ack:
            future.set_result(None)
        return future

    def ack_all(self) -> int:
        """Acknowledge every record not yet acknowledged; how many."""
        waiting = [sent for sent in self.sent if not sent.future.done()]
        for sent in waiting:
            sent.future.set_result(None)
        return len(waiting)


class MemoryConsumer:
    """Holds ``partitions`` from ``start`` on; each poll returns up to ``max_records`` queued
    records of one partition, or waits out its timeout when none are queued."""

    def __init__(self, partitions: Iterable[TopicPartition], topics: Sequence[str] = ()) -> None:
        self.partitions = set(partitions)
        self.topic_names = set(topics) | {tp.topic for tp in self.partitions}
        self.queued: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        self.positions: dict[TopicPartition, int] = {}
        self.commits: list[dict[TopicPartition, int]] = []
        self.polls = 0
        self.served = 0
        self.listener: Any = None
        self.held: set[TopicPartition] = set()
        self.stopped = False

    def queue(self, tp: TopicPartition, values: Iterable[bytes]) -> None:
        records = self.queued.setdefault(tp, [])
        start = self.positions.get(tp, 0) + len(records)
        records.extend(record(tp, start + i, value, f"k{start + i}".encode())
                       for i, value in enumerate(values))

    def subscribe(self, topics: list[str], listener: Any = None) -> None:
        self.listener = listener

    async def start(self) -> None:
        self.held = set(self.partitions)
        if self.listener is not None:
            await self.listener.on_partitions_assigned(sorted(self.held))

    async def stop(self) -> None:
        self.stopped = True

    def assignment(self) -> set[TopicPartition]:
        return set(self.held)

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        self.polls += 1
        for tp in sorted(self.held):
            records = self.queued.get(tp)
            if records:
                taken, self.queued[tp] = records[:max_records], records[max_records:]
                self.positions[tp] = taken[-1].offset + 1
                self.served += len(taken)
                return {tp: taken}
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.commits.append({tp: meta.offset for tp, meta in offsets.items()})

    def committed(self, tp: TopicPartition) -> int | None:
        """The last offset committed for ``tp``."""
        found = [commit[tp] for commit in self.commits if tp in commit]
        return found[-1] if found else None

    async def topics(self) -> set[str]:
        return set(self.topic_names)

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.positions.get(tp, 0) + len(self.queued.get(tp, []))
                for tp in partitions}

    async def position(self, tp: TopicPartition) -> int:
        return self.positions.get(tp, 0)


class MemoryChangelog:
    """One changelog partition's entries, read as a restore reads them (``chunk`` a poll)."""

    def __init__(self, tp: TopicPartition, entries: Sequence[tuple[bytes, bytes | None]],
                 chunk: int = 7, fail: Exception | None = None) -> None:
        self.tp = tp
        self.records = [record(tp, offset, value, key)
                        for offset, (key, value) in enumerate(entries)]
        self.chunk = chunk
        self.fail = fail
        self.readers = 0
        self.stopped = 0
        self._position = 0

    def __call__(self) -> MemoryChangelog:
        """A reader (a restore asks its factory for one)."""
        self.readers += 1
        self._position = 0
        return self

    async def start(self) -> None:
        await asyncio.sleep(0)

    async def stop(self) -> None:
        self.stopped += 1

    def assign(self, partitions: list[TopicPartition]) -> None:
        assert partitions == [self.tp]

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        self._position = 0

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {self.tp: len(self.records)}

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Any]]:
        await asyncio.sleep(0)
        if self.fail is not None and self._position > 0:
            raise self.fail
        taken = self.records[self._position:self._position + self.chunk]
        self._position += len(taken)
        return {self.tp: taken} if taken else {}

    async def position(self, tp: TopicPartition) -> int:
        return self._position
