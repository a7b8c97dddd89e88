"""Page metadata: title, declared canonical URL, publication date (the language: ``language``),
and the body a page declares in its JSON-LD (``declared_body``, normalize's fallback).

Each value is taken from the crawler's hint first, then the page's own markup (Open Graph,
schema.org JSON-LD, ``<time>``), then the text (a dateline or "Published …" line). For the
publication date, the dateline at the head of the article is also the check on the markup
(``page_published``): templates declare stale dates that the page itself does not show.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

import orjson
from lxml import etree

from service.stages.normalize.html import blocks_of, parse, text_of
from service.stages.normalize.lines import word_count
from service.timefmt import (
    CJK_DATE,
    EARLIEST,
    MONTH,
    MONTH_FIRST,
    MONTHS,
    iso_utc,
    normalize_timestamp,
)

_DATE_META = (
    "article:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "publish_date", "date", "dc.date", "dc.date.issued",
    "dcterms.created", "sailthru.date", "parsely-pub-date", "article.published", "dc.date.created",
)
_URL_DAY = re.compile(r"/((?:19|20)\d{2})/(\d{2}|"
                      + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")/(\d{1,2})(?:/|$)"
                      r"|(?<!\d)((?:19|20)\d{2})-(\d{2})-(\d{2})(?!\d)", re.IGNORECASE)
_DATE_LABEL = re.compile(r"date|time|publish|posted")
_UPDATE_LABEL = re.compile(r"updat|modif|read-?time|reading")
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
_JSONLD_MODIFIED = re.compile(r'"dateModified"\s*:\s*"([^"]{8,40})"')
_MODIFIED_META = ("article:modified_time", "og:updated_time", "datemodified", "dc.date.modified",
                  "dcterms.modified", "last-modified")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")  # shown to readers, a number is a count, not epoch time
_MARKS = re.compile(r"^[\W_]+|[\W_]+$")  # separators and bullets around a date
_UPDATED = re.compile(r"\bupdated\b", re.IGNORECASE)
# The zones furthest from UTC (Kiribati, Baker Island): a local day spans these around UTC's.
_EAST_MOST = timedelta(hours=14)
_WEST_MOST = timedelta(hours=12)
_MONTH = "(" + MONTH + ")"
_MDY = re.compile("(" + MONTH_FIRST + r")\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.IGNORECASE)
_DMY = re.compile(r"(\d{1,2})(?:st|nd|rd|th|\.)?\s+(?:de\s+)?" + _MONTH + r",?\s+(?:de\s+)?(\d{4})",
                  re.IGNORECASE)
_CJK_DAY = re.compile(CJK_DATE)
_YEAR = re.compile(r"\d{4}")
_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# All-digit days other than ISO's: ``2018.05.31``, ``2018/05/31``, and ``31/05/2018``,
# ``05/31/2018``, ``31.05.2018`` read only when one part cannot be a month: pages write both orders
# with any separator (``09.10.2024`` is 10 September on some), and a wrong day is worse than none.
_YMD = re.compile(r"(?<![\d./-])(\d{4})([/.])(\d{1,2})\2(\d{1,2})(?![\d]|[./-]\d)")
_XYY = re.compile(r"(?<![\d./-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?![\d]|[./-]\d)")
_PUBLISHED = re.compile(r"^\W*(published|posted|first published|updated|last updated)\b",
                        re.IGNORECASE)
_BYLINE = re.compile(r"\b(published|posted|updated)\b", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+[|\u2013\u2014\u00b7\u2022:-]\s+")
# Hand-set values. Each cites `python -m bench.sweep_constant service/stages/normalize/metadata.py
# NAME VALUES... --line "article-ingest normalize" -- python -m bench.eval_metadata`: on the WCXB
# dev pages, titles right, days right (UTC, then any zone), pages dated, dates wrong. At the kept
# values: 0.746, 0.872, 0.891, 0.971, 0.080 (add --folds 5 and --line "ours minus" for the day
# per site-grouped fold, ours minus trafilatura's: -0.017 -0.025 +0.061 +0.048 +0.046).
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
# characters; without a "Published" label, at most DATELINE_MAX_WORDS words. (Measured before
# the dateline checked the declared date: DATELINE_LINES 20 0.746, 0.831, 0.850, 0.957, 0.107 | 80
# the same as 40. DATELINE_MAX_CHARS 60 and 120 the same.) DATELINE_MAX_WORDS 6 0.746, 0.865,
# 0.884, 0.968, 0.083, folds -0.025 -0.033 +0.052 +0.040 +0.046 | 12 0.746, 0.872, 0.891, 0.973,
# 0.082, folds the same as 8.
DATELINE_LINES = 40
DATELINE_MAX_CHARS = 80
DATELINE_MAX_WORDS = 8
# A byline's date starts at most this many characters after its label ("Posted on the ", ": ").
# 4, 8, 24 and 40 the same as 16 (figures and folds).
BYLINE_GAP_CHARS = 16


@dataclass(slots=True)
class Markup:
    """The elements the metadata is read from, by tag, in document order: gathered by one walk
    of the tree, since each walk libxml2 makes for a tag costs as much as the whole page
    (lxml's iterator looks one match ahead, so even the first ``<title>`` costs a walk)."""

    root: etree._Element
    by_tag: dict[str, list[etree._Element]] = field(default_factory=dict)

    def __getitem__(self, tag: str) -> list[etree._Element]:
        return self.by_tag.get(tag, [])


_READ_TAGS = ("title", "h1", "meta", "link", "script", "time")


def markup(root: etree._Element) -> Markup:
    """``root``'s metadata elements (``Markup``)."""
    found = Markup(root)
    for element in root.iter(*_READ_TAGS):
        found.by_tag.setdefault(element.tag, []).append(element)
    return found


def _meta(page: Markup, names: tuple[str, ...]) -> str | None:
    """The first non-empty ``content`` of a meta tag named one of ``names``."""
    wanted = set(names)
    for element in page["meta"]:
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "")
        key = key.lower()
        if key in wanted:
            content = (element.get("content") or "").strip()
            if content:
                return str(content)
    return None


