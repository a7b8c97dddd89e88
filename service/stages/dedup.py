"""Near-duplicate detection: MinHash signatures, LSH bands in a fixed-size table, verification.

Why this design:

* MinHash over 3-word shingles estimates Jaccard similarity, and with the shingle counts also
  containment, so a copy cut short still matches its original (Jaccard ~0.6, containment ~1).
* Bands of ``ROWS`` hashes go into one set-associative table of fixed size: lookup and insert
  touch ``BANDS`` rows whatever the number of articles, and memory is allocated once. A row keeps
  the entries with the highest article serials, so its content depends only on which articles
  were inserted, not on the history of evictions: state rebuilt from the live articles after a
  restart answers exactly as the original did.
* Candidates are verified against their signatures; no text is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.stages.fingerprint import U64

# Measured with `python -m bench.sweep_constant service/stages/dedup.py NAME VALUES...
# -- python -m bench.eval_neardup`: duplicate F1 on the neardup dev set (713 duplicates; no
# value below flags a wrong one).
# PERMUTATIONS: 33 0.9879 (17 missed) | 63 0.9993 (1 missed) | 96 0.9993. Fewer miss copies cut
# short; more cost hashing time and 4 bytes of state each per article, for nothing here.
PERMUTATIONS = 63
# ROWS (with PERMUTATIONS=64): 2 0.9993 (32 bands to store and look up, not 21) | 4 0.9865
# (19 missed); 3 (with 63): 0.9993.
ROWS = 3
BANDS = PERMUTATIONS // ROWS
# Entries per row of the band table (its memory is fixed by the capacity, not by WAYS): 2, 4 and
# 8 all 0.9993, since the dev set never fills the table. A choice, not a measurement: a lookup
# compares WAYS entries per band, and fewer ways evict a band that collides sooner.
WAYS = 4
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

_seeds = np.random.Generator(np.random.PCG64(20260523))
_A = _seeds.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _seeds.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)
_BAND_MIX = _seeds.integers(1, 2**63, size=(BANDS, ROWS), dtype=np.uint64) | np.uint64(1)
_BAND_SALT = np.arange(1, BANDS + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


def minhash(shingles: U64) -> U32:
    """``PERMUTATIONS`` minima of multiply-shift hashes of the shingles (uint32 each)."""
    if len(shingles) == 0:
        return np.full(PERMUTATIONS, 0xFFFFFFFF, dtype=np.uint32)
    hashed = shingles[:, None] * _A[None, :] + _B[None, :]
    # the top 32 bits of the least hash are the least top 32 bits: shift once, after the min
    minima: U32 = (hashed.min(axis=0) >> np.uint64(32)).astype(np.uint32)
    return minima


def band_keys(signature: U32) -> U64:
    """One 64-bit key per band; equal keys mean the band's ``ROWS`` minima all agree."""
    rows = signature.astype(np.uint64).reshape(BANDS, ROWS)
    mixed = (rows * _BAND_MIX).sum(axis=1, dtype=np.uint64) ^ _BAND_SALT
    mixed ^= mixed >> np.uint64(31)
    keys: U64 = mixed * np.uint64(0xBF58476D1CE4E5B9)
    return keys


def jaccard(left: U32, right: U32) -> float:
    return float(np.count_nonzero(left == right)) / PERMUTATIONS


def containment(similarity: float, size_a: int, size_b: int, min_size: int) -> float:
    """Share of the smaller shingle set inside the larger, from the Jaccard estimate and sizes.

    0 when the smaller set has fewer than ``min_size`` shingles: a few shared phrases would
    make a short text look contained in any report that quotes it.
    """
    smaller = min(size_a, size_b)
    if smaller < max(1, min_size):
        return 0.0
    return min(1.0, similarity * (size_a + size_b) / (1.0 + similarity) / smaller)


@dataclass(frozen=True, slots=True)
class Match:
    serial: int
    jaccard: float
    containment: float


class BandIndex:
    """LSH band table: ``rows`` x ``WAYS`` slots of (key check, article serial + 1; 0 = empty).

    Sized for about two band entries per slot over a full ring of articles: when the window is
    full, the oldest articles lose some of their bands first, never the recent ones.
    """

    def __init__(self, capacity_articles: int) -> None:
        wanted = max(1024, capacity_articles * BANDS // (2 * WAYS))
        self.rows = 1 << (wanted - 1).bit_length()
        self.checks = np.zeros((self.rows, WAYS), dtype=np.uint32)
        self.serials = np.zeros((self.rows, WAYS), dtype=np.int64)
        self._mask = np.uint64(self.rows - 1)

    def _locate(self, keys: U64) -> tuple[npt.NDArray[np.intp], U32]:
        rows = (keys & self._mask).astype(np.intp)
        return rows, (keys >> np.uint64(32)).astype(np.uint32)

    def candidates(self, keys: U64, oldest_live: int) -> list[int]:
        """Serials of live articles sharing at least one band key, most shared bands first."""
        rows, checks = self._locate(keys)
        hits = self.serials[rows][self.checks[rows] == checks[:, None]] - 1
        hits = hits[hits >= oldest_live]
        if len(hits) == 0:
            return []
        found, counts = np.unique(hits, return_counts=True)
        order = np.lexsort((found, -counts))
        return [int(s) for s in found[order]]

    def insert(self, keys: U64, serial: int) -> None:
        """Put ``serial`` in each band's row, replacing the entry with the lowest serial."""
        rows, checks = self._locate(keys)
        ways = self.serials[rows].argmin(axis=1)
        self.checks[rows, ways] = checks
        self.serials[rows, ways] = serial + 1

    def nbytes(self) -> int:
        return int(self.checks.nbytes + self.serials.nbytes)
