"""Story representations: weighted terms with online document frequencies, and their index.

An article becomes a sparse vector over hashed terms: its words, the capitalized sequences that
name people, places and organisations (as whole names and as name words), and its numbers, with
the title counted several times. Weights are sublinear term frequency times an inverse document
frequency learned online, so what is rare in the feed (the names and figures that tell one
earthquake from another) outweighs what every report of a kind shares. A story is the centroid
of its articles' vectors, truncated to its strongest terms, which keeps its memory fixed and
its representation sharper as reports accumulate.

``TermIndex`` finds candidate stories through their strongest terms; each posting keeps stories
in order of their last update and a lookup reads only the most recent entries, so its cost does
not grow with the number of stories.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import Counter
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import xxhash

from service.stages import kernels, tokens
from service.stages.fingerprint import KERNEL_HASH, U64, word_hashes
from service.stages.runs import run_opens

# Terms are hashed to 2**DF_BITS ids (document frequencies: 8 MB of counters, and as much again
# for the term table). `python -m bench.sweep_constant service/stages/cluster.py DF_BITS 18 24
# -- python -m bench.sweep article_terms 128`: 18 stories 0.915; 0.901, 0.822 | 24 0.917; 0.903,
# 0.834 (at 21: 0.915; 0.902, 0.828). 24 gains a little for 8 times the memory (128 MB a shard).
DF_BITS = 21
U32 = npt.NDArray[np.uint32]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

_NAME = re.compile(r"[A-Z][\w'\u2019-]*(?:\s+[A-Z][\w'\u2019-]*)*")
# A number: digits, perhaps with separators inside, not part of a longer word. (It opens with
# ``\d`` and checks the character before in a lookbehind, not with a leading ``\b``: the
# regex engine then skips to the next digit instead of trying every position.)
_NUMBER = re.compile(r"\d(?<!\w\d)(?:[\d,.]*\d)?\b")
# The same two patterns over the text's character classes (``_classes``): a capital "A", a
# decimal digit "D", another word character "W", a name's apostrophe or hyphen "'", "," and ".",
# whitespace "S", anything else "x". Each atom of the patterns above tests one union of these
# classes, so both find the same spans; over the classes they open with one literal byte, which
# the regex engine skips to at memory-scan speed instead of testing a Unicode category at every
# character (a 3 KB body: 125 -> 55 us for names and numbers, with the classes).
_NAME_CLASSES = re.compile(rb"A[ADW']*(?:S+A[ADW']*)*")
_NUMBER_CLASSES = re.compile(rb"D(?<![ADW]D)(?:[D,.]*D)?(?![ADW])")
_BASIC_PLANE = 0x10000
_SURROGATES, _SURROGATE = slice(0xD800, 0xE000), ord("Z")  # half of a code point past the plane
# Where a sentence opens: after a full stop, a question or exclamation mark or a closing quote
# and at most three spaces (a name there may be a capitalized first word).
_SENTENCE_END_CHARS = ".!?\"\u201d"
_SENTENCE_ENDS = frozenset(_SENTENCE_END_CHARS)
_SENTENCE_GAP = 3


class Vector(NamedTuple):
    """Sorted term ids with float32 weights and the vector's Euclidean norm."""

    terms: U32
    weights: F32
    norm: float


_MASK = np.uint64((1 << DF_BITS) - 1)
_NAME_SALT = np.uint64(0x9E3779B97F4A7C15)


_NAME_MIX, _NAME_SHIFT = 0xBF58476D1CE4E5B9, 29
# The kinds of an article's parts (``term_counts``): word hashes, name-word hashes, phrase ids.
_WORDS, _NAME_WORDS, _PHRASES = range(3)


def _name_ids(hashes: U64) -> U64:
    """Term ids of words used in a name: the word's hash re-mixed, so distinct from the word."""
    mixed = (hashes ^ _NAME_SALT) * np.uint64(_NAME_MIX)
    return (mixed >> np.uint64(_NAME_SHIFT)) & _MASK