def _meta_values(page: Markup, names: tuple[str, ...],
                 also: Callable[[str], bool]) -> list[str]:
    """The ``content`` of every meta tag named one of ``names``, in the order of ``names``, then
    of those whose name ``also`` accepts, in document order: a page may declare a time under a
    name of its own before the standard one (``publish_time`` = "17:00")."""
    ranked: list[tuple[int, str]] = []
    for element in page["meta"]:
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "")
        key = key.lower()
        content = (element.get("content") or "").strip()
        if content and (key in names or also(key)):
            ranked.append((names.index(key) if key in names else len(names), str(content)))
    return [content for _rank, content in sorted(ranked, key=lambda item: item[0])]


def _names_publication(key: str) -> bool:
    """A meta name of the publication time in a vocabulary of its own (``published``,
    ``w-published-date``), not of the publisher or of an update."""
    return ("publish" in key and not any(word in key for word in ("publisher", "modif", "updat"))
            and (key.endswith("published") or "date" in key or "time" in key))


def page_title(page: Markup) -> str | None:
    """The headline: the first h1 when the page's own title metadata contains it (so it is the
    story's, not the site logo's), else og:title or <title> without a site-name suffix."""
    declared = _meta(page, ("og:title", "twitter:title"))
    document = next((" ".join((e.text or "").split()) for e in page["title"]), "")
    for h1 in page["h1"]:
        text = " ".join(text_of(h1).split())
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


def declared_canonical(page: Markup) -> str | None:
    for element in page["link"]:
        rel = (element.get("rel") or "").lower().split()
        href = element.get("href")
        if "canonical" in rel and href:
            return str(href)
    return _meta(page, ("og:url",))


