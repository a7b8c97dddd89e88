"""The compiled build's C kernels (setup.py's ``KERNELS``) compute what the NumPy paths beside
them compute: the same hashes bit for bit, the same language scores.

A pure checkout has no kernel, so here the tests skip; ``tests/test_compiled.py`` runs
``check_kernels`` in the compiled build's tree, where they must be there."""

from __future__ import annotations

import gc
import importlib
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from service.stages import cluster, dedup, fingerprint, kernels, tokens
from service.stages.normalize import language
from service.stages.normalize import lines as line_signals
from service.stages.normalize import memory as furniture_memory
from service.stages.normalize import text as text_extractor
from tests.multilingual import EDITED, OTHER_EVENTS, REPORTS, REWRITES
from tests.test_language import assert_same_scores, library_score, samples


@contextmanager
def _without(kernel: str) -> Iterator[None]:
    """The paths the named kernel (an attribute of ``kernels``) stands in for, with it set
    aside; word_hashes' memo emptied on the way in and out, so each path hashes for itself."""
    saved = getattr(kernels, kernel)
    setattr(kernels, kernel, None)
    fingerprint._cache.clear()
    try:
        yield
    finally:
        setattr(kernels, kernel, saved)
        fingerprint._cache.clear()


def _texts() -> list[str]:
    """Reports in eleven scripts (joiners, marks, ideographs, syllables), random texts over
    them and over ASCII alone, and edge cases: empty, one unit, fewer units than a shingle,
    astral and lone-surrogate code points, whitespace of several kinds and runs."""
    texts = [report.text for report in (*REPORTS, *EDITED, *OTHER_EVENTS, *REWRITES)]
    rng = random.Random(11)
    alphabet = ("ab Éé ß ñ 日本 ไทย क्षि \u200d 🙂 \ud800 , . \u2019 \u201c \u2014 12 \U00020000 "
                "\U000e0100 \U0010fffd \n\n\t\u3000\u00a0\x1c\x01")
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 80)))
              for _ in range(200)]
    texts += ["".join(rng.choice("aZ_09 .,'-\n") for _ in range(rng.randrange(1, 80)))
              for _ in range(200)]  # ASCII, which body_hashes hashes as it finds the units
    latin1 = "aZ_09 .,'-\n\u00c9\u00e9\u00f1\u00e7\u00c0\u00d7\u00b5\u00ff\u00a0\u00aa\u00b2"
    texts += ["".join(rng.choice(latin1) for _ in range(rng.randrange(1, 80)))
              for _ in range(200)]  # Latin-1 (its micro sign folds outside it), hashed likewise
    return [*texts, "", " ", "one", "one two", " one two three\n", "x" * 5000]


def _check_units() -> None:
    assert kernels.units is not None, "the compiled build has no units kernel"
    for text in _texts():
        scanned = tokens.scan(text)
        counted = tokens.word_count(text), tokens.unit_words(text), tokens.terms(text)
        with _without("units"):
            for mine, theirs in zip(scanned, tokens.scan(text), strict=True):
                assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), text
            assert counted == (tokens.word_count(text), tokens.unit_words(text),
                               tokens.terms(text)), text
        compiled = fingerprint.body_hashes(text)
        words = fingerprint.words(text)
        whole = [text, text[::-1], *words]  # any string hashes, not only units
        compiled_words = fingerprint.word_hashes(whole)
        with _without("units"):
            walked = fingerprint.body_hashes(text)
            walked_words = fingerprint.word_hashes(whole)
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
            with _without("units"):
                assert np.array_equal(compiled_shingles, fingerprint.shingle_hashes(hashes, size))
    points = np.zeros(3, dtype=np.uint32)
    with pytest.raises(ValueError, match="outside"):
        kernels.units.span_hashes(np.empty(1, dtype=np.uint64), points,
                                    np.array([1], dtype=np.intp), np.array([4], dtype=np.intp),
                                    3, 5, fingerprint._FINALS, 33)
    with pytest.raises(ValueError, match="half the characters"):  # "a a a" holds 3 units
        kernels.units.latin1_unit_hashes(np.empty(2, dtype=np.uint64), "a a a",
                                         tokens.LATIN1_IS_WORD, tokens.LATIN1_FOLD, 3, 5,
                                         fingerprint._FINALS, 33)
    for beyond in ("Stra\u00dfe", "\u0101", "a\U0001f642"):  # folds to two; not Latin-1
        assert kernels.units.latin1_unit_hashes(np.empty(8, dtype=np.uint64), beyond,
                                                tokens.LATIN1_IS_WORD, tokens.LATIN1_FOLD,
                                                *fingerprint.KERNEL_HASH) == -1


