"""Changelog keys and compact binary values for the story state of one shard.

One entry per decided article: its columns and first decision, its terms (for the document
frequencies decided after the last snapshot), its vector when kept, the shard's counters, and,
in the last entry a drain writes, what else the drain changed: the stories it changed or
dropped and the articles it moved (``Carried``). A drain's consecutive entries go out together,
as one record per block of ``BLOCK_SLOTS`` ring slots they fall in, under
``b/<lap parity>/<block>/<part>``: the part counts the drains that wrote into the block in this
lap of the ring, so a record replaces only the one written two laps before (whose entries no
longer count) and compaction retires it with no tombstone; the pieces of a drain's carried
changes that outgrow its last entry are keyed the same way. ``r/<slot>`` held one entry per
article before; a restore still reads it. The document frequencies are snapshotted whole, now
and then, under ``s/<copy>/<chunk>`` (two copies in turn, each chunk tagged with the serial it
was taken at: a drain cut short leaves the one in use whole; ``f/<chunk>``, untagged, was the
layout before). Values are fixed-layout structs plus raw numpy arrays, so an entry decodes
without parsing text (but its decision, a short JSON).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
import orjson

from service.stages.cluster import U32, Vector
from service.stages.dedup import PERMUTATIONS, Signature

RECORD_PREFIX = b"r/"
BLOCK_PREFIX = b"b/"
# Ring slots per block: a drain of n articles writes about n / BLOCK_SLOTS + 1 records. Part of
# the layout, not a setting: under another size a key names other slots, and a record could
# replace entries that still count (a new size needs a new prefix).
BLOCK_SLOTS = 64
# A record of entries holds more only while it stays under this size (an entry alone may be
# larger, up to its carried changes' first piece), well under Kafka's 1 MB default.
BLOCK_BYTES = 250_000
PIECE_PREFIX = b"p/"
FREQUENCY_PREFIX = b"s/"
# Carried changes beyond this many bytes go on in pieces under their own keys, so no record
# outgrows limits.max_record_bytes (1 MB shipped): a drain that changed many stories at once.
PIECE_BYTES = 250_000

# The counters, then the article's fixed part, then the lengths of the parts that follow.
_HEAD = struct.Struct("<iqqqdqqqqqdiQHIIIHH")
HEAD_FIELDS = np.dtype([
    ("features", "<i4"), ("next_article", "<i8"), ("oldest", "<i8"), ("next_story", "<i8"),
    ("latest", "<f8"), ("df_serial", "<i8"), ("df_documents", "<i8"),
    ("serial", "<i8"), ("story", "<i8"), ("root", "<i8"), ("time", "<f8"), ("shingles", "<i4"),
    ("content", "<u8"), ("id_bytes", "<u2"), ("terms", "<u4"), ("vector", "<u4"),
    ("carried", "<u4"), ("pieces", "<u2"), ("settles", "<u2")])
_STORY = struct.Struct("<qqdqdi")
_CARRIED = struct.Struct("<III")
_TAG = struct.Struct("<q")  # the serial that a piece or snapshot chunk belongs to, before it
SIGNATURE_BYTES = PERMUTATIONS * 2
FIXED_BYTES = _HEAD.size + SIGNATURE_BYTES
assert HEAD_FIELDS.itemsize == _HEAD.size

Decision = tuple[str, bool, float, str | None, str | None, int]


def record_key(slot: int) -> bytes:
    return RECORD_PREFIX + f"{slot:x}".encode()


def block_key(parity: int, block: int, part: int) -> bytes:
    return BLOCK_PREFIX + f"{parity}/{block:x}/{part:x}".encode()


def _parity(serial: int, ring: int) -> int:
    """Which of two alternate laps of the ring ``serial`` falls in."""
    return (serial // ring) % 2


def block_of(serial: int, ring: int) -> tuple[int, int]:
    """The lap parity and block of the ring slot that ``serial`` takes."""
    return _parity(serial, ring), (serial % ring) // BLOCK_SLOTS


def part_of(key: bytes) -> tuple[tuple[int, int], int]:
    """A block record's (parity, block) and part, from its key."""
    parity, block, part = key[len(BLOCK_PREFIX):].split(b"/")
    return (int(parity), int(block, 16)), int(part, 16)


