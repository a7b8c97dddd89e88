"""Kafka's default partitioner for keyed records: the Java client's murmur2 of the key, modulo
the partitions, so our records land where any other client would put the same keys.

aiokafka ships the same algorithm in pure Python, about 10 us a key here; this module is
compiled with the per-article core (setup.py), and the worker sends a keyed record or two for
every article."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # a machine integer to mypyc (every product fits in 63 bits); int otherwise
    from mypy_extensions import i64

_SEED: Final = 0x9747B28C
_MULTIPLIER: Final = 0x5BD1E995
_WORD: Final = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """MurmurHash2 (32-bit) of ``data`` as ``org.apache.kafka.common.utils.Utils.murmur2``
    computes it, as an unsigned value."""
    length: i64 = len(data)
    whole: i64 = length & ~3
    h: i64 = _SEED ^ length
    for i in range(0, whole, 4):
        k: i64 = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = k * _MULTIPLIER & _WORD
        k = (k ^ k >> 24) * _MULTIPLIER & _WORD
        h = (h * _MULTIPLIER & _WORD) ^ k
    tail: i64 = length & 3
    if tail >= 3:
        h ^= data[whole + 2] << 16
    if tail >= 2:
        h ^= data[whole + 1] << 8
    if tail >= 1:
        h = (h ^ data[whole]) * _MULTIPLIER & _WORD
    h = (h ^ h >> 13) * _MULTIPLIER & _WORD
    return h ^ h >> 15


def partition_for(key: bytes | None, all_partitions: Sequence[int],
                  available: Sequence[int]) -> int:
    """The producer's ``partitioner``: a keyed record by murmur2 of its key over all the topic's
    partitions (positive part, as the Java client takes it); an unkeyed one at random among the
    available partitions, or all when none is."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