def _vector(rng: np.random.Generator, size: int, ids: int) -> cluster.Vector:
    terms = np.unique(rng.integers(0, ids, size=size).astype(np.uint32))
    weights = rng.random(len(terms), dtype=np.float32)
    norm = float(np.sqrt(np.square(weights, dtype=np.float64).sum()))
    return cluster.Vector(terms, weights, norm)


def _check_dots() -> None:
    """Cosines of a query with several vectors: the same floats, bit for bit, whatever the
    overlap (term ids drawn from a small range overlap a lot, from a large one hardly)."""
    assert kernels.terms is not None, "the compiled build has no terms kernel"
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
        with _without("terms"):
            walked = cluster.cosines(query, others, table)
        assert compiled == walked, case
    query = _vector(rng, 5, 64)
    with pytest.raises(ValueError, match="differ in length"):
        kernels.terms.dots(np.empty(1), query.terms, query.weights,
                           [cluster.Vector(query.terms, query.weights[:2], 1.0)])
    with pytest.raises(TypeError, match="tuple"):
        kernels.terms.dots(np.empty(1), query.terms, query.weights, [query.terms])


def _check_candidates() -> None:
    """Candidate stories as the Python path ranks them: indexes of a few to 3,000 stories over
    few or many terms (postings of one story, of several, trimmed), stories re-indexed and
    removed, queries of up to 128 terms and limits past the stories found (ties broken by the
    story)."""
    assert kernels.terms is not None, "the compiled build has no terms kernel"
    rng = np.random.default_rng(11)
    for case in range(40):
        ids = int(rng.choice([8, 64, 4096, 1 << cluster.DF_BITS]))
        index = cluster.TermIndex(terms_per_story=int(rng.integers(1, 13)),
                                  postings_read=int(rng.choice([0, 1, 3, 32])))
        stories = int(rng.choice([3, 300, 3000]))
        for step in range(stories * 2):
            story = int(rng.integers(0, stories)) if step >= stories else step
            if step % 7 == 3:
                index.remove(story)
            else:
                index.update(story, _vector(rng, int(rng.integers(1, 40)), ids))
        for _ in range(20):
            query = _vector(rng, int(rng.integers(0, 200)), ids)
            terms, limit = int(rng.choice([1, 16, 128])), int(rng.choice([0, 1, 8, 10**6]))
            compiled = index.candidates(query, terms, limit)
            with _without("terms"):
                assert compiled == index.candidates(query, terms, limit), case
    terms = np.array([5], np.uint32)
    with pytest.raises(ValueError, match="story serial"):
        kernels.terms.candidates(np.full(8, 1 << 48, np.int64) + 1, {}, terms, 1, 1)
    with pytest.raises(IndexError, match="past"):
        kernels.terms.candidates(np.zeros(4, np.int64), {}, terms, 1, 1)
    with pytest.raises(ValueError, match="at least 1"):
        kernels.terms.candidates(np.zeros(8, np.int64), {}, terms, 0, 1)


