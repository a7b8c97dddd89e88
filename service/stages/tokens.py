"""Units of text in every script: the one tokenizer behind word counts, line features,
shingles and story terms.

A *unit* is what the stages count and hash in place of a word:

* in scripts written with spaces between words (Latin, Cyrillic, Greek, Arabic, Devanagari,
  Hangul, ...) a unit is a word: a run of letters and digits (``\\w``) together with the
  combining marks, zero-width joiners and variation selectors inside it. (``re``'s ``\\w`` alone
  cuts Devanagari at every vowel sign and Persian at every zero-width non-joiner.)
* in scripts written without spaces, each character with its marks is a unit of its own:
  ``IDEOGRAPH`` for Han and kana, ``SYLLABLE`` for Thai, Lao, Khmer and Myanmar.

A *word* (``word_count``, ``min_body_words``) is a whitespace-separated token holding a spaced
unit (as a reader counts words: "U.S." is one), 1.5 ideographs (a Chinese word
averages about 1.5 characters, a Japanese one a little more) or 3 syllable units (a Thai word
averages 3 to 4 letters, its vowel and tone marks riding on them). Story and topic *terms* are
the spaced units and, in unspaced scripts, n-grams of adjacent units: bigrams of ideographs (the
usual indexing unit for Chinese, about as informative as a word for the IDF) and trigrams of
syllable units (about a Thai syllable or short word); a lone unspaced unit is no term.

Nothing here assumes a folded text has the original's length: callers fold (``str.casefold``)
first and scan the folded text, and positions are always those of the text scanned.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from service.stages import kernels

U8 = npt.NDArray[np.uint8]
U32 = npt.NDArray[np.uint32]
IntP = npt.NDArray[np.intp]

GAP, WORD, JOIN, IDEOGRAPH, SYLLABLE = range(5)
# Code points below this are classified by a table; above it (planes 2 to 16) by range.
_TABLE_SIZE = 0x20000
_IDEOGRAPH_PLANES_END = 0x40000  # planes 2 and 3: CJK ideographs only
_BASIC_PLANE, _LAST_CODE_POINT = 0x10000, 0x10FFFF
_SUPPLEMENT_JOINERS = (0xE0000, 0xE01F0)  # tags and variation selectors supplement
_ZERO_WIDTH_JOINERS = (0x200C, 0x200D)
# How ``_kinds`` reads a code point above the table, for the compiled build's kernel.
_ASTRAL_KINDS = (_IDEOGRAPH_PLANES_END, *_SUPPLEMENT_JOINERS, IDEOGRAPH, JOIN, GAP)
_IDEOGRAPH_RANGES = ((0x3005, 0x3007), (0x3021, 0x3029), (0x3031, 0x3035), (0x303B, 0x303C),
                     (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
                     (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x1B000, 0x1B16F))
_SYLLABLE_RANGES = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x19E0, 0x19FF),
                    (0x1A20, 0x1AAF), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F))
# Units per story term in unspaced scripts: ideograph bigrams (the usual indexing unit for
# Chinese: most words are one or two characters), syllable-unit trigrams (a Thai letter with its
# marks carries less than an ideograph: on tests/multilingual.py's Thai reports, bigrams put two
# floods in different provinces at cosine 0.25, over stories.join_threshold; trigrams at 0.07,
# with two reports of one flood at 0.25).
NGRAM = {IDEOGRAPH: 2, SYLLABLE: 3}
# Word equivalents of one unit of each kind (see the module docstring).
IDEOGRAPHS_PER_WORD = 1.5
SYLLABLES_PER_WORD = 3.0
# Latin-1 text (every code point below U+0100: all ASCII text, and western European text once its
# typographic punctuation is plain) is one byte a character and holds no joiner and no unspaced
# letter, so byte tables read it without a scan or a regex. Whitespace (``str.isspace``) becomes
# a space, ``\w`` a "w", and bytes that are neither are deleted: what is left of each
# whitespace-separated token is a "w" a word character, and a token that holds one opens at " w".
_LATIN1_SPACE_OR_WORD = bytes(ord(" ") if chr(c).isspace() else ord("w") for c in range(256))
_LATIN1_NEITHER = bytes(c for c in range(256)
                        if not (chr(c).isspace() or chr(c).isalnum() or c == ord("_")))
# Bytes that are not ``\w`` become spaces: the text is split into its units by ``str.split``.
_LATIN1_WORD = bytes(c if chr(c).isalnum() or c == ord("_") else ord(" ") for c in range(256))
# ... or each a "w", the others a space: a unit opens at each " w".
_LATIN1_WORD_MARK = bytes(ord(" ") if byte == ord(" ") else ord("w") for byte in _LATIN1_WORD)
# ... NUL too, kept, to part the texts ``units_of_parts`` splits at once.
_LATIN1_WORD_OR_NUL = b"\0" + _LATIN1_WORD[1:]
# ... and for ASCII, 1 for a word character and 0 for the others (the kernels read it too).
ASCII_IS_WORD = (np.frombuffer(_LATIN1_WORD[:128], dtype=np.uint8) != ord(" ")).astype(np.int8)
# ... and for Latin-1, with each character's case-folded code point beside it (0 for the one that
# folds to two, "\u00df"): the unit hashes' kernel reads a folded Latin-1 text from them.
LATIN1_IS_WORD = (np.frombuffer(_LATIN1_WORD, dtype=np.uint8) != ord(" ")).astype(np.int8)
LATIN1_FOLD = np.array([ord(folded) if len(folded := chr(code).casefold()) == 1 else 0
                        for code in range(256)], dtype=np.uint32)
# Typographic punctuation: curly quotes, dashes, bullets, ellipses (U+2010 to U+2027 and U+2030
# to U+205E, none of them a space) and guillemets. Like "'", each is a gap that is not
# whitespace, so a text with them as "'" has the same units, unit spans and words; most
# otherwise-ASCII news text then takes the ASCII paths (tests/test_tokens.py holds the kinds).
TYPOGRAPHIC_MARKS = "\u00ab\u00bb" + "".join(map(chr, [*range(0x2010, 0x2028),
                                                      *range(0x2030, 0x205F)]))
TYPOGRAPHIC = re.compile(f"[{TYPOGRAPHIC_MARKS}]")


@lru_cache(maxsize=1)
def kind_table() -> U8:
    """The kind (``GAP``, ``WORD``, ``JOIN``, ``IDEOGRAPH``, ``SYLLABLE``) of every code point
    below ``_TABLE_SIZE``. Letters and digits are ``\\w`` as ``re`` defines it (``isalnum`` or
    ``_``); marks (Mn, Mc, Me) and the zero-width (non-)joiners join the unit before them."""
    table = np.zeros(_TABLE_SIZE, dtype=np.uint8)
    for code in range(_TABLE_SIZE):
        char = chr(code)
        if char.isalnum() or char == "_":
            table[code] = WORD
        elif unicodedata.category(char)[0] == "M" or code in _ZERO_WIDTH_JOINERS:
            table[code] = JOIN
    letters = table == WORD
    for kind, ranges in ((IDEOGRAPH, _IDEOGRAPH_RANGES), (SYLLABLE, _SYLLABLE_RANGES)):
        for first, last in ranges:
            span = slice(first, last + 1)
            table[span] = np.where(letters[span], kind, table[span])
    table.flags.writeable = False
    return table


@lru_cache(maxsize=1)
def space_table() -> npt.NDArray[np.bool_]:
    """Whether each code point below ``_TABLE_SIZE`` is whitespace (``str.isspace``)."""
    table = np.array([chr(code).isspace() for code in range(_TABLE_SIZE)])
    table.flags.writeable = False
    return table


@lru_cache(maxsize=1)
def _joining_or_unspaced() -> re.Pattern[str]:
    """A character class of what ``scan`` reads other than as a word character or a gap: the
    joiners and the letters of unspaced scripts (``kind_table`` above WORD), and every astral
    code point (rare in news; listing the few astral ranges instead makes ``re`` test them one
    by one, 25 times slower than its table of the basic plane). A text without any has the
    runs of ``\\w`` as its units: ``re``'s ``\\w`` is ``isalnum`` or ``_``, as ``kind_table``'s
    WORD is."""
    special = np.flatnonzero(kind_table()[:_BASIC_PLANE] > WORD)
    cuts = np.flatnonzero(np.diff(special) != 1)
    firsts = [int(special[0]), *special[cuts + 1].tolist()]
    lasts = [*special[cuts].tolist(), int(special[-1])]
    spans = [*zip(firsts, lasts, strict=True), (_BASIC_PLANE, _LAST_CODE_POINT)]
    return re.compile("[" + "".join(f"\\U{first:08x}-\\U{last:08x}" for first, last in spans)
                      + "]")


def load_tables() -> None:
    """Build the code point tables now (~30 ms compiled): a worker does so before it joins its
    group (``Pipeline.load_models``), so its first article does not wait for them."""
    kind_table()
    space_table()
    _joining_or_unspaced()


# A unit of a text without joiners or unspaced letters, and a character of one.
_WORD_RUN = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")
# The longest text whose words ``word_count`` and ``unit_words`` count by regex outside Latin-1:
# ``re``'s Unicode ``\w`` costs ~90 ns a character and ``scan`` ~150 µs a call plus ~40 ns a
# character, so past this the scan is cheaper. ``python -m bench.bench_tokens`` (compiled) on the
# dev texts' plain Cyrillic, Greek and Latin Extended texts: at a mean of 2,593 characters
# regex 255 µs against scan 263 (``word_count``), 196 against 201 (``unit_words``); at 5,802,
# 528 against 374. ``units`` and ``topic_terms`` build their strings either way and take the
# regex at every length.
REGEX_COUNT_MAX_CHARS = 2500


def latin1(text: str) -> bytes | None:
    """``text`` encoded in Latin-1, or None when it holds a code point above U+00FF."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def latin1_spaced(text: str) -> str | None:
    """``text`` with each character that is not ``\\w`` a space, when it is Latin-1 (its units
    are then its ``str.split``); None when it is not."""
    encoded = latin1(text)
    return None if encoded is None else encoded.translate(_LATIN1_WORD).decode("latin-1")