def _phrase_ids(kind: str, phrases: list[str]) -> list[int]:
    return _encoded_ids([(kind + phrase).encode() for phrase in phrases])


def _encoded_ids(phrases: list[bytes]) -> list[int]:
    """The term id of each phrase, given as its kind's letter and its UTF-8."""
    mask = int(_MASK)
    return [xxhash.xxh3_64_intdigest(phrase) & mask for phrase in phrases]


@lru_cache(maxsize=1)
def _class_table() -> npt.NDArray[np.uint8]:
    """The class (see ``_NAME_CLASSES``) of every code point of the basic plane, as ``re``
    defines ``\\d`` (``isdecimal``), ``\\w`` (``isalnum`` or ``_``) and ``\\s`` (``isspace``)."""
    table = np.full(_BASIC_PLANE, ord("x"), dtype=np.uint8)
    for code in range(_BASIC_PLANE):
        char = chr(code)
        if "A" <= char <= "Z":
            table[code] = ord("A")
        elif char.isdecimal():
            table[code] = ord("D")
        elif char.isalnum() or char == "_":
            table[code] = ord("W")
        elif char.isspace():
            table[code] = ord("S")
        elif char in ",.":
            table[code] = code
        elif char in "'\u2019-":
            table[code] = ord("'")
    table[_SURROGATES] = _SURROGATE
    table.flags.writeable = False
    return table


def load_tables() -> None:
    """Build the class table now (~10 ms compiled), as ``tokens.load_tables`` does its own."""
    _class_table()


def _classes(text: str) -> bytes | None:
    """One class byte for each character of ``text``; None when it holds a code point past the
    basic plane (or a lone surrogate), which the patterns over the text itself then serve."""
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    classes = _class_table().take(units).tobytes()
    return None if classes.find(b"Z") >= 0 else classes


_Spans = list[tuple[int, int]]


def _spans(text: str) -> tuple[_Spans, _Spans]:
    """Where ``text``'s names and numbers are: found over its character classes, or over the
    text itself when it holds a code point past the basic plane."""
    found: tuple[_Spans, _Spans] | None = None
    if kernels.terms is not None:  # the class patterns, scanned in one pass over the text
        found = kernels.terms.names_and_numbers(text, _class_table())
    elif (classes := _classes(text)) is not None:
        found = ([match.span() for match in _NAME_CLASSES.finditer(classes)],
                 [match.span() for match in _NUMBER_CLASSES.finditer(classes)])
    if found is None:
        return ([match.span() for match in _NAME.finditer(text)],
                [match.span() for match in _NUMBER.finditer(text)])
    return found


def _name_terms(text: str) -> tuple[U64, list[int], list[int]]:
    """The hashes of the words of ``text``'s names (``word_hashes``), and the term ids of its
    names and of its numbers (``_phrase_ids``)."""
    if kernels.terms is not None:  # Latin-1 names and numbers (nearly all): one pass
        found = kernels.terms.name_terms(text, _class_table(), _SENTENCE_END_CHARS,
                                         _SENTENCE_GAP, tokens.TYPOGRAPHIC_MARKS,
                                         tokens.LATIN1_IS_WORD, tokens.LATIN1_FOLD, *KERNEL_HASH)
        if found is not None:
            hashes, names, numbers = found
            return (np.frombuffer(hashes, dtype=np.uint64), _encoded_ids(names),
                    _encoded_ids(numbers))
    names, numbers = _names_and_numbers(text)
    return (word_hashes([unit for name in names for unit in name]),
            _phrase_ids("e", [" ".join(name) for name in names]), _phrase_ids("n", numbers))


def _names_and_numbers(text: str) -> tuple[list[list[str]], list[str]]:
    """``_names`` and the numbers (separators dropped) of ``text``."""
    names, numbers = _spans(text)
    return (_names(text, names),
            [text[start:end].replace(",", "") for start, end in numbers])


