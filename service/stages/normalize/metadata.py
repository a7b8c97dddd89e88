"""Page metadata: title, declared canonical URL, publication date, language.

Each value is taken from the crawler's hint first, then the page's own markup (Open Graph,
schema.org JSON-LD, ``<time>``), then the text (a dateline or "Published …" line).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

import numpy as np
from lxml import etree
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from py3langid.modelio import load_model

from service.stages.normalize.lines import word_count
from service.timefmt import EARLIEST, MONTH, MONTHS, iso_utc, normalize_timestamp

_DATE_META = (
    "article:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "publish_date", "date", "dc.date", "dc.date.issued",
    "dcterms.created", "sailthru.date", "parsely-pub-date", "article.published", "dc.date.created",
)
_URL_DAY = re.compile(r"/((?:19|20)\d{2})/(\d{2})/(\d{2})(?:/|$)")
_DATE_LABEL = re.compile(r"date|time|publish|posted")
_UPDATE_LABEL = re.compile(r"updat|modif|read-?time|reading")
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
_MONTH = "(" + MONTH + ")"
_MDY = re.compile(_MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.IGNORECASE)
_DMY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(\d{4})", re.IGNORECASE)
_YEAR = re.compile(r"\d{4}")
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_PUBLISHED = re.compile(r"^\W*(published|posted|first published|updated|last updated)\b",
                        re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+[|\u2013\u2014\u00b7\u2022:-]\s+")
# Hand-set values. Each cites `python -m bench.sweep_constant service/stages/normalize/metadata.py
# NAME VALUES... --line "article-ingest normalize" -- python -m bench.eval_metadata`: on the WCXB
# dev pages, titles right, days right (UTC, then any zone), pages dated, dates wrong. At the kept
# values: 0.746, 0.835, 0.853, 0.957, 0.104.
#
# The first h1 is the headline when it has H1_MIN_WORDS to H1_MAX_WORDS words (and the page's
# title metadata holds it). H1_MIN_WORDS 1 title 0.743 | 3 title 0.755, the rest the same: a
# gain of 8 pages, left for a change that means to change records (it renames titles).
# H1_MAX_WORDS 20 and 60 the same as 40.
H1_MIN_WORDS = 2
H1_MAX_WORDS = 40
# "Headline - Site": the site part is at most this many words. 4 title 0.742 | 8 title 0.743.
SITE_NAME_MAX_WORDS = 6
# A dateline is one of the first DATELINE_LINES lines of the text, at most DATELINE_MAX_CHARS
# characters; without a "Published" label, at most DATELINE_MAX_WORDS words. DATELINE_LINES 20
# 0.746, 0.831, 0.850, 0.957, 0.107 | 80 the same as 40. DATELINE_MAX_CHARS 60 and 120 the same.
# DATELINE_MAX_WORDS 6 0.746, 0.830, 0.848, 0.952, 0.104 | 12 0.746, 0.838, 0.857, 0.959, 0.102
# (a gain of 2 days in 587, left like H1_MIN_WORDS).
DATELINE_LINES = 40
DATELINE_MAX_CHARS = 80
DATELINE_MAX_WORDS = 8


def _meta(root: etree._Element, names: tuple[str, ...],
          also: Callable[[str], bool] | None = None) -> str | None:
    """The first non-empty ``content`` of a meta tag named one of ``names`` (or whose name
    ``also`` accepts)."""
    wanted = set(names)
    for element in root.iter("meta"):
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "")
        key = key.lower()
        if key in wanted or (also is not None and also(key)):
            content = (element.get("content") or "").strip()
            if content:
                return str(content)
    return None


def _names_publication(key: str) -> bool:
    """A meta name of the publication time in a vocabulary of its own (``published``,
    ``w-published-date``), not of the publisher or of an update."""
    return ("publish" in key and not any(word in key for word in ("publisher", "modif", "updat"))
            and (key.endswith("published") or "date" in key or "time" in key))


def page_title(root: etree._Element) -> str | None:
    """The headline: the first h1 when the page's own title metadata contains it (so it is the
    story's, not the site logo's), else og:title or <title> without a site-name suffix."""
    declared = _meta(root, ("og:title", "twitter:title"))
    document = next((" ".join((e.text or "").split()) for e in root.iter("title")), "")
    for h1 in root.iter("h1"):
        text = " ".join(h1.text_content().split())
        if (text and H1_MIN_WORDS <= len(text.split()) <= H1_MAX_WORDS
                and (text in (declared or "") or text in document)):
            return text
        break
    for candidate in (declared, document):
        if candidate:
            return strip_site_name(" ".join(candidate.split()))
    return None


def strip_site_name(title: str) -> str:
    """"Story headline - Site" -> "Story headline": the longest separated part, when the rest
    is short enough to be a site or section name."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    longest = max(parts, key=len)
    rest = sum(len(part.split()) for part in parts if part is not longest)
    return longest if rest <= SITE_NAME_MAX_WORDS else title