def _is_plain(text: str) -> bool:
    """Whether ``text`` holds only word characters and gaps (no joiner, no unspaced letter, no
    astral code point): its units are then the runs of ``\\w``."""
    return _joining_or_unspaced().search(text) is None


def _plain_units(text: str, regex_max_chars: int | None = None) -> list[str] | None:
    """The units of ``text`` when it holds only word characters and gaps: by a byte table in
    Latin-1, else the runs of ``\\w`` found by the regex engine (on a line, ``scan``'s array
    passes cost eight times more), for a text of at most ``regex_max_chars`` when given. None
    for any other text."""
    spaced = latin1_spaced(text)
    if spaced is not None:
        return spaced.split()
    return _regex_units(text, regex_max_chars)


def _regex_units(text: str, regex_max_chars: int | None = None) -> list[str] | None:
    """``_plain_units`` of a text outside Latin-1."""
    if (regex_max_chars is None or len(text) <= regex_max_chars) and _is_plain(text):
        return _WORD_RUN.findall(text)
    return None


class Units(NamedTuple):
    """The units of a text: its code points, each unit's [start, end) in them, its kind."""

    points: U32
    starts: IntP
    ends: IntP
    kinds: U8


def plain_punctuation(text: str) -> str:
    """``text`` with its typographic punctuation (``TYPOGRAPHIC``) as "'": the same units at the
    same positions, the same words, and ASCII when nothing else in it is not."""
    if kernels.units is not None:  # a bitmap's pass for the regex engine's (4 against 12 us)
        plain: str = kernels.units.marks_as(text, TYPOGRAPHIC_MARKS, "'")
        return plain
    return text if text.isascii() else TYPOGRAPHIC.sub("'", text)