def _check_sums() -> None:
    """Weights summed by term: the same terms and sums, bit for bit, for ids of every width
    (each radix pass, and skipped ones), many repeats or none, and weights of mixed magnitude
    whose sum depends on the order they are added in; and so the same term counts and
    centroid sums."""
    assert kernels.terms is not None, "the compiled build has no terms kernel"
    rng = np.random.default_rng(5)
    for case in range(400):
        width = int(rng.integers(1, 33))
        terms = rng.integers(0, 1 << width, int(rng.integers(0, 700)), dtype=np.uint64)
        if case % 3 == 0:
            terms |= np.uint64(0xFFFF0000)  # every id shares its top digits
        weights = rng.random(len(terms)) * 10.0 ** rng.integers(-8, 9, len(terms))
        compiled = cluster.term_sums(terms.astype(np.uint32), weights)
        with _without("terms"):
            walked = cluster.term_sums(terms.astype(np.uint32), weights)
        for mine, theirs in zip(compiled, walked, strict=True):
            assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), case
    reports = [*REPORTS, *EDITED, *OTHER_EVENTS, *REWRITES]
    centroid = cluster.Vector(np.zeros(0, np.uint32), np.zeros(0, np.float32), 0.0)
    for report in reports:
        hashes = fingerprint.body_hashes(report.text).terms
        counted = cluster.term_counts(report.title, report.text, hashes, 3.0, 1.5, 2.0)
        vector = cluster.Vector(counted[0], counted[1].astype(np.float32), 1.0)
        summed = cluster.add_vectors(centroid, vector, 300)
        with _without("terms"):
            walked = cluster.term_counts(report.title, report.text, hashes, 3.0, 1.5, 2.0)
            walked_sum = cluster.add_vectors(centroid, vector, 300)
        for mine, theirs in (*zip(counted, walked, strict=True),
                             *zip(summed[:2], walked_sum[:2], strict=True)):
            assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), report.title
        assert summed.norm == walked_sum.norm
        centroid = summed
    for text in _texts():  # every script, names and numbers or none, a title or none
        title = text[:40].upper() if len(text) % 3 else ""
        hashes = fingerprint.body_hashes(text).terms
        for weights in ((3.0, 1.5, 2.0), (0.0, 1.0, 1.0)):
            counted = cluster.term_counts(title, text, hashes, *weights)
            with _without("terms"):
                walked = cluster.term_counts(title, text, hashes, *weights)
            for mine, theirs in zip(counted, walked, strict=True):
                assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs), text
    with pytest.raises(ValueError, match="shorter"):
        kernels.terms.sums(np.empty(1, np.uint32), np.empty(2), np.zeros(2, np.uint32),
                           np.zeros(2))
    with pytest.raises(ValueError, match="outnumber"):
        kernels.terms.gathered(np.empty(1, np.uint32), np.empty(1), [([1, 2], 2, 1.0)], 7, 0,
                               1, 29)
    with pytest.raises(ValueError, match="kind"):
        kernels.terms.gathered(np.empty(1, np.uint32), np.empty(1),
                               [(np.zeros(1, np.uint64), 5, 1.0)], 7, 0, 1, 29)


