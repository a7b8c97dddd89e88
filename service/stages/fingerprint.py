"""Fingerprints of a normalized body: an exact content hash and a 64-bit SimHash.

Both are computed from the body as words, so re-wrapped whitespace does not change the content
hash and typographic quote changes do not change the SimHash. The word and shingle hashes are
shared with the duplicate detector (``service.stages.dedup``), which needs the same view of the
text; every hash is seeded and stable across processes, so state restored after a restart
compares equal to state computed now.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import xxhash

from service.records import Fingerprint
from service.stages import kernels, tokens

U64 = npt.NDArray[np.uint64]

# Words per shingle (near duplicates and the simhash). `python -m bench.sweep_constant
# service/stages/fingerprint.py SHINGLE_WORDS 2 3 4 -- python -m bench.eval_neardup`: duplicate
# F1 2 0.9979 (3 missed) | 3 0.9993 (1 missed) | 4 0.9965 (5 missed); none wrongly flagged.
SHINGLE_WORDS = 3
_BITS = np.arange(64, dtype=np.uint64)
# Odd 64-bit multipliers (from SplitMix64) that mix word hashes into shingle hashes.
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_MIXERS = np.array(_MIX, dtype=np.uint64)


def words(text: str) -> list[str]:
    """Case-folded units (``service.stages.tokens``): words, or characters in unspaced
    scripts; punctuation and typography are not part of a unit."""
    return tokens.units(text.casefold())


# Unit hashes are polynomial hashes of the unit's code points, computed for every unit of a text
# at once from prefix sums (hash = (P[end] - P[start]) / BASE**start, mod 2**64), then mixed: a
# few array passes over the text instead of a hash call per unit. Any span hashes the same way,
# so a bigram of adjacent units hashes as the two-unit string would.
# Constants used by no other hashing step here, so no later mixing step can correlate with them.
_BASE = 0xD1342543DE82EF95  # odd, so invertible modulo 2**64
_LENGTH_MIX = np.uint64(0xD6E8FEB86659FD93)
_FINAL = (np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))  # MurmurHash3's fmix64
_FINALS = np.array(_FINAL, dtype=np.uint64)
_SHIFT = np.uint64(33)
# The same constants as the kernels take them (Python ints, the finals as an array), made once.
KERNEL_HASH = (_BASE, int(_LENGTH_MIX), _FINALS, int(_SHIFT))
_powers = np.ones(1, dtype=np.uint64)
_inverse_powers = np.ones(1, dtype=np.uint64)


def _power_tables(size: int) -> tuple[U64, U64]:
    """BASE**k and BASE**-k modulo 2**64 for k < size (grown by doubling, kept)."""
    global _powers, _inverse_powers
    if len(_powers) < size:
        grown = max(size, 2 * len(_powers))
        _powers, _inverse_powers = (_exponentials(_BASE, grown),
                                    _exponentials(pow(_BASE, -1, 1 << 64), grown))
    return _powers, _inverse_powers


def _exponentials(base: int, count: int) -> U64:
    """base**0 .. base**(count - 1) modulo 2**64 (uint64 products wrap)."""
    table = np.ones(count, dtype=np.uint64)
    table[1:] = np.cumprod(np.full(count - 1, base, dtype=np.uint64))
    return table


def _span_hashes(points: tokens.U32, starts: tokens.IntP, ends: tokens.IntP) -> U64:
    """Hashes of the code point spans [start, end) of ``points``."""
    if kernels.units is not None:
        out = np.empty(len(starts), dtype=np.uint64)
        kernels.units.span_hashes(out, points, starts, ends, *KERNEL_HASH)
        return out
    powers, inverse_powers = _power_tables(len(points) + 1)
    prefix = np.zeros(len(points) + 1, dtype=np.uint64)
    np.cumsum(points * powers[:len(points)], out=prefix[1:])
    hashes: U64 = (prefix[ends] - prefix[starts]) * inverse_powers[starts]
    hashes ^= (ends - starts).astype(np.uint64) * _LENGTH_MIX
    for multiplier in _FINAL:
        hashes ^= hashes >> _SHIFT
        hashes *= multiplier
    hashes ^= hashes >> _SHIFT
    return hashes


class BodyHashes(NamedTuple):
    """The hashes of a text's units, in order; of its terms (for stories: the units, or in
    unspaced scripts their bigrams; the same array when there are none); and of its shingles
    (``shingle_hashes`` of the units, which the SimHash and the MinHash both read)."""

    units: U64
    terms: U64
    shingles: U64


def body_hashes(text: str) -> BodyHashes:
    """Unit and term hashes of ``text``, case-folded. With its typographic punctuation as ASCII
    the spans and hashes are the same, since a hash reads only its unit's code points, and most
    bodies are then Latin-1, which the kernel folds and scans as it hashes (its units are its
    runs of word characters): where the kernel rewrites them (40 against 48 us a 3 KB body of
    the bench corpus); the regex's rewrite costs more than it saves (74 against 65). A Latin-1
    body takes 19 us there, against 49 through the scan."""
    if kernels.units is not None:
        text = tokens.plain_punctuation(text)
        units = np.empty((len(text) + 1) // 2, dtype=np.uint64)
        count = kernels.units.latin1_unit_hashes(units, text, tokens.LATIN1_IS_WORD,
                                                 tokens.LATIN1_FOLD, *KERNEL_HASH)
        if count >= 0:
            hashes = units[:count]
            return BodyHashes(hashes, hashes, shingle_hashes(hashes))
    found = tokens.scan(text.casefold())
    hashes = _span_hashes(found.points, found.starts, found.ends)
    starts, ends = tokens.term_spans(found)
    terms = hashes if starts is found.starts else _span_hashes(found.points, starts, ends)
    return BodyHashes(hashes, terms, shingle_hashes(hashes))


def text_word_hashes(text: str) -> U64:
    """``word_hashes(words(text))``, without making the words."""
    return body_hashes(text).units


_CACHE_LIMIT = 100_000
_cache: dict[str, int] = {}


def word_hashes(units: list[str]) -> U64:
    """The hash of each unit or term, hashed whole (``words`` gives units; any string hashes as
    a span of its code points would). The kernel reads each string where it lies; without it,
    for the short lists this serves (titles, names), a bounded memo beats the array passes'
    fixed cost."""
    if kernels.units is not None:
        out = np.empty(len(units), dtype=np.uint64)
        kernels.units.string_hashes(out, units, *KERNEL_HASH)
        return out
    get = _cache.get
    values = [get(unit) for unit in units]
    if None in values:
        missing = list(dict.fromkeys(u for u, value in zip(units, values, strict=True)
                                     if value is None))
        ends = np.cumsum([len(unit) for unit in missing], dtype=np.intp)
        starts = ends - np.array([len(unit) for unit in missing], dtype=np.intp)
        hashed = _span_hashes(tokens.code_points("".join(missing)), starts, ends)
        computed = dict(zip(missing, hashed.tolist(), strict=True))
        if len(_cache) + len(computed) > _CACHE_LIMIT:
            _cache.clear()
        _cache.update(computed)
        values = [computed[unit] if value is None else value
                  for unit, value in zip(units, values, strict=True)]
    return np.array(values, dtype=np.uint64)


def shingle_hashes(hashes: U64, size: int = SHINGLE_WORDS) -> U64:
    """Hashes of every run of ``size`` consecutive words (the whole text when it is shorter)."""
    if len(hashes) == 0:
        return hashes
    count = max(1, len(hashes) - size + 1)
    if kernels.units is not None:
        out = np.empty(count, dtype=np.uint64)
        kernels.units.shingle_hashes(out, hashes, size, _MIXERS)
        return out
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
    if kernels.units is not None:
        voted: int = kernels.units.simhash(shingles)
        return voted
    # bit k of every hash, as bytes: a third of the time of shifting and masking 64-bit words
    unpacked = np.unpackbits(shingles.astype("<u8", copy=False).view(np.uint8),
                             bitorder="little")
    # Counted eight bits a word: each byte of a sum of at most 255 such words counts its bit
    # with no carry into the next, so one reduceat adds the bits of up to 255 hashes at once
    # (a column sum of the (hashes, 64) bytes costs twice as much).
    words = unpacked.view(np.uint64).reshape(len(shingles), 8)
    lanes = np.add.reduceat(words, np.arange(0, len(shingles), 255), axis=0)
    ones = lanes.view(np.uint8).reshape(-1, 64).sum(axis=0, dtype=np.int64)
    bits = (2 * ones > len(shingles)).astype(np.uint64)
    return int((bits << _BITS).sum(dtype=np.uint64))


def content_hash(text: str) -> str:
    """xxh3-128 of the body with whitespace folded: the identity of an exact duplicate. (A
    clean body's paragraph breaks made spaces, it is most often single-spaced already.)"""
    folded = tokens.single_spaced(text.replace("\n\n", " "))
    return xxhash.xxh3_128_hexdigest(folded.encode("utf-8"))


def fingerprint(text: str, hashes: BodyHashes | None = None) -> Fingerprint:
    """Fingerprint of a body; pass its ``body_hashes`` when the caller needs them too (the
    story features do), so the text is hashed once."""
    if hashes is None:
        hashes = body_hashes(text)
    return Fingerprint(content=content_hash(text),
                       simhash=f"{simhash(hashes.shingles):016x}")