def declared_canonical(root: etree._Element) -> str | None:
    for element in root.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        href = element.get("href")
        if "canonical" in rel and href:
            return str(href)
    return _meta(root, ("og:url",))


def page_published(root: etree._Element, url: str) -> str | None:
    """Publication time declared in meta tags or JSON-LD, else the day in the URL's path
    (``/2018/05/31/``), else the first ``<time>``."""
    declared = (_meta(root, _DATE_META, _names_publication), _jsonld_date(root))
    for candidate in declared:
        if candidate and (value := normalize_timestamp(candidate) or text_date(candidate)):
            return value
    return url_day(url) or _time_element(root)


def url_day(url: str) -> str | None:
    """The day a path spells as ``/YYYY/MM/DD/``, as blogs and newspapers file their articles."""
    match = _URL_DAY.search(urlsplit(url).path)
    return _iso_day(*match.groups()) if match else None


def _iso_day(year: str, month: str, day: str) -> str | None:
    moment = _day(year, int(month), day)
    return iso_utc(moment) if moment else None


def _jsonld_date(root: etree._Element) -> str | None:
    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        match = _JSONLD_DATE.search(script.text)
        if match:
            return match.group(1)
    return None


def _time_element(root: etree._Element) -> str | None:
    """The first ``<time>`` that reads as a date: its ``datetime``, else its text."""
    for element in root.iter("time"):
        value = element.get("datetime") or element.text_content()[:80]
        if value and (moment := normalize_timestamp(value) or text_date(value)):
            return moment
    return None


def shown_date(root: etree._Element) -> str | None:
    """The date a page shows readers when no markup declares it: the first short element whose
    class or id names a date (``post-date``, ``published``) and whose text reads as one, else
    the first element whose whole text is a date (``<span>Nov 21, 2018</span>``)."""
    return _labelled_date(root) or _date_alone(root)


def _date_alone(root: etree._Element) -> str | None:
    for element in root.iter("*"):
        if (len(element) == 0 and element.text and 6 <= len(element.text.strip()) <= 40
                and not _UPDATE_LABEL.search(_label(element))):
            found = normalize_timestamp(element.text)
            if found:
                return found
    return None


def _label(element: etree._Element) -> str:
    return f"{element.get('class') or ''} {element.get('id') or ''}".lower()


def _labelled_date(root: etree._Element) -> str | None:
    for element in root.iter("*"):
        label = _label(element)
        if (len(element) > 4 or not label.strip() or not _DATE_LABEL.search(label)
                or _UPDATE_LABEL.search(label)):
            continue  # a container's text would be long: its date-labelled child is seen
        text = " ".join(element.text_content().split())
        if 6 <= len(text) <= 80 and (found := normalize_timestamp(text) or text_date(text)):
            return found
    return None


def text_date(text: str) -> str | None:
    """The first date written out in ``text`` ("May 31, 2018", "31 May 2018", "2018-05-31")."""
    if not _YEAR.search(text):
        return None  # every form below writes a four-digit year
    found: list[tuple[int, datetime]] = []
    for match in _MDY.finditer(text):
        day = _day(match.group(3), MONTHS[match.group(1).lower().rstrip(".")], match.group(2))
        if day:
            found.append((match.start(), day))
    for match in _DMY.finditer(text):
        day = _day(match.group(3), MONTHS[match.group(2).lower().rstrip(".")], match.group(1))
        if day:
            found.append((match.start(), day))
    for match in _ISO_DAY.finditer(text):
        day = _day(match.group(1), int(match.group(2)), match.group(3))
        if day:
            found.append((match.start(), day))
    if not found:
        return None
    return iso_utc(min(found, key=lambda item: item[0])[1])


def _day(year: str, month: int, day: str) -> datetime | None:
    try:
        moment = datetime(int(year), month, int(day), tzinfo=UTC)
    except ValueError:
        return None
    return moment if moment >= EARLIEST else None


def dateline(lines: list[str]) -> str | None:
    """A date from a "Published …" line or a short date-only line near the top of the text."""
    fallback: str | None = None
    for line in lines[:DATELINE_LINES]:
        if len(line) > DATELINE_MAX_CHARS:
            continue
        found = text_date(line)
        if not found:
            continue
        label = _PUBLISHED.match(line)
        if label and "updated" not in label.group(1).lower():
            return found
        if fallback is None and word_count(line) <= DATELINE_MAX_WORDS:
            fallback = found
    return fallback