def encode_block(entries: list[bytes]) -> bytes:
    """Consecutive entries as one record: their count and sizes, then the entries."""
    return b"".join([np.array([len(entries), *map(len, entries)], dtype="<u4").tobytes(),
                     *entries])


def decode_block(value: bytes) -> list[bytes]:
    (count,) = struct.unpack_from("<I", value)
    ends = np.cumsum(np.frombuffer(value, dtype="<u4", count=count, offset=4), dtype=np.int64)
    ends += 4 * (count + 1)
    starts = np.concatenate(([4 * (count + 1)], ends[:-1]))
    return [value[start:end] for start, end in zip(starts.tolist(), ends.tolist(), strict=True)]


def piece_key(serial: int, ring: int, piece: int, legacy: bool = False) -> bytes:
    """Under the lap's parity, as block records are (``legacy``: a ``r/`` entry's, without)."""
    slot = f"{serial % ring:x}" if legacy else f"{_parity(serial, ring)}/{serial % ring:x}"
    return PIECE_PREFIX + f"{slot}/{piece:x}".encode()


def frequency_key(copy: int, chunk: int) -> bytes:
    """Snapshots alternate between two copies, so a drain interrupted while writing one
    leaves the other, the one its predecessors' counters name, whole."""
    return FREQUENCY_PREFIX + f"{copy}/{chunk:04x}".encode()


@dataclass(frozen=True, slots=True)
class Counters:
    """The shard's counters as of the entry (the entry of the highest serial has the latest)."""

    features: int
    next_article: int
    oldest: int
    next_story: int
    latest: float
    df_serial: int
    df_documents: int


@dataclass(frozen=True, slots=True)
class ArticlePart:
    """An article's dedup state and first decision (replayed to redeliveries), its terms and
    its kept vector (None for a copy, or when no vectors are kept)."""

    serial: int
    article_id: str
    story: int
    root: int
    time: float
    shingles: int
    content: int
    signature: Signature
    decision: Decision
    terms: U32
    vector: Vector | None


@dataclass(slots=True)
class Carried:
    """What a drain changed besides its own articles: the latest state of the stories it
    changed (encoded ``StoryRecord``s), the stories it dropped, and the story each article it
    moved now belongs to."""

    stories: dict[int, bytes] = field(default_factory=dict)
    dropped: set[int] = field(default_factory=set)
    moves: dict[int, int] = field(default_factory=dict)

    def encode(self) -> bytes:
        if not (self.stories or self.dropped or self.moves):
            return b""
        parts = [_CARRIED.pack(len(self.stories), len(self.dropped), len(self.moves)),
                 np.array(sorted(self.dropped), dtype="<i8").tobytes(),
                 np.array(sorted(self.moves.items()), dtype="<i8").reshape(-1, 2).tobytes()]
        for serial in sorted(self.stories):
            value = self.stories[serial]
            parts.append(struct.pack("<I", len(value)) + value)
        return b"".join(parts)

    @classmethod
    def decode(cls, value: bytes) -> Carried:
        if not value:
            return cls()
        stories, dropped, moves = _CARRIED.unpack_from(value)
        offset = _CARRIED.size
        drops = np.frombuffer(value, dtype="<i8", count=dropped, offset=offset)
        offset += 8 * dropped
        pairs = np.frombuffer(value, dtype="<i8", count=2 * moves, offset=offset)
        offset += 16 * moves
        carried = cls({}, set(drops.tolist()), dict(pairs.reshape(-1, 2).tolist()))
        for _ in range(stories):
            (size,) = struct.unpack_from("<I", value, offset)
            offset += 4
            story = value[offset:offset + size]
            carried.stories[_STORY.unpack_from(story)[0]] = story
            offset += size
        return carried


