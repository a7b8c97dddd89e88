"""``run``: one consumer-group member that consumes, runs the pipeline, produces and commits.

Guarantee: at-least-once. A consumed offset is committed only after every record it produced
(clean record, cluster events, changelog entries, or its dead letter) is acknowledged by the
broker. Output keys are article ids, so a redelivered message overwrites rather than adds.

Shape: one consumer (one group) reads two topics. ``topics.raw`` partitions get the stateless
step; ``topics.prepared`` partitions are state shards, each owned by the worker that holds the
partition, restored from its ``topics.state`` changelog partition when assigned. Both steps
route as ``process`` does (``service.runtime.routing``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import OffsetAndMetadata

from service.config import Config
from service.edges import topics
from service.edges.fetch import Fetcher
from service.edges.http import Health
from service.edges.kafka import (
    REFUSED_AS_TOO_LARGE,
    changelog_reader,
    consumer_lag,
    worker_consumer,
    worker_producer,
)
from service.metrics import Metrics
from service.pipeline import Pipeline, Result, Sink, record_headers
from service.records import Origin, Outcome, RawArticle, Reason, Rejection
from service.runtime.flow import Message, decode_batch, fetch_pages, prepare_decoded, wanting_fetch
from service.runtime.routing import decide_record, route
from service.state.stories import StoryState
from service.timefmt import parse_timestamp

log = logging.getLogger("service.kafka")

_LAG_INTERVAL_S = 2.0
_PROBE_TIMEOUT_S = 3.0
_RESTORE_IDLE_MS = 500
_RESTORE_REPORT_S = 5.0  # a restore under way logs its progress this often
_RETRY_BASE_S = 0.2
_RETRY_MAX_S = 5.0
_SETTLE_SLICE = 256  # articles reconsidered per slice of an idle settle (75-160 ms)
_COMMIT_TIMEOUT_S = 5.0  # aiokafka retries a commit forever (e.g. on a topic that is gone)
_COMMIT_BACKOFF_MAX_S = 30.0
_COMPLAINT_EVERY_S = 30.0  # a standing failure is logged once per this, with its count
_MISSING_TOPICS_GRACE_S = 10.0  # topics may vanish for a moment while a broker restarts


@dataclass
class _Send:
    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None  # None: a changelog tombstone
    future: asyncio.Future[Any]
    origin: Origin | None = None  # the consumed message, when a dead letter can stand in for it
    raw: bytes | None = None


@dataclass
class _Batch:
    """Consumed messages whose offsets may be committed once ``sends`` are acknowledged.

    ``filling``, when set, still fetches and prepares the batch's messages (URL-only ones): the
    ack loop waits for it, so commits keep consumption order while later messages flow."""

    offsets: dict[TopicPartition, int]
    count: int
    sends: list[_Send] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    born: list[float] = field(default_factory=list)
    filling: asyncio.Task[None] | None = None


class Worker:
    """One consumer-group member running the pipeline until ``stop`` is set."""

    def __init__(self, config: Config, pipeline: Pipeline, metrics: Metrics, health: Health,
                 fetcher: Fetcher | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.pipeline = pipeline
        self.metrics = metrics
        self.health = health
        self.fetcher = fetcher
        self.wall_clock = wall_clock
        self.shards: dict[int, StoryState] = {}
        self._restores: dict[int, asyncio.Future[StoryState]] = {}
        self.producer = worker_producer(config)
        self.consumer = worker_consumer(config)
        topics = config.topics
        self._sink_topics = {Sink.CLEAN: topics.clean, Sink.CLUSTERS: topics.clusters,
                             Sink.DLQ: topics.dlq, Sink.PREPARED: topics.prepared}
        self._headers = {topic: record_headers(sink) for sink, topic in self._sink_topics.items()}
        self._pending: deque[_Batch] = deque()
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._acker: asyncio.Task[None] | None = None
        self._acked: dict[TopicPartition, int] = {}
        self._in_flight = 0
        self._room = asyncio.Condition()
        self._handling = asyncio.Lock()
        self._last_commit = time.monotonic()
        self._commit_failures = 0
        self._commit_after = 0.0  # monotonic time before which a failing commit is not retried
        self._complained_at = 0.0
        self._missing_since: float | None = None
        self._lag: asyncio.Task[None] | None = None
        self._last_decided: dict[int, float] = {}  # shard -> when it last decided, until settled
        self._settle_moved: dict[int, int] = {}  # shard -> articles its settle under way moved

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        topics = self.config.topics
        await self.producer.start()
        try:
            self.consumer.subscribe([topics.raw, topics.prepared], listener=_Rebalance(self))
            await self.consumer.start()
            acker = self._acker = asyncio.create_task(self._ack_loop(), name="ack-loop")
            lag = self._lag = asyncio.create_task(self._lag_loop(), name="lag-loop")
            try:
                await self._poll_loop(stop)
                self._abandon_fetches()  # their messages are redelivered: never wait on a host
                await self.flush()
            finally:
                self._abandon_fetches()
                for task in (acker, lag):
                    task.cancel()
                await asyncio.gather(acker, lag, return_exceptions=True)
                self.health.set_ready(False, "stopping")
                await self.consumer.stop()
        finally:
            await self.producer.stop()

    async def _poll_loop(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        settling = False
        try:
            while not stop.is_set():
                for task in (self._acker, self._lag):
                    if task is not None and task.done():
                        task.result()  # a helper loop died: surface its error, stop consuming
                async with self._room:
                    await self._room.wait_for(
                        lambda: self._in_flight < self.config.kafka.max_in_flight)
                try:
                    records = await self.consumer.getmany(
                        timeout_ms=0 if settling else 200,
                        max_records=self.config.kafka.max_poll_records)
                except KafkaError as exc:
                    self.health.set_ready(False, f"consume failed: {exc}")
                    log.warning("consume failed", extra={"error": str(exc)})
                    await asyncio.wait([stopping], timeout=1.0)
                    continue
                settling = False
                if records:
                    async with self._handling:
                        await self._handle(records)
                else:
                    settling = await self._settle_idle()
        finally:
            stopping.cancel()

    # -- processing ------------------------------------------------------------------------

    async def _handle(self, records: dict[TopicPartition, list[ConsumerRecord[Any, Any]]]) -> None:
        count = sum(len(messages) for messages in records.values())
        batch = _Batch({tp: messages[-1].offset + 1 for tp, messages in records.items()}, count)
        self.metrics.batch_size.observe(count)
        self._in_flight += count
        self.metrics.in_flight.set(self._in_flight)
        for tp, messages in records.items():
            self.metrics.messages_consumed.labels(tp.topic).inc(len(messages))
            if tp.topic == self.config.topics.raw:
                await self._prepare(tp, messages, batch)
            else:
                await self._decide(tp, messages, batch)
        self._queue(batch)

    def _queue(self, batch: _Batch) -> None:
        """Hand a batch to the ack loop, which acknowledges batches in order."""
        self._pending.append(batch)
        self._drained.clear()
        self._wakeup.set()

    async def _prepare(self, tp: TopicPartition, messages: list[ConsumerRecord[Any, Any]],
                       batch: _Batch) -> None:
        """Prepare the messages that need no fetch now; URL-only ones go to a batch of their own,
        filled by a task as their pages arrive, so one slow host holds up no other message.

        That batch is queued before ``batch``, which carries every offset: a partition's offsets
        are committed only once its fetched messages are done too. A fetched message's records
        may follow those of messages consumed after it."""
        inputs = [(m.value, Origin(tp.topic, tp.partition, m.offset, m.key)) for m in messages]
        decoded = decode_batch(self.pipeline, inputs)
        wanted = set(wanting_fetch(decoded)) if self.fetcher is not None else set()
        if wanted:
            later, fetching = _Batch({}, len(wanted)), sorted(wanted)
            later.filling = asyncio.create_task(self._fetch_and_prepare(
                tp, [messages[i] for i in fetching], [inputs[i] for i in fetching],
                [decoded[i] for i in fetching], later), name="fetch-batch")
            batch.count -= len(wanted)
            self._queue(later)
        now = [i for i in range(len(messages)) if i not in wanted]
        results = await prepare_decoded(self.pipeline, [inputs[i] for i in now],
                                        [decoded[i] for i in now],
                                        self.config.limits.message_deadline_s)
        await self._add_results(tp, [messages[i] for i in now], results, batch)

    async def _fetch_and_prepare(self, tp: TopicPartition,
                                 messages: list[ConsumerRecord[Any, Any]], inputs: list[Message],
                                 decoded: list[RawArticle | Rejection], batch: _Batch) -> None:
        assert self.fetcher is not None
        await fetch_pages(self.pipeline, self.fetcher, decoded, range(len(decoded)))
        results = await prepare_decoded(self.pipeline, inputs, decoded,
                                        self.config.limits.message_deadline_s)
        await self._add_results(tp, messages, results, batch)

    def _abandon_fetches(self) -> None:
        """Cancel the fetches under way (at shutdown); the ack loop then stops at their batch."""
        for batch in self._pending:
            if batch.filling is not None:
                batch.filling.cancel()

    async def _add_results(self, tp: TopicPartition, messages: list[ConsumerRecord[Any, Any]],
                           results: list[Result], batch: _Batch) -> None:
        """Send the records of prepared messages as part of ``batch``."""
        for message, result in zip(messages, results, strict=True):
            born = parse_timestamp(result.prepared.article.fetched_at) if result.prepared else None
            batch.born.append(born.timestamp() if born else message.timestamp / 1000)
            batch.results.append(result)
            for routed in route(result, self.config.kafka.state_shards):
                output = routed.output
                batch.sends.append(await self._send(
                    self._topic(output.sink), routed.shard, output.key, output.value,
                    Origin(tp.topic, tp.partition, message.offset, message.key), message.value))

    async def _decide(self, tp: TopicPartition, messages: list[ConsumerRecord[Any, Any]],
                      batch: _Batch) -> None:
        state = await self._shard(tp.partition)
        for message in messages:
            origin = Origin(tp.topic, tp.partition, message.offset, message.key)
            result = decide_record(self.pipeline, state, message.value, origin)
            batch.results.append(result)
            await self._send_outputs(result, batch)
        await self._send_changes(state, tp.partition, batch)
        self._last_decided[tp.partition] = time.monotonic()
        self._settle_moved.pop(tp.partition, None)  # a settle under way starts afresh
        self._report_state()

    async def _send_outputs(self, result: Result, batch: _Batch) -> None:
        """The shard's records for one result: cluster events or a dead letter."""
        for output in result.outputs:
            batch.sends.append(await self._send(self._topic(output.sink), None, output.key,
                                                output.value))

    async def _send_changes(self, state: StoryState, shard: int, batch: _Batch) -> None:
        """The shard's changelog entries since the last drain, to its state partition."""
        for key, value in state.drain_changes():
            batch.sends.append(await self._send(self.config.topics.state, shard, key, value))

    def _report_state(self) -> None:
        self.metrics.clusters_active.set(sum(s.active_clusters() for s in self.shards.values()))
        self.metrics.state_articles.set(sum(s.article_count() for s in self.shards.values()))

    async def _settle_idle(self) -> bool:
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
            async with self._handling:
                state = self.shards.get(shard)
                if state is None:
                    del self._last_decided[shard]
                    continue
                result = await asyncio.to_thread(self.pipeline.settle, state, _SETTLE_SLICE)
                batch = _Batch({}, 0)
                await self._send_outputs(result, batch)
                await self._send_changes(state, shard, batch)
                if batch.sends:
                    self._queue(batch)
                self._settle_moved[shard] = self._settle_moved.get(shard, 0) + len(result.outputs)
                if state.settling:
                    more = True
                    continue
                del self._last_decided[shard]
                self._report_state()
                log.info("shard settled",
                         extra={"shard": shard, "moved": self._settle_moved.pop(shard)})
        return more

    def _topic(self, sink: Sink) -> str:
        return self._sink_topics[sink]

    async def _send(self, topic: str, partition: int | None, key: bytes | None,
                    value: bytes | None, origin: Origin | None = None,
                    raw: bytes | None = None) -> _Send:
        try:
            future = await self.producer.send(topic, value, key=key, partition=partition,
                                              headers=self._headers.get(topic))
        except REFUSED_AS_TOO_LARGE as exc:  # the producer checks the size before sending
            future = asyncio.get_running_loop().create_future()
            future.set_exception(exc)
        return _Send(topic, partition, key, value, future, origin, raw)

    # -- acknowledgements and commits -----------------------------------------------------

    async def _ack_loop(self) -> None:
        interval = self.config.kafka.commit_interval_ms / 1000
        while True:
            if not self._pending:
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), interval)
            if self._pending:
                if await self._filled(self._pending[0]):
                    await self._acknowledge(self._pending[0])
                    self._pending.popleft()
                else:
                    await self._drop_pending()
                if not self._pending:
                    self._drained.set()
            now = time.monotonic()
            if self._acked and now >= self._commit_after and (
                    not self._pending or now - self._last_commit >= interval):
                await self._commit()

    @staticmethod
    async def _filled(batch: _Batch) -> bool:
        """Wait for a batch still being filled; False when its fetches were abandoned."""
        if batch.filling is None:
            return True
        await asyncio.wait([batch.filling])
        if batch.filling.cancelled():
            return False
        batch.filling.result()  # a failure other than a rejection: surface it, stop the worker
        return True

    async def _drop_pending(self) -> None:
        """Give up on the abandoned batch and every later one: none of their offsets is committed
        (what came before still is), so their messages are redelivered."""
        dropped = sum(batch.count for batch in self._pending)
        self._abandon_fetches()
        self._pending.clear()
        log.info("fetches abandoned; their messages will be redelivered",
                 extra={"messages": dropped})
        async with self._room:
            self._in_flight -= dropped
            self.metrics.in_flight.set(self._in_flight)
            self._room.notify_all()

    async def _acknowledge(self, batch: _Batch) -> None:
        for send in batch.sends:
            await self._deliver(send)
            self.metrics.records_produced.labels(send.topic).inc()
        for tp, offset in batch.offsets.items():
            self._acked[tp] = max(offset, self._acked.get(tp, 0))
        now = self.wall_clock()
        for born in batch.born:
            self.metrics.end_to_end_seconds.observe(max(0.0, now - born))
        for result in batch.results:
            self._count(result)
        async with self._room:
            self._in_flight -= batch.count
            self.metrics.in_flight.set(self._in_flight)
            self._room.notify_all()

    def _count(self, result: Result) -> None:
        if result.outcome is not None:
            self.metrics.articles.labels(str(result.outcome)).inc()
        if result.outcome is Outcome.DEAD_LETTER and result.reason is not None:
            self.metrics.dead_letters.labels(str(result.reason)).inc()
        if result.duplicate_kind:
            self.metrics.duplicates.labels(result.duplicate_kind).inc()

    async def _deliver(self, send: _Send) -> None:
        """Wait for the broker's ack; retry with backoff until it comes (never skip a record),
        unless the record is refused as too large: then a dead letter stands in for it."""
        future, attempt = send.future, 0
        while True:
            try:
                await future
                if attempt:
                    self.health.set_ready(True)
                return
            except REFUSED_AS_TOO_LARGE as exc:
                await self._refused(send, exc)
                return
            except KafkaError as exc:
                attempt += 1
                self.health.set_ready(False, f"produce failing: {type(exc).__name__}")
                log.warning("produce failed, retrying",
                            extra={**_about(send), "attempt": attempt, "error": str(exc)})
                delay = min(_RETRY_MAX_S, _RETRY_BASE_S * 2 ** attempt)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                future = await self.producer.send(send.topic, send.value, key=send.key,
                                                  partition=send.partition,
                                                  headers=self._headers.get(send.topic))

    async def _refused(self, send: _Send, error: KafkaError) -> None:
        """A record too large for the producer or broker (their limit below
        ``limits.max_record_bytes``): its message becomes a too_large dead letter, which keeps
        none of the raw bytes when a dead letter itself was refused."""
        size = len(send.value or b"")
        log.error("record refused as too large", extra={**_about(send), "bytes": size,
                                                        "error": type(error).__name__})
        if send.origin is None:  # a shard's own record: there is no message to stand in for
            return
        rejection = Rejection(Reason.TOO_LARGE, f"the {size}-byte record for {send.topic} was "
                              f"refused ({type(error).__name__}): lower limits.max_record_bytes",
                              "produce")
        is_letter = send.topic == self.config.topics.dlq
        (letter,) = self.pipeline.reject(rejection, send.origin, send.raw,
                                         raw_limit=0 if is_letter else None).outputs
        stand_in = await self._send(self.config.topics.dlq, None, letter.key, letter.value,
                                    None if is_letter else send.origin, send.raw)
        await self._deliver(stand_in)
        self.metrics.dead_letters.labels(str(Reason.TOO_LARGE)).inc()

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

    async def flush(self) -> None:
        """Acknowledge and commit everything consumed so far."""
        if self._pending:
            self._wakeup.set()
            await self._drained.wait()
        await self._commit()

    # -- rebalance and state ---------------------------------------------------------------

    async def on_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        revoked = list(revoked)
        log.info("partitions revoked", extra={"partitions": _partitions(revoked)})
        async with self._handling:
            await self.flush()
        for tp in revoked:
            if tp.topic == self.config.topics.prepared:
                self.shards.pop(tp.partition, None)
                self._restores.pop(tp.partition, None)
                self._last_decided.pop(tp.partition, None)
                self._settle_moved.pop(tp.partition, None)
            with contextlib.suppress(KeyError):  # never reported for this partition
                self.metrics.consumer_lag.remove(tp.topic, str(tp.partition))

    async def on_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        assigned = list(assigned)
        log.info("partitions assigned", extra={"partitions": _partitions(assigned),
                                               "held": _partitions(self.consumer.assignment())})
        for tp in assigned:
            if tp.topic == self.config.topics.prepared:
                await self._shard(tp.partition)
        if self.consumer.assignment():
            self.health.set_ready(True)
        else:
            self.health.set_ready(False, "no partitions assigned")

    async def _shard(self, shard: int) -> StoryState:
        """The state of an owned shard, restored once (records may arrive while it restores)."""
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

    async def _restore(self, shard: int) -> StoryState:
        """Rebuild one shard from its changelog partition, read from the beginning."""
        started = time.perf_counter()
        state = self.pipeline.new_state()
        reader = changelog_reader(self.config.kafka)
        await reader.start()
        try:
            tp = TopicPartition(self.config.topics.state, shard)
            reader.assign([tp])
            await reader.seek_to_beginning(tp)
            end = (await reader.end_offsets([tp]))[tp]
            entries: list[tuple[bytes, bytes | None]] = []
            log.info("restoring state", extra={"shard": shard, "topic": tp.topic, "end": end})
            reported = started
            while True:
                records = await reader.getmany(tp, timeout_ms=_RESTORE_IDLE_MS, max_records=5000)
                messages = records.get(tp, [])
                entries.extend((m.key, m.value) for m in messages if m.key is not None)
                if messages and time.perf_counter() - reported >= _RESTORE_REPORT_S:
                    reported = time.perf_counter()
                    log.info("restoring state", extra={
                        "shard": shard, "entries": len(entries), "offset": messages[-1].offset,
                        "end": end, "seconds": round(reported - started, 1)})
                if not messages and await reader.position(tp) >= end:
                    break
            retired = state.restore(entries)
        finally:
            await reader.stop()
        seconds = time.perf_counter() - started
        self.metrics.restore_seconds.set(seconds)
        if retired:
            log.warning("changelog written under other story features: shard starts empty",
                        extra={"shard": shard, "retired": retired})
        log.info("state restored", extra={"shard": shard, "entries": len(entries),
                                          "seconds": round(seconds, 3)})
        return state

    async def _lag_loop(self) -> None:
        while True:
            await asyncio.sleep(_LAG_INTERVAL_S)
            await self.check_topics()
            await self.update_lag()

    async def check_topics(self) -> None:
        """Readiness says when the service's topics are gone (a broker restarted empty); they
        are recreated when ``kafka.create_topics`` is on, else the worker stops with
        ``TopicsMissing`` once they have been gone ``_MISSING_TOPICS_GRACE_S``."""
        wanted = {spec.name for spec in topics.topic_specs(self.config)}
        try:
            present = await asyncio.wait_for(self.consumer.topics(), _PROBE_TIMEOUT_S)
        except (KafkaError, TimeoutError):
            return  # the lag probe reports an unreachable broker
        missing = sorted(wanted - set(present))
        if not missing:
            if self._missing_since is not None:
                log.info("topics present again")
            self._missing_since = None
            self.health.report("topics")
            return
        self.health.report("topics", f"topics missing: {', '.join(missing)}")
        now = time.monotonic()
        if self._missing_since is None:
            self._missing_since = now
            log.error("topics missing from the broker", extra={
                "topics": missing, "create_topics": self.config.kafka.create_topics})
        if self.config.kafka.create_topics:
            try:
                topics.log_report(await topics.ensure_topics(self.config, create=True))
            except KafkaError as exc:
                log.warning("recreating topics failed", extra={"error": repr(exc)})
                return
            log.warning("topics recreated", extra={"topics": missing})
            # A new subscription refreshes the metadata, so the recreated partitions are seen.
            names = self.config.topics
            self.consumer.subscribe([names.raw, names.prepared], listener=_Rebalance(self))
        elif now - self._missing_since >= _MISSING_TOPICS_GRACE_S:
            raise TopicsMissing(f"topics missing from the broker for "
                                f"{_MISSING_TOPICS_GRACE_S:g} s and kafka.create_topics is off: "
                                f"{', '.join(missing)}")

    async def update_lag(self) -> None:
        """Lag per partition; doubles as the broker probe that readiness follows."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            self.health.set_ready(False, "no partitions assigned")
            return
        try:
            ends = await asyncio.wait_for(self.consumer.end_offsets(assigned), _PROBE_TIMEOUT_S)
            for tp in assigned:
                position = await self.consumer.position(tp)
                lag = consumer_lag(ends.get(tp, position), position)
                self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
        except (KafkaError, AssertionError, TimeoutError) as exc:
            self.health.set_ready(False, f"broker unreachable: {type(exc).__name__}")
            log.warning("broker probe failed", extra={"error": repr(exc)})
            return
        if all(restore.done() for restore in self._restores.values()):
            self.health.set_ready(True)


def _partitions(tps: Iterable[TopicPartition]) -> dict[str, list[int]]:
    """Partitions by topic, for log lines an operator reads."""
    by_topic: dict[str, list[int]] = {}
    for tp in sorted(tps):
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return by_topic


def _about(send: _Send) -> dict[str, Any]:
    """Where a record goes and which consumed message it came from: per-message log fields."""
    fields: dict[str, Any] = {"topic": send.topic, "partition": send.partition,
                              "key": send.key.decode("utf-8", "replace") if send.key else None}
    if send.origin is not None:
        fields.update(source_topic=send.origin.topic, source_partition=send.origin.partition,
                      source_offset=send.origin.offset)
    return fields


class TopicsMissing(RuntimeError):
    """The service's topics are gone from the broker and ``kafka.create_topics`` is off."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.worker.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self.worker.on_assigned(assigned)
