"""Near-duplicate index: estimates, band lookups, and the quality reached on dev data."""

from __future__ import annotations

import random

import numpy as np
import orjson

from bench.eval_neardup import duplicate_scores
from bench.eval_stories import last_events, load
from service.stages import dedup
from service.stages.fingerprint import shingle_hashes, word_hashes
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
    index = dedup.BandIndex(1000)
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
