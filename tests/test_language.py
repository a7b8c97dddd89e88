"""Language identification scores a text as py3langid's own identifier does: the NumPy walk a
pure checkout runs here, the C kernel of the compiled build in ``tests/test_kernels.py``."""

from __future__ import annotations

import random

import numpy as np
from py3langid.langid import LanguageIdentifier, visit_counts

from service.stages.normalize import language
from tests.multilingual import EDITED, OTHER_EVENTS, REPORTS, REWRITES


def samples() -> list[bytes]:
    """Texts in eleven languages and scripts, cut where the service cuts them, with edge cases
    (empty, one byte, bytes no feature starts with) and random bytes of every value."""
    texts = [report.text[: language.LANGUAGE_SAMPLE_CHARS]
             for report in (*REPORTS, *EDITED, *OTHER_EVENTS, *REWRITES)]
    texts += [report.title for report in REPORTS]
    encoded = [text.encode("utf-8") for text in texts]
    rng = random.Random(7)
    encoded += [rng.randbytes(rng.randrange(1, 700)) for _ in range(100)]
    return [*encoded, b"", b"a", b"\x00\x01\x02", bytes(range(256))]


def library_score(identifier: language._Identifier, text: bytes) -> np.ndarray:
    """py3langid's own score: its byte-by-byte walk and ``Counter``."""
    scores: np.ndarray = LanguageIdentifier._raw_score(identifier, text)
    return scores


def assert_same_scores(ours: np.ndarray, theirs: np.ndarray) -> None:
    # float32 sums in another order: equal to a few units in the last place, same language
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3)
    assert int(ours.argmax()) == int(theirs.argmax())


def test_the_numpy_walk_scores_as_py3langid() -> None:
    identifier = language._language_identifier()
    featureless = 0
    for text in samples():
        ours = identifier._numpy_score(text)
        if ours is None:  # no feature: _raw_score falls back to the library's own score
            featureless += 1
            assert visit_counts(identifier.tk_nextmove, identifier._rowbase,
                                identifier.tk_output, text) is None
            continue
        assert_same_scores(ours, library_score(identifier, text))
    assert featureless < 5  # the samples do exercise the walk


def test_detect_language_names_each_reports_language() -> None:
    for report in REPORTS:
        assert language.detect_language(report.text) == report.lang, report.key
