"""Body extraction from text a crawler already pulled out of a page (one block per line).

Each line is described by general features — its length, sentence punctuation, title-casing,
truncation, calls to action, dates, how much it addresses the reader, how much of its vocabulary
it shares with the headline and the lines around the headline — and by the same features of its
neighbours, since the body is a contiguous run of prose. A logistic model over those features
(weights fitted on the dev split by ``bench/train_text_lines.py``) gives each line a probability
of being body; the body is the run of lines with the most probable prose for the least furniture,
and inside it improbable lines and lines the source repeats in every article are dropped.
"""

from __future__ import annotations

import math
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
_LINKISH = re.compile(r"https?://|www\.|@\w|\.com\b")
_REPEAT_MAX_WORDS = 20

FEATURES = (
    "log_words", "sentence", "long_sentence", "title_case", "truncated", "call_to_action",
    "furniture_shape", "digits", "reader_address", "topic_share", "mentions_headline",
    "repeated", "position", "upper_case", "linkish", "ends_colon",
    "near_long_sentences", "wide_long_sentences", "prev_long_sentence", "next_long_sentence",
    "near_topic_share",
)
# Fitted by bench/train_text_lines.py on the extraction-text dev split (see its output).
WEIGHTS = (
    0.0, 0.0, 1.0, 0.0, -1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0,
    1.0, 1.0, 0.0, 0.0, 0.0,
)
BIAS = -1.0
# A line joins the body when its probability clears this; the run is chosen on p - THRESHOLD.
THRESHOLD = 0.5


@dataclass(slots=True)
class Line:
    text: str
    words: int
    sentence: bool
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
    """Datelines, clock times, copyright lines."""
    text = line.text
    if _CLOCK.match(text) or "\u00a9" in text or text.lower().startswith("copyright"):
        return True
    return line.words <= 6 and text_date(text) is not None


def _content_words(text: str) -> set[str]:
    """Lower-cased words of four letters or more: a crude, language-light topic signature."""
    return {w for w in _WORDS.findall(text.lower()) if len(w) >= 4}


def _reader_address(text: str) -> float:
    """Share of words that address the reader or speak for the outlet (you, your, we, our)."""
    words = _WORDS.findall(text.lower())
    return sum(1 for w in words if w in _ADDRESS) / max(1, len(words))


def _topic(items: list[Line], anchor: str) -> tuple[list[float], list[bool]]:
    """Per line, the share of its content words found in the headline or in other lines that
    mention the headline (appeals and teasers around a story share few), and whether the line
    itself mentions the headline."""
    anchor_words = _content_words(anchor)
    signatures = [_content_words(item.text) for item in items]
    on_topic = [len(words & anchor_words) >= 2 for words in signatures]
    support: dict[str, int] = {}
    for words, flag in zip(signatures, on_topic, strict=True):
        if flag:
            for word in words:
                support[word] = support.get(word, 0) + 1
    shares: list[float] = []
    for words, flag in zip(signatures, on_topic, strict=True):
        own = 1 if flag else 0
        hits = sum(1 for w in words if w in anchor_words or support.get(w, 0) > own)
        shares.append(hits / len(words) if words else 0.0)
    return shares, on_topic


def _repeated(items: list[Line]) -> set[int]:
    """Short lines printed more than once on the page (teaser headlines, section labels)."""
    seen: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        key = " ".join(_WORDS.findall(item.text.lower()))
        if key and item.words <= _REPEAT_MAX_WORDS:
            seen.setdefault(key, []).append(index)
    return {i for indexes in seen.values() if len(indexes) > 1 for i in indexes}


def _window_mean(values: list[float], index: int, radius: int) -> float:
    low, high = max(0, index - radius), min(len(values), index + radius + 1)
    total = sum(values[low:high]) - values[index]
    count = high - low - 1
    return total / count if count > 0 else 0.0


def line_features(items: list[Line], anchor: str) -> list[list[float]]:
    """The feature vector (in ``FEATURES`` order) of every line."""
    shares, on_topic = _topic(items, anchor)
    repeated = _repeated(items)
    long_sentence = [1.0 if item.sentence and item.words >= 12 else 0.0 for item in items]
    count = max(1, len(items) - 1)
    rows: list[list[float]] = []
    for index, item in enumerate(items):
        text = item.text
        letters = [c for c in text if c.isalpha()]
        rows.append([
            math.log1p(item.words),
            1.0 if item.sentence else 0.0,
            long_sentence[index],
            title_case_ratio(text),
            1.0 if is_truncated(text) else 0.0,
            1.0 if is_call_to_action(text) else 0.0,
            1.0 if _is_furniture_shape(item) else 0.0,
            sum(c.isdigit() for c in text) / max(1, len(text)),
            _reader_address(text),
            shares[index],
            1.0 if on_topic[index] else 0.0,
            1.0 if index in repeated else 0.0,
            index / count,
            sum(c.isupper() for c in letters) / max(1, len(letters)),
            1.0 if _LINKISH.search(text) else 0.0,
            1.0 if text.rstrip().endswith(":") else 0.0,
            _window_mean(long_sentence, index, 2),
            _window_mean(long_sentence, index, 6),
            long_sentence[index - 1] if index > 0 else 0.0,
            long_sentence[index + 1] if index + 1 < len(items) else 0.0,
            _window_mean(shares, index, 3),
        ])
    return rows


def probabilities(rows: list[list[float]]) -> list[float]:
    """P(body) per line from the fitted logistic model."""
    out: list[float] = []
    for row in rows:
        z = BIAS + sum(w * x for w, x in zip(WEIGHTS, row, strict=True))
        out.append(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))))
    return out


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


def prepare(lines: list[str], furniture: set[int], title: str | None) -> list[Line]:
    """Lines as candidates: a caption printed twice kept once, the headline line dropped."""
    items: list[Line] = []
    for index, text in enumerate(lines):
        if items and _same(items[-1].text, text):
            if len(text) < len(items[-1].text):
                items[-1] = Line(text, word_count(text), looks_like_sentence(text),
                                 items[-1].furniture)
            continue
        if title and text.strip().lower() == title.strip().lower():
            continue
        items.append(Line(text, word_count(text), looks_like_sentence(text),
                          furniture=index in furniture))
    return items


def select(items: list[Line], probs: list[float]) -> list[str]:
    """The body: the best run of probable lines, without improbable or learned-furniture ones."""
    scores = [(p - THRESHOLD) * math.sqrt(item.words) for item, p in zip(items, probs,
                                                                          strict=True)]
    start, end = _best_span(scores)
    return [items[i].text for i in range(start, end)
            if probs[i] >= THRESHOLD and not items[i].furniture]


def extract_lines(lines: list[str], furniture: set[int], title: str | None,
                  anchor: str = "") -> list[str]:
    """The body lines among ``lines`` (furniture indexes come from the source memory;
    ``anchor`` is extra topic text such as the words of the URL path)."""
    items = prepare(lines, furniture, title)
    if not items:
        return []
    probs = probabilities(line_features(items, f"{title or ''} {anchor}"))
    return select(items, probs)
