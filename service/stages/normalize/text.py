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
from functools import lru_cache
from typing import Final

from service.stages import kernels
from service.stages import tokens as units
from service.stages.normalize.lines import (
    CALL_VERBS,
    TITLE_CASE_MIN_LETTERS,
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
_BULLET_MARKS = "\u2022\u25cf\u25aa\u25e6\u2023\u2043\u00b7*-\u2013"
_BULLET = re.compile(rf"^\s*(?:[{re.escape(_BULLET_MARKS)}]|\d{{1,2}}[.)])\s+")
_ADDRESS = frozenset({"you", "your", "yours", "we", "our", "ours", "us"})
_QUOTES = frozenset("\"'\u201c\u201d\u2018\u2019\u00ab\u00bb\u201e")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")
_LINKISH = re.compile(r"https?://|www\.|@\w|\.com\b")
# Lines remembered with their signals (a few MB): the menus, labels and footers of the sources
# seen lately, which come back on every page of a source. (Speed only: outputs do not change.)
LINE_CACHE = 4096

# Hand-set values. Each cites `python -m bench.sweep_normalize text.NAME VALUES...`: F1 on the
# extraction-text dev split "all; mean, worst" of 5 site-grouped folds, with the fitted WEIGHTS
# below (fitted with the kept values; a swept value is not refitted), and the seed labels it
# breaks (none unless said). At the kept values: 0.9283; 0.9276, 0.9008, no seed label broken.
# A value is kept where a neighbour gains less than 0.001 (a page in 90 moves F1 by more) or
# costs seed labels or the worst fold; "flat" means a neighbour scores the same.
#
# Words of this many letters or more are content words (shorter ones are mostly function words
# in European languages): a line's topic signature.
# Sweep: 4 0.9150; 0.9144, 0.8502 (1 broken) | 6 0.9307; 0.9302, 0.9061 (5 broken).
CONTENT_MIN = 5
# Lines mentioning the headline share this many content words with it ...
# Sweep: 1 0.9236; 0.9231, 0.8970 | 3 0.9298; 0.9291, 0.9036 (5 broken).
TOPIC_SHARED = 2
# ... and a word used by this many of them (a line not counting its own) is the story's too.
# Sweep: 1 0.9172; 0.9169, 0.8692 (8 broken) | 3 0.9282; 0.9275, 0.9000.
TOPIC_SUPPORT = 2
# A sentence line of this many words or more is a long sentence (a feature, and full weight in
# the prose score). Sweep: 10 0.9287; 0.9281, 0.9008 | 15 0.9232; 0.9227, 0.8733.
LONG_SENTENCE_WORDS = 12
# Short lines printed more than once on a page (at most this many words) are teasers or labels.
# Sweep: 12 and 30 flat.
REPEAT_MAX_WORDS = 20
# A line that repeats the start of the line before it, at least this many characters long, is
# the same caption printed twice. Sweep: 20 0.9282 | 45 flat.
CAPTION_MIN_CHARS = 30
# Datelines: at most this many words holding a date.
# Sweep: 4 0.9287; 0.9281, 0.9004 | 8 0.9275; 0.9268, 0.9014.
DATELINE_MAX_WORDS = 6
# The prose score of a line (``_shape_score``), which marks the run the in_prose_run feature
# reads: furniture costs at least FURNITURE_COST, or FURNITURE_COST_PER_WORD a word; a line of
# PROSE_MIN_WORDS or more counts as prose without a sentence end; a sentence shorter than a long
# one counts SHORT_SENTENCE_WEIGHT a word; prose is weighed by its share of the story's words,
# TOPIC_FLOOR + TOPIC_GAIN * share (at most 1); a short title-cased line (a label: at most
# LABEL_MAX_WORDS words, title-case share above LABEL_TITLE_CASE) costs LABEL_COST, any other
# line OTHER_COST. Sweeps:
# FURNITURE_COST 2 0.9278; 0.9272, 0.9008 | 6 0.9285; 0.9278, 0.9008 (2 broken).
# FURNITURE_COST_PER_WORD 0.25 and 1 flat.
# PROSE_MIN_WORDS 18 0.9290; 0.9284, 0.9000 | 35 0.9180; 0.9174, 0.8949.
# SHORT_SENTENCE_WEIGHT 0.25 0.9280; 0.9273, 0.9008 | 0.75 0.9277; 0.9271, 0.9008.
# TOPIC_FLOOR 0.1 0.9181; 0.9176, 0.8936 (2 broken) | 0.3 0.9203; 0.9195, 0.8749.
# TOPIC_GAIN 2 0.9288; 0.9282, 0.9025 | 4 0.9274; 0.9268, 0.8989.
# LABEL_MAX_WORDS 4 0.9278; 0.9272, 0.9008 | 8 flat. LABEL_TITLE_CASE 0.5 and 0.7 flat.
# LABEL_COST 4 0.9289; 0.9283, 0.8989 | 8 0.9281; 0.9275, 0.9018.
# OTHER_COST 3 0.9277; 0.9271, 0.9008 | 7 0.9269; 0.9264, 0.8941.
FURNITURE_COST = 4.0
FURNITURE_COST_PER_WORD = 0.5
PROSE_MIN_WORDS = 25
SHORT_SENTENCE_WEIGHT = 0.5
TOPIC_FLOOR = 0.2
TOPIC_GAIN = 3.0
LABEL_MAX_WORDS = 6
LABEL_TITLE_CASE = 0.6
LABEL_COST = 6.0
OTHER_COST = 5.0
# Neighbourhoods of the window features: near_long_sentences, wide_long_sentences and
# near_topic_share read the lines within this many of a line. Sweeps (not refitted):
# NEAR_LINES 1 0.9285; 0.9278, 0.9008 | 3 0.9285; 0.9279, 0.9025.
# WIDE_LINES 4 0.9288; 0.9282, 0.9008 | 8 0.9288; 0.9282, 0.9025.
# TOPIC_LINES 2 0.9290; 0.9283, 0.9029 | 4 0.9285; 0.9279, 0.9008.
NEAR_LINES = 2
WIDE_LINES = 6
TOPIC_LINES = 3

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
# A line joins the body when its probability clears this; the run is chosen on p - THRESHOLD.
# Sweep (as above): 0.4 0.9287; 0.9280, 0.9033 | 0.6 0.9288; 0.9281, 0.9025.
THRESHOLD = 0.5
# Appeals at the body's ends: a line is an appeal's when it is a short label (fewer than
# APPEAL_LABEL_WORDS words, no sentence) or addresses the reader (APPEAL_ADDRESS of its words)
# or shares less than APPEAL_MIN_SHARE of the story's words. A run of them (APPEAL_RUN_WORDS
# words or more) is dropped when, taken together, it addresses the reader, the rest of the body
# is on topic (APPEAL_TOPIC) and the run shares less than APPEAL_SHARE_RATIO of the rest's share.
# Sweeps (as above): the dev pages hold few appeals, the seeds many.
# APPEAL_LABEL_WORDS 6 and 10 flat. APPEAL_ADDRESS 0.03 0.9281 | 0.08 flat (4 broken).
# APPEAL_MIN_SHARE 0.05 and 0.15 flat. APPEAL_RUN_WORDS 8 and 16 flat.
# APPEAL_TOPIC 0.1 0.9283 | 0.3 0.9284 (4 broken).
# APPEAL_SHARE_RATIO 0.3 flat | 0.7 0.9281; 0.9275, 0.9000.
APPEAL_LABEL_WORDS = 8
APPEAL_ADDRESS = 0.05
APPEAL_MIN_SHARE = 0.1
APPEAL_RUN_WORDS = 12
APPEAL_TOPIC = 0.2
APPEAL_SHARE_RATIO = 0.5
# A short line (at most this many words) next to a clock time belongs to a media player.
# Sweep (as above): 6 flat (1 broken) | 14 flat.
PLAYER_MAX_WORDS = 10
# A headline: HEADLINE_MIN_WORDS to HEADLINE_MAX_WORDS words, no sentence, and at least
# HEADLINE_MIN_SHARE of its content words the story's. Sweeps (as above; a headline found leaves
# the body): HEADLINE_MIN_WORDS 3 and 5 flat. HEADLINE_MAX_WORDS 20 0.9280 | 40 flat.
# HEADLINE_MIN_SHARE 0.3 0.9268; 0.9261, 0.9008 | 0.7 flat.
HEADLINE_MIN_WORDS = 4
HEADLINE_MAX_WORDS = 30
HEADLINE_MIN_SHARE = 0.5


# Latin-1 lines (all ASCII lines, most western European ones) are counted by character class
# without a per-character loop: one byte translation to a class letter, then counts.
_LATIN1_CLASS = bytes(
    ord("d") if chr(c).isdigit() else ord(" ") if not chr(c).isalpha()
    else ord("u") if chr(c).isupper() else ord("l")
    for c in range(256)
)


class Line:
    """One candidate line with every per-line signal the model and the selection read, computed
    once (by ``candidate``) since several steps consult each line. Immutable (``Final``), since
    ``candidate`` hands the same one to every article that prints the line (so what only one
    article knows of it, such as whether its source taught it as furniture, is not here). A
    plain class, not a ``NamedTuple``: the compiled build makes it a native one, built in a
    fifth of the time and read by field offset (``candidate`` builds one a line)."""

    def __init__(self, *, text: str, words: int, sentence: bool, long_sentence: bool,
                 call_to_action: bool, truncated: bool, clock: bool,
                 furniture_shape: bool, title_case: float, reader_address: float, digits: float,
                 upper_case: float, linkish: bool, ends_colon: bool, content: frozenset[str],
                 repeat_key: str) -> None:
        self.text: Final = text
        self.words: Final = words
        self.sentence: Final = sentence
        self.long_sentence: Final = long_sentence
        self.call_to_action: Final = call_to_action
        self.truncated: Final = truncated
        self.clock: Final = clock
        self.furniture_shape: Final = furniture_shape
        self.title_case: Final = title_case
        self.reader_address: Final = reader_address
        self.digits: Final = digits
        self.upper_case: Final = upper_case
        self.linkish: Final = linkish
        self.ends_colon: Final = ends_colon
        self.content: Final = content
        self.repeat_key: Final = repeat_key


@lru_cache(maxsize=LINE_CACHE)
def candidate(text: str) -> Line:
    """``text`` as a ``Line``, from one pass of word splitting shared by all its signals.

    Memoized: a source repeats its page furniture on every page. (Keyed by the text alone: a
    key of one str is the str itself, where two arguments would make a tuple a line.)"""
    plain = plain_form(text)
    words, title_case, call_verb, reader_address, content, repeat_key, counts = _word_signals(
        plain)
    sentence = looks_like_sentence(text, words)
    clock = ":" in text and _CLOCK.match(text) is not None  # the test spares most lines a regex
    digits, upper, letters = counts
    line = Line(
        text=text,
        words=words,
        sentence=sentence,
        long_sentence=sentence and words >= LONG_SENTENCE_WORDS,
        call_to_action=call_verb and is_call_to_action(text),
        truncated=is_truncated(text, words),
        clock=clock,
        furniture_shape=clock or _is_furniture_shape(text, words, digits),
        title_case=title_case,
        reader_address=reader_address,
        digits=digits / max(1, len(text)),
        upper_case=upper / max(1, letters),
        linkish=_is_linkish(text),
        ends_colon=text.rstrip().endswith(":"),
        content=content,
        repeat_key=repeat_key,
    )
    if kernels.units is not None:
        # A line and its set of words hold only strings and numbers: no cycle. Cached, they
        # outlive the collections of the young generation; untracked, none walks them.
        kernels.units.untrack_acyclic(content, line)
    return line


def _word_signals(plain: str) -> tuple[int, float, bool, float, frozenset[str], str,
                                       tuple[int, int, int]]:
    """The signals of ``plain`` (a line's ``plain_form``) read from its words: how many; the
    title-case share; whether one is a call verb; the share addressing the reader; its content
    words; its repeat key (its words case-folded, for a short line; a paragraph's is never
    compared by ``_repeated``, so not built); and its ``_char_counts``."""
    if kernels.units is not None and plain.isascii():  # one pass, no list of words
        words, eligible, titled, call_verb, hits, content, key, counts = kernels.units.ascii_line(
            plain, units.ASCII_IS_WORD, CONTENT_MIN, REPEAT_MAX_WORDS, TITLE_CASE_MIN_LETTERS,
            CALL_VERBS, _ADDRESS)
        return (words, titled / eligible if eligible else 0.0, call_verb, hits / max(1, words),
                content, key, counts)
    tokens, lowered, lower_tokens = _tokens(plain)
    is_ascii = plain.isascii()
    words = len(tokens) if is_ascii else units.unit_words(plain)
    return (
        words,
        title_case_ratio(tokens),
        not CALL_VERBS.isdisjoint(lower_tokens),
        _address_share(tokens, lowered),
        frozenset([w for w in lower_tokens if len(w) >= CONTENT_MIN] if is_ascii
                  else units.topic_terms(plain.casefold(), CONTENT_MIN)),
        " ".join(lower_tokens) if words <= REPEAT_MAX_WORDS else "",
        _char_counts(plain),
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
    spaced = units.latin1_spaced(text)
    if spaced is not None:  # Latin-1 folds one character at a time, to word characters
        folded = spaced.casefold().split()
        return spaced.split(), folded, folded
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
        line = raw.strip()
        if line and _may_open_with_bullet(raw):
            bullet = _BULLET.match(raw)
            line = (raw[bullet.end():] if bullet else raw).strip()
        if line:
            out.append(line)
    return out


def _may_open_with_bullet(line: str) -> bool:
    """Whether ``line`` opens as ``_BULLET`` needs (whitespace, a mark or a digit): most lines
    are then told apart without running the pattern (~0.1 us a line, interpreted)."""
    first = line[:1]
    return first in _BULLET_MARKS or first.isspace() or first.isdecimal()


def _same(a: str, b: str) -> bool:
    """Whether two lines repeat one another (a caption printed twice, one with a credit)."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= CAPTION_MIN_CHARS and long_.startswith(short)


def _is_furniture_shape(text: str, words: int, digits: int) -> bool:
    """Datelines and copyright lines (clock times are told apart by ``candidate``). ``digits``:
    the line's digit count (every date ``text_date`` reads has a four-digit year)."""
    if "\u00a9" in text or text[:9].lower() == "copyright":
        return True
    return words <= DATELINE_MAX_WORDS and digits >= 4 and text_date(text) is not None


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
    if kernels.units is not None:  # one pass, by the same character tests
        counts: tuple[int, int, int] = kernels.units.char_counts(text)
        return counts
    encoded = units.latin1(text)
    if encoded is not None:
        classes = encoded.translate(_LATIN1_CLASS)
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
    on_topic = [len(words & anchor_words) >= TOPIC_SHARED for words in signatures]
    support: dict[str, int] = {}  # a dict, not a Counter, whose counting runs as Python
    for words, flag in zip(signatures, on_topic, strict=True):
        if flag:
            for word in words:
                support[word] = support.get(word, 0) + 1
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
        key = item.repeat_key  # empty for a line over REPEAT_MAX_WORDS words
        if key:
            seen.setdefault(key, []).append(index)
    return {i for indexes in seen.values() if len(indexes) > 1 for i in indexes}


def _window_means(values: list[float], radius: int) -> list[float]:
    """At every index, the mean of the values within ``radius`` of it, itself left out.

    Each window summed left to right (the zeros padding the ends change no sum), then the
    value itself taken out. Plain Python: an article has tens of lines, too few for array
    passes to repay their fixed cost."""
    count = len(values)
    padded = [0.0] * radius + values + [0.0] * radius
    width = 2 * radius + 1
    means: list[float] = []
    for index in range(count):
        size = min(index + radius + 1, count) - max(index - radius, 0) - 1
        total = 0.0  # as ``sum`` adds, in a loop the compiled build keeps in machine floats
        for at in range(index, index + width):
            total += padded[at]
        means.append((total - values[index]) / size if size > 0 else 0.0)
    return means


def _window_shares(flags: list[float], radius: int) -> list[float]:
    """``_window_means`` of values that are each 0.0 or 1.0, from a running count: every sum of
    such values is a whole number, exact in any order, so the means are the same bits at one
    step a line instead of a window's."""
    count = len(flags)
    ahead = [0] * (count + 1)  # ahead[i]: the flags before index i
    for index in range(count):
        ahead[index + 1] = ahead[index] + (1 if flags[index] else 0)
    means: list[float] = []
    for index in range(count):
        low, high = max(index - radius, 0), min(index + radius + 1, count)
        size = high - low - 1
        own = 1 if flags[index] else 0
        means.append((ahead[high] - ahead[low] - own) / size if size > 0 else 0.0)
    return means


def _shape_score(line: Line, share: float) -> float:
    """A hand-set prose score: positive for on-topic sentences, negative for furniture."""
    if line.furniture_shape or line.call_to_action or line.truncated:
        return -max(FURNITURE_COST, line.words * FURNITURE_COST_PER_WORD)
    if line.sentence or line.words >= PROSE_MIN_WORDS:
        weight = 1.0 if line.words >= LONG_SENTENCE_WORDS else SHORT_SENTENCE_WEIGHT
        return line.words * weight * min(1.0, TOPIC_FLOOR + TOPIC_GAIN * share)
    if line.words <= LABEL_MAX_WORDS and line.title_case > LABEL_TITLE_CASE:
        return -LABEL_COST
    return -OTHER_COST


def line_features(items: list[Line], anchor: str) -> list[list[float]]:
    """The feature vector (in ``FEATURES`` order) of every line."""
    shares, on_topic = _topic(items, anchor)
    repeated = _repeated(items)
    long_sentence = [1.0 if item.long_sentence else 0.0 for item in items]
    near = _window_shares(long_sentence, NEAR_LINES)
    wide = _window_shares(long_sentence, WIDE_LINES)
    near_shares = _window_means(shares, TOPIC_LINES)
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
        # summed left to right from zero, as ``sum`` does, in a loop the compiled build keeps in
        # machine floats: 2.4 against 0.4 us a line for ``sum(map(operator.mul, ...))``. (Its
        # ``zip`` has no ``strict``, which mypyc compiles only in its plain form; every row is
        # ``line_features``', one value a weight.)
        total = 0.0
        for weight, value in zip(WEIGHTS, row):  # noqa: B905
            total += weight * value
        z = BIAS + total
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


def prepare(lines: list[str], furniture: set[int],
            title: str | None) -> tuple[list[Line], set[int]]:
    """Lines as candidates: a caption printed twice kept once, the headline line dropped; and
    the indexes among them of the lines ``furniture`` (indexes of ``lines``) names."""
    items: list[Line] = []
    learned: set[int] = set()
    headline = title.strip().lower() if title else None
    for index, text in enumerate(lines):
        if items and _same(items[-1].text, text):
            if len(text) < len(items[-1].text):
                items[-1] = candidate(text)  # learned or not as the line it stands for
            continue
        if headline is not None and _is_headline_line(text, headline):
            continue
        if index in furniture:
            learned.add(len(items))
        items.append(candidate(text))
    return items, learned


def _is_headline_line(text: str, headline: str) -> bool:
    """Whether ``text`` is the headline (``headline``: the title stripped and lower-cased). An
    ASCII line keeps its length when lower-cased, so one of another length is not lowered to
    tell (most lines are ASCII, and few are the headline's length)."""
    line = text.strip()
    if line.isascii() and len(line) != len(headline):
        return False
    return line.lower() == headline


def _media_widget(items: list[Line]) -> set[int]:
    """A clock time on its own line is a player's duration: it and the short lines right
    around it (title, "your browser does not support…") are the player, not the story."""
    found: set[int] = set()
    for index, item in enumerate(items):
        if item.clock:
            found.add(index)
            found.update(i for i in (index - 1, index + 1)
                         if 0 <= i < len(items) and items[i].words <= PLAYER_MAX_WORDS)
    return found


def _is_appeal(item: Line, share: float) -> bool:
    """A line of an appeal or promo: addresses the reader or shares little of the story's
    vocabulary; short labels ("Dear readers,") ride along."""
    if item.words < APPEAL_LABEL_WORDS and not item.sentence:
        return True
    if item.text[:1] in _QUOTES:
        return False  # someone quoted in the story saying "we"
    return item.reader_address >= APPEAL_ADDRESS or share < APPEAL_MIN_SHARE


def _strip_appeals(body: list[int], items: list[Line], shares: list[float]) -> list[int]:
    """Drop a run of appeal lines at either end of the body (donation and newsletter boxes sit
    just before or after the story) when, taken together, it speaks to the reader and shares
    much less of the story's vocabulary than the rest of the body does."""
    head = 0
    while head < len(body) and _is_appeal(items[body[head]], shares[body[head]]):
        head += 1
    tail = len(body)
    while tail > head and _is_appeal(items[body[tail - 1]], shares[body[tail - 1]]):
        tail -= 1
    start = head if _is_appeal_run(body[:head], body[head:tail], items, shares) else 0
    end = tail if _is_appeal_run(body[tail:], body[head:tail], items, shares) else len(body)
    return body[start:end]


def _is_appeal_run(run: list[int], rest: list[int], items: list[Line],
                   shares: list[float]) -> bool:
    """Whether the lines ``run`` (an end of the body, ``rest`` the lines between its ends) are
    an appeal: enough words, addressing the reader, while the rest is on topic and shares far
    more of the story's words."""
    if not rest or sum(items[i].words for i in run) < APPEAL_RUN_WORDS:
        return False
    address = [item.reader_address for item in items]
    topic = _word_weighted_mean(rest, shares, items)
    return (_word_weighted_mean(run, address, items) >= APPEAL_ADDRESS and topic >= APPEAL_TOPIC
            and _word_weighted_mean(run, shares, items) < APPEAL_SHARE_RATIO * topic)


def _word_weighted_mean(run: list[int], value: list[float], items: list[Line]) -> float:
    """The mean of ``value`` over the lines ``run``, each weighed by its words. (A module
    function, not a closure: the compiled build's closures hold their scope in a cycle, which
    kept every article's lines alive until the collector's next pass.)"""
    words = sum(items[i].words for i in run)
    return sum(value[i] * items[i].words for i in run) / max(1, words)


def _body_indexes(items: list[Line], learned: set[int], probs: list[float],
                  shares: list[float]) -> list[int]:
    scores = [(p - THRESHOLD) * math.sqrt(item.words) for item, p in zip(items, probs,
                                                                          strict=True)]
    widget = _media_widget(items)
    start, end = _best_span(scores)
    body = [i for i in range(start, end)
            if probs[i] >= THRESHOLD and i not in widget
            and not items[i].furniture_shape and not items[i].call_to_action]
    learned_words = sum(items[i].words for i in body if i in learned)
    if learned_words * 2 <= sum(items[i].words for i in body):
        # Mostly "furniture" means a copy of an article seen before: keep it whole.
        body = [i for i in body if i not in learned]
    body = _strip_appeals(body, items, shares)
    while body and items[body[-1]].ends_colon:
        body.pop()  # a label ("A message from us:") whose content was dropped
    return body


def select(items: list[Line], learned: set[int], probs: list[float],
           shares: list[float]) -> list[str]:
    """The body: the best run of probable lines, without improbable lines, calls to action,
    datelines, media players, learned furniture (``learned``: indexes of ``items``), or appeals
    at its ends."""
    return [items[i].text for i in _body_indexes(items, learned, probs, shares)]


def _is_headline(item: Line, share: float) -> bool:
    return (HEADLINE_MIN_WORDS <= item.words <= HEADLINE_MAX_WORDS and not item.sentence
            and share >= HEADLINE_MIN_SHARE)


def analyse(lines: list[str], furniture: set[int], title: str | None,
            anchor: str) -> tuple[list[Line], set[int], list[list[float]]]:
    """Candidate lines, those of them learned as furniture (``prepare``), and their features.
    The topic is anchored on the title, the URL's words and the first line (a crawler's text
    usually opens with the page title)."""
    items, learned = prepare(lines, furniture, title)
    topic = f"{title or ''} {anchor} {lines[0] if lines else ''}"
    return items, learned, line_features(items, topic)


@dataclass(frozen=True, slots=True)
class TextBody:
    paragraphs: list[str]
    headline: str | None


def extract_lines(lines: list[str], furniture: set[int], title: str | None,
                  anchor: str = "") -> TextBody:
    """The body lines among ``lines`` (furniture indexes come from the source memory;
    ``anchor`` is extra topic text such as the words of the URL path), and, when no title is
    given, the headline: the on-topic heading-like line nearest above the body."""
    items, learned, rows = analyse(lines, furniture, title, anchor)
    if not items:
        return TextBody([], None)
    shares = [row[SHARE] for row in rows]
    body = _body_indexes(items, learned, probabilities(rows), shares)
    headline: str | None = None
    if title is None and body:
        if _is_headline(items[body[0]], shares[body[0]]):
            headline = items[body.pop(0)].text
        else:
            above = [i for i in range(body[0]) if _is_headline(items[i], shares[i])]
            headline = items[above[-1]].text if above else None
    return TextBody([items[i].text for i in body], headline)