def code_points(text: str) -> U32:
    """The code points of ``text`` (a lone surrogate is kept as its own value)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _kinds(points: U32) -> tuple[U8, int]:
    """The kind of each code point, and the largest of them (``GAP`` when there are none)."""
    if kernels.units is not None:
        out = np.empty(len(points), dtype=np.uint8)
        largest: int = kernels.units.kinds(out, points, kind_table(), _ASTRAL_KINDS)
        return out, largest
    kinds: U8 = kind_table().take(np.minimum(points, _TABLE_SIZE - 1))  # take: 2x indexing
    astral = points >= _TABLE_SIZE
    if astral.any():
        high = points[astral]
        kinds[astral] = np.where(
            high < _IDEOGRAPH_PLANES_END, IDEOGRAPH,
            np.where((high >= _SUPPLEMENT_JOINERS[0]) & (high < _SUPPLEMENT_JOINERS[1]),
                     JOIN, GAP))
    return kinds, int(kinds.max()) if len(kinds) else GAP


def scan(text: str) -> Units:
    """The units of ``text``, in order. A joiner continues the unit before it (and is dropped
    where none is open, as after an emoji); an ideograph or syllable always opens a unit.
    A text of words and gaps alone (all ASCII text, most text in spaced scripts without marks)
    has the runs of its word characters as units, found in a few array passes."""
    if text.isascii():
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        return _word_runs(codes.astype(np.uint32), ASCII_IS_WORD.take(codes))
    points = code_points(text)
    kinds, largest = _kinds(points)
    if largest <= WORD:
        return _word_runs(points, (kinds == WORD).view(np.int8))
    index = np.arange(len(points))
    # the kind each character acts as: its own, or for a joiner that of the last non-joiner
    anchor = np.where(kinds != JOIN, index, -1)
    np.maximum.accumulate(anchor, out=anchor)
    acting = np.where(anchor >= 0, kinds[np.maximum(anchor, 0)], GAP)
    inside = acting != GAP
    before = np.concatenate(([GAP], acting[:-1]))
    opens = inside & (kinds != JOIN) & ((kinds >= IDEOGRAPH) | (before != WORD))
    after_opens = np.concatenate((opens[1:], [True]))
    after_inside = np.concatenate((inside[1:], [False]))
    closes = inside & (after_opens | ~after_inside)
    starts = opens.nonzero()[0]
    return Units(points, starts, closes.nonzero()[0] + 1, kinds[starts])


def _word_runs(points: U32, word: npt.NDArray[np.int8]) -> Units:
    """``scan`` of a text whose characters are words (``word`` 1) and gaps (0) alone."""
    if kernels.units is not None:
        capacity = len(word) // 2 + 1  # runs of words have gaps between them
        starts = np.empty(capacity, dtype=np.intp)
        ends = np.empty(capacity, dtype=np.intp)
        runs: int = kernels.units.word_runs(starts, ends, word)
        return Units(points, starts[:runs], ends[:runs], np.full(runs, WORD, dtype=np.uint8))
    padded = np.zeros(len(word) + 2, dtype=np.int8)  # np.diff's prepend and append cost more
    padded[1:-1] = word
    edges = padded[1:] - padded[:-1]
    starts = (edges > 0).nonzero()[0]
    return Units(points, starts, (edges < 0).nonzero()[0],
                 np.full(len(starts), WORD, dtype=np.uint8))


def units(text: str) -> list[str]:
    """The units of ``text`` as strings (fold first for case-blind units)."""
    text = plain_punctuation(text)
    plain = _plain_units(text)
    if plain is not None:
        return plain
    found = scan(text)
    return [text[start:end] for start, end in zip(found.starts.tolist(), found.ends.tolist(),
                                                  strict=True)]


def units_of_parts(text: str) -> list[list[str]]:
    """The units of each NUL-separated part of ``text``: what ``units`` gives for each part, in
    one pass over them all (NUL is a gap, so no unit spans two parts; a part's opening joiner
    has no unit open before it either way)."""
    text = plain_punctuation(text)
    encoded = latin1(text)
    if encoded is not None:
        spaced = encoded.translate(_LATIN1_WORD_OR_NUL).decode("latin-1")
        return [part.split() for part in spaced.split("\0")]
    if _is_plain(text):
        return [_WORD_RUN.findall(part) for part in text.split("\0")]
    found = scan(text)
    cuts = (found.points == 0).nonzero()[0]
    owners = np.searchsorted(cuts, found.starts).tolist()
    parts: list[list[str]] = [[] for _ in range(len(cuts) + 1)]
    for owner, start, end in zip(owners, found.starts.tolist(), found.ends.tolist(),
                                 strict=True):
        parts[owner].append(text[start:end])
    return parts


def single_spaced(text: str) -> str:
    """``text`` with each run of whitespace one space and none at its ends (``" ".join(
    text.split())``): ``text`` itself when one scan finds no other space character (none is
    printable) and no double or outer space, as in a clean body's paragraphs."""
    if (text.isprintable() and "  " not in text
            and not text.startswith(" ") and not text.endswith(" ")):
        return text
    return " ".join(text.split())


