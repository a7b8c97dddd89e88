"""The language of a text: py3langid's model, with its tokenizer walk vectorized (and in the
compiled build, walked and scored by a C kernel, ``_langscore.c``).

Its own module (not ``metadata``'s) so the compiled build can compile the rest of the metadata:
mypyc cannot compile a subclass of py3langid's identifier (setup.py)."""

from __future__ import annotations

from array import array
from functools import lru_cache

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

from service.stages import kernels
from service.stages.runs import run_lengths, run_opens


class _Identifier(LanguageIdentifier):  # type: ignore[misc]  # py3langid ships no types
    """py3langid's identifier with its tokenizer walk done by NumPy instead of byte by byte.

    The tokenizer is an Aho-Corasick automaton over the model's byte n-grams, so the state after
    any byte is the state reached from the start over just the last ``window`` bytes (the longest
    n-gram). Stepping every position's window at once gives the same states, so the same feature
    counts and scores, several times faster than py3langid's Python loop (its largest cost).
    The compiled build scores with its C kernel ``_langscore`` instead: the same walk, counts
    and sums in one pass, without the NumPy temporaries."""

    __slots__ = ("_emits", "_emits32", "_moves", "_offsets", "_rows", "_window")

    def __init__(self, ptc: np.ndarray, pc: np.ndarray, classes: list[str], nextmove: array[int],
                 output: list[int], row: array[int]) -> None:
        # A NumPy copy of the transitions, which NumPy backs with huge pages: the walk's jumps
        # all over its ~40 MB then miss the TLB far less often.
        moves = np.array(nextmove, dtype=nextmove.typecode)
        super().__init__(ptc, pc, classes, moves, output, tk_row=row)
        self._moves = moves
        self._offsets = np.frombuffer(row, dtype=row.typecode).astype(np.intp) << 8
        self._emits = np.asarray(output, dtype=np.intp)
        self._window = _deepest_state(self._moves, self._offsets)
        self._rows = np.frombuffer(row, dtype=np.uint16)
        self._emits32 = self._emits.astype(np.int32)

    def _raw_score(self, text: bytes) -> np.ndarray:
        scores = (self._numpy_score(text) if kernels.langscore is None
                  else self._compiled_score(text))
        if scores is None:  # no feature: the library's own score of such a text
            featureless: np.ndarray = super()._raw_score(text)
            return featureless
        return scores

    def _compiled_score(self, text: bytes) -> np.ndarray | None:
        assert kernels.langscore is not None
        scores = np.empty(len(self.nb_pc), dtype=np.float32)
        found = kernels.langscore.score(scores, text, self._window, self._moves, self._rows,
                                        self._emits32, self.nb_ptc, self.nb_pc)
        return scores if found else None

    def _numpy_score(self, text: bytes) -> np.ndarray | None:
        codes = np.frombuffer(text, dtype=np.uint8).astype(np.intp)
        states = np.zeros(len(codes), dtype=np.intp)
        for back in range(min(self._window, len(codes)) - 1, -1, -1):
            ahead = states[back:]
            states[back:] = self._moves[self._offsets[ahead] + codes[: len(ahead)]]
        emitted = self._emits[states]
        emitted = emitted[emitted >= 0]
        if not len(emitted):
            return None
        features, counts = _counts_in_order(emitted)
        scores: np.ndarray = (np.log1p(counts.astype(np.float32)) @ self.nb_ptc[features]
                              + self.nb_pc)
        return scores


def _counts_in_order(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``values`` in the order they first occur, and how often each occurs (as
    py3langid's ``Counter``, whose order decides how its scores are summed)."""
    positions = np.arange(len(values))
    keys = np.sort(values << 32 | positions)  # by value, then position: each run opens at its first
    sorted_values = keys >> 32
    runs = run_opens(sorted_values).nonzero()[0]
    firsts = keys[runs] & 0xFFFFFFFF
    counts = np.zeros(len(values), dtype=np.intp)
    counts[firsts] = run_lengths(runs, len(keys))
    first = counts > 0
    return values[first], counts[first]


def _deepest_state(moves: np.ndarray, offsets: np.ndarray) -> int:
    """Steps from the start state to the farthest state of the tokenizer (breadth first): the
    length of its longest n-gram."""
    seen = np.zeros(len(offsets), dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.intp)
    depth = 0
    while len(frontier):
        rows = np.unique(offsets[frontier])
        reached = np.zeros(len(offsets), dtype=bool)
        reached[moves[(rows[:, None] + np.arange(256)).ravel()]] = True
        frontier = np.flatnonzero(reached & ~seen)
        seen |= reached
        depth += 1
    return depth - 1


@lru_cache(maxsize=1)
def _language_identifier() -> _Identifier:
    """py3langid's bundled model with its feature table widened once from float16 to float32.

    py3langid widens the table rows each text touches on every call, which costs more than the
    rest of the classification; widening is exact, so the scores and codes are the same (at the
    price of ~57 MB instead of ~28 MB for the table)."""
    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    return _Identifier(ptc.astype(np.float32), pc, classes, nextmove, output, row)


# Characters of the body the language is read from: on the 2,363 development texts a 400-char
# sample named the same language as 1,500 chars in every case, and the cost grows with it.
LANGUAGE_SAMPLE_CHARS = 600


def load_language_model() -> None:
    """Load the language model now (it takes seconds): a worker does so before it joins its
    group, so the first article doesn't hold the event loop, and /healthz with it, that long."""
    _language_identifier()


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text`` from py3langid's bundled model ("und" when empty)."""
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if not sample.strip():
        return "und"
    code, _score = _language_identifier().classify(sample)
    return str(code)


def language_hint(value: str | None) -> str | None:
    """``en-US`` -> ``en``; None for values that are not language tags."""
    if not value:
        return None
    code = value.strip().split("-")[0].split("_")[0].lower()
    return code if len(code) == 2 and code.isalpha() else None
