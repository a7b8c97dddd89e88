"""Language-light signals about one line or block of text, shared by the HTML and text paths.

These are general properties of prose versus page furniture (sentence punctuation, length,
title-casing, truncation, imperative calls to action), not phrases of any particular site.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from service.stages import kernels, tokens

_WORD = re.compile(r"\w+")
# A sentence ends with one of _ENDS, then perhaps closing quotes or brackets: the full stops,
# question and exclamation marks of the scripts that write them (ideographic, fullwidth and
# halfwidth; Arabic and Urdu; Devanagari and Bengali danda; Armenian, Ethiopic, Khmer, Myanmar,
# Tibetan) ...
_ENDS = frozenset(".!?;:\u3002\uff01\uff1f\uff0e\uff61\u061f\u06d4\u0964\u0965\u0589"
                  "\u1362\u1367\u17d4\u17d5\u104b\u0f0d\u0f0e")
# ... while Thai and Lao (their blocks: U+0E00 to U+0EFF) write none: spaces part clauses and
# sentences, not words. A line ending in their letters is prose when it runs to several long
# space-separated phrases; a menu's phrases are single words, a headline's one or two.
_UNMARKED_FIRST, _UNMARKED_LAST = "\u0e00", "\u0eff"
# Hand-set from how Thai is written (no development split is in Thai or Lao, so no sweep can
# choose them; bench/eval_extraction's figures are the same with the rule): on tests/multilingual.py
# the prose lines hold 3 to 8 phrases of 37 to 56 characters on average, the menu 7 of 8, the
# headlines 2.
_UNMARKED_MIN_PHRASES = 3
_UNMARKED_PHRASE_CHARS = 10
_CLOSERS = "'\"\u2019\u201d\u00bb)]"
# Hand-set values shared by the HTML and text extractors. Each cites
# `python -m bench.sweep_normalize lines.NAME VALUES... --split extraction-text --split extraction
# --split extraction-wcxb`: F1 "all; mean, worst" of 5 site-grouped folds on text, Zyte and WCXB.
# At the kept values: text 0.9283; 0.9276, 0.9008 | Zyte 0.9733; 0.9732, 0.9307 | WCXB 0.8931;
# 0.8930, 0.8808, no seed label broken (nor at any value below). "Same" means that split does not
# move.
#
# A sentence has at least this many words.
# Sweep: 4 text 0.9284; 0.9278, 0.9008, others same | 6 text 0.9281; 0.9275, 0.9008, others same.
SENTENCE_MIN_WORDS = 5
# A line ending in an ellipsis is a teaser when it has at most this many words.
# Sweep: 40 text 0.9273; 0.9268, 0.9008 | Zyte 0.9702; 0.9702, 0.9307 | WCXB 0.8933; 0.8933,
# 0.8817;
# 80 text same | Zyte same | WCXB 0.8927; 0.8927, 0.8808.
TEASER_MAX_WORDS = 60
# Title-casing is measured over words of at least this many letters ("of", "a" are lower case
# in titles too). Sweep: 2 text 0.9281, others same | 4 text 0.9286, others same.
TITLE_CASE_MIN_LETTERS = 3
# A call to action is one sentence of at most CTA_MAX_WORDS words opening with a call verb,
# short (at most CTA_SHORT_WORDS words) or addressing the reader.
# Sweeps: CTA_MAX_WORDS 15 text 0.9284; 0.9278, 0.9004 | Zyte 0.9733; 0.9732, 0.9291 | WCXB
# 0.8936; 0.8936, 0.8813; 35 text 0.9279; 0.9273, 0.8991 | Zyte 0.9729; 0.9729, 0.9291 | WCXB
# 0.8929; 0.8928, 0.8807. CTA_SHORT_WORDS 4 text 0.9282 | Zyte 0.9730; 0.9730, 0.9307 | WCXB
# same; 8 text 0.9279; 0.9272, 0.9008 | Zyte same | WCXB 0.8929; 0.8929, 0.8808.
CTA_MAX_WORDS = 25
CTA_SHORT_WORDS = 6
_TRUNCATED = ("...", "\u2026")

# Verbs that open calls to action on web pages (English and the commonest European languages);
# a line opening with one is furniture only when it is also short or addresses the reader.
CALL_VERBS = frozenset({
    "subscribe", "sign", "share", "follow", "download", "click", "tap", "join", "support",
    "donate", "listen", "watch", "get", "register", "log", "login", "skip", "continue",
    "remind", "read", "back", "explore", "discover", "install", "tweet", "email", "print",
    "comment", "contribute", "upgrade", "advertisement", "advertising", "advert", "sponsored",
    "anzeige", "publicité", "publicidad", "pubblicità", "abonnieren",
    "teilen", "suivez", "partager", "abonnez", "inscrivez", "compartir", "suscríbete", "síguenos",
    "condividi", "iscriviti", "seguici",
})
# "You can sign up…", "Vous pouvez vous abonner…": an invitation phrased as a possibility.
_MODAL_OPENERS = frozenset({"you", "vous", "sie", "puoi", "puedes"})
_CTA_OPENERS = CALL_VERBS | _MODAL_OPENERS
# Where a sentence ends: a full stop, question or exclamation mark, and the space after it.
_SENTENCE_END = re.compile(r"[.!?]\s+")
_READER = frozenset({
    "you", "your", "yours", "our", "us", "we", "sie", "ihr", "unser", "vous", "votre", "nous",
    "notre", "tu", "nuestro", "nostro", "newsletter", "inbox", "app", "apps", "podcasts",
    "here", "facebook", "twitter", "instagram", "youtube", "whatsapp", "linkedin", "telegram",
})


def _is_caseless_mark(char: str) -> bool:
    """Neither in a ``\\w+`` run nor a letter, digit or cased character: to the word splitting,
    case folding and character counts of a line, the same as a space."""
    return not (_WORD.match(char) or char.isalpha() or char.isdigit() or char.isupper()
                or char.lower() != char)


# Typographic marks: Latin-1 punctuation and symbols, general punctuation, currency signs.
_TYPOGRAPHY_MARKS = "".join(
    filter(_is_caseless_mark, map(chr, [*range(0xA0, 0x100), *range(0x2000, 0x20D0)])))
_TYPOGRAPHY = re.compile(f"[{_TYPOGRAPHY_MARKS}]")


def plain_form(text: str) -> str:
    """``text``, or when its only non-ASCII characters are typographic marks (curly quotes,
    dashes), ``text`` with those as spaces: the same words, case folding and letter and digit
    counts, for the fast ASCII paths. (Only then: lower-casing other text can look across a
    mark, as Greek final sigma does, so a mark turned space would change its words.)"""
    if text.isascii():
        return text
    plain: str = (kernels.units.marks_as(text, _TYPOGRAPHY_MARKS, " ") if kernels.units is not None
                  else _TYPOGRAPHY.sub(" ", text))
    return plain if plain.isascii() else text


def word_count(text: str) -> int:
    """Words counted by unit (``service.stages.tokens.unit_words``: ``\\w`` runs with their
    marks; in scripts written without spaces, characters at a word rate); typographic marks
    set aside first for the ASCII path."""
    return tokens.unit_words(plain_form(text))


def looks_like_sentence(text: str, words: int | None = None) -> bool:
    """Ends like a sentence and is long enough to be one (``words``: its word count, if known)."""
    last = text.rstrip().rstrip(_CLOSERS)[-1:]
    if last not in _ENDS and not (_UNMARKED_FIRST <= last <= _UNMARKED_LAST
                                  and _is_unmarked_prose(text)):
        return False
    return (word_count(text) if words is None else words) >= SENTENCE_MIN_WORDS


def _is_unmarked_prose(text: str) -> bool:
    """Several space-separated phrases of a clause's length (Thai and Lao prose)."""
    phrases = len(text.split())
    return (phrases >= _UNMARKED_MIN_PHRASES
            and len(text) >= _UNMARKED_PHRASE_CHARS * phrases)


