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

import itertools
import math
import operator
import re
import string
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from service.stages import tokens as units
from service.stages.normalize.lines import (
    is_call_to_action,
    is_truncated,
    looks_like_sentence,
    plain_form,
    title_case_ratio,
)
from service.stages.normalize.metadata import text_date

# "…all the difference.North Korean leader…": a sentence end glued to the next sentence. One
# pattern per mark, each opening with it: the regex engine skips ahead to a single character far
# faster than to any of a class. (Splitting at one mark never makes or unmakes a match of
# another: the characters next to a match are letters, not marks.)
_GLUED = tuple(
    re.compile(rf"{mark}(?<=[a-z\u00df-\u00ff]{{2}}{mark})"
               r"(?=[A-Z\u00c0-\u00de][a-z\u00df-\u00ff])")
    for mark in (r"\.", "!", r"\?")
)
_BULLET = re.compile(
    r"^\s*(?:[\u2022\u25cf\u25aa\u25e6\u2023\u2043\u00b7*\-\u2013]|\d{1,2}[.)])\s+"
)
_ADDRESS = frozenset({"you", "your", "yours", "we", "our", "ours", "us"})
_QUOTES = frozenset("\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u201e")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")
_LINKISH = re.compile(r"https?://|www\.|@\w|\.com\b")
_REPEAT_MAX_WORDS = 20
CONTENT_MIN = 5
# Lines remembered with their signals (a few MB): the menus, labels and footers of the sources
# seen lately, which come back on every page of a source.
LINE_CACHE = 4096
# Lines mentioning the headline that must also use a word for it to count as the story's.
TOPIC_SUPPORT = 2

FEATURES = (
    "log_words", "sentence", "long_sentence", "title_case", "truncated", "call_to_action",
    "furniture_shape", "digits", "reader_address", "topic_share", "mentions_headline",
    "repeated", "position", "upper_case", "linkish", "ends_colon",
    "near_long_sentences", "wide_long_sentences", "prev_long_sentence", "next_long_sentence",
    "near_topic_share", "in_prose_run",
)
# Fitted by bench/train_text_lines.py on the extraction-text dev split (see its output).
WEIGHTS: tuple[float, ...] = (
    0.6371,  # log_words
    1.0108,  # sentence
    -0.4505,  # long_sentence
    -0.2161,  # title_case
    -1.9364,  # truncated
    -1.3154,  # call_to_action
    -1.6856,  # furniture_shape
    3.9156,  # digits
    -1.1879,  # reader_address
    -0.3505,  # topic_share
    0.0822,  # mentions_headline
    1.0831,  # repeated
    -0.7384,  # position
    -1.3189,  # upper_case
    0.2939,  # linkish
    0.5428,  # ends_colon
    0.4182,  # near_long_sentences
    1.2714,  # wide_long_sentences
    0.4462,  # prev_long_sentence
    0.3400,  # next_long_sentence
    -0.3603,  # near_topic_share
    2.8045,  # in_prose_run
)
BIAS = -3.9655
SHARE = FEATURES.index("topic_share")
APPEAL_ADDRESS = 0.05
APPEAL_TOPIC = 0.2
APPEAL_SHARE_RATIO = 0.5
# A line joins the body when its probability clears this; the run is chosen on p - THRESHOLD.
THRESHOLD = 0.5


# ASCII lines (the common case) are counted by character class without a per-character loop:
# one byte translation to a class letter, then counts.
_ASCII_CLASS = bytes(
    ord("d") if chr(c) in string.digits else ord("u") if chr(c) in string.ascii_uppercase
    else ord("l") if chr(c) in string.ascii_lowercase else ord(" ")
    for c in range(256)
)
# ...and split into words without a regex: the bytes that are not ``\w`` become spaces.
_ASCII_WORD = bytes(
    c if chr(c) in string.ascii_letters or chr(c) in string.digits or chr(c) == "_"
    else ord(" ")
    for c in range(256)
)


class Line(NamedTuple):
    """One candidate line with every per-line signal the model and the selection read, computed
    once (by ``candidate``) since several steps consult each line. Immutable, since ``candidate``
    hands the same one to every article that prints the line."""

    text: str
    words: int
    sentence: bool
    long_sentence: bool
    furniture: bool
    call_to_action: bool
    truncated: bool
    clock: bool
    furniture_shape: bool
    title_case: float
    reader_address: float
    digits: float
    upper_case: float
    linkish: bool
    ends_colon: bool
    content: frozenset[str]
    repeat_key: str