def _names(text: str, spans: _Spans) -> list[list[str]]:
    """The names at ``spans`` (capitalized word sequences), case-folded; a lone capital opening
    a sentence is no name."""
    if not spans:
        return []
    if kernels.terms is not None:  # names in ASCII and marks (nearly all) in C, others below
        found: list[list[str] | None] = kernels.terms.name_units(
            text, spans, _SENTENCE_END_CHARS, _SENTENCE_GAP, tokens.TYPOGRAPHIC_MARKS,
            tokens.ASCII_IS_WORD)
    else:
        found = [None] * len(spans)
    # a name is word characters, apostrophes, hyphens and spaces: its units are what it holds
    # of words. The names left (all of them in a checkout) are folded and cut into units in one
    # pass (case folding maps each character on its own, and no name holds a NUL).
    rest = [at for at, units in enumerate(found) if units is None]
    if rest:
        folded = "\0".join([text[spans[at][0]:spans[at][1]] for at in rest]).casefold()
        for at, units in zip(rest, tokens.units_of_parts(folded), strict=True):
            found[at] = units[1:] if _opens_sentence(text, spans[at][0]) else units
    return [units for units in found if units]


def _opens_sentence(text: str, at: int) -> bool:
    """Whether the character at ``at`` (a name's capital, never a space) is the text's first
    or follows a sentence's end and at most ``_SENTENCE_GAP`` spaces: looked up around each
    name, not searched for over the whole text."""
    before = text[max(0, at - _SENTENCE_GAP - 1):at]
    gap = len(before) - len(before.rstrip())
    return at == 0 or (gap <= _SENTENCE_GAP and gap < len(before)
                       and before[-gap - 1] in _SENTENCE_ENDS)


def term_counts(title: str, text: str, text_hashes: U64, title_weight: float,
                name_weight: float, number_weight: float) -> tuple[U32, F64]:
    """Sorted unique term ids of one article and their weighted counts.

    ``text_hashes`` are the term hashes of the text that fingerprinting computed
    (``BodyHashes.terms``: words, and bigrams in unspaced scripts); the body is hashed once per
    article and only names, numbers and the title's terms are hashed again.
    """
    sources = [(source, hashes, weight) for source, hashes, weight in
               ((text, text_hashes, 1.0), (title, None, title_weight)) if source and weight > 0]
    # each part's ids weigh alike: its words, its names' words, its names, its numbers
    parts: list[tuple[U64 | list[int], int, float]] = []
    for source, hashes, weight in sources:
        name_words, names, numbers = _name_terms(source)
        parts += [(word_hashes(tokens.terms(source.casefold())) if hashes is None else hashes,
                   _WORDS, weight),
                  (name_words, _NAME_WORDS, name_weight * weight),
                  (names, _PHRASES, name_weight * weight),
                  (numbers, _PHRASES, number_weight * weight)]
    if kernels.terms is not None:  # the ids made, placed and summed in one call
        size = sum(len(values) for values, _, _ in parts)
        unique, sums = np.empty(size, dtype=np.uint32), np.empty(size, dtype=np.float64)
        count = kernels.terms.gathered(unique, sums, parts, int(_MASK), int(_NAME_SALT),
                                       _NAME_MIX, _NAME_SHIFT)
        return unique[:count], sums[:count]
    if not parts:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.float64)
    ids = [_part_ids(values, kind) for values, kind, _ in parts]
    return term_sums(np.concatenate(ids).astype(np.uint32),
                     np.repeat(np.array([weight for _, _, weight in parts]),
                               [len(values) for values, _, _ in parts]))


def _part_ids(values: U64 | list[int], kind: int) -> U64:
    """The term ids of one part of an article (``term_counts``), by its kind."""
    if isinstance(values, list):  # phrase ids, made whole
        return np.array(values, dtype=np.uint64)
    return values & _MASK if kind == _WORDS else _name_ids(values)


