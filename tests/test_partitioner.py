"""Our producers' partitioner puts keyed records where the Java client (and aiokafka's default,
which ports it) would: downstream consumers and joins rely on a key's partition."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from service.edges.partitioner import murmur2, partition_for


def test_murmur2_matches_the_java_clients_port_for_every_tail_length() -> None:
    rng = random.Random(11)
    for length in range(70):
        for _ in range(50):
            data = rng.randbytes(length)
            assert murmur2(data) == aiokafka_murmur2(data), data
    # all-ones bytes: the largest products in every step
    assert murmur2(b"\xff" * 33) == aiokafka_murmur2(b"\xff" * 33)


def test_a_key_gets_the_default_partitioners_partition() -> None:
    rng = random.Random(5)
    default = DefaultPartitioner()
    for count in (1, 3, 12, 64):
        partitions = list(range(count))
        for _ in range(200):
            key = rng.randbytes(rng.randrange(1, 40))
            assert partition_for(key, partitions, partitions) == default(key, partitions,
                                                                          partitions)


def test_an_unkeyed_record_goes_to_an_available_partition() -> None:
    for _ in range(50):
        assert partition_for(None, [0, 1, 2, 3], [2, 3]) in (2, 3)
    assert partition_for(None, [0, 1], []) in (0, 1)
