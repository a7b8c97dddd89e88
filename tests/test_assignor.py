"""Partition assignment by work: a state shard's owner takes fewer raw partitions."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata
from aiokafka.structs import TopicPartition

from service.edges.assignor import ShardWeightedAssignor, balanced_assignment, partition_weights
from service.edges.broker import EmbeddedBroker

BOTH = {"raw", "prepared"}


def _split(raw: int, shards: int, load: float, members: int) -> dict[str, tuple[int, int]]:
    """(raw partitions, shards) per member."""
    weights = partition_weights({"raw": set(range(raw)), "prepared": set(range(shards))},
                                "prepared", load)
    assignment = balanced_assignment(weights, {f"m{i}": BOTH for i in range(members)})
    return {member: (sum(tp.topic == "raw" for tp in tps),
                     sum(tp.topic == "prepared" for tp in tps))
            for member, tps in assignment.items()}


def test_the_shard_owner_takes_fewer_raw_partitions() -> None:
    assert sorted(_split(12, 1, 0.2, 2).values()) == [(5, 1), (7, 0)]
    assert sorted(_split(6, 1, 0.2, 2).values()) == [(2, 1), (4, 0)]


def test_without_a_shard_load_partition_counts_are_balanced() -> None:
    assert sorted(_split(6, 1, 0.0, 2).values()) == [(3, 0), (3, 1)]
    assert sorted(_split(12, 3, 0.0, 3).values()) == [(4, 1)] * 3


def test_shards_are_spread_before_raw_partitions_fill_in() -> None:
    split = _split(12, 2, 0.2, 2)
    assert sorted(split.values()) == [(6, 1), (6, 1)]


def test_every_partition_is_assigned_once_and_only_to_a_subscriber() -> None:
    weights = partition_weights({"raw": set(range(5)), "prepared": {0, 1}, "other": {0}},
                                "prepared", 0.5)
    subscriptions = {"a": {"raw", "prepared"}, "b": {"raw", "prepared", "other"}, "c": {"raw"}}
    assignment = balanced_assignment(weights, subscriptions)
    placed = [tp for tps in assignment.values() for tp in tps]
    assert sorted(placed) == sorted(weights)
    for member, tps in assignment.items():
        assert {tp.topic for tp in tps} <= subscriptions[member]


def test_the_assignment_does_not_depend_on_the_order_members_are_listed() -> None:
    weights = partition_weights({"raw": set(range(12)), "prepared": {0}}, "prepared", 0.2)
    forward = balanced_assignment(weights, {"x": BOTH, "y": BOTH})
    backward = balanced_assignment(weights, {"y": BOTH, "x": BOTH})
    assert forward == backward


def test_the_aiokafka_protocol_encodes_the_balanced_assignment() -> None:
    cluster = ClusterMetadata()
    cluster._partitions = {"raw": {p: None for p in range(6)}, "prepared": {0: None}}
    assignor = ShardWeightedAssignor("prepared", 0.2)
    members = {m: assignor.metadata(["raw", "prepared"]) for m in ("m1", "m2")}
    assert isinstance(members["m1"], ConsumerProtocolMemberMetadata)
    result = assignor.assign(cluster, members)
    owner = next(m for m, a in result.items() if TopicPartition("prepared", 0) in a.partitions())
    other = "m2" if owner == "m1" else "m1"
    assert len(result[owner].partitions()) == 3
    assert sorted(tp.partition for tp in result[other].partitions()) == [0, 1, 3, 5]


def test_a_group_with_an_older_round_robin_worker_still_forms(broker: EmbeddedBroker) -> None:
    """A rolling upgrade: workers of a version without the weighted assignor are running and a
    new one joins. The broker picks the protocol every member lists, round-robin; without it in
    the new worker's list the join fails (InconsistentGroupProtocol) and the worker stops."""

    async def scenario() -> list[list[TopicPartition]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic("mixed.raw", 6, 1), NewTopic("mixed.prep", 1, 1)])
        finally:
            await admin.close()
        strategies = [(RoundRobinPartitionAssignor,),
                      (ShardWeightedAssignor("mixed.prep", 0.2), RoundRobinPartitionAssignor)]
        consumers = [AIOKafkaConsumer("mixed.raw", "mixed.prep", bootstrap_servers=broker.bootstrap,
                                      group_id="mixed", partition_assignment_strategy=strategy,
                                      session_timeout_ms=6000, heartbeat_interval_ms=1000)
                     for strategy in strategies]
        try:
            for consumer in consumers:
                await consumer.start()
            for _ in range(60):  # both polling until the group holds every partition, split
                await asyncio.gather(*(c.getmany(timeout_ms=200) for c in consumers))
                held = [sorted(c.assignment()) for c in consumers]
                if all(held) and sum(map(len, held)) == 7:
                    break
            return held
        finally:
            for consumer in consumers:
                await consumer.stop()

    held = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert sorted(map(len, held)) == [3, 4], held
    assert sorted(tp for tps in held for tp in tps) == sorted(
        [TopicPartition("mixed.raw", p) for p in range(6)] + [TopicPartition("mixed.prep", 0)])