def encode_entry(counters: Counters, article: ArticlePart, carried: bytes, pieces: int = 0,
                 settles: tuple[int, ...] = ()) -> bytes:
    """One changelog entry: the counters, the article, then what the drain carried (its first
    ``PIECE_BYTES`` when ``pieces`` more follow under ``piece_key``), then the budgets of the
    settles since the drain (-1: no budget), which a restore runs again."""
    article_id = article.article_id.encode()
    vector = b"" if article.vector is None else encode_vector(article.vector)
    head = _HEAD.pack(
        counters.features, counters.next_article, counters.oldest, counters.next_story,
        counters.latest, counters.df_serial, counters.df_documents,
        article.serial, article.story, article.root, article.time, article.shingles,
        article.content, len(article_id), len(article.terms), len(vector) // 8, len(carried),
        pieces, len(settles))
    return b"".join([head, article.signature.astype("<u2").tobytes(), article_id,
                     article.terms.astype("<u4").tobytes(), vector, carried,
                     np.array(settles, dtype="<i4").tobytes(), orjson.dumps(article.decision)])


def encode_piece(serial: int, piece: bytes) -> bytes:
    """A piece of an entry's carried changes, with the entry's serial (a piece left over from
    an earlier entry of the slot does not match it)."""
    return _TAG.pack(serial) + piece


def piece_of(value: bytes | None, serial: int) -> bytes:
    if value is None or tag_of(value) != serial:
        raise ValueError(f"a piece of entry {serial} is missing")
    return value[_TAG.size:]


def tag_of(value: bytes) -> int:
    """The serial a piece or a snapshot chunk was written with."""
    serial: int = _TAG.unpack_from(value)[0]
    return serial


