"""Fingerprints of a normalized body: an exact content hash and a 64-bit SimHash.

Both are computed from the body as words, so re-wrapped whitespace does not change the content
hash and typographic quote changes do not change the SimHash. The word and shingle hashes are
shared with the duplicate detector (``service.stages.dedup``), which needs the same view of the
text; every hash is seeded and stable across processes, so state restored after a restart
compares equal to state computed now.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np
import numpy.typing as npt
import xxhash

from service.records import Fingerprint

U64 = npt.NDArray[np.uint64]

_WORD = re.compile(r"\w+")
SHINGLE_WORDS = 3
_BITS = np.arange(64, dtype=np.uint64)
# Odd 64-bit multipliers (from SplitMix64) that mix word hashes into shingle hashes.
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))


def words(text: str) -> list[str]:
    """Lower-cased word tokens; punctuation and typography are not part of a word."""
    return _WORD.findall(text.lower())


_CACHE_LIMIT = 200_000
_cache: dict[str, int] = {}


def _hash_word(token: str) -> int:
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    value = _cache[token] = xxhash.xxh3_64_intdigest(token.encode())
    return value


def word_hashes(tokens: list[str]) -> U64:
    """xxh3-64 of each word; a bounded memo makes the frequent words cost one dict lookup."""
    get = _cache.get
    values = [get(t) for t in tokens]
    pairs = zip(tokens, values, strict=True)
    return np.array([_hash_word(t) if v is None else v for t, v in pairs], dtype=np.uint64)


def shingle_hashes(hashes: U64, size: int = SHINGLE_WORDS) -> U64:
    """Hashes of every run of ``size`` consecutive words (the whole text when it is shorter)."""
    if len(hashes) == 0:
        return hashes
    count = max(1, len(hashes) - size + 1)
    mixed = np.zeros(count, dtype=np.uint64)
    for offset in range(min(size, len(hashes))):
        part = hashes[offset:offset + count]
        mixed = (mixed ^ (part * _MIX[offset % len(_MIX)])) * _MIX[0]
        mixed ^= mixed >> np.uint64(29)
    return mixed


def simhash(shingles: U64) -> int:
    """Charikar's SimHash: each bit is the majority vote of that bit over the shingle hashes."""
    if len(shingles) == 0:
        return 0
    ones = ((shingles[:, None] >> _BITS) & np.uint64(1)).sum(axis=0, dtype=np.int64)
    bits = (2 * ones > len(shingles)).astype(np.uint64)
    return int((bits << _BITS).sum(dtype=np.uint64))


def content_hash(text: str) -> str:
    """xxh3-128 of the body with whitespace folded: the identity of an exact duplicate."""
    return xxhash.xxh3_128_hexdigest(" ".join(text.split()).encode("utf-8"))


_RECENT_LIMIT = 1024
_recent: OrderedDict[str, U64] = OrderedDict()


def fingerprint(text: str) -> Fingerprint:
    """Fingerprint of a body; its word hashes are kept briefly for ``body_word_hashes``."""
    hashes = word_hashes(words(text))
    content = content_hash(text)
    _recent[content] = hashes
    if len(_recent) > _RECENT_LIMIT:
        _recent.popitem(last=False)
    return Fingerprint(content=content, simhash=f"{simhash(shingle_hashes(hashes)):016x}")


def body_word_hashes(text: str, content: str) -> U64:
    """``word_hashes(words(text))``, taken from the fingerprint just computed when there is one.

    The duplicate and story stages need the same word hashes as fingerprinting; in one process
    the article is usually fingerprinted moments before, so this saves hashing it twice.
    """
    hashes = _recent.pop(content, None)
    return word_hashes(words(text)) if hashes is None else hashes