def _check_spans() -> None:
    """Names and numbers found where the patterns find them, over the text's classes and over
    the text itself, and the names' units as the Python path cuts them: texts of every class
    (capitals, digits in two scripts, other word characters, spaces, separators, apostrophes,
    hyphens, sentence ends) in random order, reports, and texts past the basic plane that the
    kernel leaves to the patterns. The names' and numbers' terms likewise, with Latin-1 letters
    that fold outside it or to two."""
    assert kernels.terms is not None, "the compiled build has no terms kernel"
    rng = random.Random(13)
    alphabet = "AZÉb1٣_ \t\n,.'\u2019-!é?\"\u201d\u00a0ǅ\u2014\u00ab\u2026\u00b5\u00df"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
             for _ in range(3000)]
    texts += [report.text for report in (*REPORTS, *EDITED, *OTHER_EVENTS, *REWRITES)]
    texts += ["1,000.5 and 2.", "A", "7", "Ab 🙂 Cd 12", "Ab \ud800 12,3"]
    for text in texts:
        compiled = cluster._spans(text)
        names = cluster._names(text, compiled[0])
        with _without("terms"):
            walked = cluster._spans(text)
            assert names == cluster._names(text, compiled[0]), text
        assert compiled == walked, text
        assert compiled == ([m.span() for m in cluster._NAME.finditer(text)],
                            [m.span() for m in cluster._NUMBER.finditer(text)]), text
    served = 0
    for text in [*texts, *(text.replace("\u00c9", "E").replace("\u0663", "3") for text in texts)]:
        terms = cluster._name_terms(text)
        served += kernels.terms.name_terms(text, cluster._class_table(), ".", 3, "",
                                           tokens.LATIN1_IS_WORD, tokens.LATIN1_FOLD,
                                           *fingerprint.KERNEL_HASH) is not None
        with _without("terms"):
            walked_terms = cluster._name_terms(text)
        assert np.array_equal(terms[0], walked_terms[0]) and terms[1:] == walked_terms[1:], text
    assert served > len(texts) // 2, "ASCII names and numbers are the kernel's to serve"
    with pytest.raises(ValueError, match="basic-plane"):
        kernels.terms.names_and_numbers("A", b"x" * 10)
    with pytest.raises(ValueError, match="256 flags"):
        kernels.terms.name_terms("Ab", cluster._class_table(), ".", 3, "",
                                 tokens.ASCII_IS_WORD, tokens.LATIN1_FOLD,
                                 *fingerprint.KERNEL_HASH)
    with pytest.raises(ValueError, match="within the text"):
        kernels.terms.name_units("Ab", [(1, 3)], ".", 3, "", tokens.ASCII_IS_WORD)
    with pytest.raises(ValueError, match="ASCII character"):
        kernels.terms.name_units("Ab", [(0, 2)], ".", 3, "", tokens.ASCII_IS_WORD[:64])


def _check_lines() -> None:
    """A line's character counts, title-casing and typographic marks made plain as the Python
    paths give them, on lines of reports in eleven scripts and random lines of digits of several
    kinds (superscripts, Arabic, Devanagari), title-case and caseless letters, marks and
    spaces."""
    assert kernels.units is not None, "the compiled build has no units kernel"
    rng = random.Random(17)
    alphabet = "Ab é É ² ٣ ३ ǅ ß 日 ไ \u0301 \u2019 « — … \u00a0 © \u20cf 1 _ - . \U0001d400 \ud800"
    lines = [line for report in (*REPORTS, *EDITED, *OTHER_EVENTS, *REWRITES)
             for line in report.text.split("\n")]
    lines += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
              for _ in range(2000)]
    for line in [*lines, ""]:
        words = line.split()
        compiled = (text_extractor._char_counts(line), line_signals.title_case_ratio(words),
                    line_signals.plain_form(line), tokens.plain_punctuation(line))
        with _without("units"):
            assert compiled == (text_extractor._char_counts(line),
                                line_signals.title_case_ratio(words),
                                line_signals.plain_form(line),
                                tokens.plain_punctuation(line)), line
    _check_word_signals(lines)