def term_sums(terms: U32, weights: F64) -> tuple[U32, F64]:
    """The distinct ``terms``, ascending, and each one's ``weights`` summed in the order they
    come (as ``np.bincount`` adds them, from 0.0)."""
    if kernels.terms is not None:  # one radix sort and one pass for a dozen NumPy calls
        unique = np.empty(len(terms), dtype=np.uint32)
        sums = np.empty(len(terms), dtype=np.float64)
        count = kernels.terms.sums(unique, sums, terms, weights)
        return unique[:count], sums[:count]
    unique, inverse = unique_inverse(terms)
    summed: F64 = np.bincount(inverse, weights=weights,
                              minlength=len(unique)).astype(np.float64, copy=False)
    return unique, summed


def unique_inverse(values: U32) -> tuple[U32, npt.NDArray[np.intp]]:
    """``np.unique(values, return_inverse=True)`` for term ids: the same arrays, from one sort
    of the ids packed with their positions (on article-sized arrays NumPy's own layers cost
    more than the sort, and a 64-bit sort is several times faster than an argsort)."""
    keys = np.sort(values.astype(np.uint64) << np.uint64(32)
                   | np.arange(len(values), dtype=np.uint64))
    ordered = (keys >> np.uint64(32)).astype(np.uint32)
    opens = run_opens(ordered)
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[(keys & np.uint64(0xFFFFFFFF)).astype(np.intp)] = opens.cumsum() - 1
    return ordered[opens], inverse


class DocumentFrequencies:
    """Online document frequencies over hashed terms (fixed memory: 2**DF_BITS counters)."""

    def __init__(self, prior_documents: float = 0.0) -> None:
        self.counts = np.zeros(1 << DF_BITS, dtype=np.uint32)
        self.documents = 0
        self.prior = prior_documents

    def add(self, terms: U32) -> None:
        """One more document holding each of ``terms``."""
        if kernels.terms is not None:  # the counters a few terms ahead prefetched, no copy
            kernels.terms.count(self.counts, terms)
        else:
            self.counts[terms] += np.uint32(1)
        self.documents += 1

    def idf(self, terms: U32) -> npt.NDArray[np.float64]:
        df = self.counts[terms].astype(np.float64)
        return np.log((self.documents + self.prior + 1.0) / (df + 0.5))


def weigh(terms: U32, tf: F64, df: DocumentFrequencies, limit: int) -> Vector:
    """Unit TF-IDF vector of an article's ``limit`` strongest terms."""
    weights = (1.0 + np.log(np.maximum(tf, 1.0))) * df.idf(terms)
    return _normalized(terms, weights, limit)


def _normalized(terms: U32, weights: npt.NDArray[np.float64], limit: int) -> Vector:
    # Rounded to float32 (what is stored) before anything compares or sums them: a last-bit
    # difference in ``np.log``, whose SIMD variant depends on the CPU, then changes nothing.
    if kernels.terms is not None:  # every step below in one call, the same bits
        kept = max(0, min(len(terms), limit))
        out_terms, out_weights = np.empty(kept, np.uint32), np.empty(kept, np.float32)
        made = kernels.terms.normalized(out_terms, out_weights, terms, weights, limit)
        if made is not None:
            return Vector(out_terms, out_weights, 1.0 if made[1] > 0 else 0.0)
    weights = weights.astype(np.float32).astype(np.float64)
    if len(terms) > limit:
        keep = strongest(weights, limit)
        terms, weights = terms[keep], weights[keep]
    order = np.argsort(terms)
    terms, weights = terms[order], weights[order]
    norm = _norm(weights)
    if norm > 0:
        weights = weights / norm
    return Vector(terms, weights.astype(np.float32), 1.0 if norm > 0 else 0.0)


