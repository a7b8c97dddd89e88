"""Text repair: mojibake, HTML entities left in text, control characters, odd whitespace, NFC.

ftfy's encoding repair is accurate but costs milliseconds per page, so it runs only where a cheap
scan finds the byte patterns that UTF-8 read as Latin-1/cp1252 leaves behind.
"""

from __future__ import annotations

import html
import re
import unicodedata

import ftfy

from service.stages import kernels

# Mojibake's signature ("Ã©", "â€™"): a lead byte of a UTF-8 sequence seen as Latin-1/cp1252
# (U+00C2..U+00F4), then a continuation byte seen the same way (one of these).
_CONTINUATIONS = re.compile(
    "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
# The same pair over the text's UTF-8: the lead characters are C3 82..C3 B4 there, so the regex
# engine skips to each C3 byte at memory-scan speed instead of testing a class at every
# character (~20 ns a character: 60 us a 3 KB body). UTF-8 sequences are self-delimiting, so a
# match in the bytes is a match of two whole characters.
_MOJIBAKE_UTF8 = re.compile(
    rb"\xc3[\x82-\xb4](?:" + b"|".join(
        re.escape(chr(code).encode()) for code in range(0x10000)
        if not 0xD800 <= code < 0xE000 and _CONTINUATIONS.fullmatch(chr(code))) + b")"
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# C0/C1 controls (except tab and newline), zero-width space and bidi marks, soft hyphen, BOM.
# Not the zero-width (non-)joiners U+200C/U+200D: Persian and Indic words and emoji sequences
# are spelled with them.
_INVISIBLE_CHARS = "".join(map(chr, [
    *range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), *range(0x7F, 0xA0), 0xAD, 0x200B,
    *range(0x2060, 0x2065), *range(0x206A, 0x2070), 0xFEFF, *range(0xFFF9, 0xFFFC), 0x200E,
    0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),
]))
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]")
# Typographic spaces (no-break, thin, em, ideographic, ...) become a plain space.
# (Written as a class then a repeat, not "[...]+", and line breaks as one class after "\r\n" is
# replaced: patterns that open with a plain character class are scanned several times faster.)
_SPACE_CHARS = "".join(map(chr, [0x09, 0x0C, 0x0B, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F,
                                  0x205F, 0x3000]))
_SPACES = re.compile(f"[{_SPACE_CHARS}][{_SPACE_CHARS}]*")
_LINE_BREAK_CHARS = "\r\u2028\u2029\u0085"
_LINE_BREAKS = re.compile(f"[{_LINE_BREAK_CHARS}]")
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False, uncurl_quotes=False, fix_latin_ligatures=False,
    fix_character_width=False, normalization=None, explain=False,
)


def _has_mojibake(text: str) -> bool:
    """Whether ``text`` holds a lead character (U+00C2..U+00F4) followed by a continuation
    character (``_CONTINUATIONS``): the signature of mojibake ("Ã©", "â€™")."""
    return (not text.isascii()
            and _MOJIBAKE_UTF8.search(text.encode("utf-8", "surrogatepass")) is not None)


def repair(text: str) -> str:
    """The text with encoding damage undone and invisible or odd characters made plain."""
    if _has_mojibake(text):
        text = ftfy.fix_text(text, _FTFY)
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    if text.replace("\n", "").isprintable():
        # The common case, told by one fast scan: no control, invisible, line-breaking or odd
        # space character (none of them is printable), so only NFC is left to do.
        return unicodedata.normalize("NFC", text)
    if kernels.units is not None:  # the three substitutions below, in one pass (and a count)
        plain: str = kernels.units.plain_characters(text, _LINE_BREAK_CHARS, _INVISIBLE_CHARS,
                                                    _SPACE_CHARS)
        return unicodedata.normalize("NFC", plain)
    text = _LINE_BREAKS.sub("\n", text.replace("\r\n", "\n"))
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    return unicodedata.normalize("NFC", text)