@lru_cache(maxsize=LINE_CACHE)
def candidate(text: str, furniture: bool = False) -> Line:
    """``text`` as a ``Line``, from one pass of word splitting shared by all its signals.

    Memoized: a source repeats its page furniture on every page."""
    plain = plain_form(text)
    tokens, lowered, lower_tokens = _tokens(plain)
    words = len(tokens) if plain.isascii() else units.unit_words(plain)
    sentence = looks_like_sentence(text, words)
    clock = ":" in text and _CLOCK.match(text) is not None  # the test spares most lines a regex
    digits, upper, letters = _char_counts(plain)
    return Line(
        text=text,
        words=words,
        sentence=sentence,
        long_sentence=sentence and words >= 12,
        furniture=furniture,
        call_to_action=is_call_to_action(text, lower_tokens),
        truncated=is_truncated(text, words),
        clock=clock,
        furniture_shape=clock or _is_furniture_shape(text, words, digits),
        title_case=title_case_ratio(tokens),
        reader_address=_address_share(tokens, lowered),
        digits=digits / max(1, len(text)),
        upper_case=upper / max(1, letters),
        linkish=_is_linkish(text),
        ends_colon=text.rstrip().endswith(":"),
        content=frozenset([w for w in lower_tokens if len(w) >= CONTENT_MIN] if plain.isascii()
                          else units.topic_terms(plain.casefold(), CONTENT_MIN)),
        repeat_key=" ".join(lower_tokens),
    )


def _is_linkish(text: str) -> bool:
    """Holds a URL, a web address, a handle or a domain. (Every form contains one of the
    substrings tested first, which rule out most lines far faster than the regex.)"""
    return (("://" in text or "www." in text or "@" in text or ".com" in text)
            and _LINKISH.search(text) is not None)


def _tokens(text: str) -> tuple[list[str], list[str], list[str]]:
    """The units (``service.stages.tokens``) of ``text``, each of them case-folded, and the units
    of the case-folded text: the same words, except outside ASCII, where folding can change
    the units ("ﬁ" -> "fi")."""
    if text.isascii():
        spaced = text.encode("ascii").translate(_ASCII_WORD).decode("ascii")
        lowered = spaced.lower().split()
        return spaced.split(), lowered, lowered
    found = units.units(text)
    return found, [w.casefold() for w in found], units.units(text.casefold())


def split_lines(text: str) -> list[str]:
    """Non-empty lines with list bullets removed and glued sentences split apart."""
    out: list[str] = []
    # A glued sentence never spans a line break or touches a bullet, so the whole text is split
    # at once; the parts it starts begin with a capital, never with a bullet.
    for glued in _GLUED:
        text = glued.sub("\\g<0>\n", text)
    for raw in text.split("\n"):
        bullet = _BULLET.match(raw)
        line = (raw[bullet.end():] if bullet else raw).strip()
        if line:
            out.append(line)
    return out


def _same(a: str, b: str) -> bool:
    """Whether two lines repeat one another (a caption printed twice, one with a credit)."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 30 and long_.startswith(short)


def _is_furniture_shape(text: str, words: int, digits: int) -> bool:
    """Datelines and copyright lines (clock times are told apart by ``candidate``). ``digits``:
    the line's digit count (every date ``text_date`` reads has a four-digit year)."""
    if "\u00a9" in text or text[:9].lower() == "copyright":
        return True
    return words <= 6 and digits >= 4 and text_date(text) is not None


def _content_words(text: str) -> set[str]:
    """Case-folded words of five letters or more, and the terms of unspaced scripts: a crude,
    language-light topic signature (shorter words are mostly function words in European
    languages)."""
    return set(units.topic_terms(text.casefold(), CONTENT_MIN))


def _address_share(words: list[str], lowered: list[str]) -> float:
    """Share of words that address the reader or speak for the outlet (you, your, we, our)."""
    if _ADDRESS.isdisjoint(lowered):
        return 0.0
    hits = sum(1 for w, low in zip(words, lowered, strict=True) if low in _ADDRESS and w != "US")
    return hits / max(1, len(words))


def _char_counts(text: str) -> tuple[int, int, int]:
    """The digits, upper-case letters and letters of ``text``."""
    if text.isascii():
        classes = text.encode("ascii").translate(_ASCII_CLASS)
        upper = classes.count(b"u")
        return classes.count(b"d"), upper, upper + classes.count(b"l")
    alpha = list(filter(str.isalpha, text))
    return sum(map(str.isdigit, text)), sum(map(str.isupper, alpha)), len(alpha)