def strongest(weights: npt.NDArray[np.floating], count: int) -> npt.NDArray[np.intp]:
    """Positions of the ``count`` largest weights, ascending; a tie at the cut goes to the lower
    positions.

    ``np.argpartition`` alone would do, but it orders equal values by the instruction set its
    SIMD sort was built for, and tied weights are common (equal counts and frequencies): the
    same article would keep different terms, and decide differently, on another CPU.
    """
    if len(weights) <= count:
        return np.arange(len(weights))
    if kernels.terms is not None and count > 0:  # a quickselect and a pass, same positions
        found = np.empty(count, dtype=np.intp)
        if kernels.terms.strongest(found, weights) is not None:
            return found
    cut = np.partition(weights, len(weights) - count)[len(weights) - count]
    keep = weights > cut
    tied = (weights == cut).nonzero()[0]
    keep[tied[:count - int(np.count_nonzero(keep))]] = True
    positions: npt.NDArray[np.intp] = keep.nonzero()[0]
    return positions


def _norm(weights: F64) -> float:
    """Euclidean norm summed in numpy's own fixed (pairwise) order, the same on every CPU, where
    ``np.dot`` takes whichever BLAS kernel the CPU selects. (``np.add.reduce`` is what
    ``np.sum`` calls, without its Python layers.)"""
    return math.sqrt(float(np.add.reduce(weights * weights)))


def cosine(left: Vector, right: Vector) -> float:
    if left.norm == 0 or right.norm == 0:
        return 0.0
    _, i, j = np.intersect1d(left.terms, right.terms, assume_unique=True, return_indices=True)
    dot = float(np.add.reduce(left.weights[i].astype(np.float64) * right.weights[j]))
    return _unit_quotient(dot, left.norm * right.norm)


class TermColumns:
    """Term id -> column of a small dense matrix, for one computation at a time: a table over
    all 2**DF_BITS term ids (8 MB, reused) whose few used entries are set and then cleared,
    because looking terms up in it is several times cheaper than searching a sorted array.

    ``with table.numbered(terms):`` is the block the numbering holds in. The table is its own
    context manager, not a ``contextlib`` generator, whose machinery cost more than the
    lookups it wrapped (a block per candidate search)."""

    def __init__(self) -> None:
        self._table = np.full(1 << DF_BITS, -1, dtype=np.int32)
        self._numbered: U32 = np.zeros(0, dtype=np.uint32)

    def numbered(self, terms: U32) -> TermColumns:
        """Number the terms by position (a repeated term keeps its last position) for the
        ``columns`` lookups inside the block; the entries are cleared on the way out."""
        self._table[terms] = np.arange(len(terms), dtype=np.int32)
        self._numbered = terms
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        self._table[self._numbered] = -1

    def columns(self, terms: U32) -> npt.NDArray[np.int32]:
        """Columns of ``terms`` (-1 for a term not numbered)."""
        return self._table.take(terms)


def cosines(query: Vector, others: list[Vector], table: TermColumns) -> list[float]:
    """``cosine(query, other)`` for many others at once (one vectorized pass for the dot
    products; the query's terms are looked up through ``table``, cheaper than searching them
    for every other term). The few quotients are taken in Python: NumPy's masked divide and
    clip cost more per call than the handful of floats they would work on."""
    if not others or query.norm == 0 or len(query.terms) == 0:
        return [0.0] * len(others)
    if kernels.terms is not None:  # the same sums, with the query's terms in a cached table
        out = np.empty(len(others), dtype=np.float64)
        kernels.terms.dots(out, query.terms, query.weights, others)
        dots: list[float] = out.tolist()
    else:
        terms = np.concatenate([other.terms for other in others])
        with table.numbered(query.terms):
            at = table.columns(terms)
        hit = at >= 0
        weights = np.concatenate([other.weights for other in others])[hit].astype(np.float64)
        owner = np.repeat(np.arange(len(others)), [len(other.terms) for other in others])
        dots = np.bincount(owner[hit], weights=weights * query.weights[at[hit]],
                           minlength=len(others)).tolist()
    return [_unit_quotient(dot, other.norm * query.norm)
            for dot, other in zip(dots, others, strict=True)]


