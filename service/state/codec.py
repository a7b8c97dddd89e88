"""Changelog keys and compact binary values for the story state of one shard.

Keys are chosen so that log compaction keeps exactly what ``StoryState.restore`` needs: the
latest record of every live article (``a/<id>``) and story (``c/<serial>``), the latest
document-frequency snapshot (``d/<chunk>``), the terms of articles decided after that snapshot
(``t/<serial>``), the vectors of the articles whose story may still be refined (``v/<serial>``)
and the counters (``m``). Values are fixed-layout structs plus raw numpy arrays,
so a record costs a few hundred bytes and decodes without parsing text.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
import orjson

from service.stages.cluster import U32, Vector
from service.stages.dedup import PERMUTATIONS

META_KEY = b"m"
ARTICLE_PREFIX = b"a/"
STORY_PREFIX = b"c/"
TERMS_PREFIX = b"t/"
FREQUENCY_PREFIX = b"d/"
VECTOR_PREFIX = b"v/"

_ARTICLE = struct.Struct("<qqqdiQ")
_STORY = struct.Struct("<qqdqdi")
_SIGNATURE_BYTES = PERMUTATIONS * 4


def story_key(serial: int) -> bytes:
    return STORY_PREFIX + f"{serial:016x}".encode()


def terms_key(serial: int) -> bytes:
    return TERMS_PREFIX + f"{serial:016x}".encode()


def vector_key(serial: int) -> bytes:
    return VECTOR_PREFIX + f"{serial:016x}".encode()


def frequency_key(chunk: int) -> bytes:
    return FREQUENCY_PREFIX + f"{chunk:04x}".encode()


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """An article's dedup state and its first decision (replayed to redeliveries)."""

    serial: int
    story: int
    root: int
    time: float
    shingles: int
    content: int
    signature: U32
    decision: tuple[str, bool, float, str | None, str | None, int]

    def encode(self) -> bytes:
        head = _ARTICLE.pack(self.serial, self.story, self.root, self.time, self.shingles,
                             self.content)
        return head + self.signature.astype("<u4").tobytes() + orjson.dumps(self.decision)



Decision = tuple[str, bool, float, str | None, str | None, int]
# ``_ARTICLE`` as a NumPy record: a restore reads every article's fixed part in one pass.
_ARTICLE_HEAD = np.dtype([("serial", "<i8"), ("story", "<i8"), ("root", "<i8"), ("time", "<f8"),
                          ("shingles", "<i4"), ("content", "<u8")])


@dataclass(frozen=True, slots=True)
class ArticleColumns:
    """Article records decoded together, field by field, in the order they were given."""

    heads: np.ndarray  # _ARTICLE_HEAD records: serial, story, root, time, shingles, content
    signatures: np.ndarray  # (articles, PERMUTATIONS) uint32
    decisions: list[Decision]


def decode_articles(values: list[bytes]) -> ArticleColumns:
    """``ArticleRecord.encode`` undone for many records at once (a restore decodes up to a
    million: one array pass per field instead of a few NumPy calls per record)."""
    head, end = _ARTICLE.size, _ARTICLE.size + _SIGNATURE_BYTES
    heads = np.frombuffer(b"".join([v[:head] for v in values]), dtype=_ARTICLE_HEAD)
    signatures = np.frombuffer(b"".join([v[head:end] for v in values]), dtype="<u4")
    decisions: list[Decision] = [tuple(orjson.loads(v[end:])) for v in values]
    return ArticleColumns(heads, signatures.reshape(len(values), PERMUTATIONS).astype(np.uint32),
                          decisions)


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story's centroid and bookkeeping; ``stamp`` orders stories in the term index."""

    serial: int
    founder: int
    last_time: float
    stamp: int
    size: int
    cluster_id: str
    centroid: Vector

    def encode(self) -> bytes:
        head = _STORY.pack(self.serial, self.founder, self.last_time, self.stamp,
                           self.centroid.norm, self.size)
        count = struct.pack("<i", len(self.centroid.terms))
        return head + count + encode_vector(self.centroid) + self.cluster_id.encode()

    @classmethod
    def decode(cls, value: bytes) -> StoryRecord:
        serial, founder, last_time, stamp, norm, size = _STORY.unpack_from(value)
        offset = _STORY.size
        (count,) = struct.unpack_from("<i", value, offset)
        offset += 4
        centroid = decode_vector(value[offset:offset + 8 * count])
        return cls(serial, founder, last_time, stamp, size, value[offset + 8 * count:].decode(),
                   centroid._replace(norm=norm))


def encode_terms(terms: U32) -> bytes:
    return terms.astype("<u4").tobytes()


def decode_terms(value: bytes) -> U32:
    return np.frombuffer(value, dtype="<u4").astype(np.uint32)


def encode_counts(counts: U32) -> bytes:
    return zlib.compress(counts.astype("<u4").tobytes(), 1)


def decode_counts(value: bytes) -> U32:
    return np.frombuffer(zlib.decompress(value), dtype="<u4").astype(np.uint32)


def encode_vector(vector: Vector) -> bytes:
    """An article's unit vector: its term ids, then their weights."""
    return vector.terms.astype("<u4").tobytes() + vector.weights.astype("<f4").tobytes()


def decode_vector(value: bytes) -> Vector:
    """Inverse of ``encode_vector``, as a unit vector (a centroid's caller sets its norm)."""
    count = len(value) // 8
    terms = np.frombuffer(value, dtype="<u4", count=count).astype(np.uint32)
    weights = np.frombuffer(value, dtype="<f4", count=count, offset=4 * count).astype(np.float32)
    return Vector(terms, weights, 1.0 if count else 0.0)
