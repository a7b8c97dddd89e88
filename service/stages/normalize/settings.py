"""Tunables of the normalize stage (config section ``[normalize]``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NormalizeSettings:
    """Input bounds (parsing cost grows with size, so input is cut first), the shortest body
    worth publishing, and the size and sensitivity of the per-worker furniture memory."""

    max_html_chars: int = 2_000_000
    max_text_chars: int = 1_000_000
    min_body_words: int = 15
    memory_sources: int = 2000
    memory_lines_per_source: int = 4000
    memory_articles_per_source: int = 500
    memory_min_articles: int = 3