def page_published(page: Markup, url: str, preamble: list[str]) -> str | None:
    """Publication time declared in meta tags or JSON-LD, else the day in the URL's path
    (``/2018/05/31/``), else the first ``<time>``, else the dateline above the article
    (``preamble``), else a date the page shows.

    A dateline on another day than the declared time wins over it, unless it says it is an
    update or is the day the page declares it was modified: then the metadata explains it.
    Otherwise the page shows readers a date its metadata does not (a template's stale or
    wrong field), and what the article's own header says is the better word."""
    shown = _dateline(preamble)
    for candidate in (*_meta_values(page, _DATE_META, _names_publication),
                      *_jsonld_values(page, _JSONLD_DATE)):
        if value := normalize_timestamp(candidate) or text_date(candidate):
            if shown is None or shown.update or _on_day(value, shown.day):
                return value
            modified = (normalize_timestamp(v) or text_date(v) for v in _modified_values(page))
            if any(day is not None and _on_day(day, shown.day) for day in modified):
                return value
            return shown.day
    return (url_day(url) or _time_element(page) or (shown and shown.day)
            or shown_date(page.root))


def _on_day(moment: str, day: str) -> bool:
    """``moment`` (ISO UTC) falls on the calendar ``day`` (``YYYY-MM-DD…``) in some zone, from
    UTC-12 to UTC+14: a time declared in UTC is on the local day the page shows. A value
    without a time of day is on its own day only."""
    if moment[:10] == day[:10]:
        return True
    if moment.endswith("T00:00:00Z"):
        return False
    instant = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    start = datetime.fromisoformat(day[:10]).replace(tzinfo=UTC)
    return start - _EAST_MOST <= instant < start + timedelta(days=1) + _WEST_MOST


def _modified_values(page: Markup) -> list[str]:
    """The page's declared modification times (meta tags, JSON-LD ``dateModified``)."""
    return [*_meta_values(page, _MODIFIED_META, lambda key: False),
            *_jsonld_values(page, _JSONLD_MODIFIED)]


def url_day(url: str) -> str | None:
    """The day a path spells as ``/YYYY/MM/DD/`` (or ``/YYYY/october/DD/``, ``/YYYY-MM-DD``), as
    blogs and newspapers file their articles."""
    match = _URL_DAY.search(urlsplit(url).path)
    if match is None:
        return None
    year, month, day = (part for part in match.groups() if part is not None)
    moment = _day(year, int(month) if month.isdecimal() else MONTHS[month.lower()], day)
    return iso_utc(moment) if moment else None


def _jsonld_texts(page: Markup) -> list[str]:
    """The text of the page's JSON-LD scripts, in document order."""
    return [script.text for script in page["script"]
            if (script.get("type") or "").lower() == "application/ld+json" and script.text]


def _jsonld_values(page: Markup, pattern: re.Pattern[str]) -> list[str]:
    """Every value ``pattern`` finds in the page's JSON-LD scripts, in document order."""
    return [found for text in _jsonld_texts(page) for found in pattern.findall(text)]


