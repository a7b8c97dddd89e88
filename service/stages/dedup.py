"""Near-duplicate detection: MinHash signatures, LSH bands in a bounded table, verification.

Why this design:

* MinHash over 3-word shingles estimates Jaccard similarity, and with the shingle counts also
  containment, so a copy cut short still matches its original (Jaccard ~0.6, containment ~1).
* Bands of ``ROWS`` hashes go into one set-associative table: lookup and insert touch ``BANDS``
  rows whatever the number of articles. A row keeps the entries with the highest article
  serials, so its content depends only on which articles were inserted and the table's size,
  not on the history of evictions. The size is a function of the number of articles ever
  inserted (``band_rows``), up to a cap set by the ring's capacity: the table grows with use
  (a full-size table up front cost 201 MB at start-up and over 1 ms per insert while its pages
  filled), and state rebuilt from the live articles after a restart answers exactly as the
  original did.
* Candidates are verified against their signatures; no text is kept.
* A signature keeps the low 16 bits of each minimum (b-bit minwise hashing, Li and König 2010):
  two unlike minima agree by chance once in 65,536, so the Jaccard estimate gains about
  (1 - J) / 65,536, and the ring's signatures take half the memory (126 MB less at 1M
  articles) and a changelog entry 126 bytes less.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.stages import kernels
from service.stages.fingerprint import U64
from service.stages.runs import run_lengths, run_opens

# Measured with `python -m bench.sweep_constant service/stages/dedup.py NAME VALUES...
# -- python -m bench.eval_neardup`: duplicate F1 on the neardup dev set (713 duplicates; no
# value below flags a wrong one).
# PERMUTATIONS: 33 0.9879 (17 missed) | 63 0.9993 (1 missed) | 96 0.9993. Fewer miss copies cut
# short; more cost hashing time and 2 bytes of state each per article, for nothing here.
PERMUTATIONS = 63
# ROWS (with PERMUTATIONS=64): 2 0.9993 (32 bands to store and look up, not 21) | 4 0.9865
# (19 missed); 3 (with 63): 0.9993.
ROWS = 3
BANDS = PERMUTATIONS // ROWS
# Entries per row of the band table (its memory is fixed by the capacity, not by WAYS): 2, 4 and
# 8 all 0.9993, since the dev set never fills the table. A choice, not a measurement: a lookup
# compares WAYS entries per band, and fewer ways evict a band that collides sooner.
WAYS = 4
# Band entries per row before the table doubles (while under its cap): one, so that under
# 0.4% of rows overflow even just before a doubling (Poisson, mean 1, over 4 ways).
GROWTH_ENTRIES_PER_ROW = 1
_MIN_ROWS = 1024
_BAND_BITS = (BANDS - 1).bit_length()
_SERIAL_SPAN = 2**32 - 1  # serials a table holds from its base (offsets + 1 in a uint32)
# Bytes of one entry of the band table: a key check and a serial, 4 bytes each.
ENTRY_BYTES = 8
_GROUP_ENTRIES = 1 << 18  # band entries sorted at once by a rebuild (a few MB of scratch)
U32 = npt.NDArray[np.uint32]
Signature = npt.NDArray[np.uint16]
I64 = npt.NDArray[np.int64]

_seeds = np.random.Generator(np.random.PCG64(20260523))
_A = _seeds.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
_B = _seeds.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)
_BAND_MIX = _seeds.integers(1, 2**63, size=(BANDS, ROWS), dtype=np.uint64) | np.uint64(1)
_BAND_SALT = np.arange(1, BANDS + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
_KEY_SHIFT, _KEY_MULTIPLIER = 31, 0xBF58476D1CE4E5B9  # the keys' final mix (SplitMix64's)


def minhash(shingles: U64) -> Signature:
    """``PERMUTATIONS`` minima of multiply-shift hashes of the shingles, 16 bits each: bits
    32-47 of the least hash (its top bits are mostly zeros, since it is the least)."""
    if len(shingles) == 0:
        return np.full(PERMUTATIONS, 0xFFFF, dtype=np.uint16)
    if kernels.units is not None:
        out: Signature = np.empty(PERMUTATIONS, dtype=np.uint16)
        kernels.units.minhash(out, shingles, _A, _B)
        return out
    # a row per permutation, so each minimum reads contiguous memory, added to in place
    hashed = np.multiply.outer(_A, shingles)
    hashed += _B[:, None]
    minima: Signature = (hashed.min(axis=1) >> np.uint64(32)).astype(np.uint16)
    return minima


def band_keys(signature: Signature) -> U64:
    """One 64-bit key per band; equal keys mean the band's ``ROWS`` minima all agree."""
    if kernels.bands is not None:  # one loop for six calls
        keys = np.empty(BANDS, dtype=np.uint64)
        kernels.bands.keys(keys, signature, _BAND_MIX, _BAND_SALT, _KEY_SHIFT, _KEY_MULTIPLIER)
        return keys
    found: U64 = band_key_rows(signature[None, :])[0]
    return found


def band_key_rows(signatures: Signature) -> npt.NDArray[np.uint64]:
    """``band_keys`` of each row of a (articles, PERMUTATIONS) matrix."""
    rows = signatures.astype(np.uint64).reshape(len(signatures), BANDS, ROWS)
    mixed = (rows * _BAND_MIX).sum(axis=2, dtype=np.uint64) ^ _BAND_SALT
    mixed ^= mixed >> np.uint64(_KEY_SHIFT)
    keys: npt.NDArray[np.uint64] = mixed * np.uint64(_KEY_MULTIPLIER)
    return keys


def jaccard(left: Signature, right: Signature) -> float:
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


