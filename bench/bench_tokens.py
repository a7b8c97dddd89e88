"""Where counting words by regex stops paying: ``tokens.word_count`` and ``unit_words`` on plain
text outside Latin-1 (Cyrillic, Greek, Latin Extended... with no joiner and no unspaced letter),
by the regex path against ``scan``, per length of text.

``re``'s Unicode ``\\w`` costs a fixed amount a character; ``scan`` costs a few dozen
microseconds of NumPy calls a text and less a character, so the regex wins on lines and loses
on whole articles. ``tokens.REGEX_COUNT_MAX_CHARS`` is set from this table. The texts are the
development texts' paragraphs and whole texts (``extraction-text``, ``stories``); a zero-width
joiner appended to a text (a joiner adds no word) sends it down the ``scan`` path.

    python -m bench.bench_tokens [--shared ../shared]

Run it from a compiled tree (``python -m bench.build``) to measure what the service runs.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from pathlib import Path

import orjson

from bench.bench_extraction import pages_per_second
from bench.bench_text import dev_messages
from service.stages import tokens

BUCKETS = ((0, 200), (200, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 8000),
           (8000, 1 << 30))
PER_BUCKET = 60
JOINER = "\u200d"


def plain_texts(shared: Path) -> dict[tuple[int, int], list[str]]:
    """Up to ``PER_BUCKET`` plain, non-Latin-1 texts per length bucket: whole texts and lines."""
    found: dict[tuple[int, int], list[str]] = {bucket: [] for bucket in BUCKETS}
    for message in dev_messages(shared):
        text = tokens.plain_punctuation(orjson.loads(message).get("text") or "")
        for piece in (text, *text.split("\n")):
            if tokens.latin1(piece) is not None or not tokens._is_plain(piece):
                continue
            for low, high in BUCKETS:
                if low <= len(piece) < high and len(found[(low, high)]) < PER_BUCKET:
                    found[(low, high)].append(piece)
    return found


def best_us(count: Callable[[str], int], texts: list[str]) -> float:
    """Microseconds a text, the best of five rounds."""
    return 1e6 / pages_per_second(texts, count, rounds=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    args = parser.parse_args()
    print(f"{'chars':>12} {'texts':>5} {'mean':>6}   word_count regex/scan   unit_words regex/scan"
          f"   (µs; regex used up to {tokens.REGEX_COUNT_MAX_CHARS} chars)")
    for (low, high), texts in plain_texts(args.shared).items():
        if not texts:
            continue
        joined = [text + JOINER for text in texts]
        cells = []
        for count, by_regex in ((tokens.word_count, _regex_word_count),
                                (tokens.unit_words, _regex_unit_words)):
            cells.append(f"{best_us(by_regex, texts):8.1f} / {best_us(count, joined):7.1f}")
        span = f"{low}-{high}" if high < 1 << 30 else f"{low}+"
        print(f"{span:>12} {len(texts):>5} {statistics.mean(map(len, texts)):6.0f}   "
              + "   ".join(cells))
    return 0


def _regex_word_count(text: str) -> int:
    """``word_count``'s regex path (the check, then the count), at any length."""
    return tokens._plain_word_count(text) if tokens._is_plain(text) else 0


def _regex_unit_words(text: str) -> int:
    """``unit_words``' regex path, at any length."""
    return len(tokens._plain_units(text) or ())


if __name__ == "__main__":
    raise SystemExit(main())
