"""Story features: what duplicate detection and clustering need from one article, without state.

The MinHash signature (``dedup``) and the weighted term counts (``cluster``) depend on the
article alone, so the stateless step computes them on every worker and carries them to the
shard that owns the state in the prepared record. The shard owner then only looks up, scores
and updates, which keeps the serial part of the topology small (see ``service.state.stories``).
Counts are float32 from the start so an article decides the same whether its features were
computed in-process or read back from the internal topic.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from service.records import Article
from service.stages import cluster, dedup
from service.stages.fingerprint import BodyHashes, body_hashes

_HEAD = struct.Struct("<II")
# The meaning of a signature and of term ids: bumped whenever word hashing, shingling, MinHash
# or term ids change, since state stored under another version compares unlike with new
# features (the changelog records it; see ``StoryState.restore``). 2: word hashes from prefix
# sums over code points instead of xxh3 per word. 3: units of every script (``tokens``: marks
# and joiners inside words, characters of unspaced scripts, their bigrams as terms), casefold.
# 4: trigrams of Thai, Lao, Khmer and Myanmar units as terms; lone unspaced units no terms.
# 5: signatures of 16-bit minima.
FEATURES_VERSION = 5


@dataclass(frozen=True, slots=True)
class TermWeights:
    """Extra weight of title words, of capitalized names and of numbers in an article's terms."""

    title: float
    name: float
    number: float


@dataclass(frozen=True, slots=True, eq=False)
class StoryFeatures:
    """MinHash ``signature`` of the body's ``shingles`` 3-unit shingles; term ids and counts."""

    signature: dedup.Signature
    shingles: int
    terms: cluster.U32
    counts: cluster.F32

    def to_bytes(self) -> bytes:
        return (_HEAD.pack(self.shingles, len(self.terms))
                + self.signature.astype("<u2").tobytes()
                + self.terms.astype("<u4").tobytes()
                + self.counts.astype("<f4").tobytes())

    @classmethod
    def from_bytes(cls, value: bytes) -> StoryFeatures:
        """Inverse of ``to_bytes``; ValueError when the record is cut or padded."""
        if len(value) < _HEAD.size:
            raise ValueError(f"story features of {len(value)} bytes, too short")
        shingles, count = _HEAD.unpack_from(value)
        expected = _HEAD.size + 2 * dedup.PERMUTATIONS + 8 * count
        if len(value) != expected:
            raise ValueError(f"story features of {len(value)} bytes, expected {expected}")
        at = _HEAD.size
        signature = np.frombuffer(value, "<u2", dedup.PERMUTATIONS, at).astype(np.uint16)
        at += 2 * dedup.PERMUTATIONS
        terms = np.frombuffer(value, "<u4", count, at).astype(np.uint32)
        counts = np.frombuffer(value, "<f4", count, at + 4 * count).astype(np.float32)
        return cls(signature, shingles, terms, counts)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, StoryFeatures) and self.shingles == other.shingles
                and np.array_equal(self.signature, other.signature)
                and np.array_equal(self.terms, other.terms)
                and np.array_equal(self.counts, other.counts))

    __hash__ = None  # type: ignore[assignment]


def story_features(article: Article, weights: TermWeights,
                   hashes: BodyHashes | None = None) -> StoryFeatures:
    """The features of ``article``; ``hashes`` are its body's, when the caller already has them
    (from fingerprinting), else they are computed here."""
    if hashes is None:
        hashes = body_hashes(article.text)
    shingles = hashes.shingles
    terms, counts = cluster.term_counts(article.title, article.text, hashes.terms, weights.title,
                                        weights.name, weights.number)
    return StoryFeatures(dedup.minhash(shingles), len(shingles), terms,
                         counts.astype(np.float32))