def _power_of_two(wanted: int) -> int:
    return 1 << (max(_MIN_ROWS, wanted) - 1).bit_length()


def band_rows(inserted: int, capacity_articles: int) -> int:
    """Rows of the band table once ``inserted`` articles have been inserted into it.

    At most about two band entries per slot over a full ring of ``capacity_articles``: when
    the window is full, the oldest articles lose some of their bands first, never the recent
    ones. Below that, ``GROWTH_ENTRIES_PER_ROW`` entries per row."""
    cap = _power_of_two(capacity_articles * BANDS // (2 * WAYS))
    return min(cap, _power_of_two(inserted * BANDS // GROWTH_ENTRIES_PER_ROW))


class BandIndex:
    """LSH band table: ``rows`` x ``WAYS`` slots of (key check, article serial).

    A serial is held in 32 bits, as its offset from ``base`` plus one (0 = empty): half the
    memory of an int64, for serials from ``base`` to four billion past it (``holds``). The store
    builds a new table from its live articles, based at the oldest, when serials outgrow it."""

    def __init__(self, rows: int, base: int = 0) -> None:
        self.rows = _power_of_two(rows)
        self.base = base
        self.checks = np.zeros((self.rows, WAYS), dtype=np.uint32)
        self.serials = np.zeros((self.rows, WAYS), dtype=np.uint32)
        self._mask = np.uint64(self.rows - 1)

    def holds(self, serial: int) -> bool:
        return self.base <= serial < self.base + _SERIAL_SPAN

    def _locate(self, keys: U64) -> tuple[npt.NDArray[np.intp], U32]:
        rows = (keys & self._mask).astype(np.intp)
        return rows, (keys >> np.uint64(32)).astype(np.uint32)

    def candidates(self, keys: U64, oldest_live: int) -> list[int]:
        """Serials of live articles sharing at least one band key, most shared bands first."""
        if kernels.bands is not None:  # the same, with the rows prefetched and no temporaries
            serials: list[int] = kernels.bands.candidates(self.checks, self.serials, keys, WAYS,
                                                          self.base, oldest_live)
            return serials
        rows, checks = self._locate(keys)
        hits = self.serials[rows][self.checks[rows] == checks[:, None]].astype(np.int64)
        hits += self.base - 1  # an empty entry (0) whose check matches: base - 1, dropped here
        hits = hits[hits >= max(oldest_live, self.base)]
        if len(hits) == 0:
            return []
        # the distinct serials and how often each occurs (``np.unique``'s layers cost more
        # than this on a few dozen hits)
        hits.sort()
        starts = run_opens(hits).nonzero()[0]
        found = hits[starts]
        counts = run_lengths(starts, len(hits))
        order = np.lexsort((found, -counts))
        return [int(s) for s in found[order]]

    def insert(self, keys: U64, serial: int) -> None:
        """Put ``serial`` in each band's row, replacing the entry with the lowest serial."""
        rows, checks = self._locate(keys)
        ways = self.serials[rows].argmin(axis=1)
        self.checks[rows, ways] = checks
        self.serials[rows, ways] = serial + 1 - self.base

    def insert_many(self, keys: npt.NDArray[np.uint64], serials: I64) -> None:
        """``insert`` of each row of ``keys`` with its serial (ascending, distinct) in turn,
        into an empty table, at once: each row keeps its ``WAYS`` highest serials, and an
        article whose bands share a row keeps one entry there, its last band's (``insert``
        writes one way for both). Rows are taken in groups of about ``_GROUP_ENTRIES`` entries,
        each sorted once by a packed (row, newest first, last band first) key, so a rebuild's
        scratch memory stays small."""
        count = len(serials)
        if count == 0:
            return
        flat = keys.reshape(-1)
        rows_of = (flat & self._mask).astype(np.uint32)  # rows < 2**32: half of intp's memory
        order_bits = max(1, (count - 1).bit_length())
        if self.rows.bit_length() + order_bits + _BAND_BITS > 64:
            raise ValueError("too many articles to pack for one sort")
        groups = 1 << (len(flat) // _GROUP_ENTRIES).bit_length()
        for group in range(groups):
            entries = np.flatnonzero((rows_of & np.uint32(groups - 1)) == group)
            article = entries // BANDS
            packed = rows_of[entries].astype(np.uint64) << np.uint64(order_bits + _BAND_BITS)
            packed |= (count - 1 - article).astype(np.uint64) << np.uint64(_BAND_BITS)
            packed |= (BANDS - 1 - (entries - article * BANDS)).astype(np.uint64)
            packed.sort()
            row_article = packed >> np.uint64(_BAND_BITS)
            packed = packed[run_opens(row_article)]  # each article once a row
            rows = (packed >> np.uint64(order_bits + _BAND_BITS)).astype(np.intp)
            starts = run_opens(rows).nonzero()[0]
            rank = np.arange(len(rows)) - np.repeat(starts, run_lengths(starts, len(rows)))
            kept = rank < WAYS
            packed, rows, rank = packed[kept], rows[kept], rank[kept]
            article = count - 1 - ((packed >> np.uint64(_BAND_BITS))
                                   & np.uint64((1 << order_bits) - 1)).astype(np.intp)
            band = BANDS - 1 - (packed & np.uint64((1 << _BAND_BITS) - 1)).astype(np.intp)
            self.checks[rows, rank] = (flat[article * BANDS + band] >> np.uint64(32)).astype(
                np.uint32)
            self.serials[rows, rank] = serials[article] + 1 - self.base

    def nbytes(self) -> int:
        return int(self.checks.nbytes + self.serials.nbytes)
