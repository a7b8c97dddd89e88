"""Recovery: the state of each owned shard, restored from its changelog partition when assigned.

A shard's ``topics.state`` partition is compacted and holds every live entry of its store, so
reading it from the beginning to its end offset rebuilds the state the previous owner had. A
shard is restored once however often it is asked for (records may arrive while it restores),
and forgotten when its partition is revoked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from aiokafka import TopicPartition

from service.metrics import Metrics
from service.pipeline import Pipeline
from service.state.stories import StoryState

log = logging.getLogger("service.kafka")

_RESTORE_IDLE_MS = 500
_RESTORE_BATCH = 5000
_RESTORE_REPORT_S = 5.0  # a restore under way logs its progress this often


class ChangelogReader(Protocol):
    """What a restore needs of a consumer outside the group (aiokafka's, or an in-memory one)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def assign(self, partitions: list[TopicPartition]) -> None: ...

    async def seek_to_beginning(self, *partitions: TopicPartition) -> Any: ...

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]: ...

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Any]]: ...

    async def position(self, partition: TopicPartition) -> int: ...


class Recovery:
    """The owned shards' states, each restored once from ``topic`` (the changelog)."""

    def __init__(self, pipeline: Pipeline, metrics: Metrics, topic: str,
                 reader: Callable[[], ChangelogReader]) -> None:
        self.pipeline = pipeline
        self.metrics = metrics
        self.topic = topic
        self.reader = reader
        self.shards: dict[int, StoryState] = {}
        self._restores: dict[int, asyncio.Future[StoryState]] = {}

    @property
    def restored(self) -> bool:
        """Whether every restore begun has ended (readiness waits for them)."""
        return all(restore.done() for restore in self._restores.values())

    async def shard(self, shard: int) -> StoryState:
        """The state of an owned shard, restored on first use."""
        restoring = self._restores.get(shard)
        if restoring is None:
            restoring = self._restores[shard] = asyncio.ensure_future(self._restore(shard))
        try:
            state = await asyncio.shield(restoring)
        except BaseException:
            self._restores.pop(shard, None)
            raise
        self.shards[shard] = state
        return state

    def forget(self, shard: int) -> None:
        """The shard's partition was revoked: its next owner restores it."""
        self.shards.pop(shard, None)
        self._restores.pop(shard, None)

    async def _restore(self, shard: int) -> StoryState:
        """Rebuild one shard from its changelog partition, read from the beginning."""
        started = time.perf_counter()
        state = self.pipeline.new_state()
        reader = self.reader()
        await reader.start()
        try:
            tp = TopicPartition(self.topic, shard)
            reader.assign([tp])
            await reader.seek_to_beginning(tp)
            end = (await reader.end_offsets([tp]))[tp]
            log.info("restoring state", extra={"shard": shard, "topic": tp.topic, "end": end})
            entries = await _read_to(reader, tp, end, started)
            retired = state.restore(entries)
        finally:
            await reader.stop()
        seconds = time.perf_counter() - started
        self.metrics.restore_seconds.set(seconds)
        if retired:
            log.warning("changelog of other story features or an older layout: shard starts "
                        "empty", extra={"shard": shard, "retired": retired})
        log.info("state restored", extra={"shard": shard, "entries": len(entries),
                                          "left_out": state.left_out,
                                          "seconds": round(seconds, 3)})
        return state


async def _read_to(reader: ChangelogReader, tp: TopicPartition, end: int,
                   started: float) -> list[tuple[bytes, bytes | None]]:
    """Every keyed entry of ``tp`` up to ``end``, logging progress every few seconds."""
    entries: list[tuple[bytes, bytes | None]] = []
    reported = started
    while True:
        records = await reader.getmany(tp, timeout_ms=_RESTORE_IDLE_MS,
                                       max_records=_RESTORE_BATCH)
        messages = records.get(tp, [])
        entries.extend((m.key, m.value) for m in messages if m.key is not None)
        if messages and time.perf_counter() - reported >= _RESTORE_REPORT_S:
            reported = time.perf_counter()
            log.info("restoring state", extra={
                "shard": tp.partition, "entries": len(entries), "offset": messages[-1].offset,
                "end": end, "seconds": round(reported - started, 1)})
        if not messages and await reader.position(tp) >= end:
            return entries
