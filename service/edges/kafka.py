"""The Kafka clients: how each is configured, and nothing of what runs on them.

The worker's consumer and producer, the changelog reader of a state restore and the replay
producer all take the connection and security settings of ``client_options``; the runners
(``service.runtime``) drive them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from aiokafka.helpers import create_ssl_context
from aiokafka.protocol.group import LeaveGroupRequest

from service.config import Config, KafkaConfig, LimitsConfig, sasl_password
from service.edges.assignor import ShardWeightedAssignor
from service.edges.partitioner import partition_for

log = logging.getLogger("service.kafka")

_LEAVE_TIMEOUT_S = 1.0
_RECORD_OVERHEAD = 16384  # a record's key (ids up to 2048 characters) and framing
# The producer's or the broker's "too large": retrying can never succeed.
REFUSED_AS_TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)


def client_options(kafka: KafkaConfig) -> dict[str, Any]:
    """Connection and security settings shared by every client (passed through as given)."""
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.sasl_mechanism:
        options.update(sasl_mechanism=kafka.sasl_mechanism,
                       sasl_plain_username=kafka.sasl_username,
                       sasl_plain_password=sasl_password(kafka))
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=kafka.ssl_cafile or None, certfile=kafka.ssl_certfile or None,
            keyfile=kafka.ssl_keyfile or None)
    return options


def record_request_bytes(limits: LimitsConfig) -> int:
    """Request cap of the worker's producer: its records are at most ``max_record_bytes``."""
    return limits.max_record_bytes + _RECORD_OVERHEAD


def consumer_lag(end_offset: int, position: int) -> int:
    """Messages behind the end; never negative (some brokers under-report the end offset)."""
    return max(0, end_offset - position)


def worker_producer(config: Config) -> AIOKafkaProducer:
    """The worker's producer: every record it sends is acknowledged before an offset commits."""
    kafka = config.kafka
    return AIOKafkaProducer(
        **client_options(kafka), acks="all" if kafka.acks == "all" else int(kafka.acks),
        enable_idempotence=False, partitioner=partition_for,
        max_batch_size=kafka.producer_max_batch_bytes,
        linger_ms=kafka.producer_linger_ms,
        compression_type=None if kafka.compression == "none" else kafka.compression,
        max_request_size=record_request_bytes(config.limits))


def worker_consumer(config: Config) -> AIOKafkaConsumer:
    """The worker's group member: offsets committed by the worker, state shards weighed by the
    assignor (``kafka.state_shard_load``)."""
    kafka = config.kafka
    return AIOKafkaConsumer(
        **client_options(kafka), group_id=kafka.group_id, enable_auto_commit=False,
        auto_offset_reset="earliest", max_poll_records=kafka.max_poll_records,
        fetch_max_wait_ms=kafka.fetch_max_wait_ms,
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=kafka.heartbeat_interval_ms,
        partition_assignment_strategy=(
            ShardWeightedAssignor(config.topics.prepared, kafka.state_shard_load),
            RoundRobinPartitionAssignor),
        max_partition_fetch_bytes=max(1_048_576, config.limits.max_message_bytes + 65536))


def changelog_reader(kafka: KafkaConfig) -> AIOKafkaConsumer:
    """A consumer outside any group, for reading a changelog partition from its start."""
    return AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False, group_id=None)


def replay_producer(kafka: KafkaConfig, limits: LimitsConfig) -> AIOKafkaProducer:
    """``replay``'s producer, with room for a raw message at the size limit."""
    return AIOKafkaProducer(**client_options(kafka), enable_idempotence=False,
                            partitioner=partition_for,
                            max_request_size=max(1_048_576, 2 * limits.max_message_bytes))


async def stop_member(consumer: AIOKafkaConsumer, join_wait_s: float) -> None:
    """Stop a group member: it leaves its group and closes every connection.

    aiokafka's ``stop`` first waits for a group join under way, and the broker holds a join
    until every member has rejoined (up to their poll interval: minutes), so a SIGTERM while
    another member is slow to rejoin would outlive the shutdown grace. After ``join_wait_s`` the
    join is abandoned: the member leaves by the id the broker gave it (on a connection of its
    own, as the coordinator's is held by the join) and the client closes."""
    stopping = asyncio.ensure_future(consumer.stop())
    await asyncio.wait([stopping], timeout=join_wait_s)
    if stopping.done():
        stopping.result()  # a failure to stop: raise it
        return
    coordinator = consumer._coordinator
    member, node = coordinator.member_id, coordinator.coordinator_id
    log.info("leaving the group during a join", extra={"member_id": member})
    coordinator._coordination_task.cancel()  # close() awaits it: the stop ends cancelled
    await asyncio.wait([stopping])
    try:
        if member and node is not None:
            await asyncio.wait_for(consumer._client.send(
                node, LeaveGroupRequest(coordinator.group_id, member)), _LEAVE_TIMEOUT_S)
    except (KafkaError, TimeoutError) as exc:
        log.warning("leaving the group failed", extra={"error": repr(exc)})
    finally:
        await coordinator._stop_heartbeat_task()
        await consumer._fetcher.close()
        await consumer._client.close()
