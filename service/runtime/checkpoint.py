"""Checkpointing: the order in which consumed batches are acknowledged and their offsets committed.

Each batch gets the next number when it is queued, and batches are acknowledged strictly in
that order (as Quix Streams' checkpoints are): batch n's offsets are committed only after the
records of every batch up to n are acknowledged, so a crash redelivers, and never skips, what
was consumed. A batch's messages count against ``kafka.max_in_flight`` from consumption until
it is acknowledged: the poll loop waits for room (backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from service.edges.http import Health
from service.metrics import Metrics
from service.pipeline import Result
from service.records import Outcome
from service.runtime.delivery import Delivery, Send

log = logging.getLogger("service.kafka")

_COMMIT_TIMEOUT_S = 5.0  # aiokafka retries a commit forever (e.g. on a topic that is gone)
_COMMIT_BACKOFF_MAX_S = 30.0
_COMPLAINT_EVERY_S = 30.0  # a standing failure is logged once per this, with its count


class Committer(Protocol):
    """What checkpointing needs of a consumer (aiokafka's, or an in-memory one in tests)."""

    def assignment(self) -> Iterable[TopicPartition]: ...

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> Any: ...


@dataclass
class Batch:
    """Consumed messages whose offsets may be committed once ``sends`` are acknowledged.

    ``filling``, when set, still fetches and prepares the batch's messages (URL-only ones): the
    ack loop waits for it, so commits keep consumption order while later messages flow."""

    offsets: dict[TopicPartition, int]
    count: int
    sends: list[Send] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    born: list[float] = field(default_factory=list)
    filling: asyncio.Task[None] | None = None
    number: int = 0  # its place in the commit order, given when queued


class Checkpoint:
    """Batches in commit order, their acknowledgement, and the offset commits that follow."""

    def __init__(self, delivery: Delivery, consumer: Committer, health: Health, metrics: Metrics,
                 *, max_in_flight: int, commit_interval_s: float,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.delivery = delivery
        self.consumer = consumer
        self.health = health
        self.metrics = metrics
        self.max_in_flight = max_in_flight
        self.commit_interval_s = commit_interval_s
        self.wall_clock = wall_clock
        self.queued = 0  # the number of the last batch queued
        self.acknowledged = 0  # the number of the last batch acknowledged
        self.in_flight = 0
        self._pending: deque[Batch] = deque()
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._room = asyncio.Condition()
        self._committing = asyncio.Lock()
        self._acked: dict[TopicPartition, int] = {}
        self._last_commit = time.monotonic()
        self._commit_failures = 0
        self._commit_after = 0.0  # monotonic time before which a failing commit is not retried
        self._complained_at = 0.0

    async def wait_for_room(self) -> None:
        """Backpressure: return once fewer than ``max_in_flight`` messages are unacknowledged."""
        async with self._room:
            await self._room.wait_for(lambda: self.in_flight < self.max_in_flight)

    def consumed(self, records: dict[TopicPartition, list[Any]]) -> Batch:
        """A batch for messages just polled: their offsets, counted in flight from now."""
        count = sum(len(messages) for messages in records.values())
        self.metrics.batch_size.observe(count)
        self._add_in_flight(count)
        return Batch({tp: messages[-1].offset + 1 for tp, messages in records.items()}, count)

    def queue(self, batch: Batch) -> None:
        """Give a batch the next number and hand it to the ack loop."""
        self.queued += 1
        batch.number = self.queued
        self._pending.append(batch)
        self._drained.clear()
        self._wakeup.set()

    async def run(self) -> None:
        """The ack loop: acknowledge batches in order; commit every ``commit_interval_s``, or
        as soon as nothing is pending."""
        while True:
            if not self._pending:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self.commit_interval_s)
            if self._pending:
                if await _filled(self._pending[0]):
                    await self._acknowledge(self._pending[0])
                    self._pending.popleft()
                else:
                    await self._drop_pending()
                if not self._pending:
                    self._drained.set()
            now = time.monotonic()
            if self._acked and now >= self._commit_after and (
                    not self._pending or now - self._last_commit >= self.commit_interval_s):
                await self.commit()

    async def flush(self) -> None:
        """Acknowledge and commit everything consumed so far (the ack loop must be running)."""
        if self._pending:
            self._wakeup.set()
            await self._drained.wait()
        await self.commit()

    def abandon_fetches(self) -> None:
        """Cancel the fetches under way (at shutdown); the ack loop then stops at their batch."""
        for batch in self._pending:
            if batch.filling is not None:
                batch.filling.cancel()

    async def _drop_pending(self) -> None:
        """Give up on the abandoned batch and every later one: none of their offsets is committed
        (what came before still is), so their messages are redelivered."""
        dropped = sum(batch.count for batch in self._pending)
        self.abandon_fetches()
        self._pending.clear()
        log.info("fetches abandoned; their messages will be redelivered",
                 extra={"messages": dropped})
        await self._release(dropped)

    async def _acknowledge(self, batch: Batch) -> None:
        for send in batch.sends:
            await self.delivery.deliver(send)
        # counted by the batch: one increment a series, not one a record or an article
        for topic, records in Counter(send.topic for send in batch.sends).items():
            self.metrics.produced_to(topic).inc(records)
        for tp, offset in batch.offsets.items():
            self._acked[tp] = max(offset, self._acked.get(tp, 0))
        self.acknowledged = batch.number
        now = self.wall_clock()
        for born in batch.born:
            self.metrics.end_to_end_seconds.observe("", max(0.0, now - born))
        self._count(batch.results)
        await self._release(batch.count)

    def _add_in_flight(self, count: int) -> None:
        self.in_flight += count
        self.metrics.in_flight.set(self.in_flight)

    async def _release(self, count: int) -> None:
        async with self._room:
            self._add_in_flight(-count)
            self._room.notify_all()

    def _count(self, results: list[Result]) -> None:
        outcomes = Counter(str(result.outcome) for result in results
                           if result.outcome is not None)
        for outcome, articles in outcomes.items():
            self.metrics.articles_by_outcome(outcome).inc(articles)
        for result in results:
            if result.outcome is Outcome.DEAD_LETTER and result.reason is not None:
                self.metrics.dead_letters.labels(str(result.reason)).inc()
            if result.duplicate_kind:
                self.metrics.duplicates.labels(result.duplicate_kind).inc()

    async def commit(self) -> None:
        """Commit the acknowledged offsets of partitions still assigned; one commit at a time,
        so a flush returns only once the ack loop's commit under way has ended too."""
        async with self._committing:
            await self._commit()

    async def _commit(self) -> None:
        offsets = {tp: OffsetAndMetadata(offset, "") for tp, offset in self._acked.items()
                   if tp in self.consumer.assignment()}
        self._acked.clear()
        if not offsets:
            return
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self.consumer.commit(offsets), _COMMIT_TIMEOUT_S)
        except CommitFailedError as exc:  # a rebalance took the partitions: they are redelivered
            log.warning("commit failed", extra={"error": str(exc)})
            return
        except (KafkaError, TimeoutError) as exc:
            self._commit_failed(offsets, exc)
            return
        if self._commit_failures:
            log.info("commits succeed again", extra={"failures": self._commit_failures})
            self._commit_failures = 0
            self.health.report("commit")
        self._last_commit = time.monotonic()
        self.metrics.commit_seconds.observe(time.perf_counter() - started)

    def _commit_failed(self, offsets: dict[TopicPartition, OffsetAndMetadata],
                       error: BaseException) -> None:
        """Keep the offsets for the next try, after a growing pause; say so on /readyz and in
        the log (once per ``_COMPLAINT_EVERY_S``, not at every retry)."""
        for tp, committed in offsets.items():
            self._acked[tp] = max(committed.offset, self._acked.get(tp, 0))
        self._commit_failures += 1
        pause = min(_COMMIT_BACKOFF_MAX_S, 0.5 * 2 ** self._commit_failures)
        self._commit_after = time.monotonic() + pause
        reason = type(error).__name__
        self.health.report("commit", f"offset commits failing: {reason}")
        now = time.monotonic()
        if self._commit_failures == 1 or now - self._complained_at >= _COMPLAINT_EVERY_S:
            self._complained_at = now
            log.warning("offset commit failing", extra={
                "error": reason, "failures": self._commit_failures, "retry_in_s": pause,
                "partitions": len(offsets)})


async def _filled(batch: Batch) -> bool:
    """Wait for a batch still being filled; False when its fetches were abandoned."""
    if batch.filling is None:
        return True
    await asyncio.wait([batch.filling])
    if batch.filling.cancelled():
        return False
    batch.filling.result()  # a failure other than a rejection: surface it, stop the worker
    return True
