"""Language identification scores a text as py3langid's own identifier does, on every path:
the NumPy walk a pure checkout runs and the C kernel of the compiled build
(``tests/test_compiled.py`` runs ``check_the_kernel`` in that build)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from py3langid.langid import LanguageIdentifier, visit_counts

from service.stages.normalize import language
from tests.multilingual import EDITED, OTHER_EVENTS, REPORTS, REWRITES


def _samples() -> list[bytes]:
    """Texts in eleven languages and scripts, cut where the service cuts them, with edge cases
    (empty, one byte, bytes no feature starts with) and random bytes of every value."""
    texts = [report.text[: language.LANGUAGE_SAMPLE_CHARS]
             for report in (*REPORTS, *EDITED, *OTHER_EVENTS, *REWRITES)]
    texts += [report.title for report in REPORTS]
    encoded = [text.encode("utf-8") for text in texts]
    rng = random.Random(7)
    encoded += [rng.randbytes(rng.randrange(1, 700)) for _ in range(100)]
    return [*encoded, b"", b"a", b"\x00\x01\x02", bytes(range(256))]


def _library_score(identifier: language._Identifier, text: bytes) -> np.ndarray:
    """py3langid's own score: its byte-by-byte walk and ``Counter``."""
    scores: np.ndarray = LanguageIdentifier._raw_score(identifier, text)
    return scores


def _assert_same_scores(ours: np.ndarray, theirs: np.ndarray) -> None:
    # float32 sums in another order: equal to a few units in the last place, same language
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3)
    assert int(ours.argmax()) == int(theirs.argmax())


def test_the_numpy_walk_scores_as_py3langid() -> None:
    identifier = language._language_identifier()
    featureless = 0
    for text in _samples():
        ours = identifier._numpy_score(text)
        if ours is None:  # no feature: _raw_score falls back to the library's own score
            featureless += 1
            assert visit_counts(identifier.tk_nextmove, identifier._rowbase,
                                identifier.tk_output, text) is None
            continue
        _assert_same_scores(ours, _library_score(identifier, text))
    assert featureless < 5  # the samples do exercise the walk


def test_detect_language_names_each_reports_language() -> None:
    for report in REPORTS:
        assert language.detect_language(report.text) == report.lang, report.key


def check_the_kernel() -> None:
    """The compiled build's kernel is loaded and scores as the NumPy walk and py3langid do; it
    refuses tables that do not fit together instead of reading past them."""
    assert language._langscore is not None, "the compiled build has no language kernel"
    identifier = language._language_identifier()
    for text in _samples():
        compiled, walked = identifier._compiled_score(text), identifier._numpy_score(text)
        assert (compiled is None) == (walked is None), text
        if compiled is not None and walked is not None:
            _assert_same_scores(compiled, walked)
            _assert_same_scores(compiled, _library_score(identifier, text))
    scores = np.empty(len(identifier.nb_pc), dtype=np.float32)
    moves = np.full(256, 5, dtype=np.uint32)  # every move to a state that does not exist
    one_state = np.zeros(1, dtype=np.uint16), np.zeros(1, dtype=np.int32)
    with pytest.raises(ValueError, match="outside its tables"):
        language._langscore.score(scores, b"abc", 1, moves, *one_state, identifier.nb_ptc,
                                  identifier.nb_pc)
    with pytest.raises(ValueError, match="differ in length"):
        language._langscore.score(scores, b"abc", 1, moves, one_state[0],
                                  np.zeros(2, dtype=np.int32), identifier.nb_ptc,
                                  identifier.nb_pc)


@pytest.mark.skipif(language._langscore is None, reason="a pure checkout: test_compiled runs it")
def test_the_kernel_scores_as_the_numpy_walk() -> None:
    check_the_kernel()
