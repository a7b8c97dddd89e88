"""No text in any script, however odd, is an internal error: it ends as a clean record, or as a
``no_content`` dead letter whose reason is true.

Text is drawn from every part of Unicode (each 128-code-point range holding an assigned
character, so every block; surrogates excluded, since UTF-8 JSON cannot carry them) and from the
edge cases of case mapping and joining: a dotted capital I that folds longer, sharp s, final
sigma, ligatures, combining marks, zero-width (non-)joiners, bidi marks, emoji sequences. It is
mixed into the reports of ``tests.multilingual`` (so the clean path sees it, not only the
``no_content`` one) or stands alone, and goes through the text and the HTML paths.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from service.pipeline import Pipeline, Prepared, Sink
from service.records import Origin, Outcome
from service.stages import tokens
from service.stages.normalize import NormalizeSettings
from service.state.stories import StorySettings
from tests.multilingual import EDITED, OTHER_EVENTS, REPORTS

ORIGIN = Origin("articles.raw", 0, 0, b"k")
MIN_WORDS = NormalizeSettings().min_body_words
_NO_BODY = re.compile(r"no article body found \((\d+) words after removing page furniture\)")
_NOTHING = {"text": "message has neither html nor text", "html": "html could not be parsed"}
_SURROGATES = range(0xD800, 0xE000)
# Every 128-code-point range that holds an assigned character: every block meets one.
CHUNKS = tuple(start for start in range(0, 0x110000, 128)
               if any(unicodedata.category(chr(code)) != "Cn"
                      for code in range(start, start + 128) if code not in _SURROGATES))
EDGE_CASES = (
    "İ", "İstanbul", "İİİ", "i\u0307", "\u0131", "ß", "ẞ", "STRAẞE", "ς", "Σ", "ΟΔΟΣ οδός", "Σ.",
    "ﬁ", "ﬂ", "ﬃ", "ﬅ", "ŉ", "ǅ", "ǰ", "ᾼ", "ᾳ", "ΐ", "\u0301", "e\u0301", "\u0301\u0301\u0301",
    "a\u20dd", "\u200c", "\u200d", "\u200b", "\u2060", "\ufeff", "\u200e", "\u200f", "\u202a",
    "\u202e", "\u2066", "\u2069", "\u061c", "👩\u200d👩\u200d👧", "🇹🇷", "👍🏽", "❤\ufe0f",
    "🏴\U000e0067\U000e0062\U000e007f", "\U000e0100", "\u3000", "\u00a0", "\u2028", "\u2029",
    "\x85", "\r\n", "\t", "\x00", "\x7f", "\ufffd", "\uffff", "\U0010ffff", "\U00020000",
    "\U0002a6d6", "กำ", "\u0e33", "\u0e48\u0e48", "\u093f", "क्\u200dष", "ﷺ", "\ufdfd",
    "\u1100\u1161\u11a8", "\u302e", "\u3099", "〻", "ー",
)
REPORT_TEXTS = tuple(report.text for report in REPORTS + EDITED + OTHER_EVENTS)


def _chunk_text(start: int) -> str:
    """The code points of one range, surrogates left out."""
    return "".join(chr(code) for code in range(start, start + 128) if code not in _SURROGATES)


# A small ring: a fresh state per message must not allocate the default million slots.
PIPELINE = Pipeline(max_message_bytes=2_000_000, clock=lambda: datetime(2024, 1, 1, tzinfo=UTC),
                    stories=StorySettings(max_articles=64))


def _outcome(value: bytes, body: str, title: str = "") -> dict[str, Any]:
    """Prepare (and decide) one message; check it ends as a clean record or a true no_content
    dead letter: a body under ``min_body_words`` words (at most those of the ``body`` and
    ``title`` the message carries), or a message with no body in it."""
    result = PIPELINE.prepare(value, ORIGIN)
    if result.prepared is None:
        assert result.outcome is Outcome.DEAD_LETTER
        letter: dict[str, Any] = orjson.loads(result.outputs[0].value)
        assert letter["reason"] == "no_content", letter["detail"]
        found = _NO_BODY.fullmatch(letter["detail"])
        if found is None:  # not "normalization failed: ...": nothing there to read
            assert letter["detail"] in _NOTHING.values() and not body.strip()
            return letter
        assert int(found.group(1)) < MIN_WORDS
        assert int(found.group(1)) <= tokens.word_count(f"{body}\n{title}")
        return letter
    prepared = Prepared.from_bytes(result.prepared.to_bytes())
    decided = PIPELINE.decide(PIPELINE.new_state(), prepared)
    assert decided.outcome in (Outcome.CLEAN, Outcome.DUPLICATE)
    assert [output.sink for output in result.outputs] == [Sink.CLEAN, Sink.PREPARED]
    record: dict[str, Any] = orjson.loads(result.outputs[0].value)
    assert record["text"].strip() and record["lang"]
    assert record["word_count"] == tokens.word_count(record["text"]) >= MIN_WORDS
    return record


def _messages(text: str) -> list[tuple[bytes, str]]:
    """``text`` as a crawler's text, and as an HTML page (escaped, one paragraph a line), each
    with the text it carries."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n"))
    page = f"<html><body><article>{paragraphs}</article></body></html>"
    return [(orjson.dumps({"url": "https://news.example/a", "text": text}), text),
            (orjson.dumps({"url": "https://news.example/a", "html": page}), text)]


