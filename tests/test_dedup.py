"""Near-duplicate index: estimates, band lookups, and the quality reached on dev data."""

from __future__ import annotations

import random

import numpy as np
import orjson

from bench.eval_neardup import duplicate_scores
from bench.eval_stories import last_events, load
from service.stages import dedup
from service.stages.fingerprint import shingle_hashes, word_hashes
from service.state.settings import StorySettings
from service.state.store import Store
from tests.conftest import shared_path

_VOCABULARY = [f"w{i}" for i in range(5000)]


def _text(rng: random.Random, count: int) -> list[str]:
    return [rng.choice(_VOCABULARY) for _ in range(count)]


def _signature(tokens: list[str]) -> tuple[dedup.U32, int]:
    shingles = shingle_hashes(word_hashes(tokens))
    return dedup.minhash(shingles), len(np.unique(shingles))


def test_minhash_estimates_jaccard_within_sampling_error() -> None:
    rng = random.Random(1)
    base = _text(rng, 400)
    edited = [rng.choice(_VOCABULARY) if rng.random() < 0.06 else t for t in base]
    a_set = set(shingle_hashes(word_hashes(base)).tolist())
    b_set = set(shingle_hashes(word_hashes(edited)).tolist())
    true = len(a_set & b_set) / len(a_set | b_set)
    estimate = dedup.jaccard(_signature(base)[0], _signature(edited)[0])
    assert abs(estimate - true) < 0.15


def test_minhash_keeps_bits_32_to_47_of_each_permutations_least_hash() -> None:
    shingles = np.random.default_rng(3).integers(0, 2**63, 700, dtype=np.uint64)
    hashed = [shingles * a + b for a, b in zip(dedup._A, dedup._B, strict=True)]
    signature = dedup.minhash(shingles)
    assert signature.dtype == np.uint16
    assert signature.tolist() == [(int(h.min()) >> 32) & 0xFFFF for h in hashed]


def test_containment_recognises_a_copy_cut_short() -> None:
    rng = random.Random(2)
    base = _text(rng, 500)
    (full, full_size), (cut, cut_size) = _signature(base), _signature(base[:300])
    jac = dedup.jaccard(full, cut)
    assert jac < 0.8
    assert dedup.containment(jac, full_size, cut_size, 10) > 0.85
    assert dedup.containment(jac, 5, 5, 10) == 0.0  # too short to judge


def test_band_index_finds_near_copies_and_ignores_dead_or_unrelated_articles() -> None:
    rng = random.Random(3)
    index = dedup.BandIndex(dedup.band_rows(1000, 1000))
    texts = [_text(rng, 300) for _ in range(50)]
    for serial, tokens in enumerate(texts):
        index.insert(dedup.band_keys(_signature(tokens)[0]), serial)
    copy = list(texts[7])
    copy[100:103] = ["changed", "words", "here"]
    keys = dedup.band_keys(_signature(copy)[0])
    assert index.candidates(keys, oldest_live=0)[0] == 7
    assert 7 not in index.candidates(keys, oldest_live=8)
    unrelated = dedup.band_keys(_signature(_text(rng, 300))[0])
    assert index.candidates(unrelated, oldest_live=0) == []


def test_a_full_row_keeps_the_newest_serials() -> None:
    index = dedup.BandIndex(1)
    keys = np.full(dedup.BANDS, 12345, dtype=np.uint64)
    for serial in range(dedup.WAYS + 3):
        index.insert(keys, serial)
    assert index.candidates(keys, 0) == list(range(3, dedup.WAYS + 3))


def test_neardup_dev_quality() -> None:
    """Guards the figures reached on dev (P 1.000, R 0.999): precision >= .99, F1 >= .98."""
    folder = shared_path("data/neardup")
    raws = load(folder / "dev.jsonl.gz")
    labels = orjson.loads((folder / "dev.labels.json").read_bytes())
    scores = duplicate_scores(raws, labels, last_events(raws))
    assert scores["precision"] >= 0.99
    assert scores["f1"] >= 0.98


