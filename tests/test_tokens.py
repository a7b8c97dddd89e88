"""Units of every script: words with their marks, characters of unspaced scripts, safe folding."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.stages import tokens
from service.stages.cluster import _names_and_numbers
from service.stages.fingerprint import body_hashes, text_word_hashes, word_hashes, words
from service.stages.normalize.repair import repair


def test_spaced_scripts_keep_marks_and_joiners_inside_their_words() -> None:
    assert tokens.units("हिन्दी समाचार") == ["हिन्दी", "समाचार"]  # vowel signs, virama
    assert tokens.units("می\u200cخواهم بروم") == ["می\u200cخواهم", "بروم"]  # ZWNJ
    assert tokens.units("i\u0307stanbul'da") == ["i\u0307stanbul", "da"]
    assert tokens.units("\u0301abc \U0001f468\u200d\U0001f469 x") == ["abc", "x"]


def test_unspaced_scripts_are_split_into_characters_with_their_marks() -> None:
    assert tokens.units("北京2024年") == ["北", "京", "2024", "年"]
    assert tokens.units("カタカナ") == ["カ", "タ", "カ", "ナ"]
    assert tokens.units("ที่นี่") == ["ที่", "นี่"]  # tone and vowel marks ride on the letter


def test_terms_are_words_and_bigrams_of_unspaced_scripts() -> None:
    assert sorted(tokens.terms("中国队 获胜 in 2024")) == sorted(
        ["in", "2024", "中国", "国队", "获胜"])
    assert tokens.terms("a 国 b 12日") == ["a", "b", "12"]  # a lone character is no term
    assert tokens.terms("ภาษาไทย") == ["ภาษ", "าษา", "ษาไ", "าไท", "ไทย"]  # Thai: trigrams
    assert tokens.terms("中国 ไทย") == ["中国", "ไทย"]  # a run shorter than its n-gram is one
    assert tokens.topic_terms("the council approved 北京时间", 5) == [
        "council", "approved", "北京", "京时", "时间"]


def test_words_are_counted_per_script() -> None:
    assert tokens.word_count("The U.S. envoy didn't come — again.") == 6
    assert tokens.unit_words("The U.S. envoy didn't come — again.") == 8
    assert tokens.word_count("中国队在北京获胜") == 5  # 8 ideographs at 1.5 a word
    assert tokens.word_count("ภาษาไทย") == 2  # 6 syllable units at 3 a word
    assert tokens.word_count("Stra\u00dfe İstanbul’da —") == 2
    assert tokens.word_count("\x00\xff\xfe" * 1000) == 1  # one token, however long


@pytest.mark.parametrize("text", [
    "İSTANBUL İzmir ıi", "STRASSE Straße STRAẞE", "ΟΔΟΣ οδός Σίσυφος", "ﬁnance ﬂow",
    "e\u0301 cafe\u0301 \u0301", "می\u200cخواهم \u200f\u200e", "👩\u200d👩\u200d👧 🇹🇷 x",
    "ǅemal ᾼ ŉ", "北京 カナ ภาษา 한국어",
])
def test_folding_that_changes_length_hashes_consistently(text: str) -> None:
    """Folding can lengthen a text ("İ" -> "i̇", "ß" -> "ss"); the hash of every unit is the
    same whether it comes from the text or from the unit list, and nothing assumes lengths."""
    assert np.array_equal(text_word_hashes(text), word_hashes(words(text)))
    hashes = body_hashes(text)
    assert len(hashes.units) == len(words(text))
    assert len(hashes.terms) == len(tokens.terms(text.casefold()))


def test_typographic_punctuation_is_a_gap_that_is_not_a_space() -> None:
    """What ``plain_punctuation`` rests on: every mark it rewrites reads as "'" does."""
    marks = [chr(code) for code in range(0x10000) if tokens.TYPOGRAPHIC.fullmatch(chr(code))]
    assert len(marks) > 60 and "\u2019" in marks and "\u2014" in marks
    assert all(tokens.kind_table()[ord(m)] == tokens.GAP and not m.isspace() for m in marks)


_MIXED = st.text(st.sampled_from("aZ9_ .'-\n\t\x1c\u2019\u201c\u2014\u00ab\u00e7\u0301\u200d"
                                 "\u4e2d\u0e01\u00a0\u2028"))


@given(_MIXED)
def test_plain_punctuation_keeps_units_spans_and_words(text: str) -> None:
    plain, found = tokens.scan(tokens.plain_punctuation(text)), tokens.scan(text)
    for left, right in zip(plain[1:], found[1:], strict=True):
        assert np.array_equal(left, right)
    assert tokens.word_count(text) == tokens.word_count(text + " a\u0301") - 1  # general path
    assert tokens.units(text) == [text[a:b] for a, b in zip(found.starts, found.ends,
                                                            strict=True)]


def _full_scan(text: str) -> tokens.Units:
    """``scan`` of ``text`` by the full algorithm (an ideograph after it rules out the shortcuts
    and is a unit of its own)."""
    found = tokens.scan(text + " \u4e2d")
    return tokens.Units(found.points[:-2], found.starts[:-1], found.ends[:-1], found.kinds[:-1])


@given(st.text(st.characters(max_codepoint=127)) | st.text(st.sampled_from(
    "aZ9_ .'-\n\u00e7\u00e9\u00df\u0416\u03a3\u2019\u00ab\u00a0\u00d7")))
def test_word_runs_match_the_full_scan(text: str) -> None:
    """ASCII text and text of words and gaps alone take shortcuts to the same units."""
    for fast, full in zip(tokens.scan(text), _full_scan(text), strict=True):
        assert np.array_equal(fast, full)
    if text.isascii():
        assert tokens.word_count(text) == len(re.findall(r"\w\S*", text))


@given(st.lists(_MIXED, min_size=1))
def test_units_of_parts_are_the_units_of_each_part(parts: list[str]) -> None:
    assert tokens.units_of_parts("\0".join(parts)) == [tokens.units(part) for part in parts]


def test_a_capitalized_name_next_to_a_dotted_capital_i_hashes_whole() -> None:
    found = _names_and_numbers("The minister met Ahmet İnce in Ankara.")[0]
    assert ["ankara"] in found
    assert len(word_hashes([unit for name in found for unit in name])) == sum(map(len, found))


def test_repair_keeps_zero_width_joiners() -> None:
    assert repair("می\u200cخواهم \u200bx") == "می\u200cخواهم x"
    assert repair("क्\u200dष") == "क्\u200dष"


# Words and gaps of spaced scripts beside what rules the regex path out (a combining acute, a
# Devanagari vowel sign, zero-width joiners, variation selectors, Han, kana, Thai, an astral
# ideograph), and what it must read as gaps or words: spaces of every kind, NUL, superscript
# digits, emoji, private use, a lone surrogate, Greek sigma and the dotted capital I.
_PLAIN_OR_NOT = st.text(st.sampled_from(
    "aZ9_ .'-\n\t\0\u00e7\u00e9\u00df\u0130\u0416\u03a3\u03c2\u0628\u00b2\u00a0\u2003\u3000"
    "\u2019\u00ab\U0001f600\ue000\ud800\uff21"
    "\u0301\u093f\u0915\u200d\u200c\ufe0f\U000e0100\u4e2d\u3042\u0e01\U00020000"), max_size=40)


@contextmanager
def _scan_path() -> Iterator[None]:
    """The general path forced: no text reads as Latin-1 or as plain."""
    with (patch.object(tokens, "latin1", lambda text: None),
          patch.object(tokens, "_joining_or_unspaced", lambda: re.compile(r"[\s\S]"))):
        yield


_LATIN1 = st.text(st.characters(max_codepoint=0xFF), max_size=40)


@given(_PLAIN_OR_NOT | _LATIN1, _PLAIN_OR_NOT | _LATIN1)
def test_plain_text_gives_by_regex_what_the_scan_gives(text: str, other: str) -> None:
    """Latin-1 text is read by byte tables, other text of word characters and gaps alone by
    ``\\w`` runs, instead of ``scan``: every reading is the same either way."""
    def readings() -> list[object]:
        folded = text.casefold()
        return [tokens.units(text), tokens.units(folded), tokens.unit_words(text),
                tokens.word_count(text), tokens.terms(text), tokens.topic_terms(folded, 5),
                tokens.topic_terms(folded, 1), tokens.units_of_parts(f"{text}\0{other}")]

    fast = readings()
    with _scan_path():
        assert readings() == fast


@pytest.mark.parametrize("size", [100, tokens.REGEX_COUNT_MAX_CHARS, 5000])
def test_long_plain_texts_count_the_same_words_as_short_ones(size: int) -> None:
    """Past ``REGEX_COUNT_MAX_CHARS`` the counts of plain text outside Latin-1 come from
    ``scan``; below, from the regex: the same words either way."""
    text = ("Жуков и Σωκράτης, 2024 — Łódź. " * size)[:size].rsplit(" ", 1)[0]
    assert tokens.word_count(text) == len([t for t in text.split() if re.search(r"\w", t)])
    assert tokens.unit_words(text) == len(re.findall(r"\w+", text))


def test_accented_and_cyrillic_lines_take_the_regex_path() -> None:
    assert tokens._plain_units("Zaçjeso Foçalves, Жуков\u00a0и Σωκράτης") == [
        "Zaçjeso", "Foçalves", "Жуков", "и", "Σωκράτης"]
    assert tokens._plain_units("cafe\u0301") is None  # a combining mark joins its letter
    assert tokens._plain_units("\u4e2d\u6587") is None