def _unit_quotient(dot: float, norms: float) -> float:
    """``dot / norms`` held to [0, 1] (0 when either vector is empty)."""
    return max(0.0, min(1.0, dot / norms)) if norms > 0 else 0.0


def add_vectors(left: Vector, right: Vector, limit: int) -> Vector:
    """Sum of two (unnormalized) centroids, truncated to its ``limit`` strongest terms."""
    unique, summed = term_sums(np.concatenate((left.terms, right.terms)),
                               np.concatenate((left.weights, right.weights)).astype(np.float64))
    if len(unique) > limit:
        keep = strongest(summed, limit)
        unique, summed = unique[keep], summed[keep]
    norm = _norm(summed)
    return Vector(unique.astype(np.uint32), summed.astype(np.float32), norm)


def remove_vector(total: Vector, part: Vector) -> Vector:
    """A centroid without one of its articles: ``part``'s weights taken out of ``total``'s terms
    (terms the centroid truncated away stay away), weights left at zero dropped."""
    at = np.minimum(np.searchsorted(total.terms, part.terms), max(len(total.terms) - 1, 0))
    hit = total.terms[at] == part.terms if len(total.terms) else np.zeros(0, dtype=bool)
    weights = total.weights.astype(np.float64)
    weights[at[hit]] -= part.weights[hit]
    keep = weights > 1e-6
    weights = weights[keep]
    return Vector(total.terms[keep], weights.astype(np.float32), _norm(weights))


def member_similarities(centroids: list[Vector], terms: U32, weights: F32,
                        own: npt.NDArray[np.intp], table: TermColumns) -> tuple[F64, F64]:
    """Cosines of article vectors (rows of ``terms``/``weights``, zero-padded) to each centroid,
    and to their own story's centroid (``centroids[own[i]]``) with the article taken out.

    The second figure is what the article would score had it arrived last: the fair rival of
    the first when deciding whether it sits in the wrong story. It is -1 where nothing is left
    of the own centroid (the article is its story's only vector)."""
    held = np.concatenate([centroid.terms for centroid in centroids])
    # a term several centroids hold gets the column of its last place; the last column stays
    # zero and is what terms no centroid holds (column -1) read
    dense = np.zeros((len(centroids), len(held) + 1), dtype=np.float32)
    with table.numbered(held):
        for row, centroid in enumerate(centroids):
            dense[row, table.columns(centroid.terms)] = centroid.weights
        at = table.columns(terms)
    gathered = dense.take(at, axis=1)  # stories x articles x terms; -1 is the zero column
    norms = np.array([centroid.norm for centroid in centroids])
    dots = np.einsum("sak,ak->as", gathered, weights).astype(np.float64)
    to_all = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    own_weights = gathered[own, np.arange(len(own))].astype(np.float64)
    mine = weights.astype(np.float64)
    left = np.maximum(own_weights - mine, 0.0)
    left_squared = norms[own] ** 2 - np.sum(own_weights ** 2 - left ** 2, axis=1)
    left_norm = np.sqrt(np.maximum(left_squared, 0.0))
    without = np.full(len(own), -1.0)
    # float32 weights: a remainder under 1e-3 of the squared norm is rounding, not a story
    np.divide(np.sum(mine * left, axis=1), left_norm, out=without,
              where=left_squared > 1e-3 * norms[own] ** 2)
    return np.clip(without, -1.0, 1.0), np.clip(to_all, 0.0, 1.0)


def top_term_ids(vector: Vector, count: int) -> U32:
    """Ids of the vector's ``count`` strongest terms, ascending, as an array."""
    return vector.terms[strongest(vector.weights, count)]


