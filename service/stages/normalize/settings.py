"""Tunables of the normalize stage (config section ``[normalize]``)."""

from __future__ import annotations

from dataclasses import dataclass

from service import defaults

_SHIPPED = defaults.section("normalize")


@dataclass(frozen=True)
class NormalizeSettings:
    """Input bounds (parsing cost grows with size, so input is cut first), the shortest body
    worth publishing, and the size and sensitivity of the per-worker furniture memory."""

    max_html_chars: int = _SHIPPED["max_html_chars"]
    max_text_chars: int = _SHIPPED["max_text_chars"]
    min_body_words: int = _SHIPPED["min_body_words"]
    memory_sources: int = _SHIPPED["memory_sources"]
    memory_lines_per_source: int = _SHIPPED["memory_lines_per_source"]
    memory_articles_per_source: int = _SHIPPED["memory_articles_per_source"]
    memory_min_articles: int = _SHIPPED["memory_min_articles"]