def is_truncated(text: str, words: int | None = None) -> bool:
    """A teaser cut off with an ellipsis (teasers are short; a long paragraph may trail off)."""
    if not text.rstrip().endswith(_TRUNCATED):
        return False
    return (word_count(text) if words is None else words) <= TEASER_MAX_WORDS


def title_case_ratio(tokens: list[str]) -> float:
    """Share of ``tokens`` (the line's ``\\w+`` runs; those of three letters or more) that start
    with a capital: high for menus."""
    if kernels.units is not None:  # the same counts, with no list of words in between
        eligible, titled = kernels.units.title_case(tokens, TITLE_CASE_MIN_LETTERS)
        return titled / eligible if eligible else 0.0
    words = [w for w in tokens if len(w) >= TITLE_CASE_MIN_LETTERS and not w.isdigit()]
    if not words:
        return 0.0
    return len([w for w in words if w[0].isupper()]) / len(words)


def _is_cta_sentence(words: list[str]) -> bool:
    """'Sign up…', 'Share this…', 'Download our apps', 'You can sign up…'."""
    if not words or len(words) > CTA_MAX_WORDS:
        return False
    if words[0] in _MODAL_OPENERS and len(words) > 2 and words[2] in CALL_VERBS:
        return True
    if words[0] not in CALL_VERBS:
        return False
    return len(words) <= CTA_SHORT_WORDS or any(w in _READER for w in words)


def _sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """Start and end of each sentence of ``text``, cut after a full stop, question or
    exclamation mark that space follows (found by position: no sentence is copied)."""
    start = 0
    for end in _SENTENCE_END.finditer(text):
        yield start, end.start() + 1
        start = end.end()
    yield start, len(text)


def is_call_to_action(text: str) -> bool:
    """A line that is mostly imperatives aimed at the reader (by sentence). Never one without a
    word of ``CALL_VERBS``: a caller that has the line's words tests that first."""
    if kernels.units is not None and text.isascii():  # the counts below, in one pass
        sentences, opening = kernels.units.sentence_openers(text, tokens.ASCII_IS_WORD,
                                                            _CTA_OPENERS)
        if not sentences or opening * 2 < sentences:
            return False
    sentences, openers = sentence_openers(text)
    if not sentences or len(openers) * 2 < sentences:
        return False  # decided without splitting every sentence into words
    calls = sum(1 for sentence in openers if _is_cta_sentence(_WORD.findall(sentence)))
    return calls * 2 >= sentences


def sentence_openers(text: str) -> tuple[int, list[str]]:
    """The sentences of ``text`` that hold a word, and those of them (lower-cased) that open
    with a call verb or "you"."""
    sentences = 0
    openers: list[str] = []
    for start, end in _sentence_spans(text):
        first = _WORD.search(text, start, end)
        if first is None:
            continue
        sentences += 1
        if first.group().lower() in _CTA_OPENERS:
            openers.append(text[start:end].lower())
    return sentences, openers