class _Identifier(LanguageIdentifier):  # type: ignore[misc]  # py3langid ships no types
    """py3langid's identifier with its tokenizer walk done by NumPy instead of byte by byte.

    The tokenizer is an Aho-Corasick automaton over the model's byte n-grams, so the state after
    any byte is the state reached from the start over just the last ``window`` bytes (the longest
    n-gram). Stepping every position's window at once gives the same states, so the same feature
    counts and scores, several times faster than py3langid's Python loop (its largest cost)."""

    __slots__ = ("_emits", "_moves", "_offsets", "_window")

    def __init__(self, ptc: np.ndarray, pc: np.ndarray, classes: list[str], nextmove: array[int],
                 output: list[int], row: array[int]) -> None:
        # A NumPy copy of the transitions, which NumPy backs with huge pages: the walk's jumps
        # all over its ~40 MB then miss the TLB far less often.
        moves = np.array(nextmove, dtype=nextmove.typecode)
        super().__init__(ptc, pc, classes, moves, output, tk_row=row)
        self._moves = moves
        self._offsets = np.frombuffer(row, dtype=row.typecode).astype(np.intp) << 8
        self._emits = np.asarray(output, dtype=np.intp)
        self._window = _deepest_state(self._moves, self._offsets)

    def _raw_score(self, text: bytes) -> np.ndarray:
        codes = np.frombuffer(text, dtype=np.uint8).astype(np.intp)
        states = np.zeros(len(codes), dtype=np.intp)
        for back in range(min(self._window, len(codes)) - 1, -1, -1):
            ahead = states[back:]
            states[back:] = self._moves[self._offsets[ahead] + codes[: len(ahead)]]
        emitted = self._emits[states]
        emitted = emitted[emitted >= 0]
        if not len(emitted):
            featureless: np.ndarray = super()._raw_score(text)  # the library's own score
            return featureless
        features, counts = _counts_in_order(emitted)
        scores: np.ndarray = (np.log1p(counts.astype(np.float32)) @ self.nb_ptc[features]
                              + self.nb_pc)
        return scores


def _counts_in_order(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``values`` in the order they first occur, and how often each occurs (as
    py3langid's ``Counter``, whose order decides how its scores are summed)."""
    positions = np.arange(len(values))
    keys = np.sort(values << 32 | positions)  # by value, then position: each run opens at its first
    runs = np.flatnonzero(np.diff(keys >> 32, prepend=-1))
    firsts = keys[runs] & 0xFFFFFFFF
    counts = np.zeros(len(values), dtype=np.intp)
    counts[firsts] = np.diff(runs, append=len(keys))
    first = counts > 0
    return values[first], counts[first]


def _deepest_state(moves: np.ndarray, offsets: np.ndarray) -> int:
    """Steps from the start state to the farthest state of the tokenizer (breadth first): the
    length of its longest n-gram."""
    seen = np.zeros(len(offsets), dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.intp)
    depth = 0
    while len(frontier):
        rows = np.unique(offsets[frontier])
        reached = np.zeros(len(offsets), dtype=bool)
        reached[moves[(rows[:, None] + np.arange(256)).ravel()]] = True
        frontier = np.flatnonzero(reached & ~seen)
        seen |= reached
        depth += 1
    return depth - 1


@lru_cache(maxsize=1)
def _language_identifier() -> _Identifier:
    """py3langid's bundled model with its feature table widened once from float16 to float32.

    py3langid widens the table rows each text touches on every call, which costs more than the
    rest of the classification; widening is exact, so the scores and codes are the same (at the
    price of ~57 MB instead of ~28 MB for the table)."""
    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    return _Identifier(ptc.astype(np.float32), pc, classes, nextmove, output, row)


# Characters of the body the language is read from: on the 2,363 development texts a 400-char
# sample named the same language as 1,500 chars in every case, and the cost grows with it.
LANGUAGE_SAMPLE_CHARS = 600


def load_language_model() -> None:
    """Load the language model now (it takes seconds): a worker does so before it joins its
    group, so the first article doesn't hold the event loop, and /healthz with it, that long."""
    _language_identifier()


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text`` from py3langid's bundled model ("und" when empty)."""
    sample = text[:LANGUAGE_SAMPLE_CHARS]
    if not sample.strip():
        return "und"
    code, _score = _language_identifier().classify(sample)
    return str(code)


def language_hint(value: str | None) -> str | None:
    """``en-US`` -> ``en``; None for values that are not language tags."""
    if not value:
        return None
    code = value.strip().split("-")[0].split("_")[0].lower()
    return code if len(code) == 2 and code.isalpha() else None