# Ranges put into one report together, and reports checked by one test case.
PER_REPORT, PER_CASE = 4, 64


@pytest.mark.parametrize("start", range(0, len(CHUNKS), PER_CASE),
                         ids=lambda index: f"U+{CHUNKS[index]:04X}")
def test_every_block_inside_a_report(start: int) -> None:
    """The characters of every range in the middle of a report: still a clean record."""
    for first in range(start, min(start + PER_CASE, len(CHUNKS)), PER_REPORT):
        report = REPORT_TEXTS[first // PER_REPORT % len(REPORT_TEXTS)]
        odd = " ".join(map(_chunk_text, CHUNKS[first:first + PER_REPORT]))
        middle = len(report) // 2
        for value, body in _messages(f"{report[:middle]} {odd} {report[middle:]}"):
            assert "text" in _outcome(value, body)


_odd = st.one_of(
    st.sampled_from(EDGE_CASES),
    st.sampled_from(CHUNKS).flatmap(lambda start: st.text(
        st.characters(min_codepoint=start, max_codepoint=start + 127, exclude_categories=["Cs"]),
        min_size=1, max_size=24)),
)
_pieces = st.lists(st.one_of(_odd, st.sampled_from(EDGE_CASES), st.sampled_from((" ", "\n", ". "))),
                   max_size=40).map("".join)


@st.composite
def _texts(draw: st.DrawFn) -> str:
    """Odd pieces alone, or put into a report at random places, the report perhaps in upper
    case (case folding then meets İ, ẞ and Σ at every turn) or cut short."""
    pieces = draw(st.lists(_pieces, min_size=1, max_size=6))
    if draw(st.booleans()):
        return "".join(pieces)
    report = draw(st.sampled_from(REPORT_TEXTS))
    report = draw(st.sampled_from((report, report.upper(), report.casefold(),
                                   report[: len(report) // 4])))
    cuts = sorted(draw(st.lists(st.integers(0, len(report)), min_size=len(pieces),
                                max_size=len(pieces))))
    out, at = [], 0
    for cut, piece in zip(cuts, pieces, strict=True):
        out += [report[at:cut], piece]
        at = cut
    return "".join([*out, report[at:]])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts(), st.sampled_from(("text", "html")), st.text(max_size=40))
def test_odd_text_in_any_script_is_a_clean_record_or_a_true_no_content(
        text: str, kind: str, title: str) -> None:
    value, body = _messages(text)[kind == "html"]
    outcome = _outcome(orjson.dumps({**orjson.loads(value), "title": title}), body, title)
    event("clean" if "text" in outcome else outcome["detail"].split(" (")[0])
