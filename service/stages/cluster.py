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

import re
from collections import Counter
from itertools import islice
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import xxhash

DF_BITS = 21
U32 = npt.NDArray[np.uint32]
F32 = npt.NDArray[np.float32]

_WORD = re.compile(r"\w+")
_NAME = re.compile(r"[A-Z][\w'\u2019-]*(?:\s+[A-Z][\w'\u2019-]*)*")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_SENTENCE = re.compile(r"(?<=[.!?\"”])\s+")


class Vector(NamedTuple):
    """Sorted term ids with float32 weights and the vector's Euclidean norm."""

    terms: U32
    weights: F32
    norm: float


def _term_id(term: str) -> int:
    return xxhash.xxh3_64_intdigest(term.encode()) & ((1 << DF_BITS) - 1)


def _names(text: str) -> list[list[str]]:
    """Capitalized word sequences, lower-cased; a lone capital opening a sentence is no name."""
    found: list[list[str]] = []
    for sentence in _SENTENCE.split(text):
        for match in _NAME.finditer(sentence):
            tokens = _WORD.findall(match.group().lower())
            if match.start() == 0:
                tokens = tokens[1:]
            if tokens:
                found.append(tokens)
    return found


def term_counts(title: str, text: str, title_weight: float, name_weight: float,
                number_weight: float) -> dict[int, float]:
    """Weighted term counts of one article, keyed by hashed term id."""
    counts: Counter[str] = Counter()
    for source, weight in ((text, 1.0), (title, title_weight)):
        if not source or weight <= 0:
            continue
        for token in _WORD.findall(source.lower()):
            counts["w" + token] += weight
        for name in _names(source):
            counts["e" + " ".join(name)] += name_weight * weight
            for token in name:
                counts["c" + token] += name_weight * weight
        if number_weight > 0:
            for number in _NUMBER.findall(source):
                counts["n" + number.replace(",", "")] += number_weight * weight
    merged: dict[int, float] = {}
    for term, count in counts.items():
        key = _term_id(term)
        merged[key] = merged.get(key, 0.0) + count
    return merged


class DocumentFrequencies:
    """Online document frequencies over hashed terms (fixed memory: 2**DF_BITS counters)."""

    def __init__(self, prior_documents: float = 0.0) -> None:
        self.counts = np.zeros(1 << DF_BITS, dtype=np.uint32)
        self.documents = 0
        self.prior = prior_documents

    def add(self, terms: U32) -> None:
        self.counts[terms] += np.uint32(1)
        self.documents += 1

    def idf(self, terms: U32) -> npt.NDArray[np.float64]:
        df = self.counts[terms].astype(np.float64)
        return np.log((self.documents + self.prior + 1.0) / (df + 0.5))


def weigh(counts: dict[int, float], df: DocumentFrequencies, limit: int) -> Vector:
    """Unit TF-IDF vector of an article's ``limit`` strongest terms."""
    terms = np.fromiter(counts.keys(), dtype=np.uint32, count=len(counts))
    tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
    weights = (1.0 + np.log(np.maximum(tf, 1.0))) * df.idf(terms)
    return _normalized(terms, weights, limit)


def _normalized(terms: U32, weights: npt.NDArray[np.float64], limit: int) -> Vector:
    if len(terms) > limit:
        keep = np.argpartition(-weights, limit)[:limit]
        terms, weights = terms[keep], weights[keep]
    order = np.argsort(terms)
    terms, weights = terms[order], weights[order]
    norm = float(np.sqrt(np.dot(weights, weights)))
    if norm > 0:
        weights = weights / norm
    return Vector(terms, weights.astype(np.float32), 1.0 if norm > 0 else 0.0)


def cosine(left: Vector, right: Vector) -> float:
    if left.norm == 0 or right.norm == 0:
        return 0.0
    _, i, j = np.intersect1d(left.terms, right.terms, assume_unique=True, return_indices=True)
    dot = float(np.dot(left.weights[i].astype(np.float64), right.weights[j]))
    return max(0.0, min(1.0, dot / (left.norm * right.norm)))


def add_vectors(left: Vector, right: Vector, limit: int) -> Vector:
    """Sum of two (unnormalized) centroids, truncated to its ``limit`` strongest terms."""
    terms = np.concatenate((left.terms, right.terms))
    weights = np.concatenate((left.weights, right.weights)).astype(np.float64)
    unique, inverse = np.unique(terms, return_inverse=True)
    summed = np.bincount(inverse, weights=weights, minlength=len(unique))
    if len(unique) > limit:
        keep = np.argpartition(-summed, limit)[:limit]
        keep.sort()
        unique, summed = unique[keep], summed[keep]
    norm = float(np.sqrt(np.dot(summed, summed)))
    return Vector(unique.astype(np.uint32), summed.astype(np.float32), norm)


def top_terms(vector: Vector, count: int) -> list[int]:
    if len(vector.terms) <= count:
        return [int(t) for t in vector.terms]
    keep = np.argpartition(-vector.weights, count)[:count]
    return sorted(int(t) for t in vector.terms[keep])


class TermIndex:
    """Inverted index: term id -> stories holding it among their top terms, by last update."""

    def __init__(self, terms_per_story: int, postings_read: int) -> None:
        self.terms_per_story = terms_per_story
        self.postings_read = postings_read
        self._postings: dict[int, dict[int, None]] = {}
        self._indexed: dict[int, list[int]] = {}

    def update(self, story: int, vector: Vector) -> None:
        """(Re)index ``story`` under its current top terms, as the most recently updated."""
        self.remove(story)
        terms = top_terms(vector, self.terms_per_story)
        for term in terms:
            self._postings.setdefault(term, {})[story] = None
        self._indexed[story] = terms

    def remove(self, story: int) -> None:
        for term in self._indexed.pop(story, ()):
            posting = self._postings[term]
            del posting[story]
            if not posting:
                del self._postings[term]

    def candidates(self, query: Vector, query_terms: int, limit: int) -> list[int]:
        """Stories sharing the most of the query's strongest terms (ties: most recent first)."""
        votes: Counter[int] = Counter()
        for term in top_terms(query, query_terms):
            posting = self._postings.get(term)
            if posting:
                votes.update(islice(reversed(posting), self.postings_read))
        return [story for story, _ in sorted(votes.items(), key=lambda kv: (-kv[1], -kv[0]))
                [:limit]]

    def __len__(self) -> int:
        return len(self._indexed)