def word_count(text: str) -> int:
    """Words in ``text`` as a reader counts them: the whitespace-separated tokens that hold a
    spaced-script unit ("U.S." and "don't" are one word each; a lone dash is none), plus the
    ideographs and syllables at their word rates."""
    text = plain_punctuation(text)
    encoded = latin1(text)
    if encoded is not None:
        # counted, not split: a 4 KB body's tokens made bytes objects cost 21 us, this 10
        return (b" " + encoded.translate(_LATIN1_SPACE_OR_WORD, _LATIN1_NEITHER)).count(b" w")
    if len(text) <= REGEX_COUNT_MAX_CHARS and _is_plain(text):
        return _plain_word_count(text)
    found = scan(text)
    spaced = found.starts[found.kinds == WORD]
    tokens = 0
    if len(spaced):
        # the whitespace-separated token of each spaced unit, numbered by the spaces before it
        token = np.cumsum(space_table()[np.minimum(found.points, _TABLE_SIZE - 1)])[spaced]
        tokens = 1 + int(np.count_nonzero(np.diff(token)))
    return tokens + _unspaced_words(found.kinds)


def _plain_word_count(text: str) -> int:
    """``word_count`` of a text of word characters and gaps alone (``_is_plain``), by regex:
    whitespace is what ``str.split`` and ``space_table`` both read as such."""
    return sum(1 for token in text.split() if _WORD_CHAR.search(token))