def top_terms(vector: Vector, count: int) -> list[int]:
    """``top_term_ids`` as a list of ints."""
    terms: list[int] = top_term_ids(vector, count).tolist()
    return terms


_STORY_BITS = 48
# A posting keeps this many times ``postings_read`` stories. `python -m bench.sweep_constant
# service/stages/cluster.py POSTINGS_KEPT_PER_READ 2 8 -- python -m bench.sweep postings_read 32`:
# 2 and 8 both stories 0.915; 0.902, 0.828, as 4 does: the dev set's postings stay short; a
# memory bound, not a fit.
POSTINGS_KEPT_PER_READ = 4
_STORY_MASK = (1 << _STORY_BITS) - 1


class TermIndex:
    """Inverted index: term id -> stories holding it among their top terms, by last update.

    A posting keeps at most ``POSTINGS_KEPT_PER_READ * postings_read`` stories (the most recently
    updated), so a common term costs bounded memory and time; only the newest ``postings_read``
    (at least one) are read. The content of a posting depends only on the stories' update order,
    which a restore replays.

    Most postings hold one story (most of a story's top terms are its own names and figures): such
    a posting is that story in a table over all term ids, 8 bytes, where a list in a dict cost
    about 200 (the list, the entry, an int for the term). Longer postings are arrays in a dict:
    8 bytes a story where a list held an int object for each, read in one place.
    """

    def __init__(self, terms_per_story: int, postings_read: int) -> None:
        self.terms_per_story = terms_per_story
        self.postings_read = max(1, postings_read)
        self._kept = POSTINGS_KEPT_PER_READ * self.postings_read
        self._lone = np.zeros(1 << DF_BITS, dtype=np.int64)  # the one story + 1; 0: none or more
        self._postings: dict[int, array[int]] = {}  # two stories or more
        self._indexed: dict[int, array[int]] = {}

    def update(self, story: int, vector: Vector) -> None:
        """(Re)index ``story`` under its current top terms, as the most recently updated."""
        self.remove(story)
        terms = top_terms(vector, self.terms_per_story)
        for term in terms:
            lone = int(self._lone[term])
            if lone:
                self._lone[term] = 0
                self._postings[term] = array("q", (lone - 1, story))
            elif (posting := self._postings.get(term)) is not None:
                posting.append(story)
                if len(posting) > self._kept:
                    del posting[0]
            else:
                self._lone[term] = story + 1
        self._indexed[story] = array("I", terms)

    def remove(self, story: int) -> None:
        for term in self._indexed.pop(story, ()):
            if self._lone[term] == story + 1:
                self._lone[term] = 0
                continue
            posting = self._postings.get(term)
            if posting is not None and story in posting:
                posting.remove(story)
                if len(posting) == 1:
                    self._lone[term] = posting[0] + 1
                    del self._postings[term]

    def candidates(self, query: Vector, query_terms: int, limit: int) -> list[int]:
        """Stories sharing the most of the query's strongest terms (ties: most recent first)."""
        terms = top_term_ids(query, query_terms)
        if kernels.terms is not None:  # the votes counted and ranked in C
            found: list[int] = kernels.terms.candidates(self._lone, self._postings, terms,
                                                        self.postings_read, limit)
            return found
        votes: Counter[int] = Counter()
        for term in terms.tolist():
            lone = int(self._lone[term])
            if lone:
                votes[lone - 1] += 1
            elif (posting := self._postings.get(term)) is not None:
                votes.update(posting[-self.postings_read:])
        # (votes, story) packed in one int: sorting plain ints is several times faster than
        # sorting by a key function, and a lookup in a full index has dozens of stories to rank
        ranked = sorted([count << _STORY_BITS | story for story, count in votes.items()],
                        reverse=True)
        return [packed & _STORY_MASK for packed in ranked[:limit]]

    def __len__(self) -> int:
        return len(self._indexed)

