"""Partition assignment by work, not by partition count.

A state shard decides for every article routed to it, whichever worker cleaned the article, so
the worker that owns a shard carries more than its count of partitions says. Round-robin gives it
an equal share of raw partitions as well, and two workers then scale only as far as that owner
keeps up. Here each shard weighs ``shard_load * raw partitions / shards`` raw partitions, and the
heaviest partitions are placed first, each on the least-loaded member (longest-processing-time
greedy), so a shard's owner takes fewer raw partitions.

The owner decides the articles it cleaned itself at once, without the prepared hop; those of
other workers still reach it through ``topics.prepared``. The weight holds that mix: measured
with the hop skipped, the shard's share stays between 0.1 and 0.25, where the split of 12 raw
partitions between two workers (5 and 7) does not change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)
from aiokafka.structs import TopicPartition


def balanced_assignment(weights: Mapping[TopicPartition, float],
                        subscriptions: Mapping[str, Collection[str]],
                        ) -> dict[str, list[TopicPartition]]:
    """Each partition to a subscribed member, heaviest first, onto the least load so far.

    Ties go to the member with fewer partitions, then to the lower member id, so every leader
    computes the same assignment from the same inputs.
    """
    load = {member: 0.0 for member in subscriptions}
    assigned: dict[str, list[TopicPartition]] = {member: [] for member in subscriptions}
    for tp in sorted(weights, key=lambda tp: (-weights[tp], tp.topic, tp.partition)):
        takers = [member for member in subscriptions if tp.topic in subscriptions[member]]
        if not takers:
            continue
        member = min(takers, key=lambda m: (load[m], len(assigned[m]), m))
        load[member] += weights[tp]
        assigned[member].append(tp)
    return {member: sorted(tps) for member, tps in assigned.items()}


def partition_weights(partitions: Mapping[str, Collection[int]], shard_topic: str,
                      shard_load: float) -> dict[TopicPartition, float]:
    """Raw partitions weigh 1; a shard weighs its share of ``shard_load * raw partitions``."""
    raw = sum(len(ids) for topic, ids in partitions.items() if topic != shard_topic)
    shards = len(partitions.get(shard_topic, ()))
    shard_weight = shard_load * raw / shards if shards else 0.0
    return {TopicPartition(topic, p): shard_weight if topic == shard_topic else 1.0
            for topic, ids in partitions.items() for p in ids}


class ShardWeightedAssignor:
    """aiokafka's assignor protocol over ``balanced_assignment``; listed before round-robin so a
    group mixing this version with older workers still agrees on round-robin."""

    name = "article-ingest-weighted"
    version = 0

    def __init__(self, shard_topic: str, shard_load: float) -> None:
        self.shard_topic = shard_topic
        self.shard_load = shard_load

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        return ConsumerProtocolMemberMetadata(self.version, list(topics), b"")

    def assign(self, cluster: ClusterMetadata,
               members: Mapping[str, ConsumerProtocolMemberMetadata],
               ) -> dict[str, ConsumerProtocolMemberAssignment]:
        topics = {topic for metadata in members.values() for topic in metadata.subscription}
        partitions = {topic: cluster.partitions_for_topic(topic) or set() for topic in topics}
        weights = partition_weights(partitions, self.shard_topic, self.shard_load)
        subscriptions = {member: set(metadata.subscription) for member, metadata in members.items()}
        assignment = balanced_assignment(weights, subscriptions)
        return {member: ConsumerProtocolMemberAssignment(self.version, _by_topic(tps), b"")
                for member, tps in assignment.items()}

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        """Nothing to keep: the assignment is recomputed from scratch at each rebalance."""


def _by_topic(tps: list[TopicPartition]) -> list[tuple[str, list[int]]]:
    topics: dict[str, list[int]] = {}
    for tp in tps:
        topics.setdefault(tp.topic, []).append(tp.partition)
    return sorted(topics.items())
