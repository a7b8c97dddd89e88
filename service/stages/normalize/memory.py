"""Furniture learned from the stream: lines that recur across many articles of one source.

Per source (registered domain) the memory counts, for each short-to-medium line, how many
distinct articles carried it. A line seen in ``min_articles`` different articles of the source is
furniture (a newsletter box, a donation appeal, a footer), whatever its wording or language.

Behaviour, by design:
- Deterministic: state depends only on the order of ``learn`` calls.
- Bounded: at most ``max_sources`` sources (least recently used evicted), ``max_lines`` line
  counters per source (lines seen once, then the oldest, evicted first) and ``max_articles``
  remembered article ids per source.
- Redelivery-safe: an article (by id) is counted once per source, so processing the same article
  again neither reinforces its own lines nor changes what is judged furniture in it. Callers also
  ask ``furniture`` before ``learn`` (``observe`` does both, in that order), so an article is
  never judged on lines it taught, and keep an article whole when its "furniture" would be most
  of its body (a copy of an article seen before, not page furniture): a redelivered article
  loses at most the furniture lines.
- Early in a stream it knows nothing; the general signals in ``text``/``html`` do the work then.
"""

from __future__ import annotations

import re
import string
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache

import xxhash

from service.stages import kernels
from service.stages.normalize.lines import plain_form
from service.stages.normalize.settings import NormalizeSettings

_DIGITS = re.compile(r"\d+")
_NON_WORD = re.compile(r"[\W_]+")
# ASCII lines fold by one byte translation: letters lower-cased, digits to "0", the rest spaces.
_ASCII_FOLD = bytes(
    ord(chr(c).lower()) if chr(c) in string.ascii_letters
    else ord("0") if chr(c) in string.digits else ord(" ")
    for c in range(256)
)


def _fold(line: str) -> str:
    """Case, punctuation and digit runs folded: words joined by single spaces, numbers as 0."""
    line = plain_form(line)  # typographic marks fold to spaces either way
    if not line.isascii():
        return _NON_WORD.sub(" ", _DIGITS.sub("0", line.lower())).strip()
    if kernels.units is not None:  # one pass, for the byte passes below
        folded: str = kernels.units.ascii_fold(line)
        return folded
    # folded as bytes, then joined up as str: ``b"  " in folded`` costs ~0.5 us (bytes first
    # try the operand as an integer, and fail), ``"  " in folded`` 0.04
    folded = line.encode("ascii").translate(_ASCII_FOLD).decode("ascii")
    for run, one in (("  ", " "), ("00", "0")):  # runs of spaces, then of zeros, to one
        while run in folded:
            folded = folded.replace(run, one)
    return folded.strip()


# Lines shorter than LINE_KEY_MIN_CHARS folded characters (a bullet, a number) or longer than
# LINE_KEY_MAX_CHARS (a paragraph, which a source does not repeat as furniture) are never
# counted. `python -m bench.sweep_constant service/stages/normalize/memory.py NAME VALUES...
# -- python -m bench.eval_neardup` (and bench.eval_extraction --extractor normalize --split
# extraction-text): LINE_KEY_MIN_CHARS 2 and 8, LINE_KEY_MAX_CHARS 300 and 1200 all give
# duplicates 0.9993 and text 0.9283, as the kept values do: no dev set repeats a source's
# furniture often enough to tell them apart, so these are choices, not fits.
LINE_KEY_MIN_CHARS = 4
LINE_KEY_MAX_CHARS = 600


@lru_cache(maxsize=4096)
def line_key(line: str) -> bytes | None:
    """A digest of the line with case, punctuation and numbers folded (dates vary per page).
    Memoized: a source's furniture lines come back on every page."""
    folded = _fold(line)
    if len(folded) < LINE_KEY_MIN_CHARS or len(folded) > LINE_KEY_MAX_CHARS:
        return None
    return xxhash.xxh3_64_digest(folded.encode("utf-8"))


@dataclass(slots=True)
class _Source:
    counts: OrderedDict[bytes, int] = field(default_factory=OrderedDict)
    articles: OrderedDict[str, None] = field(default_factory=OrderedDict)


class FurnitureMemory:
    """Per-worker memory of recurring lines, one bounded table per source."""

    def __init__(self, *, max_sources: int = NormalizeSettings.memory_sources,
                 max_lines: int = NormalizeSettings.memory_lines_per_source,
                 max_articles: int = NormalizeSettings.memory_articles_per_source,
                 min_articles: int = NormalizeSettings.memory_min_articles) -> None:
        self.max_sources = max_sources
        self.max_lines = max_lines
        self.max_articles = max_articles
        self.min_articles = min_articles
        self._sources: OrderedDict[str, _Source] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: NormalizeSettings) -> FurnitureMemory:
        return cls(max_sources=settings.memory_sources,
                   max_lines=settings.memory_lines_per_source,
                   max_articles=settings.memory_articles_per_source,
                   min_articles=settings.memory_min_articles)

    @property
    def source_count(self) -> int:
        """Sources currently remembered (at most ``max_sources``)."""
        return len(self._sources)

    def line_count(self, source: str) -> int:
        """Line counters held for ``source`` (at most ``max_lines``)."""
        table = self._sources.get(source)
        return 0 if table is None else len(table.counts)

    def furniture(self, source: str, lines: list[str]) -> set[int]:
        """Indexes of ``lines`` that earlier articles of ``source`` showed to be furniture."""
        return self._furniture(source, [line_key(line) for line in lines])

    def learn(self, source: str, article_id: str, lines: list[str]) -> None:
        """Count each distinct line of one article once; a repeated article_id is ignored."""
        self._learn(source, article_id, [line_key(line) for line in lines])

    def observe(self, source: str, article_id: str, lines: list[str]) -> set[int]:
        """``furniture`` then ``learn`` for one article, folding and hashing each line once."""
        keys = [line_key(line) for line in lines]
        found = self._furniture(source, keys)
        self._learn(source, article_id, keys)
        return found

    def _furniture(self, source: str, keys: list[bytes | None]) -> set[int]:
        table = self._sources.get(source)
        if table is None:
            return set()
        counts, least = table.counts, self.min_articles
        return {index for index, key in enumerate(keys)
                if key is not None and counts.get(key, 0) >= least}

    def _learn(self, source: str, article_id: str, keys: list[bytes | None]) -> None:
        table = self._sources.get(source)
        if table is None:
            table = _Source()
            self._sources[source] = table
            if len(self._sources) > self.max_sources:
                self._sources.popitem(last=False)
        else:
            self._sources.move_to_end(source)
        if article_id in table.articles:
            table.articles.move_to_end(article_id)
            return
        table.articles[article_id] = None
        if len(table.articles) > self.max_articles:
            table.articles.popitem(last=False)
        for key in sorted({key for key in keys if key is not None}):
            table.counts[key] = table.counts.get(key, 0) + 1
            table.counts.move_to_end(key)
        self._evict(table)

    def _evict(self, table: _Source) -> None:
        """Over the cap, cut to 90% of it (so eviction runs rarely): lines seen once go first,
        oldest first, then the oldest of any count."""
        if len(table.counts) <= self.max_lines:
            return
        target = self.max_lines * 9 // 10
        excess = len(table.counts) - target
        singles = [key for key, count in table.counts.items() if count == 1][:excess]
        for key in singles:
            del table.counts[key]
        while len(table.counts) > target:
            table.counts.popitem(last=False)
