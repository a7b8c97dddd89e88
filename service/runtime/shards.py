"""The stateful step of a worker: its shards decide prepared records and settle when idle.

A prepared record reaches its shard through ``topics.prepared``, unless the worker that
prepared it owns the shard: then it is decided at once (``decide_here``).

The states themselves are ``service.runtime.recovery``'s (restored when assigned); this decides
through the routing ``process`` uses too, sends each shard's cluster events and changelog
entries as part of the batch that caused them, and settles a shard whose input paused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from service.config import Config
from service.metrics import Metrics
from service.pipeline import Pipeline, Prepared, Result
from service.records import Origin
from service.runtime.checkpoint import Batch, Checkpoint
from service.runtime.delivery import Delivery
from service.runtime.recovery import Recovery
from service.runtime.routing import decide_record
from service.state.stories import StoryState

log = logging.getLogger("service.kafka")

_SETTLE_SLICE = 256  # articles reconsidered per slice of an idle settle (75-160 ms)


class Shards:
    """Decisions and idle settles of the shards a worker owns."""

    def __init__(self, config: Config, pipeline: Pipeline, metrics: Metrics, recovery: Recovery,
                 delivery: Delivery, checkpoint: Checkpoint, handling: asyncio.Lock) -> None:
        self.config = config
        self.pipeline = pipeline
        self.metrics = metrics
        self.recovery = recovery
        self.delivery = delivery
        self.checkpoint = checkpoint
        self.handling = handling  # held while a batch is handled or a slice settles
        self._last_decided: dict[int, float] = {}  # shard -> when it last decided, until settled
        self._settle_moved: dict[int, int] = {}  # shard -> articles its settle under way moved

    def forget(self, shard: int) -> None:
        """The shard's partition was revoked."""
        self.recovery.forget(shard)
        self._last_decided.pop(shard, None)
        self._settle_moved.pop(shard, None)

    async def decide(self, tp: TopicPartition, messages: list[ConsumerRecord[Any, Any]],
                      batch: Batch) -> None:
        state = await self.recovery.shard(tp.partition)
        for message in messages:
            origin = Origin(tp.topic, tp.partition, message.offset, message.key)
            await self._decide_one(state, message.value, origin, batch)
        await self.decided(tp.partition, batch)

    async def decide_here(self, shard: int, prepared: Prepared, batch: Batch) -> bool:
        """Decide a prepared article at once when this worker owns ``shard`` and has restored
        it: its record then skips the round trip through ``topics.prepared`` (one record
        produced, one consumed and its bytes written, per article) and is not read back.
        False: it must take the hop. The caller holds the handling lock, so ownership cannot
        change meanwhile, and calls ``decided`` for the shard once its batch is decided."""
        state = self.recovery.shards.get(shard)
        if state is None:
            return False
        await self._add(self.pipeline.decide(state, prepared), batch)
        return True

    async def _decide_one(self, state: StoryState, value: bytes | None, origin: Origin,
                          batch: Batch) -> None:
        await self._add(decide_record(self.pipeline, state, value, origin), batch)

    async def _add(self, result: Result, batch: Batch) -> None:
        batch.results.append(result)
        await self._send_outputs(result, batch)

    async def decided(self, shard: int, batch: Batch) -> None:
        """After a batch's decisions in ``shard``: its changelog records, sent in the batch
        (one drain per batch: a record per block of ring slots its articles fall in), and the
        idle settle rescheduled."""
        state = self.recovery.shards.get(shard)
        if state is None:
            return
        await self._send_changes(state, shard, batch)
        self._last_decided[shard] = time.monotonic()
        self._settle_moved.pop(shard, None)  # a settle under way starts afresh
        self._report_state()

    async def _send_outputs(self, result: Result, batch: Batch) -> None:
        """The shard's records for one result: cluster events or a dead letter."""
        for output in result.outputs:
            batch.sends.append(await self.delivery.send(self.delivery.topic(output.sink), None,
                                                        output.key, output.value))

    async def _send_changes(self, state: StoryState, shard: int, batch: Batch) -> None:
        """The shard's changelog records since the last drain, to its state partition."""
        for key, value in state.drain_changes():
            batch.sends.append(await self.delivery.send(self.config.topics.state, shard, key,
                                                        value))

    def _report_state(self) -> None:
        states = self.recovery.shards.values()
        self.metrics.clusters_active.set(sum(state.active_clusters() for state in states))
        self.metrics.state_articles.set(sum(state.article_count() for state in states))

    async def settle_idle(self) -> bool:
        """Settle, one slice at a time, each shard that decided and then had nothing to consume
        for ``kafka.settle_idle_ms`` (called when a poll comes back empty); True while a settle
        has more to do, so the loop polls again at once.

        A slice holds the shard for tens of milliseconds and runs in a thread, so heartbeats
        and commits go on, and records that arrive are decided after it (which restarts the
        settle later). Its events and changelog entries are produced like a batch's."""
        idle_s = self.config.kafka.settle_idle_ms / 1000
        now = time.monotonic()
        more = False
        for shard, decided in list(self._last_decided.items()):
            if idle_s <= 0 or now - decided < idle_s:
                continue
            async with self.handling:
                state = self.recovery.shards.get(shard)
                if state is None:
                    del self._last_decided[shard]
                    continue
                result = await asyncio.to_thread(self.pipeline.settle, state, _SETTLE_SLICE)
                batch = Batch({}, 0)
                await self._send_outputs(result, batch)
                await self._send_changes(state, shard, batch)
                if batch.sends:
                    self.checkpoint.queue(batch)
                self._settle_moved[shard] = self._settle_moved.get(shard, 0) + len(result.outputs)
                if state.settling:
                    more = True
                    continue
                del self._last_decided[shard]
                self._report_state()
                log.info("shard settled",
                         extra={"shard": shard, "moved": self._settle_moved.pop(shard)})
        return more

