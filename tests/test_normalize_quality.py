"""Extraction quality floors on the dev data and the seed labels (skipped without ../shared)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.eval_extraction import evaluate, normalize_extractor, seed_failures  # noqa: E402

SHARED = ROOT.parent / "shared"
needs_shared = pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared absent")

# What the current extractor reaches on dev (see bench/eval_extraction.py); a change that
# drops below fails here.
HTML_F1_FLOOR = 0.98
WCXB_F1_FLOOR = 0.935
WCXB_MAX_LOST = 4
TEXT_F1_FLOOR = 0.924


@needs_shared
def test_html_extraction_f1_floor() -> None:
    score, _ = evaluate(SHARED / "data" / "extraction", normalize_extractor())
    assert score.f1 >= HTML_F1_FLOOR, score


@needs_shared
def test_wcxb_extraction_f1_floor_and_pages_lost() -> None:
    folder = SHARED / "data" / "extraction-wcxb"
    score, worst = evaluate(folder, normalize_extractor(), worst=WCXB_MAX_LOST + 1)
    assert score.f1 >= WCXB_F1_FLOOR, score
    assert worst[-1][0] > 0, worst  # at most WCXB_MAX_LOST pages score nothing


@needs_shared
def test_text_extraction_f1_floor() -> None:
    score, _ = evaluate(SHARED / "data" / "extraction-text", normalize_extractor())
    assert score.f1 >= TEXT_F1_FLOOR, score


@needs_shared
def test_seed_labels() -> None:
    """must_keep kept, must_drop gone, at_most_once respected, dates found, titles guessed."""
    assert seed_failures(SHARED) == []