def _topic(items: list[Line], anchor: str) -> tuple[list[float], list[bool]]:
    """Per line, the share of its content words found in the headline or in other lines that
    mention the headline (appeals and teasers around a story share few), and whether the line
    itself mentions the headline."""
    signatures = [item.content for item in items]
    anchor_words = _content_words(anchor)
    on_topic = [len(words & anchor_words) >= 2 for words in signatures]
    support = Counter(itertools.chain.from_iterable(
        words for words, flag in zip(signatures, on_topic, strict=True) if flag))
    # The story's words: the headline's, and those of enough lines that mention the headline,
    # a line that mentions it not counting its own.
    story = anchor_words | {w for w, lines in support.items() if lines >= TOPIC_SUPPORT}
    story_for_mention = anchor_words | {w for w, lines in support.items()
                                        if lines - 1 >= TOPIC_SUPPORT}
    return [len(words & (story_for_mention if flag else story)) / len(words) if words else 0.0
            for words, flag in zip(signatures, on_topic, strict=True)], on_topic


def _repeated(items: list[Line]) -> set[int]:
    """Short lines printed more than once on the page (teaser headlines, section labels)."""
    seen: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        key = item.repeat_key
        if key and item.words <= _REPEAT_MAX_WORDS:
            seen.setdefault(key, []).append(index)
    return {i for indexes in seen.values() if len(indexes) > 1 for i in indexes}


def _window_means(values: list[float], radius: int) -> list[float]:
    """At every index, the mean of the values within ``radius`` of it, itself left out.

    All windows at once, each summed left to right as ``sum`` would (the zeros padding the ends
    change no sum), so each mean is the same to the bit as one computed on its own."""
    count = len(values)
    padded = np.concatenate((np.zeros(radius), values, np.zeros(radius)))
    totals = padded[:count].copy()
    for offset in range(1, 2 * radius + 1):
        totals += padded[offset:offset + count]
    totals -= values
    index = np.arange(count)
    sizes = np.minimum(index + radius + 1, count) - np.maximum(index - radius, 0) - 1
    means: list[float] = np.divide(totals, sizes, out=np.zeros(count), where=sizes > 0).tolist()
    return means


def _shape_score(line: Line, share: float) -> float:
    """A hand-set prose score: positive for on-topic sentences, negative for furniture."""
    if line.furniture_shape or line.call_to_action or line.truncated:
        return -max(4.0, line.words * 0.5)
    if line.sentence or line.words >= 25:
        weight = 1.0 if line.words >= 12 else 0.5
        return line.words * weight * min(1.0, 0.2 + 3.0 * share)
    return -6.0 if line.words <= 6 and line.title_case > 0.6 else -5.0


def line_features(items: list[Line], anchor: str) -> list[list[float]]:
    """The feature vector (in ``FEATURES`` order) of every line."""
    shares, on_topic = _topic(items, anchor)
    repeated = _repeated(items)
    long_sentence = [1.0 if item.long_sentence else 0.0 for item in items]
    near, wide = _window_means(long_sentence, 2), _window_means(long_sentence, 6)
    near_shares = _window_means(shares, 3)
    start, end = _best_span([_shape_score(item, share) for item, share in zip(items, shares,
                                                                              strict=True)])
    count = max(1, len(items) - 1)
    rows: list[list[float]] = []
    for index, item in enumerate(items):
        rows.append([
            math.log1p(item.words),
            1.0 if item.sentence else 0.0,
            long_sentence[index],
            item.title_case,
            1.0 if item.truncated else 0.0,
            1.0 if item.call_to_action else 0.0,
            1.0 if item.furniture_shape else 0.0,
            item.digits,
            item.reader_address,
            shares[index],
            1.0 if on_topic[index] else 0.0,
            1.0 if index in repeated else 0.0,
            index / count,
            item.upper_case,
            1.0 if item.linkish else 0.0,
            1.0 if item.ends_colon else 0.0,
            near[index],
            wide[index],
            long_sentence[index - 1] if index > 0 else 0.0,
            long_sentence[index + 1] if index + 1 < len(items) else 0.0,
            near_shares[index],
            1.0 if start <= index < end else 0.0,
        ])
    return rows


def probabilities(rows: list[list[float]]) -> list[float]:
    """P(body) per line from the fitted logistic model."""
    out: list[float] = []
    for row in rows:
        z = BIAS + sum(map(operator.mul, WEIGHTS, row))
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
    headline = title.strip().lower() if title else None
    for index, text in enumerate(lines):
        if items and _same(items[-1].text, text):
            if len(text) < len(items[-1].text):
                items[-1] = candidate(text, items[-1].furniture)
            continue
        if headline is not None and text.strip().lower() == headline:
            continue
        items.append(candidate(text, index in furniture))
    return items


