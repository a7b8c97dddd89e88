"""The compiled build's C kernels (setup.py's ``KERNELS``) compute what the NumPy paths beside
them compute: the same hashes bit for bit, the same language scores.

A pure checkout has no kernel, so here the tests skip; ``tests/test_compiled.py`` runs
``check_kernels`` in the compiled build's tree, where they must be there."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from service.stages import cluster, dedup, fingerprint, kernels, tokens
from service.stages.normalize import language
from tests.multilingual import EDITED, OTHER_EVENTS, REPORTS, REWRITES
from tests.test_language import assert_same_scores, library_score, samples


@contextmanager
def _numpy_paths() -> Iterator[None]:
    """The stages' NumPy paths, with the units kernel set aside."""
    saved, kernels.units = kernels.units, None
    fingerprint._cache.clear()  # word_hashes' memo: hash again, on this path
    try:
        yield
    finally:
        kernels.units = saved
        fingerprint._cache.clear()


def _texts() -> list[str]:
    """Reports in eleven scripts (joiners, marks, ideographs, syllables), and edge cases: empty,
    one unit, fewer units than a shingle, astral and lone-surrogate code points."""
    texts = [report.text for report in (*REPORTS, *EDITED, *OTHER_EVENTS, *REWRITES)]
    rng = random.Random(11)
    alphabet = ("ab Éé ß ñ 日本 ไทย क्षि \u200d 🙂 \ud800 , . 12 \U00020000 \U000e0100 "
                "\U0010fffd")
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 80)))
              for _ in range(200)]
    return [*texts, "", "one", "one two", "one two three", "x" * 5000]


def _check_units() -> None:
    assert kernels.units is not None, "the compiled build has no units kernel"
    for text in _texts():
        scanned = tokens.scan(text)
        counted = tokens.word_count(text), tokens.unit_words(text), tokens.terms(text)
        with _numpy_paths():
            for mine, theirs in zip(scanned, tokens.scan(text), strict=True):
                assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), text
            assert counted == (tokens.word_count(text), tokens.unit_words(text),
                               tokens.terms(text)), text
        compiled = fingerprint.body_hashes(text)
        words = fingerprint.words(text)
        compiled_words = fingerprint.word_hashes(words)
        with _numpy_paths():
            walked = fingerprint.body_hashes(text)
            walked_words = fingerprint.word_hashes(words)
            walked_signature = dedup.minhash(walked.shingles)
            walked_simhash = fingerprint.simhash(walked.shingles)
        for mine, theirs in zip(compiled, walked, strict=True):
            assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), text
        assert np.array_equal(compiled_words, walked_words), text
        assert np.array_equal(dedup.minhash(compiled.shingles), walked_signature), text
        assert fingerprint.simhash(compiled.shingles) == walked_simhash, text
    rng = np.random.default_rng(5)
    for length in range(9):  # shingles of fewer hashes than a shingle, and of more
        hashes = rng.integers(0, 2**64, size=length, dtype=np.uint64)
        for size in range(1, 5):
            compiled_shingles = fingerprint.shingle_hashes(hashes, size)
            with _numpy_paths():
                assert np.array_equal(compiled_shingles, fingerprint.shingle_hashes(hashes, size))
    points = np.zeros(3, dtype=np.uint32)
    with pytest.raises(ValueError, match="outside"):
        kernels.units.span_hashes(np.empty(1, dtype=np.uint64), points,
                                    np.array([1], dtype=np.intp), np.array([4], dtype=np.intp),
                                    3, 5, fingerprint._FINALS, 33)


def _vector(rng: np.random.Generator, size: int, ids: int) -> cluster.Vector:
    terms = np.unique(rng.integers(0, ids, size=size).astype(np.uint32))
    weights = rng.random(len(terms), dtype=np.float32)
    norm = float(np.sqrt(np.square(weights, dtype=np.float64).sum()))
    return cluster.Vector(terms, weights, norm)


def _check_dots() -> None:
    """Cosines of a query with several vectors: the same floats, bit for bit, whatever the
    overlap (term ids drawn from a small range overlap a lot, from a large one hardly)."""
    assert kernels.dots is not None, "the compiled build has no dots kernel"
    rng = np.random.default_rng(3)
    table = cluster.TermColumns()
    for case in range(300):
        ids = 1 << int(rng.integers(4, cluster.DF_BITS + 1))
        query = _vector(rng, int(rng.integers(0, 300)), ids)
        others = [_vector(rng, int(rng.integers(0, 200)), ids)
                  for _ in range(int(rng.integers(0, 10)))]
        if case % 2:  # as the store keeps vectors: leading parts of the rows of wide arrays
            terms, weights = np.zeros((len(others), 256), np.uint32), np.zeros((len(others), 256),
                                                                            np.float32)
            for row, other in enumerate(others):
                terms[row, :len(other.terms)], weights[row, :len(other.terms)] = other[:2]
            others = [cluster.Vector(terms[row, :len(other.terms)],
                                     weights[row, :len(other.terms)], other.norm)
                      for row, other in enumerate(others)]
        compiled = cluster.cosines(query, others, table)
        saved, kernels.dots = kernels.dots, None
        try:
            walked = cluster.cosines(query, others, table)
        finally:
            kernels.dots = saved
        assert compiled == walked, case
    query = _vector(rng, 5, 64)
    with pytest.raises(ValueError, match="differ in length"):
        kernels.dots.dots(np.empty(1), query.terms, query.weights,
                          [cluster.Vector(query.terms, query.weights[:2], 1.0)])
    with pytest.raises(TypeError, match="tuple"):
        kernels.dots.dots(np.empty(1), query.terms, query.weights, [query.terms])


def _check_language() -> None:
    """Scores as the NumPy walk and py3langid do; tables that do not fit together are refused
    instead of read past."""
    assert kernels.langscore is not None, "the compiled build has no language kernel"
    identifier = language._language_identifier()
    for text in samples():
        compiled, walked = identifier._compiled_score(text), identifier._numpy_score(text)
        assert (compiled is None) == (walked is None), text
        if compiled is not None and walked is not None:
            assert_same_scores(compiled, walked)
            assert_same_scores(compiled, library_score(identifier, text))
    scores = np.empty(len(identifier.nb_pc), dtype=np.float32)
    moves = np.full(256, 5, dtype=np.uint32)  # every move to a state that does not exist
    one_state = np.zeros(1, dtype=np.uint16), np.zeros(1, dtype=np.int32)
    with pytest.raises(ValueError, match="outside its tables"):
        kernels.langscore.score(scores, b"abc", 1, moves, *one_state, identifier.nb_ptc,
                                identifier.nb_pc)
    with pytest.raises(ValueError, match="differ in length"):
        kernels.langscore.score(scores, b"abc", 1, moves, one_state[0],
                                np.zeros(2, dtype=np.int32), identifier.nb_ptc,
                                identifier.nb_pc)


def check_kernels() -> None:
    """Every kernel is built and agrees with its NumPy path (run in the compiled build)."""
    _check_units()
    _check_dots()
    _check_language()


@pytest.mark.skipif(kernels.units is None, reason="a pure checkout: test_compiled runs it")
def test_the_units_kernel_scans_and_hashes_as_the_numpy_paths() -> None:
    _check_units()


@pytest.mark.skipif(kernels.dots is None, reason="a pure checkout: test_compiled runs it")
def test_the_dots_kernel_sums_as_the_numpy_path() -> None:
    _check_dots()


@pytest.mark.skipif(kernels.langscore is None, reason="a pure checkout: test_compiled runs it")
def test_the_language_kernel_scores_as_the_numpy_walk() -> None:
    _check_language()