@dataclass(frozen=True, slots=True)
class EntryColumns:
    """Entries decoded together: their fixed parts as ``HEAD_FIELDS`` records and their
    signatures as one array (a restore reads up to a million in one pass per field), and
    where each variable part starts."""

    heads: np.ndarray
    signatures: np.ndarray  # (entries, PERMUTATIONS) uint16
    terms_at: np.ndarray
    vector_at: np.ndarray
    carried_at: np.ndarray
    settles_at: np.ndarray
    decision_at: np.ndarray

    def terms(self, value: bytes, at: int) -> U32:
        """The term ids of entry ``at`` (whose bytes are ``value``)."""
        return decode_terms(value[int(self.terms_at[at]):int(self.vector_at[at])])

    def vector(self, value: bytes, at: int) -> Vector | None:
        """The kept vector of entry ``at``, if it has one."""
        start, end = int(self.vector_at[at]), int(self.carried_at[at])
        return decode_vector(value[start:end]) if end > start else None

    def vectors(self, values: list[bytes], ats: list[int]) -> PackedVectors:
        """The kept vectors of entries ``ats`` (each has one), decoded together."""
        starts, ends = self.vector_at[ats], self.carried_at[ats]
        words = np.frombuffer(b"".join([values[at][start:end] for at, start, end in zip(
            ats, starts.tolist(), ends.tolist(), strict=True)]), dtype="<u4")
        return PackedVectors.of(words, (ends - starts) // 8)

    def decisions(self, values: list[bytes], ats: list[int]) -> list[Decision]:
        """The decisions of entries ``ats``, parsed as one JSON array (one parse, not one
        per entry)."""
        decisions: list[Decision] = [tuple(decision) for decision in orjson.loads(
            b"[" + b",".join([values[at][start:] for at, start in zip(
                ats, self.decision_at[ats].tolist(), strict=True)]) + b"]")]
        return decisions

    def carried(self, value: bytes, at: int) -> bytes:
        """The first part of what entry ``at``'s drain carried (pieces continue it)."""
        return value[int(self.carried_at[at]):int(self.settles_at[at])]


@dataclass(frozen=True, slots=True)
class PackedVectors:
    """Vectors end to end: each one's length, and for each of their terms its id, weight,
    the vector it belongs to and its position in it (where a row of a 2-D array takes it)."""

    lengths: np.ndarray
    terms: np.ndarray
    weights: np.ndarray
    owners: np.ndarray
    positions: np.ndarray

    @classmethod
    def of(cls, words: np.ndarray, lengths: np.ndarray) -> PackedVectors:
        """Split ``encode_vector``s written end to end (``words``: their 32-bit words)."""
        lengths = lengths.astype(np.int64)
        firsts = np.cumsum(lengths) - lengths  # each vector's first term, counted in terms
        owners = np.repeat(np.arange(len(lengths)), lengths)
        positions = np.arange(len(owners)) - firsts[owners]
        term_words = 2 * firsts[owners] + positions  # a vector takes 2 words per term
        return cls(lengths, words[term_words].astype(np.uint32),
                   words.view("<f4")[term_words + lengths[owners]].astype(np.float32),
                   owners, positions)


def decode_entries(values: list[bytes]) -> EntryColumns:
    heads = np.frombuffer(b"".join([v[:_HEAD.size] for v in values]), dtype=HEAD_FIELDS)
    signatures = np.frombuffer(b"".join([v[_HEAD.size:FIXED_BYTES] for v in values]),
                               dtype="<u2").reshape(len(values), PERMUTATIONS)
    terms_at = FIXED_BYTES + heads["id_bytes"].astype(np.int64)
    vector_at = terms_at + 4 * heads["terms"].astype(np.int64)
    carried_at = vector_at + 8 * heads["vector"].astype(np.int64)
    settles_at = carried_at + heads["carried"].astype(np.int64)
    decision_at = settles_at + 4 * heads["settles"].astype(np.int64)
    return EntryColumns(heads, signatures.astype(np.uint16), terms_at, vector_at, carried_at,
                        settles_at, decision_at)


def article_id_of(value: bytes, id_bytes: int) -> str:
    return value[FIXED_BYTES:FIXED_BYTES + id_bytes].decode()


def decode_article(value: bytes) -> ArticlePart:
    """One entry's article (the head entry a restarted changelog carries on writing)."""
    columns = decode_entries([value])
    head = columns.heads[0]
    return ArticlePart(
        int(head["serial"]), article_id_of(value, int(head["id_bytes"])), int(head["story"]),
        int(head["root"]), float(head["time"]), int(head["shingles"]), int(head["content"]),
        columns.signatures[0], columns.decisions([value], [0])[0],
        columns.terms(value, 0), columns.vector(value, 0))


def settles_of(value: bytes, columns: EntryColumns, at: int) -> tuple[int, ...]:
    return tuple(np.frombuffer(value, dtype="<i4", count=int(columns.heads["settles"][at]),
                               offset=int(columns.settles_at[at])).tolist())


def counters_of(value: bytes) -> Counters:
    return Counters(*_HEAD.unpack_from(value)[:7])


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


def decode_terms(value: bytes) -> U32:
    return np.frombuffer(value, dtype="<u4").astype(np.uint32)


def encode_counts(df_serial: int, counts: U32) -> bytes:
    """A chunk of a snapshot, with the serial it was taken at (its counters' ``df_serial``)."""
    return _TAG.pack(df_serial) + zlib.compress(counts.astype("<u4").tobytes(), 1)


def decode_counts(value: bytes) -> U32:
    return np.frombuffer(zlib.decompress(value[_TAG.size:]), dtype="<u4").astype(np.uint32)


def encode_vector(vector: Vector) -> bytes:
    """An article's unit vector: its term ids, then their weights."""
    return vector.terms.astype("<u4").tobytes() + vector.weights.astype("<f4").tobytes()


def decode_vector(value: bytes) -> Vector:
    """Inverse of ``encode_vector``, as a unit vector (a centroid's caller sets its norm)."""
    count = len(value) // 8
    terms = np.frombuffer(value, dtype="<u4", count=count).astype(np.uint32)
    weights = np.frombuffer(value, dtype="<f4", count=count, offset=4 * count).astype(np.float32)
    return Vector(terms, weights, 1.0 if count else 0.0)
