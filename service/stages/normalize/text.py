"""Body extraction from text a crawler already pulled out of a page (one block per line).

Lines are judged on general signals (length, sentence punctuation, title-casing, truncation,
calls to action, dates, lines the source repeats in every article); the body is the stretch of
lines with the most prose for the least furniture, and inside it furniture lines are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.stages.normalize.lines import (
    is_call_to_action,
    is_truncated,
    looks_like_sentence,
    title_case_ratio,
    word_count,
)
from service.stages.normalize.metadata import text_date

# "…all the difference.North Korean leader…": a sentence end glued to the next sentence.
_GLUED = re.compile(r"(?<=[a-z\u00df-\u00ff]{2}[.!?])(?=[A-Z\u00c0-\u00de][a-z\u00df-\u00ff])")
_BULLET = re.compile(
    r"^\s*(?:[\u2022\u25cf\u25aa\u25e6\u2023\u2043\u00b7*\-\u2013]|\d{1,2}[.)])\s+"
)
_WORDS = re.compile(r"\w+")
_ADDRESS = frozenset({"you", "your", "yours", "we", "our", "ours", "us"})
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")


@dataclass(slots=True)
class Line:
    text: str
    words: int
    sentence: bool
    score: float = 0.0
    furniture: bool = False


def split_lines(text: str) -> list[str]:
    """Non-empty lines with list bullets removed and glued sentences split apart."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = _BULLET.sub("", raw).strip()
        if not line:
            continue
        out.extend(part.strip() for part in _GLUED.split(line) if part.strip())
    return out


def _same(a: str, b: str) -> bool:
    """Whether two lines repeat one another (a caption printed twice, one with a credit)."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 30 and long_.startswith(short)


def _is_furniture_shape(line: Line) -> bool:
    text = line.text
    if is_call_to_action(text) or is_truncated(text) or _CLOCK.match(text):
        return True
    if line.words <= 6 and text_date(text) is not None:
        return True
    return "\u00a9" in text or text.lower().startswith("copyright")


def _score(line: Line) -> float:
    """Positive for prose, negative for furniture, scaled by length."""
    if line.furniture or _is_furniture_shape(line):
        return -max(4.0, line.words * 0.5)
    if line.sentence and line.words >= 12:
        return float(line.words)
    if line.sentence:
        return line.words * 0.5
    if line.words >= 25:
        return line.words * 0.6
    if line.words <= 6 and title_case_ratio(line.text) > 0.6:
        return -6.0
    return -5.0


def _best_span(scores: list[float]) -> tuple[int, int]:
    """The contiguous run with the highest total score (Kadane)."""
    best, best_span = 0.0, (0, 0)
    total, start = 0.0, 0
    for index, value in enumerate(scores):
        if total <= 0:
            total, start = 0.0, index
        total += value
        if total > best:
            best, best_span = total, (start, index + 1)
    return best_span


def _content_words(text: str) -> set[str]:
    """Lower-cased words of four letters or more: a crude, language-light topic signature."""
    return {w for w in _WORDS.findall(text.lower()) if len(w) >= 4}


def _reader_address(text: str) -> float:
    """Share of words that address the reader or speak for the outlet (you, your, we, our)."""
    words = _WORDS.findall(text.lower())
    return sum(1 for w in words if w in _ADDRESS) / max(1, len(words))


def _topical(items: list[Line], anchor: str) -> list[float]:
    """Per line, the share of its content words shared with the headline or with body lines
    that mention the headline: appeals and teasers around a story share almost none."""
    anchor_words = _content_words(anchor)
    signatures = [_content_words(item.text) for item in items]
    vocabulary = set(anchor_words)
    for words in signatures:
        if len(words & anchor_words) >= 2:
            vocabulary |= words
    shares: list[float] = []
    for words in signatures:
        if not words:
            shares.append(0.0)
            continue
        others = vocabulary if len(words & anchor_words) < 2 else anchor_words | (
            vocabulary - words)
        shares.append(len(words & others) / len(words))
    return shares


def _peel(body: list[Line], shares: list[float]) -> list[Line]:
    """Drop off-topic appeals and sign-offs from both ends of the body."""
    def off_topic(index: int) -> bool:
        item, share = body[index], shares[index]
        return share < 0.05 or (share < 0.2 and _reader_address(item.text) >= 0.06)
    start, end = 0, len(body)
    while start < end and off_topic(start):
        start += 1
    while end > start and off_topic(end - 1):
        end -= 1
    return body[start:end] if end - start >= 1 else body


def extract_lines(lines: list[str], furniture: set[int], title: str | None,
                  anchor: str = "") -> list[str]:
    """The body lines among ``lines`` (furniture indexes come from the source memory;
    ``anchor`` is extra topic text such as the words of the URL path)."""
    items: list[Line] = []
    for index, text in enumerate(lines):
        if items and _same(items[-1].text, text):
            if len(text) < len(items[-1].text):
                items[-1] = Line(text, word_count(text), looks_like_sentence(text))
            continue
        if title and text.strip().lower() == title.strip().lower():
            continue
        items.append(Line(text, word_count(text), looks_like_sentence(text),
                          furniture=index in furniture))
    for item in items:
        item.score = _score(item)
    start, end = _best_span([item.score for item in items])
    body = [item for item in items[start:end] if not (item.furniture or _is_furniture_shape(item))]
    shares = _topical(body, f"{title or ''} {anchor}")
    if any(share >= 0.3 for share in shares):
        body = _peel(body, [shares[i] for i in range(len(body))])
    return [item.text for item in body]