def _media_widget(items: list[Line]) -> set[int]:
    """A clock time on its own line is a player's duration: it and the short lines right
    around it (title, "your browser does not support…") are the player, not the story."""
    found: set[int] = set()
    for index, item in enumerate(items):
        if item.clock:
            found.add(index)
            found.update(i for i in (index - 1, index + 1)
                         if 0 <= i < len(items) and items[i].words <= 10)
    return found


def _is_appeal(item: Line, share: float) -> bool:
    """A line of an appeal or promo: addresses the reader or shares little of the story's
    vocabulary; short labels ("Dear readers,") ride along."""
    if item.words < 8 and not item.sentence:
        return True
    if item.text[:1] in _QUOTES:
        return False  # someone quoted in the story saying "we"
    return item.reader_address >= APPEAL_ADDRESS or share < 0.1


def _strip_appeals(body: list[int], items: list[Line], shares: list[float]) -> list[int]:
    """Drop a run of appeal lines at either end of the body (donation and newsletter boxes sit
    just before or after the story) when, taken together, it speaks to the reader and shares
    much less of the story's vocabulary than the rest of the body does."""
    def mean(run: list[int], value: list[float]) -> float:
        words = sum(items[i].words for i in run)
        return sum(value[i] * items[i].words for i in run) / max(1, words)

    address = [item.reader_address for item in items]

    def is_appeal_run(run: list[int], rest: list[int]) -> bool:
        if not rest or sum(items[i].words for i in run) < 12:
            return False
        topic = mean(rest, shares)
        return (mean(run, address) >= APPEAL_ADDRESS and topic >= APPEAL_TOPIC
                and mean(run, shares) < APPEAL_SHARE_RATIO * topic)

    head = 0
    while head < len(body) and _is_appeal(items[body[head]], shares[body[head]]):
        head += 1
    tail = len(body)
    while tail > head and _is_appeal(items[body[tail - 1]], shares[body[tail - 1]]):
        tail -= 1
    start = head if is_appeal_run(body[:head], body[head:tail]) else 0
    end = tail if is_appeal_run(body[tail:], body[head:tail]) else len(body)
    return body[start:end]


def _body_indexes(items: list[Line], probs: list[float], shares: list[float]) -> list[int]:
    scores = [(p - THRESHOLD) * math.sqrt(item.words) for item, p in zip(items, probs,
                                                                          strict=True)]
    widget = _media_widget(items)
    start, end = _best_span(scores)
    body = [i for i in range(start, end)
            if probs[i] >= THRESHOLD and i not in widget
            and not items[i].furniture_shape and not items[i].call_to_action]
    learned = sum(items[i].words for i in body if items[i].furniture)
    if learned * 2 <= sum(items[i].words for i in body):
        # Mostly "furniture" means a copy of an article seen before: keep it whole.
        body = [i for i in body if not items[i].furniture]
    body = _strip_appeals(body, items, shares)
    while body and items[body[-1]].ends_colon:
        body.pop()  # a label ("A message from us:") whose content was dropped
    return body


def select(items: list[Line], probs: list[float], shares: list[float]) -> list[str]:
    """The body: the best run of probable lines, without improbable lines, calls to action,
    datelines, media players, learned furniture, or appeals at its ends."""
    return [items[i].text for i in _body_indexes(items, probs, shares)]


def _is_headline(item: Line, share: float) -> bool:
    return 4 <= item.words <= 30 and not item.sentence and share >= 0.5


def analyse(lines: list[str], furniture: set[int], title: str | None,
            anchor: str) -> tuple[list[Line], list[list[float]]]:
    """Candidate lines and their features. The topic is anchored on the title, the URL's words
    and the first line (a crawler's text usually opens with the page title)."""
    items = prepare(lines, furniture, title)
    topic = f"{title or ''} {anchor} {lines[0] if lines else ''}"
    return items, line_features(items, topic)


@dataclass(frozen=True, slots=True)
class TextBody:
    paragraphs: list[str]
    headline: str | None


def extract_lines(lines: list[str], furniture: set[int], title: str | None,
                  anchor: str = "") -> TextBody:
    """The body lines among ``lines`` (furniture indexes come from the source memory;
    ``anchor`` is extra topic text such as the words of the URL path), and, when no title is
    given, the headline: the on-topic heading-like line nearest above the body."""
    items, rows = analyse(lines, furniture, title, anchor)
    if not items:
        return TextBody([], None)
    shares = [row[SHARE] for row in rows]
    body = _body_indexes(items, probabilities(rows), shares)
    headline: str | None = None
    if title is None and body:
        if _is_headline(items[body[0]], shares[body[0]]):
            headline = items[body.pop(0)].text
        else:
            above = [i for i in range(body[0]) if _is_headline(items[i], shares[i])]
            headline = items[above[-1]].text if above else None
    return TextBody([items[i].text for i in body], headline)