def unit_words(text: str) -> int:
    """Words in ``text`` counted by unit: every spaced unit ("U.S." is two), plus the
    ideographs and syllables at their word rates. The line and block models' length feature."""
    text = plain_punctuation(text)
    encoded = latin1(text)
    if encoded is not None:  # its units are its runs of word bytes: counted, not made
        return (b" " + encoded.translate(_LATIN1_WORD_MARK)).count(b" w")
    plain = _regex_units(text, REGEX_COUNT_MAX_CHARS)
    if plain is not None:
        return len(plain)
    kinds = scan(text).kinds
    return int(np.count_nonzero(kinds == WORD)) + _unspaced_words(kinds)


def _unspaced_words(kinds: U8) -> int:
    counts = np.bincount(kinds, minlength=SYLLABLE + 1)
    return int(counts[IDEOGRAPH] / IDEOGRAPHS_PER_WORD + counts[SYLLABLE] / SYLLABLES_PER_WORD)


def _unspaced_term_spans(found: Units) -> tuple[IntP, IntP]:
    """[start, end) of the terms of unspaced scripts: n-grams of adjacent units, bigrams of
    ideographs and trigrams of syllable units (``NGRAM``); a run of adjacent units shorter than
    its n-gram is one term, but a lone unit is none (after a number it is a counter such as
    年, 日 or 人, shared by every report, and the number is a term of its own)."""
    unspaced = found.kinds >= IDEOGRAPH
    linked = unspaced[:-1] & unspaced[1:] & (found.ends[:-1] == found.starts[1:])
    firsts = np.flatnonzero(unspaced & np.concatenate(([True], ~linked)))
    lasts = np.flatnonzero(unspaced & np.concatenate((~linked, [True])))
    sizes = np.where(found.kinds == SYLLABLE, NGRAM[SYLLABLE], NGRAM[IDEOGRAPH])
    # the runs hold every unspaced unit, in order: each unit opens an n-gram if the n-gram
    # ends inside its run
    inside = np.flatnonzero(unspaced)
    opens = inside[inside + sizes[inside] - 1 <= lasts.repeat(lasts - firsts + 1)]
    short = (lasts - firsts + 1 < sizes[firsts]) & (lasts > firsts)
    return (np.concatenate((found.starts[firsts[short]], found.starts[opens])),
            np.concatenate((found.ends[lasts[short]], found.ends[opens + sizes[opens] - 1])))


def term_spans(found: Units) -> tuple[IntP, IntP]:
    """[start, end) of each term: every spaced unit, then the terms of unspaced scripts
    (``found.starts`` and ``found.ends`` themselves when there are none)."""
    spaced = found.kinds < IDEOGRAPH
    if spaced.all():
        return found.starts, found.ends
    starts, ends = _unspaced_term_spans(found)
    return (np.concatenate((found.starts[spaced], starts)),
            np.concatenate((found.ends[spaced], ends)))


def topic_terms(folded: str, min_length: int) -> list[str]:
    """The terms of ``folded`` that can tell a topic apart: spaced units of at least
    ``min_length`` characters (shorter ones are mostly function words in European languages)
    and every term of an unspaced script."""
    folded = plain_punctuation(folded)
    plain = _plain_units(folded)
    if plain is not None:
        return [unit for unit in plain if len(unit) >= min_length]
    found = scan(folded)
    spaced = found.kinds < IDEOGRAPH
    out = [unit for unit in (folded[start:end] for start, end in
                             zip(found.starts[spaced].tolist(), found.ends[spaced].tolist(),
                                 strict=True)) if len(unit) >= min_length]
    if not spaced.all():
        starts, ends = _unspaced_term_spans(found)
        out += [folded[start:end] for start, end in zip(starts.tolist(), ends.tolist(),
                                                        strict=True)]
    return out


def terms(text: str) -> list[str]:
    """The terms of ``text`` as strings (see ``term_spans``)."""
    text = plain_punctuation(text)
    plain = _plain_units(text)
    if plain is not None:
        return plain
    starts, ends = term_spans(scan(text))
    return [text[start:end] for start, end in zip(starts.tolist(), ends.tolist(), strict=True)]


def has_unspaced(text: str) -> bool:
    """Whether ``text`` holds an ideograph or syllable unit."""
    return not text.isascii() and bool((scan(text).kinds >= IDEOGRAPH).any())