def _check_word_signals(lines: list[str]) -> None:
    """An ASCII line's word signals and furniture key as the Python paths give them, on the
    plain forms of ``lines`` and on random ASCII lines of call verbs, words addressing the
    reader ("US" and "Us" among them), words around the content and title-case lengths, digits,
    underscores and punctuation, from none to past the repeat key's length."""
    rng = random.Random(19)
    vocabulary = [*sorted(line_signals.CALL_VERBS)[:12], "You", "Yours", "WE", "US", "Us", "us",
                  "ours", "Rates", "rate", "Ab", "ABC", "12", "2024", "1a", "_", "a_b", "x",
                  "Minister", "Zurich", "zoo", "it's", "e-mail", "U.S.", "...", ",", "!", "\t",
                  "  ", "\x1f"]
    plain = [line_signals.plain_form(line) for line in lines]
    plain += ["".join(rng.choice(vocabulary) + rng.choice(" ,.-") for _ in range(count))
              for count in (rng.randrange(0, 3 * text_extractor.REPEAT_MAX_WORDS // 2)
                            for _ in range(2000))]
    for line in [*plain, "", " ", "US", "_"]:
        if not line.isascii():
            continue
        compiled = text_extractor._word_signals(line), furniture_memory._fold(line)
        with _without("units"):
            assert compiled == (text_extractor._word_signals(line),
                                furniture_memory._fold(line)), line
    # other sets than the service's are read as given (the kernel keeps the last ones it read)
    words, _, _, verb, hits, content, key, counts = kernels.units.ascii_line(
        "Alpha be gamma, be", tokens.ASCII_IS_WORD, 5, 20, 3,
        frozenset({"be", "n\u00e9", 7}), frozenset({"alpha", "gamma", "delta"}))
    assert (words, verb, hits, content, key, counts) == (
        4, True, 2, frozenset({"alpha", "gamma"}), "alpha be gamma be", (0, 1, 14))
    line = "Subscribe: you and US get our news"
    compiled = text_extractor._word_signals(line)
    with _without("units"):
        assert compiled == text_extractor._word_signals(line)
    with pytest.raises(ValueError, match="not ASCII"):
        kernels.units.ascii_line("é", tokens.ASCII_IS_WORD, 5, 20, 3, frozenset(), frozenset())
    with pytest.raises(ValueError, match="not an ASCII str"):
        kernels.units.ascii_fold("é")
    with pytest.raises(ValueError, match="128 flags"):
        kernels.units.ascii_line("a", tokens.ASCII_IS_WORD[:64], 5, 20, 3, frozenset(),
                                 frozenset())


def _check_repair() -> None:
    """Line breaks, invisible characters and odd spaces made plain as repair's substitutions
    make them, on random texts of each kind of them (runs, runs broken by an invisible
    character, "\\r\\n" and lone "\\r"), plain spaces, letters of three widths, an astral
    code point and a lone surrogate."""
    assert kernels.units is not None, "the compiled build has no units kernel"
    repair = importlib.import_module("service.stages.normalize.repair")
    rng = random.Random(23)
    alphabet = ["\r", "\n", "\r\n", "\u2028", "\u0085", "\x0b", "\x0c", "\t", "\x00", "\u00a0",
                "\u200b", "\u2060", "\u3000", "\u2009", " ", "a", "é", "日", "\U0001f642", "\ud800"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
             for _ in range(3000)]
    for text in [*texts, "", "\r", "\u00a0"]:
        compiled = repair.repair(text)
        with _without("units"):
            assert compiled == repair.repair(text), repr(text)


def _check_bands() -> None:
    """Band lookups as the NumPy path answers them: tables small enough that rows fill and
    evict, based at 0 and far past it, queried with inserted and random keys and every oldest
    live serial (empty entries whose check matches a key included)."""
    assert kernels.bands is not None, "the compiled build has no bands kernel"
    rng = np.random.default_rng(7)
    for case in range(60):
        base = 0 if case % 2 else 2**40
        index = dedup.BandIndex(int(rng.choice([1, 16, 256])), base=base)
        keys = rng.integers(0, 2**64, (int(rng.integers(1, 400)), dedup.BANDS), dtype=np.uint64)
        keys[:, :3] &= np.uint64(0xFFFF)  # check 0, as an empty entry's, in some bands
        for serial, row in enumerate(keys):
            index.insert(row, base + serial)
        queries = [*keys[rng.integers(0, len(keys), 20)],
                   *rng.integers(0, 2**64, (5, dedup.BANDS), dtype=np.uint64)]
        for query in queries:
            for oldest in (0, base, base + len(keys) // 2, base + len(keys)):
                compiled = index.candidates(query, oldest)
                with _without("bands"):
                    assert compiled == index.candidates(query, oldest), case
    with pytest.raises(ValueError, match="power of two"):
        kernels.bands.candidates(np.zeros(12, np.uint32), np.zeros(12, np.uint32),
                                 np.zeros(1, np.uint64), 4, 0, 0)
    for signature in rng.integers(0, 2**16, (200, dedup.PERMUTATIONS), dtype=np.uint16):
        compiled_keys = dedup.band_keys(signature)
        assert np.array_equal(compiled_keys, dedup.band_key_rows(signature[None, :])[0])
    with pytest.raises(ValueError, match="bands of rows"):  # a signature of another width
        kernels.bands.keys(np.empty(dedup.BANDS, np.uint64), np.zeros(64, np.uint16),
                           dedup._BAND_MIX, dedup._BAND_SALT, 31, 3)


def _check_normalized() -> None:
    """Unit vectors as the NumPy path makes them, bit for bit: sorted and shuffled terms, tied
    weights at the cut or none, weights across magnitudes (sums of 8 to 300 squares take
    NumPy's pairwise blocks and halves), every kind of limit; a repeated term or a NaN weight
    left to the NumPy path."""
    assert kernels.terms is not None, "the compiled build has no terms kernel"
    rng = np.random.default_rng(17)
    for case in range(600):
        n = int(rng.integers(0, 300))
        terms = rng.choice(1 << cluster.DF_BITS, n, replace=False).astype(np.uint32)
        if case % 3:
            terms.sort()
        if case % 7 == 0 and n > 1:
            terms[-1] = terms[0]  # a repeated term
        weights = (rng.integers(1, 4, n) if case % 2 else rng.random(n)) * 10.0 ** float(
            rng.integers(-3, 4))
        if case % 11 == 0 and n:
            weights[int(rng.integers(0, n))] = np.nan
        for limit in (1, 7, 64, max(1, n), n + 1):
            kept = min(n, limit)
            served = kernels.terms.normalized(np.empty(kept, np.uint32),
                                              np.empty(kept, np.float32), terms, weights, limit)
            if len(set(terms.tolist())) == n and not np.isnan(weights).any():
                assert served is not None, case  # the kernel's own path is what is held
            compiled = cluster._normalized(terms, weights, limit)
            with _without("terms"):
                walked = cluster._normalized(terms, weights, limit)
            assert compiled.norm == walked.norm, case
            assert np.array_equal(compiled.terms, walked.terms), case
            assert compiled.weights.dtype == walked.weights.dtype == np.float32
            assert np.array_equal(compiled.weights, walked.weights, equal_nan=True), case


def _check_frequencies() -> None:
    """Document frequencies counted as ``counts[terms] += 1`` counts them: each distinct term
    once, in sorted documents, shuffled ones and ones that repeat terms; a term past the
    counters refused."""
    assert kernels.terms is not None, "the compiled build has no terms kernel"
    rng = np.random.default_rng(13)
    compiled, walked = cluster.DocumentFrequencies(), cluster.DocumentFrequencies()
    for case in range(300):
        terms = rng.integers(0, 1 << cluster.DF_BITS if case % 3 else 64,
                             int(rng.integers(0, 600)), dtype=np.uint64).astype(np.uint32)
        if case % 2:
            terms = np.unique(terms)
        compiled.add(terms)
        with _without("terms"):
            walked.add(terms)
        assert compiled.documents == walked.documents
    assert np.array_equal(compiled.counts, walked.counts)
    with pytest.raises(ValueError, match="outside"):
        kernels.terms.count(np.zeros(4, np.uint32), np.array([4], np.uint32))


def _check_strongest() -> None:
    """The strongest positions as the NumPy path picks them, in float32 and float64, with many
    ties at the cut (weights from a few values) or none, for every count; a NaN weight is left
    to the NumPy path."""
    assert kernels.terms is not None, "the compiled build has no terms kernel"
    rng = np.random.default_rng(9)
    for case in range(600):
        n = int(rng.integers(2, 400))
        dtype = np.float32 if case % 2 else np.float64
        weights = (rng.integers(0, int(rng.choice([2, 5, 1000])), n) * rng.random()).astype(dtype)
        if case % 7 == 0:
            weights[int(rng.integers(0, n))] = np.nan
        for count in {1, int(rng.integers(1, n)), n - 1}:
            compiled = cluster.strongest(weights, count)
            with _without("terms"):
                walked = cluster.strongest(weights, count)
            assert compiled.dtype == walked.dtype and np.array_equal(compiled, walked), case
    with pytest.raises(ValueError, match="float32 or float64"):
        kernels.terms.strongest(np.empty(1, np.intp), np.zeros(3, np.int64))


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


def _check_sentence_openers() -> None:
    """An ASCII line's sentence and opener counts as ``lines.sentence_openers`` gives them, on
    the lines of the reports and random lines of call verbs, "you", other words and the marks
    and whitespace sentences are cut at (the separators 0x1c-0x1f among it)."""
    assert kernels.units is not None, "the compiled build has no units kernel"
    rng = random.Random(23)
    words = ["Sign", "up", "YOU", "you", "can", "share", "Read", "more", "The", "minister", "x_1",
             "42", "e-mail", "subscribe"]
    marks = [" ", ". ", "! ", "? ", ".", "...", ".\t", "?\x1c", "!\n\n", " . ", "-", ",", ".\x0b"]
    lines = [line for report in (*REPORTS, *EDITED, *OTHER_EVENTS, *REWRITES)
             for line in report.text.split("\n")]
    lines += ["".join(rng.choice(words) + rng.choice(marks) for _ in range(rng.randrange(0, 12)))
              for _ in range(3000)]
    for line in [*lines, "", ".", ". . ", "Sign up. ", " you"]:
        if line.isascii():
            sentences, openers = line_signals.sentence_openers(line)
            assert kernels.units.sentence_openers(line, tokens.ASCII_IS_WORD,
                                                  line_signals._CTA_OPENERS) == (
                sentences, len(openers)), line
    with pytest.raises(ValueError, match="not ASCII"):
        kernels.units.sentence_openers("caf\u00e9.", tokens.ASCII_IS_WORD,
                                       line_signals._CTA_OPENERS)
    with pytest.raises(ValueError, match="not 128 flags"):
        kernels.units.sentence_openers("Sign up.", tokens.ASCII_IS_WORD[:64],
                                       line_signals._CTA_OPENERS)


def _check_untrack() -> None:
    """``untrack_acyclic`` untracks an object only when none of its referents is tracked: a set
    of strings, a line holding one; not a tuple holding a list, nor a line whose set of words
    the collector still tracks; it refuses a list, dict or set; and it leaves what it untracks
    whole."""
    assert kernels.units is not None, "the compiled build has no units kernel"
    words = frozenset({"minister", "rates"})
    for changing in ([1], {1: [2]}, {1}):
        with pytest.raises(TypeError, match="can change"):
            kernels.units.untrack_acyclic(changing)
        assert gc.is_tracked(changing)
    nested = ((1, [2]),)
    kernels.units.untrack_acyclic(nested)
    assert gc.is_tracked(nested)
    with _without("units"):  # the Python path's line: its set of words is tracked
        held = text_extractor.candidate.__wrapped__("The minister said rates rise.")
    kernels.units.untrack_acyclic(held)
    assert gc.is_tracked(held.content) and gc.is_tracked(held)
    assert gc.is_tracked(words)
    kernels.units.untrack_acyclic(words)
    assert not gc.is_tracked(words) and words == {"minister", "rates"}
    line = text_extractor.candidate.__wrapped__("The minister said rates would rise again.")
    assert not gc.is_tracked(line) and not gc.is_tracked(line.content)
    assert line.content == {"minister", "rates", "would", "again"}


# Each kernel's checks: the kernels module attribute that holds it, and the check.
_CHECKS = [("units", _check_units), ("units", _check_lines), ("units", _check_repair),
           ("units", _check_untrack), ("units", _check_sentence_openers),
           ("terms", _check_dots), ("terms", _check_candidates), ("terms", _check_sums),
           ("terms", _check_strongest), ("terms", _check_spans), ("terms", _check_frequencies),
           ("terms", _check_normalized),
           ("bands", _check_bands),
           ("langscore", _check_language)]


def check_kernels() -> None:
    """Every kernel is built and agrees with the path it stands in for (run in the compiled
    build)."""
    for _, check in _CHECKS:
        check()


@pytest.mark.parametrize(("kernel", "check"), _CHECKS,
                         ids=[check.__name__.removeprefix("_check_") for _, check in _CHECKS])
def test_each_kernel_agrees_with_the_path_it_stands_in_for(kernel: str,
                                                          check: Callable[[], None]) -> None:
    if getattr(kernels, kernel) is None:
        pytest.skip("a pure checkout: test_compiled runs it")
    check()
