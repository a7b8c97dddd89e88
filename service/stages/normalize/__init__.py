"""Normalize: a raw article (HTML or text) to a clean ``Article``, or a ``no_content`` rejection.

Steps: bound the input, extract the body (``html``; ``text`` when there is no html or it holds no
article; then the page's JSON-LD ``articleBody`` when neither holds one), repair the text, drop
lines the source repeats across articles (``FurnitureMemory``), then fill metadata (title,
language, publication time, canonical URL, source, id). Modules: ``html`` (main-content
extraction), ``text`` (furniture removal from crawler text), ``lines`` (shared line signals),
``repair`` (Unicode), ``metadata``, ``language``, ``urls``, ``memory``, ``settings``.
Any failure becomes a rejection, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from service.records import Article, RawArticle, Reason, Rejection
from service.stages.normalize import html as html_extract
from service.stages.normalize import language, metadata
from service.stages.normalize.memory import FurnitureMemory
from service.stages.normalize.repair import repair
from service.stages.normalize.settings import NormalizeSettings
from service.stages.normalize.text import extract_lines, split_lines
from service.stages.normalize.urls import (
    canonical_url,
    canonicalize,
    derived_id,
    registered_domain,
    url_words,
)
from service.stages.tokens import single_spaced, word_count

__all__ = ["FurnitureMemory", "NormalizeSettings", "is_brief", "normalize"]

STAGE = "normalize"

def _reject(detail: str) -> Rejection:
    return Rejection(Reason.NO_CONTENT, detail, STAGE)


@dataclass(slots=True)
class _Extracted:
    paragraphs: list[str]
    title: str | None = None
    canonical: str | None = None
    published: str | None = None
    # the body the page's JSON-LD declares, read only when the visible one is short: the last
    # resort, after the message's own text
    declared: list[str] = field(default_factory=list)


def _has_words(paragraphs: list[str], least: int) -> bool:
    """Whether ``paragraphs`` hold ``least`` words, counting only as far as it takes (a page's
    body is tens of paragraphs, each counted at some cost)."""
    total = 0
    for paragraph in paragraphs:
        total += word_count(paragraph)
        if total >= least:
            return True
    return False


def _lacks_body(extracted: _Extracted | Rejection, least: int) -> bool:
    """Whether the next source of a body is to be tried: ``extracted`` is a rejection or holds
    fewer than ``least`` words."""
    return isinstance(extracted, Rejection) or not _has_words(extracted.paragraphs, least)


def _repaired(paragraphs: list[str]) -> list[str]:
    return [line for line in (repair(p).strip() for p in paragraphs) if line]


def _without_learned_furniture(paragraphs: list[str], furniture: set[int]) -> list[str]:
    """``paragraphs`` less the ones the source repeats in every article, unless they are most of
    the text: then this article is a copy of an earlier one (a redelivery or a syndicated
    duplicate), not furniture, and it is kept whole so it comes out the same."""
    if not furniture:
        return paragraphs
    dropped = sum(len(paragraphs[i]) for i in furniture)
    if dropped * 2 > sum(len(p) for p in paragraphs):
        return paragraphs
    return [p for i, p in enumerate(paragraphs) if i not in furniture]


def _from_html(raw: RawArticle, html: str, source: str, memory: FurnitureMemory,
               article_id: str, settings: NormalizeSettings) -> _Extracted | Rejection:
    root = html_extract.parse(html, settings.max_html_chars)
    if root is None:
        return _reject("html could not be parsed")
    extraction = html_extract.extract(root)
    page = metadata.markup(root)
    paragraphs = _repaired(extraction.paragraphs)
    short = not _has_words(paragraphs, settings.min_body_words)
    furniture = memory.observe(source, article_id, paragraphs)
    return _Extracted(
        paragraphs=_without_learned_furniture(paragraphs, furniture),
        title=metadata.page_title(page),
        canonical=metadata.declared_canonical(page),
        published=metadata.page_published(page, raw.url,
                                           [repair(line) for line in extraction.preamble]),
        # a script renders the visible body: the page may declare it in its JSON-LD
        declared=_repaired(metadata.declared_body(page)) if short else [],
    )


def _with_declared_body(extracted: _Extracted | Rejection, from_html: _Extracted,
                        source: str, memory: FurnitureMemory,
                        article_id: str) -> _Extracted | Rejection:
    """``from_html`` with the body its JSON-LD declares when that holds more words than
    ``extracted``, the short body the visible page and the message's text gave: a fallback
    for a page a script renders (it is called only then), never a replacement for a body."""
    words = 0 if isinstance(extracted, Rejection) else sum(map(word_count, extracted.paragraphs))
    if sum(map(word_count, from_html.declared)) <= words:
        return extracted
    furniture = memory.observe(source, article_id, from_html.declared)
    return replace(from_html, paragraphs=_without_learned_furniture(from_html.declared, furniture))


def _from_text(raw: RawArticle, text: str, source: str, memory: FurnitureMemory,
               article_id: str, settings: NormalizeSettings) -> _Extracted:
    lines = split_lines(repair(text[: settings.max_text_chars]))
    furniture = memory.observe(source, article_id, lines)
    body = extract_lines(lines, furniture, raw.title, anchor=url_words(raw.url))
    title = raw.title or body.headline or (metadata.strip_site_name(lines[0]) if lines else None)
    return _Extracted(paragraphs=body.paragraphs, title=title,
                      published=metadata.dateline(lines))


def normalize(raw: RawArticle, memory: FurnitureMemory,
              settings: NormalizeSettings | None = None) -> Article | Rejection:
    """The clean article for ``raw``; a ``no_content`` rejection when no body is recoverable.

    Never raises: whatever a hostile page provokes in the parser or the heuristics becomes a
    rejection naming the error, so one message cannot stop a worker."""
    try:
        return _normalize(raw, memory, settings or NormalizeSettings())
    except Exception as error:  # a dead letter, never a crashed worker
        return _reject(f"normalization failed: {type(error).__name__}: {error}"[:300])


def is_brief(raw: RawArticle, settings: NormalizeSettings) -> bool:
    """A message without a body whose title is a report of its own (a flash, a one-sentence
    brief): a title of at least ``min_body_words`` words. Its title is its text."""
    return (not (raw.html and raw.html.strip()) and not (raw.text and raw.text.strip())
            and word_count(raw.title or "") >= settings.min_body_words)


def _normalize(raw: RawArticle, memory: FurnitureMemory,
               settings: NormalizeSettings) -> Article | Rejection:
    source = registered_domain(canonicalize(raw.url) or raw.url) or (raw.source or "")
    provisional_id = raw.id or derived_id(canonical_url(raw.url, None))
    extracted: _Extracted | Rejection = _reject("message has neither html nor text")
    if is_brief(raw, settings):
        extracted = _Extracted(paragraphs=[repair(raw.title or "").strip()])
    from_html: _Extracted | Rejection | None = None
    if raw.html and raw.html.strip():
        extracted = from_html = _from_html(raw, raw.html, source, memory, provisional_id,
                                           settings)
    if raw.text and raw.text.strip() and _lacks_body(extracted, settings.min_body_words):
        extracted = _from_text(raw, raw.text, source, memory, provisional_id, settings)
    if (isinstance(from_html, _Extracted) and from_html.declared
            and _lacks_body(extracted, settings.min_body_words)):
        extracted = _with_declared_body(extracted, from_html, source, memory, provisional_id)
    if isinstance(extracted, Rejection):
        return extracted
    text = "\n\n".join(map(single_spaced, extracted.paragraphs))
    words = word_count(text)
    if words < settings.min_body_words:
        return _reject(f"no article body found ({words} words after removing page furniture)")
    canonical = canonical_url(raw.url, extracted.canonical)
    title = " ".join(repair(raw.title or extracted.title or "").split())
    return Article(
        id=raw.id or derived_id(canonical),
        url=raw.url,
        canonical_url=canonical,
        source=source,
        title=title,
        text=text,
        lang=language.language_hint(raw.lang) or language.detect_language(text),
        published_at=raw.published_at or extracted.published,
        fetched_at=raw.fetched_at,
        word_count=words,
    )