def test_inserting_at_once_keeps_what_inserting_in_turn_keeps() -> None:
    """A rebuilt table (growth, restore) must answer as the table filled one article at a time:
    with few rows, many rows overflow and keep only their highest serials."""
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**64, size=(300, dedup.BANDS), dtype=np.uint64)
    keys[::7] = keys[3]  # repeated keys: rows that fill up with one key's serials
    serials = np.sort(rng.choice(np.arange(1000, 2000), size=300, replace=False)).astype(np.int64)
    one_by_one, at_once = dedup.BandIndex(64), dedup.BandIndex(64)
    for row, serial in zip(keys, serials, strict=True):
        one_by_one.insert(row, int(serial))
    at_once.insert_many(keys, serials)
    assert np.array_equal(np.sort(one_by_one.serials, axis=1), np.sort(at_once.serials, axis=1))
    for row in keys[::10]:
        assert one_by_one.candidates(row, 1100) == at_once.candidates(row, 1100)


def test_the_band_table_grows_with_the_articles_up_to_its_cap() -> None:
    assert dedup.band_rows(0, 1_000_000) == 1024
    sizes = [dedup.band_rows(n, 1_000_000) for n in (1_000, 10_000, 100_000, 1_000_000)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[1] < sizes[2]
    assert sizes[-1] == dedup.band_rows(10**9, 1_000_000)  # the cap: the ring's capacity
    assert sizes[0] * dedup.WAYS >= 1_000 * dedup.BANDS  # one entry per row or fewer


def test_a_grown_band_table_answers_as_one_rebuilt_from_the_live_articles() -> None:
    """The table doubles as articles arrive and the ring wraps; at every point it must answer
    as a restore's table (the live articles put back, then indexed at once) does, including
    rows that overflowed (a few shared band keys fill them)."""
    settings = StorySettings(max_articles=800)
    live = Store(settings)
    rng = np.random.default_rng(11)
    shared = rng.integers(0, 2**16, size=(5, dedup.PERMUTATIONS), dtype=np.uint16)
    signatures = rng.integers(0, 2**16, size=(2500, dedup.PERMUTATIONS), dtype=np.uint16)
    signatures[::3, :12] = shared[rng.integers(0, 5, size=len(signatures[::3])), :12]
    for number, signature in enumerate(signatures):
        live.advance(float(number))
        live.add_article(f"a{number}", signature, 50, None, float(number), number,
                         dedup.band_keys(signature), exact=False)
        if number in (40, 300, 799, 2499):
            restored = Store(settings)
            restored.next_article, restored.oldest = live.next_article, live.oldest
            for serial in range(live.oldest, live.next_article):
                restored.put_article(serial, f"a{serial}", signatures[serial], 50, serial, -1,
                                     float(serial), serial, exact=False)
            restored.index_bands()
            for probe in (*signatures[live.oldest:live.next_article:7], *shared):
                keys = dedup.band_keys(probe)
                assert live.near_candidates(keys) == restored.near_candidates(keys)


def test_serials_past_a_tables_32_bit_span_go_to_a_table_based_at_the_oldest() -> None:
    """A table holds serials as 32-bit offsets from its base: an article beyond four billion
    past it makes the store rebuild the table from its live articles, which still find each
    other."""
    index = dedup.BandIndex(64, base=2**40)
    keys = np.full(dedup.BANDS, 99, dtype=np.uint64)
    index.insert(keys, 2**40 + 5)
    assert index.candidates(keys, 0) == [2**40 + 5]
    assert index.holds(2**40 + 2**32 - 2) and not index.holds(2**40 + 2**32 - 1)
    assert index.nbytes() == index.rows * dedup.WAYS * dedup.ENTRY_BYTES

    store = Store(StorySettings(max_articles=1000))
    rng = np.random.default_rng(2)
    signatures = rng.integers(0, 2**16, size=(6, dedup.PERMUTATIONS), dtype=np.uint16)
    for number, signature in enumerate(rng.integers(0, 2**16, size=(200, dedup.PERMUTATIONS),
                                                    dtype=np.uint16)):
        store.add_article(f"early{number}", signature, 50, None, 0.0, 10**6 + number,
                          dedup.band_keys(signature), exact=False)
    assert dedup.band_rows(store.next_article, 1000) == dedup.band_rows(2**40, 1000)  # full size
    store.next_article = store.oldest = 2**32 - 3  # four billion articles later
    for number, signature in enumerate(signatures):
        store.add_article(f"a{number}", signature, 50, None, 0.0, number,
                          dedup.band_keys(signature), exact=False)
    for number, signature in enumerate(signatures):
        assert store.near_candidates(dedup.band_keys(signature))[0] == 2**32 - 3 + number