# How deep ``declared_body`` looks into a JSON-LD document for an ``articleBody`` (a page nests it
# in a @graph, a mainEntity or a list, a few levels down): a bound, as the JSON is the page's.
JSONLD_BODY_DEPTH = 8
_TAG = re.compile(  # an HTML tag; "a < b" and "<3" are text
    r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?/?>", re.IGNORECASE)
_PARAGRAPH_MARKUP = re.compile(r"</?(?:p|div)\b", re.IGNORECASE)


def declared_body(page: Markup) -> list[str]:
    """The article's paragraphs as the page's JSON-LD declares them (schema.org ``articleBody``;
    the longest when several): the body of a page whose visible text a script renders, as a
    crawler that runs none receives it. Markup inside the value (escaped or not) is read as a
    page's; invalid JSON is passed over."""
    bodies = [body for text in _jsonld_texts(page)
              for body in _article_bodies(_json(text), JSONLD_BODY_DEPTH)]
    if not bodies:
        return []
    body = max(bodies, key=len)
    if not _TAG.search(body):
        # plain text, or markup the page escaped whole; in markup, an entity is the parser's
        # to read (an escaped "&lt;b&gt;" in it is text)
        body = html.unescape(body)
    if not _TAG.search(body):
        return [line.strip() for line in body.splitlines() if line.strip()]
    return _markup_lines(body)


def _markup_lines(body: str) -> list[str]:
    """The lines of an ``articleBody`` that holds markup, read as a page. Its newlines break
    paragraphs, as in a plain one, unless ``<p>`` or ``<div>`` hold them: then they are the
    markup's layout (a page's source newline is a space)."""
    if not _PARAGRAPH_MARKUP.search(body):
        body = body.replace("\n", "<br>")  # markup within lines: a link, an emphasis, a <br>
    root = parse(body)
    return [line for block in (blocks_of(root) if root is not None else [])
            for line in block.text.split("\n")]


def _json(text: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _article_bodies(value: object, depth: int) -> Iterator[str]:
    """Every non-empty ``articleBody`` in a JSON-LD value, ``depth`` levels down at most."""
    if depth <= 0:
        return
    if isinstance(value, list):
        for item in value:
            yield from _article_bodies(item, depth - 1)
    elif isinstance(value, dict):
        body = value.get("articleBody")
        if isinstance(body, str) and body.strip():
            yield body
        for item in value.values():
            if isinstance(item, (list, dict)):
                yield from _article_bodies(item, depth - 1)


def _time_element(page: Markup) -> str | None:
    """The first ``<time>`` that reads as a date: its ``datetime``, else its text."""
    for element in page["time"]:
        value = element.get("datetime") or text_of(element)[:80]
        if value and (moment := normalize_timestamp(value) or text_date(value)):
            return moment
    return None


def shown_date(root: etree._Element) -> str | None:
    """The date a page shows readers when no markup declares it: the first short element whose
    class or id names a date (``post-date``, ``published``) and whose text reads as one, else
    the first element whose whole text is a date (``<span>Nov 21, 2018</span>``)."""
    return _byline_date(root) or _labelled_date(root) or _date_alone(root)


def _byline_date(root: etree._Element) -> str | None:
    """The date of the first short text that says when the page was published ("Posted on
    April 13, 2023", "Published: 2025.12.17"), else of the first that says when it was updated:
    a page that gives only the latter dates itself by it. The date may sit in the label's
    element or beside it, so the label's element and its parents are read while short."""
    updated: str | None = None
    for element in _owning(root, _BYLINE):
        for holder in (element, *element.iterancestors()):
            text = _short_text(holder, DATELINE_MAX_CHARS)
            if text is None:
                break
            label = _BYLINE.search(text)
            found = label and next((day for start, day in _dates_in(text)
                                    if label.end() <= start <= label.end() + BYLINE_GAP_CHARS),
                                   None)
            if label and found:
                if "updated" not in label.group(1).lower():
                    return iso_utc(found)
                updated = updated or iso_utc(found)
                break
    return updated


def _date_alone(root: etree._Element) -> str | None:
    """The first element whose text is a date and nothing else but marks around it
    (``<span><i>●</i> Dec 23, 2025</span>``)."""
    for element in _owning(root, _YEAR):
        if _UPDATE_LABEL.search(_label(element)):
            continue
        text = _MARKS.sub("", _short_text(element, 60) or "")
        if (6 <= len(text) <= 40 and not _NUMBER.fullmatch(text) and _one_reading(text)
                and (found := normalize_timestamp(text))):
            return found
    return None


def _one_reading(text: str) -> bool:
    """``text`` does not open with an all-digit day that could be two (``09.10.2024``)."""
    day = _XYY.match(text)
    return day is None or _either_order(int(day.group(1)), int(day.group(3)),
                                        day.group(4)) is not None


def _owning(root: etree._Element, pattern: re.Pattern[str]) -> Iterator[etree._Element]:
    """The elements, in document order, whose own text (not their children's, but the text
    between them) ``pattern`` finds: a walk that reads each piece of text once. Not in the
    page's footer: a date there is the site's ("Site last updated"), not the article's."""
    for element in root.iter("*"):
        owners = []
        if element.text and element.tag not in ("script", "style") and pattern.search(
                element.text):
            owners.append(element)
        if element.tail and pattern.search(element.tail):
            owners.append(element.getparent())
        for owner in owners:
            if owner is not None and not _in_page_footer(owner):
                yield owner


def _in_page_footer(element: etree._Element) -> bool:
    """In a ``<footer>`` of the page, not of an ``<article>`` (whose footer is its own)."""
    tags = [e.tag for e in (element, *element.iterancestors())]
    return "footer" in tags and "article" not in tags[tags.index("footer"):]


def _short_text(element: etree._Element, limit: int) -> str | None:
    """The text of ``element`` with its spaces collapsed, or None when it is longer than
    ``limit`` (read piece by piece, so a long one costs little) or a script or style."""
    if element.tag in ("script", "style"):
        return None
    pieces: list[str] = []
    visible = 0  # characters other than spaces: the collapsed text has at least as many
    for piece in element.itertext():
        visible += sum(map(len, piece.split()))
        if visible > limit:
            return None
        pieces.append(piece)
    text = " ".join("".join(pieces).split())
    return text if len(text) <= limit else None


def _label(element: etree._Element) -> str:
    return f"{element.get('class') or ''} {element.get('id') or ''}".lower()


def _labelled_date(root: etree._Element) -> str | None:
    for element in root.iter("*"):
        label = _label(element)
        if (len(element) > 4 or not label.strip() or not _DATE_LABEL.search(label)
                or _UPDATE_LABEL.search(label)):
            continue  # a container's text would be long: its date-labelled child is seen
        text = " ".join(text_of(element).split())
        if 6 <= len(text) <= 80 and (found := normalize_timestamp(text) or text_date(text)):
            return found
    return None


@lru_cache(maxsize=1024)
def text_date(text: str) -> str | None:
    """The first date written out in ``text`` ("May 31, 2018", "31 May 2018", "2018-05-31").

    Memoized: it reads short texts (a line, a meta value), and a source prints the same
    dateline on its pages of a day, where six patterns cost ~10 us a line."""
    found = _dates_in(text)
    return iso_utc(found[0][1]) if found else None


def _dates_in(text: str) -> list[tuple[int, datetime]]:
    """Every date written out in ``text``, with where it starts, in order."""
    if not _YEAR.search(text):
        return []  # every form below writes a four-digit year
    found: list[tuple[int, datetime | None]] = []
    found.extend((match.start(), _day(match.group(3), MONTHS[match.group(1).lower().rstrip(".")],
                                      match.group(2))) for match in _MDY.finditer(text))
    found.extend((match.start(), _day(match.group(3), MONTHS[match.group(2).lower().rstrip(".")],
                                      match.group(1))) for match in _DMY.finditer(text))
    found.extend((match.start(), _day(match.group(1), int(match.group(2)), match.group(3)))
                 for pattern in (_ISO_DAY, _CJK_DAY) for match in pattern.finditer(text))
    found.extend((match.start(), _day(match.group(1), int(match.group(3)), match.group(4)))
                 for match in _YMD.finditer(text))
    found.extend((match.start(), _either_order(int(match.group(1)), int(match.group(3)),
                                                    match.group(4)))
                 for match in _XYY.finditer(text))
    return sorted(((start, day) for start, day in found if day is not None),
                  key=lambda item: item[0])


def _either_order(first: int, second: int, year: str) -> datetime | None:
    """``A/B/YYYY`` when only one reading is a date (or both are the same day)."""
    if first > 12 >= second or first == second:
        return _day(year, second, str(first))
    if second > 12 >= first:
        return _day(year, first, str(second))
    return None


def _day(year: str, month: int, day: str) -> datetime | None:
    try:
        moment = datetime(int(year), month, int(day), tzinfo=UTC)
    except ValueError:
        return None
    return moment if moment >= EARLIEST else None


@dataclass(frozen=True, slots=True)
class _Dateline:
    """The date of the first "Published" line near the top, else of the first short line with a
    date; ``update`` when that line says the page was updated then."""

    day: str
    update: bool  # the line says the page was updated then ("Last updated: …")


def dateline(lines: list[str]) -> str | None:
    """A date from a "Published …" line or a short date-only line near the top of the text."""
    found = _dateline(lines)
    return found.day if found else None


def _dateline(lines: list[str]) -> _Dateline | None:
    fallback: _Dateline | None = None
    for line in lines[:DATELINE_LINES]:
        if len(line) > DATELINE_MAX_CHARS:
            continue
        found = text_date(line)
        if not found:
            continue
        label = _PUBLISHED.match(line)
        if label and "updated" not in label.group(1).lower():
            return _Dateline(found, update=False)
        if fallback is None and word_count(line) <= DATELINE_MAX_WORDS:
            fallback = _Dateline(found, update=bool(_UPDATED.search(line)))
    return fallback
